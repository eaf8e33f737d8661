//! Tables of rows and columns (CSV, Excel) as features: one type per column, found from its
//! values as GeoJSON's would be typed, and the geometry from longitude/latitude columns or a
//! WKT column, found by the names offices use.

use std::str::FromStr;

use serde_json::{Map, Value as Json};

use super::{at, bilingual, build_layer, geo_json, take_id, Context};
use crate::index::LayerParts;
use crate::ingest::source_crs::SourceCrs;
use crate::ingest::IngestError;
use crate::model::LayerMeta;

/// One cell as the file gives it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date (`YYYY-MM-DD`) or a timestamp (RFC 3339), as Excel's date cells are read.
    Date(String),
}

/// A column's type, declared by the file (a GDAL `.csvt`) or found from its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Num,
    Bool,
    Text,
    /// A JSON array in each cell (GDAL writes string lists so).
    Array,
    /// A calendar date, written `YYYY-MM-DD` or `YYYY/MM/DD` (as GDAL and Chinese Excel
    /// write them): served as `YYYY-MM-DD`, which makes it a date column.
    Date,
    /// The geometry, as WKT.
    Wkt,
}

/// A table read from a file: a header and numbered rows.
pub(crate) struct Table {
    pub header: Vec<String>,
    /// Each row with its number as a person finds it in the file (the line, or the sheet row).
    pub rows: Vec<(usize, Vec<Cell>)>,
    /// Types the file declares per column (GDAL's `.csvt`); inferred where `None`.
    pub declared: Vec<Option<Kind>>,
}

const LON_NAMES: [&str; 5] = ["lon", "lng", "long", "longitude", "经度"];
const LAT_NAMES: [&str; 3] = ["lat", "latitude", "纬度"];
const WKT_NAMES: [&str; 3] = ["wkt", "geometry", "geom"];

