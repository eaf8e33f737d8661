//! Every row of an upload compared with the feature it names.

use std::collections::{HashMap, HashSet};

use geo::CoordsIter;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::upload::{Column, Source, Upload};
use super::value::{number_text, value_of};
use super::{Reason, LISTED_MISSING, MAX_ROWS};
use crate::encode::feature_etag;
use crate::index::Layer;
use crate::ingest::formats::table::Cell;
use crate::ingest::{check_feature, parse_geometry};
use crate::model::Vocabulary;

/// A change set as reviewed: what each row would do, and what the file leaves out.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub collection: String,
    pub source: Source,
    pub delete_missing: bool,
    pub summary: Summary,
    /// Each column of the file and what it was read as.
    pub columns: Vec<ColumnNote>,
    /// What is wrong with the file as a whole (an unknown column): the set cannot apply.
    pub problems: Vec<Reason>,
    pub rows: Vec<RowOutcome>,
    pub missing: Missing,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub rows: usize,
    pub unchanged: usize,
    pub changed: usize,
    pub new: usize,
    pub error: usize,
    pub missing: usize,
    /// Missing features the set deletes (`delete_missing`).
    pub delete: usize,
    pub problems: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnNote {
    pub header: String,
    /// `id`, `property`, `derived` (computed by the server: not read), `geometry` or `unknown`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub count: usize,
    /// The first [`LISTED_MISSING`] ids.
    pub ids: Vec<String>,
    /// With `delete_missing`: every one deleted, with the ETag the preview saw.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<Versioned>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Versioned {
    pub id: String,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    /// The row's number in the file.
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `unchanged`, `changed`, `new` or `error`.
    pub outcome: &'static str,
    /// The version the preview compared with (a changed row applies only to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CellError>,
    /// A new row's feature, as it would be created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<Json>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellChange {
    /// The property, or `geometry`.
    pub property: String,
    pub before: Json,
    pub after: Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellError {
    /// The column's header as the file has it, where the error is a cell's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The cell as read.
    pub value: Json,
    pub reason: Reason,
}

impl Preview {
    /// Marks the rows whose edits `refused` names (by their index in what
    /// [`apply_requests`](super::apply_requests) makes of this preview: changed and new rows in
    /// file order, then the deletions) as errors with `reason` (at `property`, when one is at
    /// fault); a refused deletion becomes a problem of the set. The counts follow.
    pub fn mark_refused(&mut self, refused: &[(usize, Option<String>, Reason)]) {
        let mut applying: Vec<Option<usize>> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.outcome == "changed" || r.outcome == "new")
            .map(|(i, _)| Some(i))
            .collect();
        applying.extend(std::iter::repeat_n(None, self.missing.deletes.len()));
        let first_delete = applying.len() - self.missing.deletes.len();
        for (index, property, reason) in refused {
            match applying.get(*index) {
                Some(Some(row)) => {
                    let r = &mut self.rows[*row];
                    match r.outcome {
                        "changed" => self.summary.changed -= 1,
                        _ => self.summary.new -= 1,
                    }
                    self.summary.error += 1;
                    r.outcome = "error";
                    r.errors.push(CellError {
                        column: None,
                        property: property.clone(),
                        value: Json::Null,
                        reason: reason.clone(),
                    });
                }
                Some(None) => {
                    let id = &self.missing.deletes[index - first_delete].id;
                    self.problems.push(Reason::new(
                        format!("deleting missing feature {id}: {}", reason.en),
                        format!("删除缺失要素 {id}：{}", reason.zh),
                    ));
                    self.summary.problems += 1;
                }
                None => {}
            }
        }
    }
}

/// How far apart (in degrees) two positions may be and still be the same: a centimetre, so a
/// geometry written as text with fewer digits and read back is not a change.
const SAME_POSITION: f64 = 1e-7;

fn same_geometry(a: &geo::Geometry<f64>, b: &geo::Geometry<f64>) -> bool {
    a.coords_count() == b.coords_count()
        && a.coords_iter()
            .zip(b.coords_iter())
            .all(|(p, q)| (p.x - q.x).abs() <= SAME_POSITION && (p.y - q.y).abs() <= SAME_POSITION)
}

