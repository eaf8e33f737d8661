//! A workbook's first sheet or a CSV file as a grid of cells, without making a layer of it:
//! what a change set reads, since its rows update features that exist and need no geometry.
//! Cells are typed as the layer readers type them (`table::Cell`); a cell Excel holds as an
//! error (`#N/A`) is that cell's problem, not the file's.

use calamine::{Reader, Xlsx};

use super::table::Cell;
use super::{bilingual, text};

/// A cell, or why it cannot be read (in English and Chinese).
pub(crate) type GridCell = Result<Cell, (String, String)>;

/// Rows numbered as the file numbers them (1-based; a CSV row by its line), empty rows left
/// out.
pub(crate) type Grid = Vec<(usize, Vec<GridCell>)>;

/// The first sheet of an `.xlsx` workbook.
pub(crate) fn xlsx(bytes: &[u8]) -> Result<Grid, String> {
    let bad = |e: &dyn std::fmt::Display| {
        bilingual(
            &format!("not a readable Excel workbook: {e}"),
            &format!("不是可读的 Excel 工作簿：{e}"),
        )
    };
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad(&"it has no sheet"))?
        .map_err(|e| bad(&e))?;
    let first = range.start().map_or(0, |(r, _)| r as usize) + 1;
    let lead = range.start().map_or(0, |(_, c)| c as usize);
    let mut out = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let mut cells: Vec<GridCell> = vec![Ok(Cell::Empty); lead];
        cells.extend(row.iter().map(super::xlsx::cell));
        if cells.iter().all(|c| matches!(c, Ok(Cell::Empty))) {
            continue;
        }
        out.push((first + i, cells));
    }
    Ok(out)
}

/// A CSV file: UTF-8 (a byte-order mark allowed), else GB18030 (which GBK is a part of), as
/// Excel in a Chinese locale saves CSV; comma, semicolon or tab separated.
pub(crate) fn csv(bytes: &[u8]) -> Result<Grid, String> {
    let bytes = text::without_bom(bytes);
    let decoded = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => text::decode(encoding_rs::GB18030, bytes)?,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(super::csv::separator(&decoded))
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            bilingual(
                &format!("not readable as CSV: {e}"),
                &format!("不是可读的 CSV：{e}"),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cells: Vec<GridCell> = record
            .iter()
            .map(|c| {
                Ok(if c.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.to_owned())
                })
            })
            .collect();
        if cells.iter().all(|c| matches!(c, Ok(Cell::Empty))) {
            continue;
        }
        out.push((line, cells));
    }
    Ok(out)
}
