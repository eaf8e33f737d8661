//! Statistics over the features a query matches: counts and sums per group.
//!
//! Takes slots (the matches), never HTTP types. Groups are keyed by the JSON value of the
//! group-by property; an array property (such as `zones`) puts a feature in the group of each of
//! its items, so the groups' counts may then add up to more than the total.

use std::collections::BTreeMap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

use super::budget::{Budget, Exceeded};
use crate::index::{Column, Layer};
use crate::model::{FieldType, Vocabulary};

/// Counts and sums for one group (or for all matches).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub count: usize,
    /// Sum per summed property; nulls add nothing.
    pub sums: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: Json,
    pub tally: Tally,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub groups: Vec<Group>,
    pub total: Tally,
}

/// The numeric properties summed when the client does not name any: the areas, which by this
/// project's convention are named `*area*_m2` (floor area, available floor area, the derived
/// geodesic area). Summing a clear height, a floor load or a power rating would mean nothing.
pub fn default_sum_columns(layer: &Layer) -> Vec<usize> {
    layer
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.ty.is_numeric() && f.name.contains("area") && f.name.ends_with("_m2"))
        .map(|(i, _)| i)
        .collect()
}

/// Running counts and sums, indexed like the summed columns (no allocation per feature).
#[derive(Clone)]
struct Acc {
    count: usize,
    sums: Vec<f64>,
}

impl Acc {
    fn new(n: usize) -> Self {
        Acc {
            count: 0,
            sums: vec![0.0; n],
        }
    }

    fn add(&mut self, layer: &Layer, slot: usize, sum_cols: &[usize]) {
        self.count += 1;
        for (acc, &c) in self.sums.iter_mut().zip(sum_cols) {
            if let Some(v) = layer.columns[c].number_at(slot) {
                *acc += v;
            }
        }
    }

    fn merge(&mut self, other: &Acc) {
        self.count += other.count;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
    }

    fn finish(self, layer: &Layer, sum_cols: &[usize]) -> Tally {
        Tally {
            count: self.count,
            sums: sum_cols
                .iter()
                .zip(self.sums)
                .map(|(&c, v)| (layer.fields[c].name.clone(), v))
                .collect(),
        }
    }
}

/// A group key borrowed from a string column where it can be, so grouping allocates per group,
/// not per feature.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Str(Option<&'a str>),
    Other(String),
}

fn keys_of<'a>(col: &'a Column, slot: usize, out: &mut Vec<Key<'a>>) {
    out.clear();
    match col {
        Column::String(c) => out.push(Key::Str(c[slot].as_deref())),
        Column::StringArray(c) => match c[slot].as_ref() {
            Some(items) => out.extend(items.iter().map(|s| Key::Str(Some(&**s)))),
            None => out.push(Key::Str(None)),
        },
        other => out.push(Key::Other(other.json_at(slot).to_string())),
    }
}

/// The groups `slot` falls in, as the keys `/stats` gives them: its value, or each item of a
/// string array (null when it has none).
pub fn group_keys(col: &Column, slot: usize) -> Vec<Json> {
    let mut keys = Vec::new();
    keys_of(col, slot, &mut keys);
    keys.into_iter()
        .map(|k| match k {
            Key::Str(s) => s.map_or(Json::Null, Json::from),
            Key::Other(_) => col.json_at(slot),
        })
        .collect()
}

/// Slots per parallel chunk: large enough that splitting costs nothing next to the work, and
/// fixed, so that sums come out the same on every run.
const CHUNK: usize = 1 << 16;

/// The counts and sums of one run of slots.
struct Partial<'a> {
    total: Acc,
    groups: Vec<(Key<'a>, Json, Acc)>,
    index: FxHashMap<Key<'a>, usize>,
    /// Groups by the address and length of their interned key: repeated strings share one
    /// allocation (see `ingest::columns`), so most lookups are a pointer compare, not a hash.
    by_address: Vec<(usize, usize, usize)>,
}