/// Where a table's geometry is.
enum Place {
    Wkt(usize),
    LonLat(usize, usize),
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

fn place(header: &[String], declared: &[Option<Kind>]) -> Result<Place, String> {
    if let Some(i) = declared.iter().position(|k| *k == Some(Kind::Wkt)) {
        return Ok(Place::Wkt(i));
    }
    if let Some(i) = find(header, &WKT_NAMES) {
        return Ok(Place::Wkt(i));
    }
    match (find(header, &LON_NAMES), find(header, &LAT_NAMES)) {
        (Some(x), Some(y)) => Ok(Place::LonLat(x, y)),
        _ => Err(bilingual(
            "no geometry columns: name them lon/lng/longitude/经度 and lat/latitude/纬度, or give a wkt/geometry column",
            "找不到坐标列：请将列命名为 lon/lng/longitude/经度 与 lat/latitude/纬度，或提供 wkt/geometry 列",
        )),
    }
}

/// The table as one layer named `name`.
pub(crate) fn into_layer(
    label: &str,
    name: &str,
    table: Table,
    meta: LayerMeta,
    cx: &Context,
    crs: Option<SourceCrs>,
) -> Result<LayerParts, IngestError> {
    check_header(label, &table.header)?;
    let place = place(&table.header, &table.declared).map_err(|r| IngestError::file(label, r))?;
    let geometry_columns: Vec<usize> = match place {
        Place::Wkt(i) => vec![i],
        Place::LonLat(x, y) => vec![x, y],
    };
    let kinds: Vec<Kind> = (0..table.header.len())
        .map(|c| {
            let cells = table
                .rows
                .iter()
                .map(|(_, r)| r.get(c).unwrap_or(&Cell::Empty));
            refined(table.declared.get(c).copied().flatten(), cells)
        })
        .collect();
    build_layer(label, name, meta, cx.options, crs, |builder| {
        for (index, (row, cells)) in table.rows.into_iter().enumerate() {
            let cell = |c: usize| cells.get(c).unwrap_or(&Cell::Empty);
            let here = |c: usize, en: &str, zh: &str| {
                let column = &table.header[c];
                bilingual(
                    &format!("row {row}, column {column:?}: {en}"),
                    &format!("第 {row} 行“{column}”列：{zh}"),
                )
            };
            let mut properties = Map::new();
            for (c, column) in table.header.iter().enumerate() {
                if geometry_columns.contains(&c) {
                    continue;
                }
                let value = typed(cell(c), kinds[c]).map_err(|(en, zh)| {
                    IngestError::feature(label, at(index, &None), here(c, &en, &zh))
                })?;
                properties.insert(column.trim().to_owned(), value);
            }
            let id = take_id(&mut properties);
            let geometry = match place {
                Place::Wkt(c) => wkt_geometry(cell(c)).map_err(|r| (c, r)),
                Place::LonLat(x, y) => coordinate(cell(x)).map_err(|r| (x, r)).and_then(|lon| {
                    coordinate(cell(y))
                        .map_err(|r| (y, r))
                        .map(|lat| serde_json::json!({"type": "Point", "coordinates": [lon, lat]}))
                }),
            }
            .map_err(|(c, (en, zh))| {
                IngestError::feature(label, at(index, &id), here(c, &en, &zh))
            })?;
            builder.push(at(index, &id), id, Some(geometry), properties)?;
        }
        Ok(())
    })
}

/// Column names must be present and distinct: they become property names.
fn check_header(label: &str, header: &[String]) -> Result<(), IngestError> {
    for (i, h) in header.iter().enumerate() {
        if h.trim().is_empty() {
            return Err(IngestError::file(
                label,
                bilingual(
                    &format!("column {} has no name in the header row", i + 1),
                    &format!("表头第 {} 列没有列名", i + 1),
                ),
            ));
        }
        if header[..i].iter().any(|o| o.trim() == h.trim()) {
            return Err(IngestError::file(
                label,
                bilingual(
                    &format!("column {h:?} appears twice in the header row"),
                    &format!("表头中“{h}”列重复"),
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) type Reason = (String, String);

fn coordinate(cell: &Cell) -> Result<f64, Reason> {
    match cell {
        Cell::Number(x) if x.is_finite() => Ok(*x),
        Cell::Text(t) => number(t.trim()).ok_or_else(|| {
            (
                format!("{t:?} is not a coordinate"),
                format!("“{t}”不是坐标值"),
            )
        }),
        Cell::Empty => Err(("empty coordinate".into(), "坐标为空".into())),
        other => Err((
            format!("{other:?} is not a coordinate"),
            format!("{other:?} 不是坐标值"),
        )),
    }
}

fn wkt_geometry(cell: &Cell) -> Result<Json, Reason> {
    let text = match cell {
        Cell::Text(t) => t.trim(),
        Cell::Empty => return Err(("empty geometry".into(), "几何为空".into())),
        other => {
            return Err((
                format!("{other:?} is not WKT"),
                format!("{other:?} 不是 WKT"),
            ))
        }
    };
    let parsed = wkt::Wkt::<f64>::from_str(text)
        .map_err(|e| (format!("not WKT: {e}"), format!("不是有效的 WKT：{e}")))?;
    let g = geo::Geometry::<f64>::try_from(parsed).map_err(|e| {
        (
            format!("an empty or unsupported geometry: {e}"),
            format!("几何为空或不受支持：{e}"),
        )
    })?;
    Ok(geo_json(&g))
}

/// A number as text: decimal digits, a sign, a point, an exponent; not `inf` or `NaN`, and
/// not a code with leading zeros (`007`).
fn number(t: &str) -> Option<f64> {
    let plain = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let digits = t.trim_start_matches(['-', '+']);
    let zero_led =
        digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
    if !plain || t.is_empty() || zero_led {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// An integer as text, without leading zeros (`007`, a code, stays text).
fn integer(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn boolean(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn string_array(t: &str) -> Option<Json> {
    if !t.trim_start().starts_with('[') {
        return None;
    }
    match serde_json::from_str::<Json>(t) {
        Ok(Json::Array(a)) if a.iter().all(Json::is_string) => Some(Json::Array(a)),
        _ => None,
    }
}

/// A date as `YYYY-MM-DD` from `YYYY-MM-DD` or `YYYY/MM/DD` (months and days of one digit
/// allowed).
pub(crate) fn date(t: &str) -> Option<String> {
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

fn whole(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < 9.0e15
}

/// The type a column's values share: numbers (whole → integers), booleans, JSON string
/// arrays, or else text. Empty cells say nothing.
pub(crate) fn infer<'c>(cells: impl Iterator<Item = &'c Cell> + Clone) -> Kind {
    let filled = cells.filter(|c| **c != Cell::Empty);
    if filled.clone().next().is_none() {
        return Kind::Text;
    }
    let all = |f: fn(&Cell) -> bool| filled.clone().all(f);
    if all(|c| match c {
        Cell::Number(x) => whole(*x),
        Cell::Text(t) => integer(t.trim()).is_some(),
        _ => false,
    }) {
        Kind::Int
    } else if all(|c| match c {
        Cell::Number(_) => true,
        Cell::Text(t) => number(t.trim()).is_some(),
        _ => false,
    }) {
        Kind::Num
    } else if all(|c| match c {
        Cell::Bool(_) => true,
        Cell::Text(t) => boolean(t.trim()).is_some(),
        _ => false,
    }) {
        Kind::Bool
    } else if all(|c| match c {
        Cell::Date(d) => d.len() == 10,
        Cell::Text(t) => date(t.trim()).is_some(),
        _ => false,
    }) {
        Kind::Date
    } else if all(|c| matches!(c, Cell::Text(t) if string_array(t).is_some())) {
        Kind::Array
    } else {
        Kind::Text
    }
}

/// A column's type: as declared, else found from its values. A column declared as text whose
/// every value is a JSON list of strings is a list: GDAL writes lists so where the format
/// has no list type (a `.csvt` or a KML schema then says "string").
pub(crate) fn refined<'c>(
    declared: Option<Kind>,
    cells: impl Iterator<Item = &'c Cell> + Clone,
) -> Kind {
    match declared {
        None => infer(cells),
        Some(Kind::Text) => match infer(cells) {
            found @ (Kind::Array | Kind::Date) => found,
            _ => Kind::Text,
        },
        Some(k) => k,
    }
}

/// One cell as a property value of its column's type.
pub(crate) fn typed(cell: &Cell, kind: Kind) -> Result<Json, Reason> {
    let wrong = |what: &str, zh: &str| {
        (
            format!("{cell:?} is not {what}, as the column's other values are"),
            format!("{cell:?} 不是{zh}（与该列其他值不符）"),
        )
    };
    Ok(match (cell, kind) {
        (Cell::Empty, _) => Json::Null,
        (Cell::Number(x), Kind::Int) if whole(*x) => Json::from(*x as i64),
        (Cell::Text(t), Kind::Int) => {
            Json::from(integer(t.trim()).ok_or_else(|| wrong("an integer", "整数"))?)
        }
        (Cell::Number(x), Kind::Num) => serde_json::Number::from_f64(*x)
            .map(Json::Number)
            .ok_or_else(|| wrong("a number", "数值"))?,
        (Cell::Text(t), Kind::Num) => number(t.trim())
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| wrong("a number", "数值"))?,
        (Cell::Bool(b), Kind::Bool) => Json::Bool(*b),
        (Cell::Text(t), Kind::Bool) => Json::Bool(
            boolean(t.trim())
                .or(match t.trim() {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                })
                .ok_or_else(|| wrong("true or false", "布尔值"))?,
        ),
        (Cell::Number(x), Kind::Bool) if *x == 0.0 || *x == 1.0 => Json::Bool(*x == 1.0),
        (Cell::Text(t), Kind::Array) => string_array(t).ok_or_else(|| wrong("a list", "列表"))?,
        (Cell::Text(t), Kind::Date) => {
            Json::String(date(t.trim()).ok_or_else(|| wrong("a date", "日期"))?)
        }
        (Cell::Date(d), Kind::Date) if d.len() == 10 => Json::String(d.clone()),
        (Cell::Text(t), Kind::Text) => Json::String(t.clone()),
        (Cell::Date(d), Kind::Text) => Json::String(d.clone()),
        (Cell::Number(x), Kind::Text) if whole(*x) => Json::String((*x as i64).to_string()),
        (Cell::Number(x), Kind::Text) => Json::String(x.to_string()),
        (Cell::Bool(b), Kind::Text) => Json::String(b.to_string()),
        (_, Kind::Int) => return Err(wrong("an integer", "整数")),
        (_, Kind::Num) => return Err(wrong("a number", "数值")),
        (_, Kind::Bool) => return Err(wrong("true or false", "布尔值")),
        (_, Kind::Array) => return Err(wrong("a list", "列表")),
        (_, Kind::Date) => return Err(wrong("a date", "日期")),
        (_, Kind::Wkt) => Json::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(cells: &[Cell]) -> Kind {
        infer(cells.iter())
    }

    #[test]
    fn columns_are_typed_by_all_their_values() {
        let t = |s: &str| Cell::Text(s.into());
        assert_eq!(kind(&[t("12"), Cell::Empty, t("-3")]), Kind::Int);
        assert_eq!(kind(&[t("12"), t("3.5")]), Kind::Num);
        assert_eq!(kind(&[Cell::Number(8.0), Cell::Number(9.0)]), Kind::Int);
        assert_eq!(kind(&[Cell::Number(8.0), Cell::Number(9.5)]), Kind::Num);
        assert_eq!(kind(&[t("TRUE"), t("false")]), Kind::Bool);
        assert_eq!(
            kind(&[t("007"), t("12")]),
            Kind::Text,
            "a code keeps its zeros"
        );
        assert_eq!(kind(&[t("12"), t("待定")]), Kind::Text);
        assert_eq!(kind(&[t("inf"), t("1")]), Kind::Text);
        assert_eq!(kind(&[t("[\"a\",\"b\"]")]), Kind::Array);
        assert_eq!(kind(&[t("2025/3/31"), t("2030-10-31")]), Kind::Date);
        assert_eq!(typed(&t("2025/3/31"), Kind::Date).unwrap(), "2025-03-31");
        assert_eq!(typed(&Cell::Number(3000.0), Kind::Text).unwrap(), "3000");
    }
}
