use geo::{Intersects, Rect};

use std::sync::Arc;

use super::access::{Term, Terms};
use super::filter::{self, Area, Filter, FilterCache, Lit};
use super::{DateTimeFilter, FeatureQuery, QueryError};
use crate::index::{Column, Layer};
use crate::model::{parse_date, parse_timestamp, Bbox, FieldType};
use crate::query::datetime::{days_to_ms, instant_range};

/// A query checked against one layer: typed conditions on column indices.
#[derive(Debug)]
pub struct Plan {
    /// Narrows candidates through the R-tree, then tests each geometry exactly.
    pub bbox: Option<Bbox>,
    conditions: Vec<Condition>,
    filter: Option<Arc<Filter>>,
    /// An area the features must intersect.
    area: Option<Area>,
    /// `(column, descending)`, most significant first.
    pub sort: Vec<(usize, bool)>,
    /// Column indices to return; `None` for all.
    pub properties: Option<Vec<usize>>,
}

/// The items of a comma-separated parameter (`sortby`, `properties`, `sum`), each without the
/// spaces around it. Only the space character is trimmed (what `+` and `%20` decode to), so the
/// OpenAPI patterns for these parameters can say exactly what is accepted.
pub fn comma_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(|item| item.trim_matches(' '))
}

/// One `sortby` key: `name`, `+name` or `-name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub property: String,
    pub descending: bool,
}

impl SortKey {
    /// Parses a `sortby` list such as `-available_floor_area_m2,name_en`.
    pub fn parse_list(raw: &str) -> Result<Vec<SortKey>, String> {
        comma_list(raw)
            .map(|k| {
                let (descending, name) = match k.as_bytes().first() {
                    Some(b'-') => (true, &k[1..]),
                    Some(b'+') => (false, &k[1..]),
                    _ => (false, k),
                };
                if name.is_empty() {
                    Err(format!("empty sort key in {raw:?}"))
                } else {
                    Ok(SortKey {
                        property: name.to_owned(),
                        descending,
                    })
                }
            })
            .collect()
    }
}

/// Where the R-tree should look, if anywhere: the smaller of the `bbox` and the filter's
/// spatial conjunct.
pub enum Candidates {
    All,
    Rects(Vec<Rect<f64>>),
}

#[derive(Debug)]
enum Condition {
    Equals {
        column: usize,
        value: Typed,
    },
    /// The array column contains the string.
    Contains {
        column: usize,
        value: String,
    },
    During {
        column: usize,
        filter: DateTimeFilter,
    },
}

#[derive(Debug, PartialEq)]
enum Typed {
    Bool(bool),
    Number(f64),
    Text(String),
    Date(i32),
    Millis(i64),
}

/// Checks a query against a layer's schema and compiles it.
pub fn compile(layer: &Layer, q: &FeatureQuery) -> Result<Plan, QueryError> {
    compile_with(layer, q, None)
}

/// [`compile`], taking the filter from `filters` when the same text was compiled before.
pub fn compile_cached(
    layer: &Layer,
    q: &FeatureQuery,
    filters: &FilterCache,
) -> Result<Plan, QueryError> {
    compile_with(layer, q, Some(filters))
}