impl<'a> Partial<'a> {
    fn new(n: usize) -> Self {
        Partial {
            total: Acc::new(n),
            groups: Vec::new(),
            index: FxHashMap::default(),
            by_address: Vec::new(),
        }
    }

    fn group(&mut self, key: Key<'a>, json: impl FnOnce() -> Json, n: usize) -> usize {
        let address = match &key {
            Key::Str(Some(s)) => Some((s.as_ptr() as usize, s.len())),
            _ => None,
        };
        if let Some((ptr, len)) = address {
            if let Some(&(_, _, i)) = self
                .by_address
                .iter()
                .find(|(p, l, _)| *p == ptr && *l == len)
            {
                return i;
            }
        }
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.groups.push((key.clone(), json(), Acc::new(n)));
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        if let Some((ptr, len)) = address {
            if self.by_address.len() < 64 {
                self.by_address.push((ptr, len, i));
            }
        }
        i
    }

    fn merge(mut self, other: Partial<'a>) -> Self {
        self.total.merge(&other.total);
        let n = self.total.sums.len();
        for (key, json, acc) in other.groups {
            let i = self.group(key, || json, n);
            self.groups[i].2.merge(&acc);
        }
        self
    }
}

fn tally_run<'a>(
    layer: &'a Layer,
    slots: &[usize],
    group_by: Option<usize>,
    sum_cols: &[usize],
) -> Partial<'a> {
    let mut part = Partial::new(sum_cols.len());
    let mut keys = Vec::new();
    for &slot in slots {
        part.total.add(layer, slot, sum_cols);
        let Some(g) = group_by else { continue };
        let col = &layer.columns[g];
        keys_of(col, slot, &mut keys);
        for key in keys.drain(..) {
            // The group's JSON key is built only when the group is new.
            let text = match &key {
                Key::Str(s) => Some(*s),
                Key::Other(_) => None,
            };
            let json = move || match text {
                Some(s) => s.map_or(Json::Null, Json::from),
                None => col.json_at(slot),
            };
            let i = part.group(key, json, sum_cols.len());
            part.groups[i].2.add(layer, slot, sum_cols);
        }
    }
    part
}

/// Counts and sums `slots`, grouped by `group_by` if given. Groups come out ordered by key
/// (strings and numbers ascending), with null last; `order` may impose another order (a
/// vocabulary's), keys it does not know following in key order. Large sets are tallied in
/// parallel chunks, merged in chunk order.
pub fn tally(
    layer: &Layer,
    slots: &[usize],
    group_by: Option<usize>,
    sum_cols: &[usize],
    order: Option<&[String]>,
    budget: &Budget,
) -> Result<Stats, Exceeded> {
    let run = |run: &[usize]| {
        budget.check()?;
        Ok(tally_run(layer, run, group_by, sum_cols))
    };
    let parts: Vec<Partial> = if budget.parallel {
        slots.par_chunks(CHUNK).map(run).collect::<Result<_, _>>()?
    } else {
        slots.chunks(CHUNK).map(run).collect::<Result<_, _>>()?
    };
    let merged = parts
        .into_iter()
        .reduce(Partial::merge)
        .unwrap_or_else(|| Partial::new(sum_cols.len()));
    let groups = merged
        .groups
        .into_iter()
        .map(|(_, json, acc)| (json, acc))
        .collect();
    Ok(finish(
        layer,
        merged.total,
        groups,
        group_by,
        sum_cols,
        order,
    ))
}

