//! Running a [`Plan`] over a layer: the slots that match, in the order asked for.

use rayon::prelude::*;

use roaring::RoaringBitmap;

use super::access::{self, Access, Pair, Terms};
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

/// The matches of a plan before any `sortby`, in layer order.
enum Found {
    /// Every match, tested.
    Listed(Vec<usize>),
    /// From an exact index access: the indexed matches, and the stale slots (see
    /// [`Layer::stale_slots`]) that matched when tested; both in layer order.
    Exact {
        indexed: RoaringBitmap,
        stale: Vec<usize>,
    },
}

impl Found {
    fn count(&self) -> usize {
        match self {
            Found::Listed(slots) => slots.len(),
            Found::Exact { indexed, stale } => indexed.len() as usize + stale.len(),
        }
    }

    /// The matches in layer order.
    fn iter(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match self {
            Found::Listed(slots) => Box::new(slots.iter().copied()),
            Found::Exact { indexed, stale } => Box::new(merge_sorted(
                indexed.iter().map(|s| s as usize),
                stale.iter().copied(),
            )),
        }
    }

    fn into_vec(self) -> Vec<usize> {
        match self {
            Found::Listed(slots) => slots,
            exact => exact.iter().collect(),
        }
    }
}

/// Two ascending streams of distinct slots as one.
fn merge_sorted(
    a: impl Iterator<Item = usize>,
    b: impl Iterator<Item = usize>,
) -> impl Iterator<Item = usize> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y < x => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// About how many slots the plan's box (through the R-tree), or a scan, would test: the part
/// of the layer's extent the box covers, times the live features.
fn scan_estimate(layer: &Layer, plan: &Plan) -> u64 {
    let live = layer.live_count() as u64;
    let (Candidates::Rects(rects), Some(extent)) = (plan.candidates(), layer.extent) else {
        return live;
    };
    let area = extent.width() * extent.height();
    if area <= 0.0 {
        return live;
    }
    let covered: f64 = rects
        .iter()
        .map(|r| {
            let w = r.max().x.min(extent.max().x) - r.min().x.max(extent.min().x);
            let h = r.max().y.min(extent.max().y) - r.min().y.max(extent.min().y);
            w.max(0.0) * h.max(0.0)
        })
        .sum();
    // Never below one feature: a box that misses the extent still costs an R-tree descent.
    ((covered / area).min(1.0) * live as f64).ceil().max(1.0) as u64
}

/// The candidates an index access gives, tested: every indexed slot when the access is not
/// exact, and the stale slots in any case.
fn through_index(
    layer: &Layer,
    plan: &Plan,
    mut indexed: RoaringBitmap,
    exact: bool,
    budget: &Budget,
) -> Result<Found, Exceeded> {
    let mut stale: Vec<usize> = layer.stale_slots().map(|s| s as usize).collect();
    stale.sort_unstable();
    for s in &stale {
        indexed.remove(*s as u32);
    }
    let keep = |slot: usize| layer.is_live(slot) && plan.matches(layer, slot);
    let stale = filter_candidates(stale.len(), |i| stale[i], keep, budget)?;
    if exact {
        return Ok(Found::Exact { indexed, stale });
    }
    let candidates: Vec<u32> = indexed.iter().collect();
    let tested = filter_candidates(candidates.len(), |i| candidates[i] as usize, keep, budget)?;
    Ok(Found::Listed(
        merge_sorted(tested.into_iter(), stale.into_iter()).collect(),
    ))
}

/// The candidates to test when no index helps, in layer order: the R-tree's for a box or a
/// spatial conjunct, else every slot (`None`).
fn scan_candidates(
    layer: &Layer,
    plan: &Plan,
    budget: &Budget,
) -> Result<Option<Vec<usize>>, Exceeded> {
    match plan.candidates() {
        Candidates::All => Ok(None),
        Candidates::Rects(rects) => {
            let mut slots: Vec<usize> = Vec::new();
            for r in rects {
                slots.extend(layer.slots_intersecting_rect(r).map(|s| s as usize));
                budget.check()?;
            }
            slots.sort_unstable();
            slots.dedup();
            Ok(Some(slots))
        }
    }
}

