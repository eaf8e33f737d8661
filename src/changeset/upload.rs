//! An uploaded file as rows under resolved columns.
//!
//! A workbook this server wrote has the properties' titles in its first row and their keys in
//! the second (people read the first, this reads the second); a sheet or CSV made by hand may
//! have either keys or titles (Chinese or English) in its first row. A GeoJSON
//! FeatureCollection's members are keys already. The `id` column names the feature a row
//! updates; a row without an id is a new feature, which takes its geometry from `wkt` or
//! `lon`/`lat` columns (or from the GeoJSON feature).

use serde_json::Value as Json;

use super::value::cell_of;
use super::{Reason, MAX_ROWS};
use crate::index::Layer;
use crate::ingest::formats::grid::{self, GridCell};
use crate::ingest::formats::table::Cell;

/// The kinds of file a change set is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Xlsx,
    Csv,
    GeoJson,
}

pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Source {
    /// The kind a `Content-Type` names (its parameters ignored).
    pub fn from_media_type(media_type: &str) -> Option<Source> {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        match essence.to_ascii_lowercase().as_str() {
            XLSX_MEDIA_TYPE => Some(Source::Xlsx),
            "text/csv" => Some(Source::Csv),
            "application/geo+json" | "application/json" => Some(Source::GeoJson),
            _ => None,
        }
    }

    /// The kind a file name's ending says.
    pub fn from_file_name(name: &str) -> Option<Source> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".xlsx") {
            Some(Source::Xlsx)
        } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
            Some(Source::Csv)
        } else if lower.ends_with(".geojson") || lower.ends_with(".json") {
            Some(Source::GeoJson)
        } else {
            None
        }
    }
}

/// What a column of the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The feature's id.
    Id,
    /// A property the file may change (by index into the layer's fields).
    Field(usize),
    /// A property the server computes (`zones`, `updated_at`): read back from downloads,
    /// never written; a value that differs from the server's is the cell's error.
    Derived(usize),
    /// The geometry, as WKT, or a point's longitude or latitude (CRS84).
    Wkt,
    Lon,
    Lat,
    /// Not a property of the collection: named in the preview, and the set cannot apply.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct UploadRow {
    /// The row's number in the file (the sheet's row, the CSV's line, the feature's place).
    pub number: usize,
    pub(crate) cells: Vec<GridCell>,
    /// A GeoJSON feature's geometry.
    pub geometry: Option<Json>,
    /// Per column, whether the row has the cell: a GeoJSON feature that leaves a property
    /// out leaves it as it is (`None`: every cell is there, as in a sheet).
    pub present: Option<Vec<bool>>,
}