/// [`tally`] of every live feature grouped by a few-valued string column, from the counts and
/// sums the attribute index keeps per value (see [`crate::index::ValueTotals`]) corrected for
/// the features edited since: no pass over the features. `None` when the index keeps no such
/// totals for these columns, or they are not finite (the caller then tallies the features).
/// Sums may differ from a pass in the last bits (floating-point additions in another order).
pub fn tally_everything(
    layer: &Layer,
    group_by: usize,
    sum_cols: &[usize],
    order: Option<&[String]>,
    budget: &Budget,
) -> Option<Result<Stats, Exceeded>> {
    let index = layer.attributes();
    let totals = index.value_totals(group_by, sum_cols)?;
    let column = &layer.columns[group_by];
    let mut groups: Vec<(Option<std::sync::Arc<str>>, Acc)> = totals
        .values
        .iter()
        .map(|(v, n, sums)| (Some(std::sync::Arc::clone(v)), acc_of(*n, sums)))
        .chain([(None, acc_of(totals.nulls.0, &totals.nulls.1))])
        .collect();
    let mut at: FxHashMap<Option<std::sync::Arc<str>>, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let mut stale: Vec<u32> = layer.stale_slots().collect();
    stale.sort_unstable();
    for (i, &s) in stale.iter().enumerate() {
        if let Err(e) = budget.check_every(i) {
            return Some(Err(e));
        }
        let slot = s as usize;
        if let Some(old) = index.indexed_text(group_by, slot) {
            let acc = &mut groups[*at.get(&old)?].1;
            acc.count = acc.count.checked_sub(1)?;
            for (sum, &c) in acc.sums.iter_mut().zip(sum_cols) {
                if let Some(v) = index.indexed_number(c, slot) {
                    *sum -= v;
                }
            }
        }
        if layer.is_live(slot) {
            let now: Option<std::sync::Arc<str>> = column.str_at(slot).map(Into::into);
            let g = *at.entry(now.clone()).or_insert_with(|| {
                groups.push((now, Acc::new(sum_cols.len())));
                groups.len() - 1
            });
            groups[g].1.add(layer, slot, sum_cols);
        }
    }
    let mut total = Acc::new(sum_cols.len());
    groups.retain(|(_, acc)| acc.count > 0);
    for (_, acc) in &groups {
        total.merge(acc);
    }
    if total.sums.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let groups = groups
        .into_iter()
        .map(|(k, acc)| (k.map_or(Json::Null, |v| Json::from(&*v)), acc))
        .collect();
    Some(Ok(finish(
        layer,
        total,
        groups,
        Some(group_by),
        sum_cols,
        order,
    )))
}

fn acc_of(count: u64, sums: &[f64]) -> Acc {
    Acc {
        count: count as usize,
        sums: sums.to_vec(),
    }
}

/// The groups in the order `/stats` gives them (see [`tally`]), with their totals.
fn finish(
    layer: &Layer,
    total: Acc,
    mut groups: Vec<(Json, Acc)>,
    group_by: Option<usize>,
    sum_cols: &[usize],
    order: Option<&[String]>,
) -> Stats {
    let rank = |k: &Json| -> (usize, usize) {
        match (order, k) {
            (_, Json::Null) => (2, 0),
            (Some(o), Json::String(s)) => o.iter().position(|t| t == s).map_or((1, 0), |p| (0, p)),
            _ => (1, 0),
        }
    };
    let numeric = group_by.is_some_and(|g| layer.fields[g].ty.is_numeric());
    groups.sort_by(|(a, _), (b, _)| {
        rank(a).cmp(&rank(b)).then_with(|| {
            if numeric {
                a.as_f64()
                    .unwrap_or(f64::NAN)
                    .total_cmp(&b.as_f64().unwrap_or(f64::NAN))
            } else {
                a.to_string().cmp(&b.to_string())
            }
        })
    });
    Stats {
        groups: groups
            .into_iter()
            .map(|(key, acc)| Group {
                key,
                tally: acc.finish(layer, sum_cols),
            })
            .collect(),
        total: total.finish(layer, sum_cols),
    }
}

/// Which input of a statistics request is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsInput {
    GroupBy,
    Sum,
}

/// A group-by or sum property that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct StatsError {
    pub input: StatsInput,
    pub reason: String,
}

