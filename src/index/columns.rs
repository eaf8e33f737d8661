//! Typed attribute columns: one vector per property, indexed by the feature's slot.
//!
//! Storing attributes column-wise (instead of one JSON map per feature) keeps a million features
//! small in memory and lets a compiled filter read a typed value with one index operation.

use super::Chunked;
#[cfg(test)]
use crate::model::parse_date;
use crate::model::{format_date, FieldType, Value};
use serde_json::Value as Json;

/// One property's values for every feature of a layer; `None` is null (or absent).
///
/// Values are [`Chunked`]: the next version of a layer after an edit copies only the chunk the
/// edit touched.
#[derive(Debug, Clone)]
pub enum Column {
    Boolean(Chunked<Option<bool>>),
    Integer(Chunked<Option<i64>>),
    Number(Chunked<Option<f64>>),
    /// Shared strings: ingest interns them, so repeated values cost one allocation.
    String(Chunked<Option<std::sync::Arc<str>>>),
    Date(Chunked<Option<i32>>),
    /// The instant in milliseconds, plus the text as written so output loses nothing.
    Timestamp(Chunked<Option<(i64, std::sync::Arc<str>)>>),
    StringArray(Chunked<Option<std::sync::Arc<[Box<str>]>>>),
    Json(Chunked<Option<Json>>),
}

/// One typed value for a column (what an edit writes); `Null` fits every column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(std::sync::Arc<str>),
    Date(i32),
    Timestamp(i64, Box<str>),
    StringArray(Box<[Box<str>]>),
    Json(Json),
}

/// A cell whose type is not its column's: a bug in the caller, which checks types first.
#[derive(Debug, thiserror::Error)]
#[error("a {cell} value cannot go in a {column} column")]
pub struct CellMismatch {
    pub cell: &'static str,
    pub column: &'static str,
}

