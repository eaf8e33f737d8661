//! Typed columns built while features stream in, one value at a time.
//!
//! Each property's column starts untyped and settles on a type with its first non-null value;
//! integers widen to numbers and string arrays to JSON as later values demand, and anything else
//! that changes kind is an error naming the property, the feature and both kinds. Strings are
//! interned, so a million carriers share one `"future_health"`. At the end, a string column whose
//! values are all dates (or all timestamps) becomes a date (or timestamp) column.

use std::collections::HashMap;

use rustc_hash::FxHashSet;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::index::Column;
use crate::model::Field;
use crate::model::{parse_date, parse_timestamp, FieldType};

enum Values {
    /// Only nulls so far: how many.
    Unset(usize),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Num(Vec<Option<f64>>),
    Str(Vec<Option<Arc<str>>>),
    StrArray(Vec<Option<Box<[Box<str>]>>>),
    Json(Vec<Option<Json>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Unset(n) => *n,
            Values::Bool(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Num(v) => v.len(),
            Values::Str(v) => v.len(),
            Values::StrArray(v) => v.len(),
            Values::Json(v) => v.len(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Values::Unset(_) => "null",
            Values::Bool(_) => "boolean",
            Values::Int(_) | Values::Num(_) => "number",
            Values::Str(_) => "string",
            Values::StrArray(_) | Values::Json(_) => "array or object",
        }
    }

    fn push_null(&mut self) {
        match self {
            Values::Unset(n) => *n += 1,
            Values::Bool(v) => v.push(None),
            Values::Int(v) => v.push(None),
            Values::Num(v) => v.push(None),
            Values::Str(v) => v.push(None),
            Values::StrArray(v) => v.push(None),
            Values::Json(v) => v.push(None),
        }
    }
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) | Json::Object(_) => "array or object",
    }
}

fn nones<T>(n: usize) -> Vec<Option<T>> {
    std::iter::repeat_with(|| None).take(n).collect()
}

/// A property whose values change kind between features: (property, first kind, this kind).
#[derive(Debug)]
pub struct Mixed {
    pub property: String,
    pub was: &'static str,
    pub now: &'static str,
}

/// After this many values, a column whose distinct strings exceed half of them (names, say)
/// stops interning: sharing would save nothing and the table would only cost memory.
const INTERN_PROBE: usize = 4096;

struct Builder {
    name: String,
    values: Values,
    /// `None` once the column has proved to hold mostly distinct strings.
    interner: Option<FxHashSet<Arc<str>>>,
    seen: usize,
}

impl Builder {
    fn intern(&mut self, s: String) -> Arc<str> {
        self.seen += 1;
        let Some(table) = self.interner.as_mut() else {
            return s.into();
        };
        if let Some(a) = table.get(s.as_str()) {
            return Arc::clone(a);
        }
        let a: Arc<str> = s.into();
        table.insert(Arc::clone(&a));
        if self.seen == INTERN_PROBE && table.len() > INTERN_PROBE / 2 {
            self.interner = None;
        }
        a
    }

    fn push(&mut self, v: Json) -> Result<(), Mixed> {
        let mixed = |was: &'static str, v: &Json, name: &str| Mixed {
            property: name.to_owned(),
            was,
            now: kind_of(v),
        };
        if v.is_null() {
            self.values.push_null();
            return Ok(());
        }
        if let Values::Unset(n) = self.values {
            self.values = match &v {
                Json::Bool(_) => Values::Bool(nones(n)),
                Json::Number(x) if x.is_i64() => Values::Int(nones(n)),
                Json::Number(_) => Values::Num(nones(n)),
                Json::String(_) => Values::Str(nones(n)),
                Json::Array(a) if a.iter().all(Json::is_string) => Values::StrArray(nones(n)),
                _ => Values::Json(nones(n)),
            };
        }
        // Widen where the kind allows it.
        let widen_to_num =
            matches!((&self.values, &v), (Values::Int(_), Json::Number(x)) if !x.is_i64());
        if widen_to_num {
            if let Values::Int(ints) = &self.values {
                self.values = Values::Num(ints.iter().map(|x| x.map(|i| i as f64)).collect());
            }
        }
        let widen_to_json = matches!((&self.values, &v), (Values::StrArray(_), Json::Array(a)) if !a.iter().all(Json::is_string))
            || matches!((&self.values, &v), (Values::StrArray(_), Json::Object(_)));
        if widen_to_json {
            if let Values::StrArray(arrays) = &self.values {
                self.values = Values::Json(
                    arrays
                        .iter()
                        .map(|a| {
                            a.as_ref().map(|items| {
                                Json::Array(items.iter().map(|s| Json::from(&**s)).collect())
                            })
                        })
                        .collect(),
                );
            }
        }
        let name = self.name.clone();
        match (&mut self.values, v) {
            (Values::Bool(c), Json::Bool(b)) => c.push(Some(b)),
            (Values::Int(c), Json::Number(x)) if x.is_i64() => c.push(x.as_i64()),
            (Values::Num(c), Json::Number(x)) => c.push(x.as_f64()),
            (Values::Str(_), Json::String(s)) => {
                let a = self.intern(s);
                if let Values::Str(c) = &mut self.values {
                    c.push(Some(a));
                }
            }
            (Values::StrArray(c), Json::Array(items)) => c.push(Some(
                items
                    .into_iter()
                    .map(|i| match i {
                        Json::String(s) => s.into_boxed_str(),
                        other => other.to_string().into_boxed_str(),
                    })
                    .collect(),
            )),
            (Values::Json(c), v @ (Json::Array(_) | Json::Object(_))) => c.push(Some(v)),
            (values, v) => return Err(mixed(values.kind(), &v, &name)),
        }
        Ok(())
    }

    fn finish(self) -> (Field, Column) {
        let field = |ty, nulls_only| Field {
            name: self.name.clone(),
            ty,
            derived: false,
            nulls_only,
        };
        match self.values {
            Values::Unset(n) => (
                field(FieldType::String, true),
                Column::String(nones(n).into()),
            ),
            Values::Bool(v) => (field(FieldType::Boolean, false), Column::Boolean(v.into())),
            Values::Int(v) => (field(FieldType::Integer, false), Column::Integer(v.into())),
            Values::Num(v) => (field(FieldType::Number, false), Column::Number(v.into())),
            Values::StrArray(v) => (
                field(FieldType::StringArray, false),
                Column::StringArray(v.into_iter().map(|v| v.map(Into::into)).collect()),
            ),
            Values::Json(v) => (field(FieldType::Json, false), Column::Json(v.into())),
            Values::Str(v) => {
                let all = |ok: fn(&str) -> bool| v.iter().flatten().all(|s| ok(s));
                if all(|s| parse_date(s).is_some()) {
                    let days = v
                        .iter()
                        .map(|s| s.as_deref().and_then(parse_date))
                        .collect();
                    (field(FieldType::Date, false), Column::Date(days))
                } else if all(|s| parse_timestamp(s).is_some()) {
                    let ts = v
                        .iter()
                        .map(|s| {
                            s.as_deref().and_then(|s| {
                                parse_timestamp(s).map(|t| (t, std::sync::Arc::from(s)))
                            })
                        })
                        .collect();
                    (field(FieldType::Timestamp, false), Column::Timestamp(ts))
                } else {
                    (field(FieldType::String, false), Column::String(v.into()))
                }
            }
        }
    }
}