fn compile_with(
    layer: &Layer,
    q: &FeatureQuery,
    filters: Option<&FilterCache>,
) -> Result<Plan, QueryError> {
    let mut conditions = Vec::with_capacity(q.equals.len() + 1);
    for (name, raw) in &q.equals {
        let column = layer
            .field_index(name)
            .ok_or_else(|| unknown(layer, name))?;
        let ty = layer.fields[column].ty;
        let bad = |what: &str| QueryError::InvalidValue {
            parameter: name.clone(),
            reason: format!("{raw:?} is not {what}, the type of this property"),
        };
        let value = match ty {
            FieldType::Boolean => match raw.as_str() {
                "true" => Typed::Bool(true),
                "false" => Typed::Bool(false),
                _ => return Err(bad("a boolean (true or false)")),
            },
            // An integer column equals no fraction: `power_kva=0.5` is a mistake, not a miss.
            FieldType::Integer => {
                Typed::Number(raw.trim().parse::<i64>().map_err(|_| bad("an integer"))? as f64)
            }
            FieldType::Number => Typed::Number(
                raw.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| bad("a number"))?,
            ),
            FieldType::String => Typed::Text(raw.clone()),
            FieldType::Date => {
                Typed::Date(parse_date(raw).ok_or_else(|| bad("a YYYY-MM-DD date"))?)
            }
            FieldType::Timestamp => {
                Typed::Millis(parse_timestamp(raw).ok_or_else(|| bad("an RFC 3339 timestamp"))?)
            }
            FieldType::StringArray => {
                conditions.push(Condition::Contains {
                    column,
                    value: raw.clone(),
                });
                continue;
            }
            FieldType::Json => {
                return Err(QueryError::InvalidValue {
                    parameter: name.clone(),
                    reason: "this property holds objects and cannot be compared".into(),
                })
            }
        };
        conditions.push(Condition::Equals { column, value });
    }
    if let Some(filter) = q.datetime {
        let column = temporal_column(layer).ok_or(QueryError::NoTemporalProperty)?;
        conditions.push(Condition::During { column, filter });
    }
    let filter = q
        .filter
        .as_ref()
        .map(|spec| match filters {
            Some(cache) => cache.compile(layer, spec),
            None => filter::compile(layer, spec).map(Arc::new),
        })
        .transpose()?;
    let sort = q
        .sortby
        .iter()
        .map(|k| {
            let column = layer
                .field_index(&k.property)
                .ok_or_else(|| in_parameter("sortby", unknown(layer, &k.property)))?;
            if matches!(
                layer.fields[column].ty,
                FieldType::Json | FieldType::StringArray
            ) {
                return Err(QueryError::InvalidValue {
                    parameter: "sortby".into(),
                    reason: format!("{} is not a sortable (scalar) property", k.property),
                });
            }
            Ok((column, k.descending))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let properties = q
        .properties
        .as_ref()
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    layer
                        .field_index(n)
                        .ok_or_else(|| in_parameter("properties", unknown(layer, n)))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Plan {
        bbox: q.bbox,
        conditions,
        filter,
        area: q.area.clone(),
        sort,
        properties,
    })
}

