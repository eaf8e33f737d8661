//! Statistics over the features a query matches: counts and sums per group.
//!
//! Takes slots (the matches), never HTTP types. Groups are keyed by the JSON value of the
//! group-by property; an array property (such as `zones`) puts a feature in the group of each of
//! its items, so the groups' counts may then add up to more than the total.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::domain::FieldType;
use crate::index::{Column, Layer};

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

impl Tally {
    fn add(&mut self, layer: &Layer, slot: usize, sum_cols: &[usize]) {
        self.count += 1;
        for &c in sum_cols {
            let entry = self.sums.entry(layer.fields[c].name.clone()).or_insert(0.0);
            if let Some(v) = layer.columns[c].number_at(slot) {
                *entry += v;
            }
        }
    }

    fn empty(layer: &Layer, sum_cols: &[usize]) -> Self {
        Tally {
            count: 0,
            sums: sum_cols
                .iter()
                .map(|&c| (layer.fields[c].name.clone(), 0.0))
                .collect(),
        }
    }
}

/// Group keys of one slot: one for a scalar column, one per item for an array column.
fn keys(col: &Column, slot: usize) -> Vec<Json> {
    match col {
        Column::StringArray(c) => c[slot]
            .as_ref()
            .map(|items| items.iter().map(|s| Json::from(&**s)).collect())
            .unwrap_or_else(|| vec![Json::Null]),
        other => vec![other.json_at(slot)],
    }
}

/// Counts and sums `slots`, grouped by `group_by` if given. Groups come out ordered by key
/// (strings and numbers ascending), with null last; `order` may impose another order (a
/// vocabulary's), keys it does not know following in key order.
pub fn tally(
    layer: &Layer,
    slots: &[usize],
    group_by: Option<usize>,
    sum_cols: &[usize],
    order: Option<&[String]>,
) -> Stats {
    let mut total = Tally::empty(layer, sum_cols);
    let mut groups: Vec<(Json, Tally)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for &slot in slots {
        total.add(layer, slot, sum_cols);
        if let Some(g) = group_by {
            for key in keys(&layer.columns[g], slot) {
                let k = key.to_string();
                let i = *index.entry(k).or_insert_with(|| {
                    groups.push((key.clone(), Tally::empty(layer, sum_cols)));
                    groups.len() - 1
                });
                groups[i].1.add(layer, slot, sum_cols);
            }
        }
    }
    let rank = |k: &Json| -> (usize, usize) {
        match (order, k) {
            (_, Json::Null) => (2, 0),
            (Some(o), Json::String(s)) => o.iter().position(|t| t == s).map_or((1, 0), |p| (0, p)),
            _ => (1, 0),
        }
    };
    let numeric = group_by.is_some_and(|g| {
        layer.fields[g].ty == FieldType::Integer || layer.fields[g].ty == FieldType::Number
    });
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
            .map(|(key, tally)| Group { key, tally })
            .collect(),
        total,
    }
}
