//! Typed attribute columns: one vector per property, indexed by the feature's slot.
//!
//! Storing attributes column-wise (instead of one JSON map per feature) keeps a million features
//! small in memory and lets a compiled filter read a typed value with one index operation.

use crate::domain::{format_date, parse_date, parse_timestamp, FieldType, Value};
use serde_json::Value as Json;

/// One property's values for every feature of a layer; `None` is null (or absent).
#[derive(Debug, Clone)]
pub enum Column {
    Boolean(Vec<Option<bool>>),
    Integer(Vec<Option<i64>>),
    Number(Vec<Option<f64>>),
    String(Vec<Option<Box<str>>>),
    Date(Vec<Option<i32>>),
    /// The instant in milliseconds, plus the text as written so output loses nothing.
    Timestamp(Vec<Option<(i64, Box<str>)>>),
    StringArray(Vec<Option<Box<[Box<str>]>>>),
    Json(Vec<Option<Json>>),
}

/// Why a value did not fit the column type inferred for its property.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("expected {expected}, found {found}")]
pub struct TypeMismatch {
    pub expected: &'static str,
    pub found: String,
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

    /// Appends a JSON value (or null) converted to the column's type.
    pub fn push_json(&mut self, v: Option<&Json>) -> Result<(), TypeMismatch> {
        let v = v.filter(|v| !v.is_null());
        let found = || describe(v.unwrap_or(&Json::Null));
        let mismatch = |expected: &'static str| TypeMismatch {
            expected,
            found: found(),
        };
        match self {
            Column::Boolean(c) => c.push(match v {
                None => None,
                Some(Json::Bool(b)) => Some(*b),
                Some(_) => return Err(mismatch("a boolean")),
            }),
            Column::Integer(c) => c.push(match v {
                None => None,
                Some(j) => Some(j.as_i64().ok_or_else(|| mismatch("an integer"))?),
            }),
            Column::Number(c) => c.push(match v {
                None => None,
                Some(j) => Some(j.as_f64().ok_or_else(|| mismatch("a number"))?),
            }),
            Column::String(c) => c.push(match v {
                None => None,
                Some(Json::String(s)) => Some(s.as_str().into()),
                Some(_) => return Err(mismatch("a string")),
            }),
            Column::Date(c) => c.push(match v {
                None => None,
                Some(j) => Some(
                    j.as_str()
                        .and_then(parse_date)
                        .ok_or_else(|| mismatch("a YYYY-MM-DD date"))?,
                ),
            }),
            Column::Timestamp(c) => c.push(match v {
                None => None,
                Some(j) => {
                    let s = j
                        .as_str()
                        .ok_or_else(|| mismatch("an RFC 3339 timestamp"))?;
                    let t = parse_timestamp(s).ok_or_else(|| mismatch("an RFC 3339 timestamp"))?;
                    Some((t, s.into()))
                }
            }),
            Column::StringArray(c) => c.push(match v {
                None => None,
                Some(Json::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(Box::from))
                        .collect::<Option<Box<[Box<str>]>>>()
                        .ok_or_else(|| mismatch("an array of strings"))?,
                ),
                Some(_) => return Err(mismatch("an array of strings")),
            }),
            Column::Json(c) => c.push(v.cloned()),
        }
        Ok(())
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

/// Infers one column type from every non-null value of a property.
///
/// Integers widen to numbers; strings that are all dates (or all timestamps) become dates (or
/// timestamps); arrays of strings stay arrays. Anything else that mixes kinds is an error naming
/// the two kinds, so a layer never carries a column that filters cannot reason about.
pub fn infer_type<'a>(
    values: impl Iterator<Item = &'a Json>,
) -> Result<FieldType, (String, String)> {
    let mut ty: Option<FieldType> = None;
    for v in values {
        let this = match v {
            Json::Null => continue,
            Json::Bool(_) => FieldType::Boolean,
            Json::Number(n) if n.is_i64() => FieldType::Integer,
            Json::Number(_) => FieldType::Number,
            Json::String(s) if parse_date(s).is_some() => FieldType::Date,
            Json::String(s) if parse_timestamp(s).is_some() => FieldType::Timestamp,
            Json::String(_) => FieldType::String,
            Json::Array(a) if a.iter().all(Json::is_string) => FieldType::StringArray,
            Json::Array(_) | Json::Object(_) => FieldType::Json,
        };
        ty = Some(match (ty, this) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (
                Some(FieldType::Integer | FieldType::Number),
                FieldType::Integer | FieldType::Number,
            ) => FieldType::Number,
            (
                Some(FieldType::String | FieldType::Date | FieldType::Timestamp),
                FieldType::String | FieldType::Date | FieldType::Timestamp,
            ) => FieldType::String,
            (
                Some(FieldType::StringArray | FieldType::Json),
                FieldType::StringArray | FieldType::Json,
            ) => FieldType::Json,
            (Some(a), b) => return Err((a.name().to_owned(), b.name().to_owned())),
        });
    }
    Ok(ty.unwrap_or(FieldType::String))
}

fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("boolean {b}"),
        Json::Number(n) => format!("number {n}"),
        Json::String(s) => format!("string {s:?}"),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn infer(vals: &[Json]) -> Result<FieldType, (String, String)> {
        infer_type(vals.iter())
    }

    #[test]
    fn infers_and_widens() {
        assert_eq!(
            infer(&[json!(1), json!(null), json!(2)]),
            Ok(FieldType::Integer)
        );
        assert_eq!(infer(&[json!(1), json!(2.5)]), Ok(FieldType::Number));
        assert_eq!(
            infer(&[json!("2027-01-01"), json!("2028-12-31")]),
            Ok(FieldType::Date)
        );
        assert_eq!(
            infer(&[json!("2027-01-01"), json!("soon")]),
            Ok(FieldType::String)
        );
        assert_eq!(
            infer(&[json!(["a"]), json!([])]),
            Ok(FieldType::StringArray)
        );
        assert_eq!(infer(&[json!(null)]), Ok(FieldType::String));
        assert!(infer(&[json!(1), json!("1")]).is_err());
        assert!(infer(&[json!(true), json!(0)]).is_err());
    }

    #[test]
    fn round_trips_every_type() {
        for (ty, v) in [
            (FieldType::Boolean, json!(true)),
            (FieldType::Integer, json!(-7)),
            (FieldType::Number, json!(2.5)),
            (FieldType::String, json!("火箭大街")),
            (FieldType::Date, json!("2026-09-30")),
            (FieldType::Timestamp, json!("2022-04-16T10:13:19Z")),
            (FieldType::StringArray, json!(["ftz-etown-cluster"])),
            (FieldType::Json, json!({"a": [1, 2]})),
        ] {
            let mut c = Column::with_capacity(ty, 2);
            c.push_json(Some(&v)).unwrap();
            c.push_json(None).unwrap();
            assert_eq!(c.json_at(0), v, "{ty:?}");
            assert_eq!(c.json_at(1), Json::Null);
        }
    }
}