fn geometry_json(g: &geo::Geometry<f64>) -> Json {
    serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Json::Null)
}

fn cell_json(cell: &Result<Cell, (String, String)>) -> Json {
    match cell {
        Ok(Cell::Empty) => Json::Null,
        Ok(Cell::Text(s)) | Ok(Cell::Date(s)) => Json::String(s.clone()),
        Ok(Cell::Number(x)) => serde_json::json!(x),
        Ok(Cell::Bool(b)) => Json::Bool(*b),
        Err((en, _)) => Json::String(en.clone()),
    }
}

fn cell_text(cell: &Result<Cell, (String, String)>) -> String {
    match cell {
        Ok(Cell::Text(s)) | Ok(Cell::Date(s)) => s.trim().to_owned(),
        Ok(Cell::Number(x)) => number_text(*x),
        Ok(Cell::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// Whether two values of a property are the same (a whole number read as 3000.0 is 3000).
fn same_value(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The geometry a row gives (GeoJSON's, `wkt`, or `lon`/`lat`), if it gives one.
fn row_geometry(
    upload: &Upload,
    row: &super::upload::UploadRow,
) -> Option<Result<geo::Geometry<f64>, Reason>> {
    if let Some(g) = &row.geometry {
        return Some(parse(g));
    }
    let cell = |want: Column| {
        upload
            .columns
            .iter()
            .position(|c| *c == want)
            .and_then(|i| row.cells.get(i))
            .map(cell_text)
            .filter(|t| !t.is_empty())
    };
    if let Some(text) = cell(Column::Wkt) {
        let parsed: Result<wkt::Wkt<f64>, _> = text.parse();
        return Some(
            parsed
                .map_err(|e| Reason::new(format!("not WKT: {e}"), format!("不是 WKT：{e}")))
                .and_then(|w| {
                    geo::Geometry::try_from(w).map_err(|e| {
                        Reason::new(format!("not a geometry: {e}"), format!("不是几何：{e}"))
                    })
                })
                .and_then(|g| parse(&geometry_json(&g))),
        );
    }
    match (cell(Column::Lon), cell(Column::Lat)) {
        (None, None) => None,
        (Some(x), Some(y)) => Some(match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(x), Ok(y)) => parse(&serde_json::json!({"type": "Point", "coordinates": [x, y]})),
            _ => Err(Reason::new(
                format!("longitude {x:?} and latitude {y:?} must be numbers"),
                format!("经度“{x}”和纬度“{y}”必须是数字"),
            )),
        }),
        _ => Some(Err(Reason::new(
            "a position needs both a longitude and a latitude",
            "位置需要同时给出经度和纬度",
        ))),
    }
}

fn parse(g: &Json) -> Result<geo::Geometry<f64>, Reason> {
    match parse_geometry(g) {
        Ok((g, None)) => Ok(g),
        Ok((_, Some(why))) => Err(Reason::new(
            format!("invalid geometry: {why}"),
            format!("几何无效：{why}"),
        )),
        Err(why) => Err(Reason::new(
            format!("geometry: {why}"),
            format!("几何无法读取：{why}"),
        )),
    }
}

/// A refused feature's reason in both languages.
fn body_reason(e: &crate::ingest::BodyError) -> Reason {
    use crate::ingest::BodyError as B;
    let zh = match e {
        B::Geometry(_) => "几何无效".to_owned(),
        B::Property { name, .. } => format!("属性“{name}”的值无效"),
        B::Derived(name) => format!("属性“{name}”由服务器计算，不能设置"),
        B::Unknown { name, .. } => format!("属性“{name}”不在此数据集的结构中"),
        B::NotAFeature(_) | B::Member(_) => "要素无效".to_owned(),
    };
    Reason::new(e.to_string(), format!("{zh}（{e}）"))
}

/// Compares every row of `upload` with `layer`; `delete_missing` makes the features the file
/// leaves out deletions.
pub fn preview<'v>(
    layer: &Layer,
    vocabulary: impl Fn(&str) -> Option<&'v Vocabulary>,
    upload: &Upload,
    delete_missing: bool,
) -> Preview {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for (c, (header, column)) in upload.headers.iter().zip(&upload.columns).enumerate() {
        let (kind, property) = match column {
            Column::Id => ("id", None),
            Column::Field(i) => ("property", Some(layer.fields[*i].name.clone())),
            Column::Derived(i) => ("derived", Some(layer.fields[*i].name.clone())),
            Column::Wkt | Column::Lon | Column::Lat => ("geometry", None),
            Column::Unknown => {
                let used = upload
                    .rows
                    .iter()
                    .any(|r| !matches!(r.cells.get(c), None | Some(Ok(Cell::Empty))));
                if header.is_empty() && !used {
                    continue;
                }
                let known: Vec<&str> = layer
                    .fields
                    .iter()
                    .filter(|f| !f.derived)
                    .map(|f| f.name.as_str())
                    .collect();
                problems.push(Reason::new(
                    format!(
                        "column {header:?} is not a property of {}; remove it or name one of: id, {}",
                        layer.id,
                        known.join(", ")
                    ),
                    format!(
                        "“{header}”列不是 {} 的属性；请删除该列，或使用以下名称之一：id、{}",
                        layer.id,
                        known.join("、")
                    ),
                ));
                ("unknown", None)
            }
        };
        columns.push(ColumnNote {
            header: header.clone(),
            kind,
            property,
        });
    }
    let id_column = upload.columns.iter().position(|c| *c == Column::Id);
    let vocab_of = |field: usize| {
        layer
            .meta
            .vocabularies
            .get(&layer.fields[field].name)
            .and_then(|v| vocabulary(v))
    };
    let mut summary = Summary {
        rows: upload.rows.len(),
        ..Summary::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(upload.rows.len());
    for row in &upload.rows {
        let id = id_column
            .and_then(|c| row.cells.get(c))
            .map(cell_text)
            .filter(|t| !t.is_empty());
        let mut out = RowOutcome {
            row: row.number,
            id: id.clone(),
            outcome: "unchanged",
            etag: None,
            cells: Vec::new(),
            errors: Vec::new(),
            feature: None,
        };
        if let Some(id) = &id {
            if let Some(first) = seen.insert(id.clone(), row.number) {
                out.errors.push(CellError {
                    column: upload.headers.get(id_column.unwrap_or(0)).cloned(),
                    property: None,
                    value: Json::String(id.clone()),
                    reason: Reason::new(
                        format!("id {id:?} is on row {first} already; a feature may have one row"),
                        format!("编号“{id}”已在第 {first} 行出现；每个要素只能有一行"),
                    ),
                });
            }
        }
        // The row's values, by property.
        let mut values: Vec<(usize, Json)> = Vec::new();
        for (c, column) in upload.columns.iter().enumerate() {
            let Column::Field(i) = column else { continue };
            if row
                .present
                .as_ref()
                .is_some_and(|p| !p.get(c).copied().unwrap_or(false))
            {
                continue;
            }
            let cell = row.cells.get(c).cloned().unwrap_or(Ok(Cell::Empty));
            let bad = |reason: Reason| CellError {
                column: Some(upload.headers[c].clone()),
                property: Some(layer.fields[*i].name.clone()),
                value: cell_json(&cell),
                reason,
            };
            match &cell {
                Err((en, zh)) => out.errors.push(bad(Reason::new(en.clone(), zh.clone()))),
                Ok(v) => match value_of(v, layer.fields[*i].ty, vocab_of(*i)) {
                    Ok(v) => values.push((*i, v)),
                    Err(reason) => out.errors.push(bad(reason)),
                },
            }
        }
        let geometry = match row_geometry(upload, row) {
            Some(Err(reason)) => {
                out.errors.push(CellError {
                    column: None,
                    property: Some("geometry".into()),
                    value: row.geometry.clone().unwrap_or(Json::Null),
                    reason,
                });
                None
            }
            Some(Ok(g)) => Some(g),
            None => None,
        };
        let slot = id.as_deref().and_then(|id| layer.slot_of(id));
        match slot {
            Some(slot) => {
                let current = layer.properties_json(slot, None);
                out.etag = Some(feature_etag(layer, slot));
                for (i, after) in &values {
                    let name = &layer.fields[*i].name;
                    let before = current.get(name).cloned().unwrap_or(Json::Null);
                    if !same_value(&before, after) {
                        out.cells.push(CellChange {
                            property: name.clone(),
                            before,
                            after: after.clone(),
                        });
                    }
                }
                if let Some(g) = &geometry {
                    let now = &layer.geometries[slot];
                    if !same_geometry(now, g) {
                        out.cells.push(CellChange {
                            property: "geometry".into(),
                            before: geometry_json(now),
                            after: geometry_json(g),
                        });
                    }
                }
                if out.errors.is_empty() && !out.cells.is_empty() {
                    out.outcome = "changed";
                }
            }
            None => {
                let mut props = Map::new();
                for (i, v) in &values {
                    if !v.is_null() {
                        props.insert(layer.fields[*i].name.clone(), v.clone());
                    }
                }
                let mut feature = Map::new();
                feature.insert("type".into(), "Feature".into());
                if let Some(id) = &id {
                    feature.insert("id".into(), id_json(layer, id));
                }
                match &geometry {
                    Some(g) => {
                        feature.insert("geometry".into(), geometry_json(g));
                    }
                    None if out
                        .errors
                        .iter()
                        .all(|e| e.property.as_deref() != Some("geometry")) =>
                    {
                        out.errors.push(CellError {
                            column: None,
                            property: Some("geometry".into()),
                            value: Json::Null,
                            reason: Reason::new(
                                "a new feature needs a geometry: a wkt column, lon and lat columns, or a GeoJSON feature's geometry",
                                "新要素需要几何：wkt 列、经度和纬度列，或 GeoJSON 要素的几何",
                            ),
                        });
                    }
                    None => {}
                }
                feature.insert("properties".into(), Json::Object(props));
                if out.errors.is_empty() {
                    if let Err(e) = check_feature(layer, &vocabulary, &feature) {
                        out.errors.push(CellError {
                            column: None,
                            property: e.property().map(str::to_owned),
                            value: Json::Null,
                            reason: body_reason(&e),
                        });
                    }
                }
                out.outcome = "new";
                out.feature = Some(Json::Object(feature));
            }
        }
        if !out.errors.is_empty() {
            out.outcome = "error";
            out.feature = None;
            out.cells.clear();
        }
        match out.outcome {
            "unchanged" => summary.unchanged += 1,
            "changed" => summary.changed += 1,
            "new" => summary.new += 1,
            _ => summary.error += 1,
        }
        rows.push(out);
    }
    let named: HashSet<&str> = seen.keys().map(String::as_str).collect();
    let mut missing = Missing {
        count: 0,
        ids: Vec::new(),
        deletes: Vec::new(),
    };
    for slot in layer.live_slots() {
        let id = layer.ids[slot].to_string();
        if named.contains(id.as_str()) {
            continue;
        }
        missing.count += 1;
        if missing.ids.len() < LISTED_MISSING {
            missing.ids.push(id.clone());
        }
        if delete_missing && missing.deletes.len() < MAX_ROWS {
            missing.deletes.push(Versioned {
                etag: feature_etag(layer, slot),
                id,
            });
        }
    }
    if delete_missing && missing.count > MAX_ROWS {
        problems.push(Reason::new(
            format!(
                "{} features are missing from the file; a change set may delete at most {MAX_ROWS}",
                missing.count
            ),
            format!(
                "文件缺少 {} 个要素；一个变更集最多删除 {MAX_ROWS} 个",
                missing.count
            ),
        ));
    }
    summary.missing = missing.count;
    summary.delete = missing.deletes.len();
    summary.problems = problems.len();
    Preview {
        collection: layer.id.to_string(),
        source: upload.source,
        delete_missing,
        summary,
        columns,
        problems,
        rows,
        missing,
    }
}

/// A new feature's id as its collection writes ids: a number where the ids are numbers.
fn id_json(layer: &Layer, id: &str) -> Json {
    let numeric = layer
        .live_slots()
        .next()
        .is_some_and(|s| matches!(layer.ids[s], crate::model::FeatureId::Int(_)));
    match id.parse::<i64>() {
        Ok(n) if numeric => Json::from(n),
        _ => Json::String(id.to_owned()),
    }
}

impl Preview {
    /// Whether the set may apply: no row in error, nothing wrong with the file.
    pub fn applicable(&self) -> bool {
        self.summary.error == 0 && self.problems.is_empty()
    }
}