#[derive(Debug, Clone)]
pub struct Upload {
    pub source: Source,
    pub headers: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<UploadRow>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UploadError {
    #[error("{}", .0.en)]
    Unreadable(Reason),
    #[error("the file has {rows} rows; a change set may have at most {max}")]
    TooManyRows { rows: usize, max: usize },
    /// Without ids no row can be matched, and every feature would be "missing": with
    /// `delete_missing` a file in the wrong shape would delete the collection.
    #[error("the file has no id column (its header row reads {headers:?}); the first column of the workbook to fill in is the id")]
    NoIdColumn { headers: Vec<String> },
}

impl UploadError {
    pub fn reason(&self) -> Reason {
        match self {
            UploadError::Unreadable(r) => r.clone(),
            UploadError::TooManyRows { rows, max } => Reason::new(
                self.to_string(),
                format!("文件有 {rows} 行；一个变更集最多 {max} 行"),
            ),
            UploadError::NoIdColumn { headers } => Reason::new(
                self.to_string(),
                format!("文件没有编号（id）列（表头为 {headers:?}）；待填写工作簿的第一列是编号"),
            ),
        }
    }
}

fn unreadable(both: String) -> UploadError {
    // The grid readers say it as "English / 中文".
    let (en, zh) = both
        .split_once(" / ")
        .map_or((both.clone(), both.clone()), |(a, b)| {
            (a.to_owned(), b.to_owned())
        });
    UploadError::Unreadable(Reason::new(en, zh))
}

/// Reads `bytes` as a `source` file of rows for `layer`.
pub fn read_upload(source: Source, bytes: &[u8], layer: &Layer) -> Result<Upload, UploadError> {
    let upload = match source {
        Source::Xlsx => from_grid(source, grid::xlsx(bytes).map_err(unreadable)?, layer),
        Source::Csv => from_grid(source, grid::csv(bytes).map_err(unreadable)?, layer),
        Source::GeoJson => from_geojson(bytes, layer)?,
    };
    if !upload.columns.contains(&Column::Id) {
        let mut headers = upload.headers;
        headers.truncate(20);
        return Err(UploadError::NoIdColumn { headers });
    }
    if upload.rows.len() > MAX_ROWS {
        return Err(UploadError::TooManyRows {
            rows: upload.rows.len(),
            max: MAX_ROWS,
        });
    }
    Ok(upload)
}

/// A header's column, by the property's key.
fn by_key(layer: &Layer, header: &str) -> Option<Column> {
    let h = header.trim();
    if h.eq_ignore_ascii_case("id") || h == "feature_id" {
        return Some(Column::Id);
    }
    if let Some(i) = layer.fields.iter().position(|f| f.name == h) {
        return Some(if layer.fields[i].derived {
            Column::Derived(i)
        } else {
            Column::Field(i)
        });
    }
    match h.to_ascii_lowercase().as_str() {
        "wkt" | "geometry" => Some(Column::Wkt),
        "lon" | "lng" | "longitude" | "x" => Some(Column::Lon),
        "lat" | "latitude" | "y" => Some(Column::Lat),
        _ => None,
    }
}

/// A header's column, by key or else by the property's title in either language.
fn resolve(layer: &Layer, header: &str) -> Column {
    if let Some(c) = by_key(layer, header) {
        return c;
    }
    let h = header.trim();
    match h {
        "编号" | "要素编号" => return Column::Id,
        "经度" => return Column::Lon,
        "纬度" => return Column::Lat,
        _ => {}
    }
    // A title may carry its unit, as the workbook writes it: "可用面积 (m²)".
    let bare = match h.rsplit_once(" (") {
        Some((title, unit)) if unit.ends_with(')') => title.trim(),
        _ => h,
    };
    let titled = layer.meta.fields.iter().find(|(_, m)| {
        m.title.as_ref().is_some_and(|t| {
            [h, bare]
                .iter()
                .any(|x| t.get("zh") == *x || t.get("en").eq_ignore_ascii_case(x))
        })
    });
    titled
        .and_then(|(key, _)| by_key(layer, key))
        .unwrap_or(Column::Unknown)
}

fn header_text(cell: &GridCell) -> String {
    match cell {
        Ok(Cell::Text(s)) | Ok(Cell::Date(s)) => s.trim().to_owned(),
        Ok(Cell::Number(x)) => super::value::number_text(*x),
        Ok(Cell::Bool(b)) => b.to_string(),
        Ok(Cell::Empty) | Err(_) => String::new(),
    }
}

fn from_grid(source: Source, rows: grid::Grid, layer: &Layer) -> Upload {
    // How many of a row's cells are property keys.
    let keys = |cells: &[GridCell]| {
        let texts: Vec<String> = cells
            .iter()
            .map(header_text)
            .filter(|t| !t.is_empty())
            .collect();
        let keyed = texts.iter().filter(|t| by_key(layer, t).is_some()).count();
        (keyed, texts.len())
    };
    // The workbook's keys are its second row, under the titles (a column a person added may
    // have only a title, or only a key).
    let skip = match (rows.first(), rows.get(1)) {
        (Some((_, first)), Some((_, second))) => {
            let (k1, _) = keys(first);
            let (k2, n2) = keys(second);
            usize::from(k2 > k1 && 2 * k2 >= n2)
        }
        _ => 0,
    };
    let mut it = rows.into_iter().skip(skip);
    let headers: Vec<String> = it
        .next()
        .map(|(_, cells)| cells.iter().map(header_text).collect())
        .unwrap_or_default();
    let columns = headers
        .iter()
        .map(|h| {
            if h.is_empty() {
                Column::Unknown
            } else {
                resolve(layer, h)
            }
        })
        .collect();
    let rows = it
        .map(|(number, cells)| UploadRow {
            number,
            cells,
            geometry: None,
            present: None,
        })
        .collect();
    Upload {
        source,
        headers,
        columns,
        rows,
    }
}

fn from_geojson(bytes: &[u8], layer: &Layer) -> Result<Upload, UploadError> {
    let bad = |en: String, zh: String| UploadError::Unreadable(Reason::new(en, zh));
    let doc: Json = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not JSON: {e}"), format!("不是 JSON：{e}")))?;
    let features = match (doc.get("type").and_then(Json::as_str), doc.get("features")) {
        (Some("FeatureCollection"), Some(Json::Array(f))) => f,
        _ => {
            return Err(bad(
                "the body must be a GeoJSON FeatureCollection".into(),
                "请求体必须是 GeoJSON FeatureCollection".into(),
            ))
        }
    };
    if features.len() > MAX_ROWS {
        return Err(UploadError::TooManyRows {
            rows: features.len(),
            max: MAX_ROWS,
        });
    }
    let mut headers = vec!["id".to_owned()];
    for f in features {
        if let Some(Json::Object(p)) = f.get("properties") {
            for k in p.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
    }
    let columns = headers.iter().map(|h| resolve(layer, h)).collect();
    let mut rows = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        if f.get("type").and_then(Json::as_str) != Some("Feature") {
            return Err(bad(
                format!("features[{i}] is not a GeoJSON Feature"),
                format!("features[{i}] 不是 GeoJSON Feature"),
            ));
        }
        let props = f.get("properties").and_then(Json::as_object);
        let present = headers
            .iter()
            .enumerate()
            .map(|(c, h)| c == 0 || props.is_some_and(|p| p.contains_key(h)))
            .collect();
        let cells = headers
            .iter()
            .enumerate()
            .map(|(c, h)| {
                let v = if c == 0 {
                    f.get("id")
                } else {
                    props.and_then(|p| p.get(h))
                };
                Ok(v.map_or(Cell::Empty, cell_of))
            })
            .collect();
        rows.push(UploadRow {
            number: i + 1,
            cells,
            geometry: f.get("geometry").filter(|g| !g.is_null()).cloned(),
            present: Some(present),
        });
    }
    Ok(Upload {
        source: Source::GeoJson,
        headers,
        columns,
        rows,
    })
}
