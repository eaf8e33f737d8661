//! Excel workbooks to fill in: one row per feature, the id first, then a column per property
//! the file may change (derived ones left out: the server computes them). The first row holds
//! the titles in the reader's language, the second the property keys (what a change set reads
//! back; see `crate::changeset::upload`). Numbers are numbers, dates are dates, and a
//! vocabulary's column offers its terms as a drop-down list (from a hidden sheet, since Excel
//! caps an inline list at 255 characters).
//!
//! Written with `rust_xlsxwriter` in its constant-memory mode (rows go to a temporary file as
//! they are written), then streamed from a temporary file as the other built formats are.

use std::io::Write;

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, ExcelDateTime, Format as CellFormat, Formula,
    Workbook as XlsxBook, XlsxError,
};
use serde_json::Value as Json;

use super::{ExportError, ExportSource, Format};
use crate::model::{FeatureId, FieldType};

/// An Excel workbook's media type.
pub const MEDIA_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The most data rows a sheet has room for (Excel's 1,048,576 rows, less the two header rows).
pub const MAX_ROWS: usize = 1_048_576 - 2;

/// What a workbook's columns say besides the keys: titles and vocabularies.
#[derive(Debug, Clone, Default)]
pub struct Workbook {
    /// The sheet's name (the collection's title).
    pub sheet: String,
    /// The id column's title.
    pub id_title: String,
    /// Per property key: its title, and its vocabulary's term ids if it has one.
    pub columns: Vec<WorkbookColumn>,
}

#[derive(Debug, Clone)]
pub struct WorkbookColumn {
    pub key: String,
    pub title: String,
    pub terms: Option<Vec<String>>,
}

impl Workbook {
    /// The workbook of `layer` for a reader of `lang` (`zh` or `en`).
    pub fn for_layer(
        layer: &crate::index::Layer,
        vocabulary: impl Fn(&str) -> Option<Vec<String>>,
        lang: &str,
    ) -> Self {
        let columns = layer
            .fields
            .iter()
            .filter(|f| !f.derived)
            .map(|f| {
                let meta = layer.meta.field(&f.name);
                WorkbookColumn {
                    key: f.name.clone(),
                    // With its unit, as the map shows it: "可用面积 (m²)".
                    title: {
                        let title = meta
                            .and_then(|m| m.title.as_ref())
                            .map_or_else(|| f.name.clone(), |t| t.get(lang).to_owned());
                        match meta.and_then(|m| m.unit.as_ref()) {
                            Some(u) => format!("{title} ({})", u.get(lang)),
                            None => title,
                        }
                    },
                    terms: layer
                        .meta
                        .vocabularies
                        .get(&f.name)
                        .and_then(|v| vocabulary(v)),
                }
            })
            .collect();
        Workbook {
            sheet: layer
                .meta
                .title
                .as_ref()
                .map_or_else(|| layer.id.to_string(), |t| t.get(lang).to_owned()),
            id_title: if lang == "zh" { "编号" } else { "ID" }.to_owned(),
            columns,
        }
    }
}

fn xlsx_error(e: XlsxError) -> ExportError {
    ExportError::format(Format::Xlsx, e)
}

/// A sheet name Excel takes: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !"[]:*?/\\'".contains(*c))
        .take(31)
        .collect();
    if clean.trim().is_empty() {
        "data".into()
    } else {
        clean
    }
}