impl Column {
    /// An empty column of `ty`.
    pub fn empty(ty: FieldType) -> Self {
        match ty {
            FieldType::Boolean => Column::Boolean(Chunked::default()),
            FieldType::Integer => Column::Integer(Chunked::default()),
            FieldType::Number => Column::Number(Chunked::default()),
            FieldType::String => Column::String(Chunked::default()),
            FieldType::Date => Column::Date(Chunked::default()),
            FieldType::Timestamp => Column::Timestamp(Chunked::default()),
            FieldType::StringArray => Column::StringArray(Chunked::default()),
            FieldType::Json => Column::Json(Chunked::default()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Boolean(c) => c.len(),
            Column::Integer(c) => c.len(),
            Column::Number(c) => c.len(),
            Column::String(c) => c.len(),
            Column::Date(c) => c.len(),
            Column::Timestamp(c) => c.len(),
            Column::StringArray(c) => c.len(),
            Column::Json(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `cell` at `slot`, or appends it when `slot` is the column's length.
    /// Whether `cell` can go in this column (what [`put`](Self::put) would refuse).
    pub fn accepts(&self, cell: &Cell) -> Result<(), CellMismatch> {
        let fits = matches!(
            (self, cell),
            (_, Cell::Null)
                | (Column::Boolean(_), Cell::Boolean(_))
                | (Column::Integer(_), Cell::Integer(_))
                | (Column::Number(_), Cell::Number(_) | Cell::Integer(_))
                | (Column::String(_), Cell::String(_))
                | (Column::Date(_), Cell::Date(_))
                | (Column::Timestamp(_), Cell::Timestamp(..))
                | (Column::StringArray(_), Cell::StringArray(_))
                | (Column::Json(_), Cell::Json(_))
        );
        if fits {
            Ok(())
        } else {
            Err(CellMismatch {
                cell: cell.kind(),
                column: self.field_type().name(),
            })
        }
    }

    pub fn put(&mut self, slot: usize, cell: Cell) -> Result<(), CellMismatch> {
        fn put<T: Clone>(c: &mut Chunked<Option<T>>, slot: usize, v: Option<T>) {
            if slot == c.len() {
                c.push(v);
            } else {
                c.set(slot, v);
            }
        }
        let column = self.field_type().name();
        match (self, cell) {
            (Column::Boolean(c), Cell::Null) => put(c, slot, None),
            (Column::Integer(c), Cell::Null) => put(c, slot, None),
            (Column::Number(c), Cell::Null) => put(c, slot, None),
            (Column::String(c), Cell::Null) => put(c, slot, None),
            (Column::Date(c), Cell::Null) => put(c, slot, None),
            (Column::Timestamp(c), Cell::Null) => put(c, slot, None),
            (Column::StringArray(c), Cell::Null) => put(c, slot, None),
            (Column::Json(c), Cell::Null) => put(c, slot, None),
            (Column::Boolean(c), Cell::Boolean(v)) => put(c, slot, Some(v)),
            (Column::Integer(c), Cell::Integer(v)) => put(c, slot, Some(v)),
            (Column::Number(c), Cell::Number(v)) => put(c, slot, Some(v)),
            (Column::Number(c), Cell::Integer(v)) => put(c, slot, Some(v as f64)),
            (Column::String(c), Cell::String(v)) => put(c, slot, Some(v)),
            (Column::Date(c), Cell::Date(v)) => put(c, slot, Some(v)),
            (Column::Timestamp(c), Cell::Timestamp(t, s)) => put(c, slot, Some((t, s.into()))),
            (Column::StringArray(c), Cell::StringArray(v)) => put(c, slot, Some(v.into())),
            (Column::Json(c), Cell::Json(v)) => put(c, slot, Some(v)),
            (_, cell) => {
                return Err(CellMismatch {
                    cell: cell.kind(),
                    column,
                })
            }
        }
        Ok(())
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

    /// The value at `slot` as a cell (what an edit would write to keep it).
    pub fn cell_at(&self, slot: usize) -> Cell {
        match self {
            Column::Boolean(v) => v[slot].map_or(Cell::Null, Cell::Boolean),
            Column::Integer(v) => v[slot].map_or(Cell::Null, Cell::Integer),
            Column::Number(v) => v[slot].map_or(Cell::Null, Cell::Number),
            Column::String(v) => v[slot].clone().map_or(Cell::Null, Cell::String),
            Column::Date(v) => v[slot].map_or(Cell::Null, Cell::Date),
            Column::Timestamp(v) => v[slot]
                .clone()
                .map_or(Cell::Null, |(t, s)| Cell::Timestamp(t, Box::from(&*s))),
            Column::StringArray(v) => v[slot]
                .as_deref()
                .map_or(Cell::Null, |v| Cell::StringArray(v.into())),
            Column::Json(v) => v[slot].clone().map_or(Cell::Null, Cell::Json),
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

impl Cell {
    pub fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Boolean(_) => "boolean",
            Cell::Integer(_) => "integer",
            Cell::Number(_) => "number",
            Cell::String(_) => "string",
            Cell::Date(_) => "date",
            Cell::Timestamp(..) => "timestamp",
            Cell::StringArray(_) => "string array",
            Cell::Json(_) => "json",
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
            (Column::Boolean(vec![Some(true), None].into()), json!(true)),
            (Column::Integer(vec![Some(-7), None].into()), json!(-7)),
            (Column::Number(vec![Some(2.5), None].into()), json!(2.5)),
            (
                Column::String(vec![Some("火箭大街".into()), None].into()),
                json!("火箭大街"),
            ),
            (
                Column::Date(vec![parse_date("2026-09-30"), None].into()),
                json!("2026-09-30"),
            ),
            (
                Column::Timestamp(vec![Some((0, "1970-01-01T00:00:00Z".into())), None].into()),
                json!("1970-01-01T00:00:00Z"),
            ),
            (
                Column::StringArray(vec![Some(vec!["a".into()].into()), None].into()),
                json!(["a"]),
            ),
            (
                Column::Json(vec![Some(json!({"a": 1})), None].into()),
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
        let c = Column::Number(vec![None, Some(2.0), Some(1.0)].into());
        assert_eq!(c.cmp_slots(1, 2), std::cmp::Ordering::Greater);
        assert_eq!(c.cmp_slots(0, 2), std::cmp::Ordering::Greater);
    }
}
