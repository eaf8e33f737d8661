//! CSV: one row per feature, the geometry as WKT, then every property; UTF-8, with an optional
//! byte-order mark for Excel.
//!
//! Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is written with a leading `'`, as OWASP recommends against CSV injection:
//! the data may come from anyone who can edit it. Numbers are written as numbers.

use std::io::Write;

use wkt::ToWkt;

use super::values::text;
use super::{ExportError, ExportOptions, ExportSource};

pub fn write(
    source: ExportSource,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    if options.csv_bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut w = csv::Writer::from_writer(out);
    let header: Vec<String> = ["id", "wkt"]
        .into_iter()
        .chain(source.fields.iter().map(|f| f.name.as_str()))
        .map(|name| inert(name.to_owned()))
        .collect();
    w.write_record(&header).map_err(std::io::Error::from)?;
    for f in source.features {
        let f = f?;
        let mut row = Vec::with_capacity(header.len());
        row.push(match &f.id {
            crate::model::FeatureId::Int(n) => n.to_string(),
            crate::model::FeatureId::Str(s) => inert(s.clone()),
        });
        row.push(options.crs.for_text(&f.geometry).wkt_string());
        for field in &source.fields {
            row.push(match f.properties.get(&field.name) {
                Some(serde_json::Value::String(s)) => inert(s.clone()),
                Some(v) => text(v),
                None => String::new(),
            });
        }
        w.write_record(&row).map_err(std::io::Error::from)?;
    }
    w.flush()?;
    Ok(())
}

/// Text as a cell a spreadsheet will not evaluate: a leading `'` before a formula's first
/// character.
pub fn inert(s: String) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_not() {
        for f in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(inert(f.to_owned()), format!("'{f}"));
        }
        for plain in ["火箭大街", "Rocket Street", "", "a=b"] {
            assert_eq!(inert(plain.to_owned()), plain);
        }
    }
}
