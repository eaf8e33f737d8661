//! CSV: one row per feature, the geometry as WKT, then every property; UTF-8, with an optional
//! byte-order mark for Excel.

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
    let header: Vec<&str> = ["id", "wkt"]
        .into_iter()
        .chain(source.fields.iter().map(|f| f.name.as_str()))
        .collect();
    w.write_record(&header).map_err(std::io::Error::from)?;
    for f in source.features {
        let mut row = Vec::with_capacity(header.len());
        row.push(f.id.to_string());
        row.push(options.crs.for_text(&f.geometry).wkt_string());
        for field in &source.fields {
            row.push(f.properties.get(&field.name).map(text).unwrap_or_default());
        }
        w.write_record(&row).map_err(std::io::Error::from)?;
    }
    w.flush()?;
    Ok(())
}
