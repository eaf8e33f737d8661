//! Typed attribute columns: one vector per property, indexed by the feature's slot.
//!
//! Storing attributes column-wise (instead of one JSON map per feature) keeps a million features
//! small in memory and lets a compiled filter read a typed value with one index operation.

#[cfg(test)]
use crate::model::parse_date;
use crate::model::{format_date, FieldType, Value};
use serde_json::Value as Json;

/// One property's values for every feature of a layer; `None` is null (or absent).
#[derive(Debug, Clone)]
pub enum Column {
    Boolean(Vec<Option<bool>>),
    Integer(Vec<Option<i64>>),
    Number(Vec<Option<f64>>),
    /// Shared strings: ingest interns them, so repeated values cost one allocation.
    String(Vec<Option<std::sync::Arc<str>>>),
    Date(Vec<Option<i32>>),
    /// The instant in milliseconds, plus the text as written so output loses nothing.
    Timestamp(Vec<Option<(i64, Box<str>)>>),
    StringArray(Vec<Option<Box<[Box<str>]>>>),
    Json(Vec<Option<Json>>),
}

impl Column {
    pub fn with_capacity(ty: FieldType, n: usize) -> Self {
        match ty {
            FieldType::Boolean => Column::Boolean(Vec::with_capacity(n)),
            FieldType::Integer => Column::Integer(Vec::with_capacity(n)),
            FieldType::Number => Column::Number(Vec::with_capacity(n)),
            FieldType::String => Column::String(Vec::with_capacity(n)),
            FieldType::Date => Column::Date(Vec::with_capacity(n)),
            FieldType::Timestamp => Column::Timestamp(Vec::with_capacity(n)),
            FieldType::StringArray => Column::StringArray(Vec::with_capacity(n)),
            FieldType::Json => Column::Json(Vec::with_capacity(n)),
        }
    }

    pub fn field_type(&self) -> FieldType {
        match self {
            Column::Boolean(_) => FieldType::Boolean,
            Column::Integer(_) => FieldType::Integer,
            Column::Number(_) => FieldType::Number,
            Column::String(_) => FieldType::String,
            Column::Date(_) => FieldType::Date,
            Column::Timestamp(_) => FieldType::Timestamp,
            Column::StringArray(_) => FieldType::StringArray,
            Column::Json(_) => FieldType::Json,
        }
    }

    /// The value at `slot` as JSON, exactly as it will be served.
    pub fn json_at(&self, slot: usize) -> Json {
        match self {
            Column::Boolean(c) => c[slot].map_or(Json::Null, Json::Bool),
            Column::Integer(c) => c[slot].map_or(Json::Null, Json::from),
            Column::Number(c) => c[slot].map_or(Json::Null, Json::from),
            Column::String(c) => c[slot].as_deref().map_or(Json::Null, Json::from),
            Column::Date(c) => c[slot].map_or(Json::Null, |d| Json::from(format_date(d))),
            Column::Timestamp(c) => c[slot]
                .as_ref()
                .map_or(Json::Null, |(_, s)| Json::from(&**s)),
            Column::StringArray(c) => c[slot].as_ref().map_or(Json::Null, |items| {
                Json::Array(items.iter().map(|s| Json::from(&**s)).collect())
            }),
            Column::Json(c) => c[slot].clone().unwrap_or(Json::Null),
        }
    }

    /// The value at `slot` as a typed scalar for comparisons; arrays and JSON are `Null` here.
    pub fn value_at(&self, slot: usize) -> Value {
        match self {
            Column::Boolean(c) => c[slot].map_or(Value::Null, Value::Bool),
            Column::Integer(c) => c[slot].map_or(Value::Null, |n| Value::Number(n as f64)),
            Column::Number(c) => c[slot].map_or(Value::Null, Value::Number),
            Column::String(c) => c[slot]
                .as_deref()
                .map_or(Value::Null, |s| Value::String(s.to_owned())),
            Column::Date(c) => c[slot].map_or(Value::Null, Value::Date),
            Column::Timestamp(c) => c[slot]
                .as_ref()
                .map_or(Value::Null, |(t, _)| Value::Timestamp(*t)),
            Column::StringArray(_) | Column::Json(_) => Value::Null,
        }
    }

    /// The number at `slot`, for sums; `None` for null or a non-numeric column.
    pub fn number_at(&self, slot: usize) -> Option<f64> {
        match self {
            Column::Integer(c) => c[slot].map(|n| n as f64),
            Column::Number(c) => c[slot],
            _ => None,
        }
    }

    /// The string at `slot` without copying; `None` for null or a non-string column.
    pub fn str_at(&self, slot: usize) -> Option<&str> {
        match self {
            Column::String(c) => c[slot].as_deref(),
            _ => None,
        }
    }
}

impl Column {
    /// Orders two slots by this column's value, nulls last; `Equal` for unsortable columns.
    pub fn cmp_slots(&self, a: usize, b: usize) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        fn nulls_last<T>(x: Option<T>, y: Option<T>, f: impl FnOnce(T, T) -> Ordering) -> Ordering {
            match (x, y) {
                (Some(x), Some(y)) => f(x, y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        match self {
            Column::Boolean(c) => nulls_last(c[a], c[b], |x, y| x.cmp(&y)),
            Column::Integer(c) => nulls_last(c[a], c[b], |x, y| x.cmp(&y)),
            Column::Number(c) => nulls_last(c[a], c[b], |x, y| x.total_cmp(&y)),
            Column::String(c) => nulls_last(c[a].as_deref(), c[b].as_deref(), |x, y| x.cmp(y)),
            Column::Date(c) => nulls_last(c[a], c[b], |x, y| x.cmp(&y)),
            Column::Timestamp(c) => nulls_last(c[a].as_ref(), c[b].as_ref(), |x, y| x.0.cmp(&y.0)),
            Column::StringArray(_) | Column::Json(_) => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serves_every_type_as_json() {
        let cols = [
            (Column::Boolean(vec![Some(true), None]), json!(true)),
            (Column::Integer(vec![Some(-7), None]), json!(-7)),
            (Column::Number(vec![Some(2.5), None]), json!(2.5)),
            (
                Column::String(vec![Some("火箭大街".into()), None]),
                json!("火箭大街"),
            ),
            (
                Column::Date(vec![parse_date("2026-09-30"), None]),
                json!("2026-09-30"),
            ),
            (
                Column::Timestamp(vec![Some((0, "1970-01-01T00:00:00Z".into())), None]),
                json!("1970-01-01T00:00:00Z"),
            ),
            (
                Column::StringArray(vec![Some(vec!["a".into()].into_boxed_slice()), None]),
                json!(["a"]),
            ),
            (
                Column::Json(vec![Some(json!({"a": 1})), None]),
                json!({"a": 1}),
            ),
        ];
        for (c, v) in cols {
            assert_eq!(c.json_at(0), v);
            assert_eq!(c.json_at(1), Json::Null);
        }
    }

    #[test]
    fn sorts_nulls_last() {
        let c = Column::Number(vec![None, Some(2.0), Some(1.0)]);
        assert_eq!(c.cmp_slots(1, 2), std::cmp::Ordering::Greater);
        assert_eq!(c.cmp_slots(0, 2), std::cmp::Ordering::Greater);
    }
}
