//! Running a [`Plan`] over a layer: the slots that match, in the order asked for.

use rayon::prelude::*;

use super::budget::{Budget, Exceeded};
use super::plan::{Candidates, Plan};
use crate::index::Layer;

/// Slots per unit of work: a parallel scan splits into chunks of this many, and each chunk
/// checks the budget before it starts.
const CHUNK: usize = 4096;
/// Inside a chunk, the budget is checked every this many slots: an exact test against a drawn
/// area of many vertices can take a millisecond, so a chunk alone may not wait for its end.
const CHECK_SLOTS: usize = 64;
/// Below this many candidates a scan stays on one thread: splitting would cost more than it saves.
const PARALLEL_MIN: usize = 8192;

/// A page of matches: their slots, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub number_matched: usize,
    pub slots: Vec<usize>,
}

/// The slots of `candidates` (given by position) that `keep` accepts, in candidate order.
fn filter_candidates(
    n: usize,
    slot_at: impl Fn(usize) -> usize + Sync,
    keep: impl Fn(usize) -> bool + Sync,
    budget: &Budget,
) -> Result<Vec<usize>, Exceeded> {
    let run = |chunk: usize| -> Result<Vec<usize>, Exceeded> {
        let mut out = Vec::new();
        for (i, at) in (chunk * CHUNK..((chunk + 1) * CHUNK).min(n)).enumerate() {
            if i % CHECK_SLOTS == 0 {
                budget.check()?;
            }
            let slot = slot_at(at);
            if keep(slot) {
                out.push(slot);
            }
        }
        Ok(out)
    };
    let chunks = n.div_ceil(CHUNK);
    let parts: Vec<Vec<usize>> = if budget.parallel && n >= PARALLEL_MIN {
        (0..chunks)
            .into_par_iter()
            .map(run)
            .collect::<Result<_, _>>()?
    } else {
        (0..chunks).map(run).collect::<Result<_, _>>()?
    };
    Ok(parts.concat())
}

/// Every slot that matches the plan, in layer order or in `sortby` order (ties in layer order).
///
/// 1. candidates come from the R-tree when the plan has a box or a spatial conjunct, else every
///    slot;
/// 2. each candidate is tested exactly (geometry and attributes), on every core when the budget
///    allows it and there are many;
/// 3. the survivors are sorted, stably, when the query asks for an order.
pub fn matching(layer: &Layer, plan: &Plan, budget: &Budget) -> Result<Vec<usize>, Exceeded> {
    // Deleted features keep their slots (see `Layer`); a scan of every slot skips them.
    let keep = |slot: usize| layer.is_live(slot) && plan.matches(layer, slot);
    let mut matched = match plan.candidates() {
        Candidates::All => filter_candidates(layer.len(), |i| i, keep, budget)?,
        Candidates::Rects(rects) => {
            let mut slots: Vec<usize> = Vec::new();
            for r in rects {
                slots.extend(layer.slots_intersecting_rect(r).map(|s| s as usize));
                budget.check()?;
            }
            slots.sort_unstable();
            slots.dedup();
            filter_candidates(slots.len(), |i| slots[i], keep, budget)?
        }
    };
    if !plan.sort.is_empty() {
        budget.check()?;
        matched.sort_by(|a, b| plan.compare(layer, *a, *b));
    }
    Ok(matched)
}

/// The page `offset..offset + limit` of the matches, and their number.
pub fn page(
    layer: &Layer,
    plan: &Plan,
    offset: usize,
    limit: usize,
    budget: &Budget,
) -> Result<Page, Exceeded> {
    if plan.is_everything_in_order() && !layer.has_dead() {
        // The first page of a million features need not list the million first.
        let end = offset.saturating_add(limit).min(layer.len());
        return Ok(Page {
            number_matched: layer.len(),
            slots: (offset.min(end)..end).collect(),
        });
    }
    let matched = matching(layer, plan, budget)?;
    Ok(Page {
        number_matched: matched.len(),
        slots: matched.into_iter().skip(offset).take(limit).collect(),
    })
}

/// Compiles `q` against `layer` and returns its page: the whole pipeline, for the command line,
/// benchmarks, fuzzing and tests (the server compiles through its filter cache instead).
pub fn run(
    layer: &Layer,
    q: &super::FeatureQuery,
    budget: &Budget,
) -> Result<Page, super::QueryError> {
    let plan = super::compile(layer, q)?;
    Ok(page(layer, &plan, q.offset, q.limit, budget)?)
}