/// What to group by and what to sum, resolved against a layer's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSpec {
    pub group_by: Option<usize>,
    pub sum: Vec<usize>,
    /// For a vocabulary-bound group-by property, its vocabulary (the groups' order and labels).
    pub vocabulary: Option<Vocabulary>,
}

impl StatsSpec {
    /// Resolves property names: `group_by` must be a scalar or string-array property, `sum`
    /// numeric properties (default: the areas, see [`default_sum_columns`]).
    pub fn resolve<'v>(
        layer: &Layer,
        group_by: Option<&str>,
        sum: Option<&[String]>,
        vocabularies: impl IntoIterator<Item = &'v Vocabulary>,
    ) -> Result<Self, StatsError> {
        let err = |input, reason: String| StatsError { input, reason };
        let group = group_by
            .map(|g| match layer.field_index(g) {
                None => Err(err(StatsInput::GroupBy, format!("unknown property {g:?}"))),
                Some(i) if layer.fields[i].ty == FieldType::Json => Err(err(
                    StatsInput::GroupBy,
                    format!("{g} holds objects and cannot be grouped"),
                )),
                Some(i) => Ok(i),
            })
            .transpose()?;
        let sum = match sum {
            None => default_sum_columns(layer),
            Some(names) => names
                .iter()
                .map(|n| match layer.field_index(n) {
                    Some(i) if layer.fields[i].ty.is_numeric() => Ok(i),
                    Some(_) => Err(err(StatsInput::Sum, format!("{n} is not numeric"))),
                    None => Err(err(StatsInput::Sum, format!("unknown property {n:?}"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let vocabulary = group_by
            .and_then(|g| layer.meta.vocabularies.get(g))
            .and_then(|id| vocabularies.into_iter().find(|v| &v.id == id))
            .cloned();
        Ok(StatsSpec {
            group_by: group,
            sum,
            vocabulary,
        })
    }

    /// The groups' order: the vocabulary's terms, when there is one.
    fn order(&self) -> Option<Vec<String>> {
        self.vocabulary
            .as_ref()
            .map(|v| v.terms.iter().map(|t| t.id.clone()).collect())
    }

    /// [`tally_everything`] for this spec: `None` without a group-by property the attribute
    /// index keeps totals for.
    pub fn tally_everything(
        &self,
        layer: &Layer,
        budget: &Budget,
    ) -> Option<Result<Stats, Exceeded>> {
        let order = self.order();
        tally_everything(layer, self.group_by?, &self.sum, order.as_deref(), budget)
    }

    /// Counts and sums of `slots`, groups in the vocabulary's order when there is one.
    pub fn tally(
        &self,
        layer: &Layer,
        slots: &[usize],
        budget: &Budget,
    ) -> Result<Stats, Exceeded> {
        let order = self.order();
        tally(
            layer,
            slots,
            self.group_by,
            &self.sum,
            order.as_deref(),
            budget,
        )
    }
}

/// A feature's envelope as `[west, south, east, north]`.
fn corners(layer: &Layer, slot: usize) -> [f64; 4] {
    let e = layer.envelope(slot);
    [e.min().x, e.min().y, e.max().x, e.max().y]
}

/// The `[west, south, east, north]` of the envelopes of every live feature; `None` if there
/// are none.
pub fn extent_of_live(layer: &Layer) -> Option<[f64; 4]> {
    layer
        .live_extent()
        .map(|e| [e.min().x, e.min().y, e.max().x, e.max().y])
}

fn union4(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

/// The `[west, south, east, north]` of the envelopes of `slots`; `None` if there are none.
pub fn extent(
    layer: &Layer,
    slots: &[usize],
    budget: &Budget,
) -> Result<Option<[f64; 4]>, Exceeded> {
    let mut out: Option<[f64; 4]> = None;
    for (i, &slot) in slots.iter().enumerate() {
        budget.check_every(i)?;
        let e = corners(layer, slot);
        out = Some(out.map_or(e, |o| union4(o, e)));
    }
    Ok(out)
}