/// How to reach the plan's matches: through the attribute indexes when they select fewer slots
/// than the box or a scan would (see [`access::choose`]). `terms` are the plan's
/// [`Plan::index_terms`].
fn access_of<'a>(layer: &'a Layer, plan: &Plan, terms: &'a Terms) -> Access<'a> {
    if terms.conjuncts.is_empty() {
        return Access::Scan;
    }
    access::choose(layer, terms, scan_estimate(layer, plan))
}

/// Every match, in layer order, reached by `access`.
fn find(layer: &Layer, plan: &Plan, access: Access, budget: &Budget) -> Result<Found, Exceeded> {
    budget.check()?;
    match access {
        Access::Index { slots, exact } => return through_index(layer, plan, slots, exact, budget),
        Access::Pair(pair) => return through_index(layer, plan, pair.to_bitmap(), true, budget),
        Access::Scan => {}
    }
    // Deleted features keep their slots (see `Layer`); a scan of every slot skips them.
    let keep = |slot: usize| layer.is_live(slot) && plan.matches(layer, slot);
    Ok(Found::Listed(match scan_candidates(layer, plan, budget)? {
        None => filter_candidates(layer.len(), |i| i, keep, budget)?,
        Some(slots) => filter_candidates(slots.len(), |i| slots[i], keep, budget)?,
    }))
}

/// Every slot that matches the plan, in layer order or in `sortby` order (ties in layer order).
///
/// 1. candidates come from the attribute indexes, the R-tree (when the plan has a box or a
///    spatial conjunct) or every slot, whichever reads fewest (see [`find`]);
/// 2. each candidate is tested exactly (geometry and attributes), on every core when the budget
///    allows it and there are many, unless an index answered every condition;
/// 3. the survivors are sorted, stably, when the query asks for an order.
pub fn matching(layer: &Layer, plan: &Plan, budget: &Budget) -> Result<Vec<usize>, Exceeded> {
    let terms = plan.index_terms();
    let access = access_of(layer, plan, &terms);
    let mut matched = find(layer, plan, access, budget)?.into_vec();
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
    page_counted(layer, plan, offset, limit, None, budget)
}

/// [`page`], given the number of matches when an earlier page of the same query on the same
/// data version counted them: a page in layer order then stops testing once it has its
/// features, instead of counting every match again.
///
/// What `numberMatched` costs, by plan:
/// - no condition: nothing (the number of features);
/// - every condition answered by an index: the bitmap's length, no feature read;
/// - otherwise: a test of every candidate, unless `known` gives it.
pub fn page_counted(
    layer: &Layer,
    plan: &Plan,
    offset: usize,
    limit: usize,
    known: Option<usize>,
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
    let terms = plan.index_terms();
    let access = access_of(layer, plan, &terms);
    if let (Access::Pair(pair), true) = (&access, plan.sort.is_empty()) {
        return pair_page(layer, plan, pair, offset, limit, budget);
    }
    if let (Some(number_matched), true, Access::Scan) = (known, plan.sort.is_empty(), &access) {
        let slots = first_matches(layer, plan, offset.saturating_add(limit), budget)?;
        return Ok(Page {
            number_matched,
            slots: slots.into_iter().skip(offset).take(limit).collect(),
        });
    }
    let found = find(layer, plan, access, budget)?;
    let number_matched = found.count();
    let slots = if plan.sort.is_empty() {
        found.iter().skip(offset).take(limit).collect()
    } else {
        let mut all = found.into_vec();
        budget.check()?;
        all.sort_by(|a, b| plan.compare(layer, *a, *b));
        all.into_iter().skip(offset).take(limit).collect()
    };
    Ok(Page {
        number_matched,
        slots,
    })
}

