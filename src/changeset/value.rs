//! A cell as a property's value. Spreadsheets hold numbers as numbers, dates as dates and text
//! as text; CSV holds only text. Either way the value must be what the property's type and
//! vocabulary take, or the cell gets a reason in English and Chinese.

use serde_json::{json, Value as Json};

use super::Reason;
use crate::ingest::formats::table::Cell;
use crate::model::{parse_date, parse_timestamp, FieldType, Vocabulary};

/// The value `cell` gives a property of type `ty` (`Null` for an empty cell: the value is
/// cleared). A vocabulary's term may be written by its id or its Chinese or English label.
pub fn value_of(
    cell: &Cell,
    ty: FieldType,
    vocabulary: Option<&Vocabulary>,
) -> Result<Json, Reason> {
    let text = match cell {
        Cell::Empty => return Ok(Json::Null),
        Cell::Text(s) => Some(s.trim()),
        _ => None,
    };
    let term = |s: &str| -> Result<String, Reason> {
        let Some(v) = vocabulary else {
            return Ok(s.to_owned());
        };
        v.terms
            .iter()
            .find(|t| t.id == s || t.zh == s || t.en.eq_ignore_ascii_case(s))
            .map(|t| t.id.clone())
            .ok_or_else(|| {
                Reason::new(
                    format!("{s:?} is not a term of vocabulary {:?}", v.id),
                    format!("“{s}”不是词表“{}”中的词条", v.id),
                )
            })
    };
    let number = |want: &str, want_zh: &str| -> Result<f64, Reason> {
        match cell {
            Cell::Number(x) => Ok(*x),
            Cell::Text(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    Reason::new(
                        format!("{s:?} is not {want}"),
                        format!("“{s}”不是{want_zh}"),
                    )
                }),
            other => Err(Reason::new(
                format!("{} is not {want}", shown(other)),
                format!("{} 不是{want_zh}", shown(other)),
            )),
        }
    };
    Ok(match ty {
        FieldType::Integer => {
            let x = number("a whole number", "整数")?;
            if x.fract() != 0.0 || x.abs() >= 9.0e15 {
                return Err(Reason::new(
                    format!("{x} is not a whole number"),
                    format!("{x} 不是整数"),
                ));
            }
            json!(x as i64)
        }
        FieldType::Number => json!(number("a number", "数字")?),
        FieldType::Boolean => match cell {
            Cell::Bool(b) => json!(b),
            Cell::Number(x) if *x == 0.0 || *x == 1.0 => json!(*x == 1.0),
            _ => match text.map(str::to_lowercase).as_deref() {
                Some("true" | "yes" | "y" | "1" | "是" | "真") => json!(true),
                Some("false" | "no" | "n" | "0" | "否" | "假") => json!(false),
                _ => {
                    return Err(Reason::new(
                        format!("{} is not true or false", shown(cell)),
                        format!("{} 不是“是”或“否”", shown(cell)),
                    ))
                }
            },
        },
        FieldType::String => match cell {
            Cell::Text(s) => json!(term(s.trim())?),
            Cell::Number(x) => json!(term(&number_text(*x))?),
            Cell::Bool(b) => json!(term(&b.to_string())?),
            Cell::Date(d) => json!(term(d)?),
            Cell::Empty => Json::Null,
        },
        FieldType::Date => {
            let d = match cell {
                Cell::Date(d) => d.get(..10).unwrap_or(d).to_owned(),
                Cell::Text(s) => s.trim().replace('/', "-"),
                other => {
                    return Err(Reason::new(
                        format!("{} is not a date (YYYY-MM-DD)", shown(other)),
                        format!("{} 不是日期（YYYY-MM-DD）", shown(other)),
                    ))
                }
            };
            if parse_date(&d).is_none() {
                return Err(Reason::new(
                    format!("{d:?} is not a date (YYYY-MM-DD)"),
                    format!("“{d}”不是日期（YYYY-MM-DD）"),
                ));
            }
            json!(d)
        }
        FieldType::Timestamp => {
            let t = match cell {
                Cell::Date(d) | Cell::Text(d) => d.trim().to_owned(),
                other => shown(other),
            };
            if parse_timestamp(&t).is_none() {
                return Err(Reason::new(
                    format!("{t:?} is not an RFC 3339 timestamp"),
                    format!("“{t}”不是 RFC 3339 时间"),
                ));
            }
            json!(t)
        }
        FieldType::StringArray => {
            let s = match cell {
                Cell::Text(s) => s.trim().to_owned(),
                other => shown(other),
            };
            let items: Vec<String> = match serde_json::from_str::<Vec<String>>(&s) {
                Ok(items) => items,
                Err(_) => s
                    .split([';', '；', '、'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            };
            let items: Result<Vec<String>, Reason> = items.iter().map(|t| term(t)).collect();
            json!(items?)
        }
        FieldType::Json => {
            let s = match cell {
                Cell::Text(s) => s.trim().to_owned(),
                other => shown(other),
            };
            serde_json::from_str(&s).map_err(|e| {
                Reason::new(
                    format!("{s:?} is not JSON: {e}"),
                    format!("“{s}”不是 JSON：{e}"),
                )
            })?
        }
    })
}

/// A JSON value (from a GeoJSON upload) as the cell it would be in a sheet, so both kinds of
/// file are read by the same rules.
pub fn cell_of(v: &Json) -> Cell {
    match v {
        Json::Null => Cell::Empty,
        Json::Bool(b) => Cell::Bool(*b),
        Json::Number(n) => Cell::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) if s.trim().is_empty() => Cell::Empty,
        Json::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

/// A number as a spreadsheet shows it: whole numbers without a decimal point.
pub fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

fn shown(cell: &Cell) -> String {
    match cell {
        Cell::Empty => "an empty cell".into(),
        Cell::Text(s) => format!("{s:?}"),
        Cell::Number(x) => number_text(*x),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Term;

    fn vocab() -> Vocabulary {
        Vocabulary {
            id: "status".into(),
            title: None,
            terms: vec![Term {
                id: "leasing".into(),
                zh: "招租中".into(),
                en: "Leasing".into(),
                color: None,
            }],
        }
    }

    #[test]
    fn cells_become_values_of_the_property_type() {
        let t = |s: &str| Cell::Text(s.into());
        assert_eq!(
            value_of(&Cell::Number(3000.0), FieldType::Integer, None),
            Ok(json!(3000))
        );
        assert_eq!(
            value_of(&t(" 12 "), FieldType::Integer, None),
            Ok(json!(12))
        );
        assert!(value_of(&t("12.5"), FieldType::Integer, None).is_err());
        assert_eq!(value_of(&t("2.5"), FieldType::Number, None), Ok(json!(2.5)));
        assert_eq!(
            value_of(&Cell::Empty, FieldType::Number, None),
            Ok(Json::Null)
        );
        assert_eq!(
            value_of(&Cell::Date("2027-06-30".into()), FieldType::Date, None),
            Ok(json!("2027-06-30"))
        );
        assert_eq!(
            value_of(&t("2027/06/30"), FieldType::Date, None),
            Ok(json!("2027-06-30"))
        );
        assert!(value_of(&t("next year"), FieldType::Date, None).is_err());
        assert_eq!(
            value_of(&t("是"), FieldType::Boolean, None),
            Ok(json!(true))
        );
        assert_eq!(
            value_of(&Cell::Number(101.0), FieldType::String, None),
            Ok(json!("101"))
        );
    }

    #[test]
    fn a_term_is_taken_by_id_or_label_and_anything_else_is_named_in_both_languages() {
        let v = vocab();
        for s in ["leasing", "招租中", "leasing", "LEASING"] {
            assert_eq!(
                value_of(&Cell::Text(s.into()), FieldType::String, Some(&v)),
                Ok(json!("leasing")),
                "{s}"
            );
        }
        let e = value_of(&Cell::Text("sold".into()), FieldType::String, Some(&v)).unwrap_err();
        assert!(
            e.en.contains("\"sold\"") && e.en.contains("status"),
            "{e:?}"
        );
        assert!(e.zh.contains("sold") && e.zh.contains("词表"), "{e:?}");
    }
}