pub fn write(source: ExportSource, out: &mut dyn Write) -> Result<(), ExportError> {
    let ExportSource {
        name,
        fields,
        features,
        workbook,
    } = source;
    let spec = workbook.unwrap_or_else(|| Workbook {
        sheet: name.clone(),
        id_title: "id".into(),
        columns: Vec::new(),
    });
    // Only the properties a person may change, in the schema's order.
    let columns: Vec<(usize, &crate::model::Field, Option<&WorkbookColumn>)> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.derived)
        .map(|(i, f)| (i, f, spec.columns.iter().find(|c| c.key == f.name)))
        .collect();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("out.xlsx");
    let mut book = XlsxBook::new();
    book.set_tempdir(dir.path()).map_err(xlsx_error)?;
    let title = CellFormat::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7));
    let key = CellFormat::new()
        .set_italic()
        .set_font_color(Color::RGB(0x7F7F7F));
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    let lists: Vec<(usize, Vec<String>)> = columns
        .iter()
        .enumerate()
        .filter_map(|(c, (_, _, spec))| Some((c + 1, spec.and_then(|s| s.terms.clone())?)))
        .collect();
    let mut rows: u32 = 2;
    {
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet
            .set_name(sheet_name(&spec.sheet))
            .map_err(xlsx_error)?;
        // Constant memory writes row by row: every title, then every key.
        sheet
            .write_string_with_format(0, 0, &spec.id_title, &title)
            .and_then(|s| s.set_column_width(0, 14))
            .map_err(xlsx_error)?;
        for (c, (_, f, s)) in columns.iter().enumerate() {
            let col = u16::try_from(c + 1)
                .map_err(|_| ExportError::format(Format::Xlsx, "too many columns"))?;
            let t = s.map_or(f.name.as_str(), |s| s.title.as_str());
            let width = (t.chars().count().max(f.name.len()) as f64 * 1.3).clamp(10.0, 40.0);
            sheet
                .write_string_with_format(0, col, t, &title)
                .and_then(|s| s.set_column_width(col, width))
                .map_err(xlsx_error)?;
        }
        sheet
            .write_string_with_format(1, 0, "id", &key)
            .map_err(xlsx_error)?;
        for (c, (_, f, _)) in columns.iter().enumerate() {
            sheet
                .write_string_with_format(1, (c + 1) as u16, &f.name, &key)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(2, 1).map_err(xlsx_error)?;
        for feature in features {
            let feature = feature?;
            if rows as usize >= MAX_ROWS + 2 {
                return Err(ExportError::format(
                    Format::Xlsx,
                    format!("an Excel sheet holds at most {MAX_ROWS} features; narrow the download with a filter or an area"),
                ));
            }
            match &feature.id {
                FeatureId::Int(n) => sheet.write_number(rows, 0, *n as f64),
                FeatureId::Str(s) => sheet.write_string(rows, 0, s),
            }
            .map_err(xlsx_error)?;
            for (c, (_, f, _)) in columns.iter().enumerate() {
                let col = (c + 1) as u16;
                let Some(v) = feature.properties.get(&f.name) else {
                    continue;
                };
                let written = match (f.ty, v) {
                    (_, Json::Null) => continue,
                    (_, Json::Number(n)) => {
                        sheet.write_number(rows, col, n.as_f64().unwrap_or(0.0))
                    }
                    (_, Json::Bool(b)) => sheet.write_boolean(rows, col, *b),
                    (FieldType::Date, Json::String(s)) => match ExcelDateTime::parse_from_str(s) {
                        Ok(d) => sheet.write_datetime_with_format(rows, col, &d, &date),
                        Err(_) => sheet.write_string(rows, col, s),
                    },
                    (_, Json::String(s)) => sheet.write_string(rows, col, s),
                    (FieldType::StringArray, Json::Array(items)) => {
                        let texts: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
                        sheet.write_string(rows, col, texts.join("; "))
                    }
                    (_, other) => sheet.write_string(rows, col, other.to_string()),
                };
                written.map_err(xlsx_error)?;
            }
            rows += 1;
        }
        // Room below the data for rows a person adds.
        let last = (rows + 1000).min((MAX_ROWS + 1) as u32);
        for (n, (col, terms)) in lists.iter().enumerate() {
            let letter = column_letter(n);
            let formula = format!("=lists!${letter}$1:${letter}${}", terms.len().max(1));
            let validation = DataValidation::new()
                .allow_list_formula(Formula::new(formula))
                .set_error_style(DataValidationErrorStyle::Warning)
                .set_error_title("Not a term / 不是词表中的值")
                .and_then(|v| {
                    v.set_error_message("Choose a value from the list. / 请从下拉列表中选择。")
                })
                .map_err(xlsx_error)?;
            sheet
                .add_data_validation(2, *col as u16, last, *col as u16, &validation)
                .map_err(xlsx_error)?;
        }
    }
    if !lists.is_empty() {
        let sheet = book.add_worksheet();
        sheet.set_name("lists").map_err(xlsx_error)?;
        for (n, (_, terms)) in lists.iter().enumerate() {
            for (r, t) in terms.iter().enumerate() {
                sheet
                    .write_string(r as u32, n as u16, t)
                    .map_err(xlsx_error)?;
            }
        }
        sheet.set_hidden(true);
    }
    book.save(&path).map_err(xlsx_error)?;
    std::io::copy(&mut std::fs::File::open(&path)?, out)?;
    Ok(())
}

/// Excel's name of the `n`th column (0: A, 26: AA).
fn column_letter(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_named_as_excel_names_them() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .into_iter()
            .map(super::column_letter)
            .collect();
        assert_eq!(names, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn sheet_names_are_what_excel_takes() {
        assert_eq!(super::sheet_name("Carriers: 2026/12"), "Carriers 202612");
        assert_eq!(super::sheet_name("  "), "data");
        assert_eq!(super::sheet_name(&"长".repeat(40)).chars().count(), 31);
    }
}
