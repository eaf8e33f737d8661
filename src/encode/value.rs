//! Property values written straight from the typed columns, as JSON text identical to what
//! `serde_json` writes for [`Column::json_at`]: going through serde's map and string machinery
//! per cell was the largest share of an items request.

use crate::index::{Column, Layer};
use crate::model::json_text::{write_date, write_f64, write_i64, write_str};

/// The value of `col` at `slot` as JSON text.
pub fn write_column_value(col: &Column, slot: usize, out: &mut Vec<u8>) {
    const NULL: &[u8] = b"null";
    match col {
        Column::Boolean(c) => out.extend_from_slice(match c[slot] {
            Some(true) => b"true",
            Some(false) => b"false",
            None => NULL,
        }),
        Column::Integer(c) => match c[slot] {
            Some(n) => write_i64(out, n),
            None => out.extend_from_slice(NULL),
        },
        Column::Number(c) => match c[slot] {
            Some(v) => write_f64(out, v),
            None => out.extend_from_slice(NULL),
        },
        Column::String(c) => match c[slot].as_deref() {
            Some(v) => write_str(out, v),
            None => out.extend_from_slice(NULL),
        },
        Column::Date(c) => match c[slot] {
            Some(d) => write_date(out, d),
            None => out.extend_from_slice(NULL),
        },
        Column::Timestamp(c) => match &c[slot] {
            Some((_, t)) => write_str(out, t),
            None => out.extend_from_slice(NULL),
        },
        Column::StringArray(c) => match &c[slot] {
            Some(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, item);
                }
                out.push(b']');
            }
            None => out.extend_from_slice(NULL),
        },
        // Writing to a Vec cannot fail.
        Column::Json(c) => {
            let _ = serde_json::to_writer(&mut *out, &c[slot]);
        }
    }
}

/// The properties object of `slot` (only the columns `only`, in that order, if given; else
/// every column in field order), as `Layer::properties_json` would serialise.
pub fn write_slot_properties(
    layer: &Layer,
    slot: usize,
    only: Option<&[usize]>,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let mut put = |n: usize, i: usize| {
        if n > 0 {
            out.push(b',');
        }
        write_str(out, &layer.fields[i].name);
        out.push(b':');
        write_column_value(&layer.columns[i], slot, out);
    };
    match only {
        Some(indices) => indices.iter().enumerate().for_each(|(n, &i)| put(n, i)),
        None => (0..layer.fields.len()).for_each(|i| put(i, i)),
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_date;
    use serde_json::{json, Value as Json};

    #[test]
    fn every_type_writes_what_serde_json_writes() {
        let cols = [
            Column::Boolean(vec![Some(true), None].into()),
            Column::Integer(vec![Some(-7), None].into()),
            Column::Number(vec![Some(2.5), None].into()),
            Column::String(vec![Some("火箭\"大街".into()), None].into()),
            Column::Date(vec![parse_date("2026-09-30"), None].into()),
            Column::Timestamp(vec![Some((0, "1970-01-01T00:00:00Z".into())), None].into()),
            Column::StringArray(vec![Some(vec!["a".into()].into()), None].into()),
            Column::Json(vec![Some(json!({"a": 1})), None].into()),
        ];
        for c in cols {
            assert_eq!(c.json_at(1), Json::Null);
            for slot in 0..2 {
                let mut text = Vec::new();
                write_column_value(&c, slot, &mut text);
                assert_eq!(text, serde_json::to_vec(&c.json_at(slot)).unwrap());
            }
        }
    }
}