/// Columns for every property seen, filled one feature (row) at a time.
#[derive(Default)]
pub struct ColumnsBuilder {
    builders: Vec<Builder>,
    index: HashMap<String, usize>,
    rows: usize,
}

impl ColumnsBuilder {
    /// Adds one feature's properties as the next row.
    pub fn push_row(&mut self, properties: Map<String, Json>) -> Result<(), Mixed> {
        for (name, v) in properties {
            let i = match self.index.get(&name) {
                Some(i) => *i,
                None => {
                    self.builders.push(Builder {
                        name: name.clone(),
                        values: Values::Unset(self.rows),
                        interner: Some(FxHashSet::default()),
                        seen: 0,
                    });
                    self.index.insert(name, self.builders.len() - 1);
                    self.builders.len() - 1
                }
            };
            if self.builders[i].values.len() > self.rows {
                // A repeated key in one object: serde_json keeps the last; so do we.
                continue;
            }
            self.builders[i].push(v)?;
        }
        self.rows += 1;
        for b in &mut self.builders {
            if b.values.len() < self.rows {
                b.values.push_null();
            }
        }
        Ok(())
    }

    pub fn finish(self) -> (Vec<Field>, Vec<Column>) {
        self.builders.into_iter().map(Builder::finish).unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(rows: Vec<Json>) -> Result<(Vec<Field>, Vec<Column>), Mixed> {
        let mut b = ColumnsBuilder::default();
        for r in rows {
            let Json::Object(m) = r else { panic!() };
            b.push_row(m)?;
        }
        Ok(b.finish())
    }

    #[test]
    fn infers_widens_pads_and_detects_dates() {
        let (fields, cols) = build(vec![
            json!({"a": 1, "d": "2027-01-01"}),
            json!({"a": 2.5, "late": "x"}),
            json!({"a": null, "d": "2028-12-31", "arr": ["z"]}),
        ])
        .unwrap();
        let ty = |n: &str| fields.iter().find(|f| f.name == n).unwrap().ty;
        assert_eq!(ty("a"), FieldType::Number);
        assert_eq!(ty("d"), FieldType::Date);
        assert_eq!(ty("late"), FieldType::String);
        assert_eq!(ty("arr"), FieldType::StringArray);
        assert!(cols.iter().all(|c| match c {
            Column::Number(v) => v.len() == 3,
            Column::Date(v) => v.len() == 3,
            Column::String(v) => v.len() == 3,
            Column::StringArray(v) => v.len() == 3,
            _ => false,
        }));
        let late = cols[fields.iter().position(|f| f.name == "late").unwrap()].json_at(0);
        assert_eq!(
            late,
            Json::Null,
            "a property first seen later is null before"
        );
    }

    #[test]
    fn refuses_a_change_of_kind() {
        let e = build(vec![json!({"a": 1}), json!({"a": "1"})]).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.was, e.now),
            ("a", "number", "string")
        );
        assert!(build(vec![json!({"b": true}), json!({"b": 0})]).is_err());
    }

    #[test]
    fn interns_repeated_strings() {
        let (_, cols) = build(vec![
            json!({"s": "future_health"}),
            json!({"s": "future_health"}),
        ])
        .unwrap();
        let Column::String(v) = &cols[0] else {
            panic!()
        };
        assert!(Arc::ptr_eq(v[0].as_ref().unwrap(), v[1].as_ref().unwrap()));
    }
}