/// The page of a [`Pair`] plan in layer order: the count from the indexes, corrected for the
/// slots edited since; the page from walking the pair's bitmap until it has its features.
fn pair_page(
    layer: &Layer,
    plan: &Plan,
    pair: &Pair,
    offset: usize,
    limit: usize,
    budget: &Budget,
) -> Result<Page, Exceeded> {
    let mut stale: Vec<usize> = layer.stale_slots().map(|s| s as usize).collect();
    stale.sort_unstable();
    let counted = stale.iter().filter(|&&s| pair.counted(s as u32)).count();
    let keep = |slot: usize| layer.is_live(slot) && plan.matches(layer, slot);
    let stale_matched = filter_candidates(stale.len(), |i| stale[i], keep, budget)?;
    let number_matched = (pair.indexed as usize).saturating_sub(counted) + stale_matched.len();
    let want = offset.saturating_add(limit).min(number_matched);
    let mut walked = Vec::with_capacity(want);
    for (i, slot) in pair.driver.iter().map(|s| s as usize).enumerate() {
        if walked.len() == want {
            break;
        }
        if i % CHUNK == 0 {
            budget.check()?;
        }
        if stale.binary_search(&slot).is_err() && pair.test(slot) {
            walked.push(slot);
        }
    }
    Ok(Page {
        number_matched,
        slots: merge_sorted(walked.into_iter(), stale_matched.into_iter())
            .skip(offset)
            .take(limit)
            .collect(),
    })
}

/// [`page`] by testing every candidate of the box (or every slot), never through an attribute
/// index: what the indexes must agree with, for tests and benchmarks.
pub fn page_by_scan(
    layer: &Layer,
    plan: &Plan,
    offset: usize,
    limit: usize,
    budget: &Budget,
) -> Result<Page, Exceeded> {
    let found = find(layer, plan, Access::Scan, budget)?;
    let mut all = found.into_vec();
    all.sort_by(|a, b| plan.compare(layer, *a, *b));
    Ok(Page {
        number_matched: all.len(),
        slots: all.into_iter().skip(offset).take(limit).collect(),
    })
}

/// Whether the plan reaches its matches through an attribute index on this layer (for tests
/// and benchmarks that must know which path they measure).
pub fn uses_index(layer: &Layer, plan: &Plan) -> bool {
    let terms = plan.index_terms();
    let access = access_of(layer, plan, &terms);
    matches!(access, Access::Index { .. } | Access::Pair(_))
}

/// Whether the plan's matches are counted from the indexes without being listed (a
/// [`Pair`]), for tests that must know which path they measure.
pub fn counts_from_indexes(layer: &Layer, plan: &Plan) -> bool {
    let terms = plan.index_terms();
    let access = access_of(layer, plan, &terms);
    matches!(access, Access::Pair(_))
}

/// The first `want` matches in layer order, testing candidates (the box's, or every slot) only
/// until it has them.
fn first_matches(
    layer: &Layer,
    plan: &Plan,
    want: usize,
    budget: &Budget,
) -> Result<Vec<usize>, Exceeded> {
    let keep = |slot: usize| layer.is_live(slot) && plan.matches(layer, slot);
    let candidates = scan_candidates(layer, plan, budget)?;
    let n = candidates.as_ref().map_or(layer.len(), Vec::len);
    let slot_at = |i: usize| candidates.as_ref().map_or(i, |c| c[i]);
    let mut out = Vec::with_capacity(want.min(n));
    // Batches of chunks, each batch tested on every core, until the page is full.
    let batch = CHUNK * 16;
    let mut start = 0;
    while start < n && out.len() < want {
        let end = (start + batch).min(n);
        let found = filter_candidates(end - start, |i| slot_at(start + i), keep, budget)?;
        out.extend(found);
        start = end;
    }
    out.truncate(want);
    Ok(out)
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