/// The column the `datetime` parameter applies to: the metadata's `temporal_property`, or the
/// layer's only date/timestamp column.
fn temporal_column(layer: &Layer) -> Option<usize> {
    if let Some(name) = &layer.meta.temporal_property {
        return layer.field_index(name);
    }
    let mut temporal = layer
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.ty, FieldType::Date | FieldType::Timestamp));
    match (temporal.next(), temporal.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// An unknown property named inside another parameter (`sortby`, `properties`) is that
/// parameter's error.
fn in_parameter(parameter: &str, e: QueryError) -> QueryError {
    QueryError::InvalidValue {
        parameter: parameter.to_owned(),
        reason: e.to_string(),
    }
}

fn unknown(layer: &Layer, name: &str) -> QueryError {
    let known = layer
        .fields
        .iter()
        .filter(|f| f.ty != FieldType::Json)
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    QueryError::UnknownProperty {
        property: name.to_owned(),
        known,
    }
}

impl Plan {
    /// Whether every feature matches, in the layer's own order: no box, condition, filter or
    /// sort. Such a page is a slice of slots, with no scan.
    pub fn is_everything_in_order(&self) -> bool {
        self.matches_everything() && self.sort.is_empty()
    }

    /// Whether every live feature matches: no box, area, filter or condition.
    pub fn matches_everything(&self) -> bool {
        self.bbox.is_none()
            && self.conditions.is_empty()
            && self.filter.is_none()
            && self.area.is_none()
    }

    /// The plan's conditions an attribute index can answer (see [`super::access`]).
    pub fn index_terms(&self) -> Terms {
        let (mut conjuncts, mut complete) = match self.filter.as_deref() {
            Some(f) => f.index_terms(),
            None => (Vec::new(), true),
        };
        complete &= self.bbox.is_none() && self.area.is_none();
        for c in &self.conditions {
            match c {
                Condition::Equals { column, value } => conjuncts.push(Term::equal(
                    *column,
                    match value {
                        Typed::Bool(b) => Lit::Bool(*b),
                        Typed::Number(n) => Lit::Number(*n),
                        Typed::Text(t) => Lit::Text(t.clone()),
                        Typed::Date(d) => Lit::Date(*d),
                        Typed::Millis(t) => Lit::Timestamp(*t),
                    },
                )),
                Condition::Contains { .. } | Condition::During { .. } => complete = false,
            }
        }
        Terms {
            conjuncts,
            complete,
        }
    }

    /// The rectangles to take candidates from: the `bbox` (one or two, split at the antimeridian),
    /// the filter's spatial conjunct or the area's envelope, whichever is smallest.
    pub fn candidates(&self) -> Candidates {
        let from_bbox: Option<Vec<Rect<f64>>> = self.bbox.map(|b| {
            b.rects()
                .into_iter()
                .map(|(min, max)| Rect::new((min[0], min[1]), (max[0], max[1])))
                .collect()
        });
        let from_filter = self.filter.as_deref().and_then(Filter::narrowing);
        let from_area = self.area.as_ref().map(Area::envelope);
        let size = |rs: &[Rect<f64>]| rs.iter().map(|r| r.width() * r.height()).sum::<f64>();
        [
            from_bbox,
            from_filter.map(|f| vec![f]),
            from_area.map(|a| vec![a]),
        ]
        .into_iter()
        .flatten()
        .min_by(|a, b| size(a).total_cmp(&size(b)))
        .map_or(Candidates::All, Candidates::Rects)
    }

    /// The order `sortby` asks for between two slots: each key in turn, descending keys
    /// reversed, nulls last; `Equal` when every key ties (a stable sort then keeps layer order).
    pub fn compare(&self, layer: &Layer, a: usize, b: usize) -> std::cmp::Ordering {
        self.sort
            .iter()
            .map(|(col, desc)| {
                let o = layer.columns[*col].cmp_slots(a, b);
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }

    /// Whether the feature in `slot` matches every condition and, if there is a box, whether its
    /// geometry really intersects it (not just its envelope).
    pub fn matches(&self, layer: &Layer, slot: usize) -> bool {
        if let Some(b) = &self.bbox {
            let g = &layer.geometries[slot];
            let hit = b
                .rects()
                .into_iter()
                .any(|(min, max)| g.intersects(&Rect::new((min[0], min[1]), (max[0], max[1]))));
            if !hit {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.holds(layer, slot))
            && self.area.as_ref().is_none_or(|a| a.meets(layer, slot))
            && self.filter.as_ref().is_none_or(|f| f.matches(layer, slot))
    }
}

impl Condition {
    fn holds(&self, layer: &Layer, slot: usize) -> bool {
        match self {
            Condition::Equals { column, value } => match (&layer.columns[*column], value) {
                (Column::Boolean(c), Typed::Bool(v)) => c[slot] == Some(*v),
                (Column::Integer(c), Typed::Number(v)) => c[slot].is_some_and(|x| x as f64 == *v),
                (Column::Number(c), Typed::Number(v)) => c[slot] == Some(*v),
                (Column::String(c), Typed::Text(v)) => c[slot].as_deref() == Some(v.as_str()),
                (Column::Date(c), Typed::Date(v)) => c[slot] == Some(*v),
                (Column::Timestamp(c), Typed::Millis(v)) => {
                    c[slot].as_ref().is_some_and(|(t, _)| t == v)
                }
                _ => false,
            },
            Condition::Contains { column, value } => match &layer.columns[*column] {
                Column::StringArray(c) => c[slot]
                    .as_ref()
                    .is_some_and(|items| items.iter().any(|s| &**s == value)),
                _ => false,
            },
            Condition::During { column, filter } => match &layer.columns[*column] {
                Column::Date(c) => c[slot].is_some_and(|d| {
                    let start = days_to_ms(d);
                    filter.intersects(start, start + 86_400_000 - 1)
                }),
                Column::Timestamp(c) => c[slot]
                    .as_ref()
                    .is_some_and(|(t, _)| filter.intersects(*t, *t)),
                Column::String(c) => c[slot]
                    .as_deref()
                    .and_then(instant_range)
                    .is_some_and(|(lo, hi)| filter.intersects(lo, hi)),
                _ => false,
            },
        }
    }
}
