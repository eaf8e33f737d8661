//! CSV: a header row, then one feature per row (see `table` for types and coordinates).
//! UTF-8 with or without a byte-order mark, or GBK/GB18030 named by the sidecar's
//! `"encoding"`; comma, semicolon or tab separated (the one the header uses most). GDAL's
//! companions are honoured: a `.csvt` declares the column types, a `.prj` the coordinates.

use super::table::{self, Cell, Kind, Table};
use super::{bilingual, prj, text, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::{IngestError, SourceFile};

pub(crate) fn read(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<LayerParts, IngestError> {
    let label = file.name.as_str();
    let meta = cx.meta(stem);
    let encoding = match &meta.encoding {
        Some(e) => text::named(e).map_err(|r| IngestError::file(label, format!("sidecar: {r}")))?,
        None => encoding_rs::UTF_8,
    };
    let bytes = text::without_bom(&file.bytes);
    let decoded = text::decode(encoding, bytes).map_err(|reason| {
        let line = match std::str::from_utf8(bytes) {
            Err(e) if encoding == encoding_rs::UTF_8 => {
                let n = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                format!("line {n}: ")
            }
            _ => String::new(),
        };
        IngestError::file(label, format!("{line}{reason}"))
    })?;
    let separator = separator(&decoded);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .from_reader(decoded.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(label, ("CSV", "CSV"), &e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(label, ("CSV", "CSV"), &e))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cells = record
            .iter()
            .map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.to_owned())
                }
            })
            .collect();
        rows.push((line, cells));
    }
    let declared = match cx.companions.get(stem, ".csvt") {
        Some(t) => csvt(t, header.len())?,
        None => vec![None; header.len()],
    };
    let crs = match cx.companions.get(stem, ".prj") {
        Some(p) => Some(
            prj::source_crs(&String::from_utf8_lossy(&p.bytes))
                .map_err(|r| IngestError::file(&p.name, r))?,
        ),
        None => None,
    };
    let table = Table {
        header,
        rows,
        declared,
    };
    table::into_layer(label, stem, table, meta, cx, crs)
}

/// The separator the header line uses most: `,`, `;` or a tab.
pub(super) fn separator(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|s| first.bytes().filter(|b| b == s).count())
        .unwrap_or(b',')
}

/// GDAL's `.csvt`: one type per column (`Integer`, `Integer(Boolean)`, `Real`, `String`,
/// `Date`, `JSonStringList`, `WKT`, ...), quoted or not.
fn csvt(file: &SourceFile, columns: usize) -> Result<Vec<Option<Kind>>, IngestError> {
    let text = String::from_utf8_lossy(&file.bytes);
    let kinds: Vec<Option<Kind>> = text
        .trim()
        .split(',')
        .map(|t| {
            let t = t.trim().trim_matches('"').to_ascii_lowercase();
            let base = t.split('(').next().unwrap_or_default();
            match (base, t.as_str()) {
                (_, "integer(boolean)") => Some(Kind::Bool),
                ("integer" | "integer64", _) => Some(Kind::Int),
                ("real", _) => Some(Kind::Num),
                ("wkt", _) => Some(Kind::Wkt),
                ("jsonstringlist", _) => Some(Kind::Array),
                ("date", _) => Some(Kind::Date),
                ("string" | "time" | "datetime", _) => Some(Kind::Text),
                _ => None,
            }
        })
        .collect();
    if kinds.len() != columns {
        return Err(IngestError::file(
            &file.name,
            bilingual(
                &format!(
                    "declares {} column types for {columns} columns",
                    kinds.len()
                ),
                &format!("声明了 {} 个列类型，但表中有 {columns} 列", kinds.len()),
            ),
        ));
    }
    Ok(kinds)
}
