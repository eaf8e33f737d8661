//! Excel workbooks (`.xlsx`): the first sheet, its first row the header, one feature per
//! row below (see `table` for types and coordinates). Cells keep Excel's types: numbers,
//! booleans, dates (as `YYYY-MM-DD`, or RFC 3339 with a time), text; a cell holding an
//! error (`#N/A`, `#DIV/0!`) is refused by its row and column.

use calamine::{Data, Reader, Xlsx};

use super::table::{self, Cell, Table};
use super::{bilingual, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::{IngestError, SourceFile};

pub(crate) fn read(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<LayerParts, IngestError> {
    let label = file.name.as_str();
    let bad = |e: &dyn std::fmt::Display| unreadable(label, ("Excel workbook", "Excel 工作簿"), e);
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(file.bytes.as_ref())).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad(&"it has no sheet"))?
        .map_err(|e| bad(&e))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize) + 1;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| bad(&"its first sheet is empty"))?
        .iter()
        .map(|c| match c {
            Data::Empty => String::new(),
            other => other.to_string(),
        })
        .collect();
    let mut table_rows = Vec::new();
    for (i, row) in rows.enumerate() {
        let number = first_row + 1 + i;
        let mut cells = Vec::with_capacity(row.len());
        for (c, data) in row.iter().enumerate() {
            cells.push(cell(data).map_err(|(en, zh)| {
                let column = header.get(c).cloned().unwrap_or_default();
                IngestError::file(
                    label,
                    bilingual(
                        &format!("row {number}, column {column:?}: {en}"),
                        &format!("第 {number} 行“{column}”列：{zh}"),
                    ),
                )
            })?);
        }
        if cells.iter().all(|c| *c == Cell::Empty) {
            continue;
        }
        table_rows.push((number, cells));
    }
    let meta = cx.meta(stem);
    let declared = vec![None; header.len()];
    let table = Table {
        header,
        rows: table_rows,
        declared,
    };
    table::into_layer(label, stem, table, meta, cx, None)
}

pub(super) fn cell(data: &Data) -> Result<Cell, (String, String)> {
    Ok(match data {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(x) => Cell::Number(*x),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => {
            let t = d
                .as_datetime()
                .ok_or_else(|| (format!("{d} is not a date"), format!("{d} 不是日期")))?;
            if t.time() == chrono::NaiveTime::MIN {
                Cell::Date(t.date().format("%Y-%m-%d").to_string())
            } else {
                Cell::Date(
                    t.and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => {
            return Err((
                format!("the cell holds the error {e}"),
                format!("单元格为错误值 {e}"),
            ))
        }
    })
}
