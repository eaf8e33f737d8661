//! Shapefiles: a `.shp` with its `.dbf` (attributes), `.shx`, `.prj` (coordinate system) and
//! `.cpg` (text encoding) beside it, or all of them in a `.zip`. The DBF's text is read in the
//! encoding the sidecar's `"encoding"` names, else the `.cpg`'s, else the code page the DBF
//! header marks (GBK for the Chinese marks), else UTF-8; text that does not decode is refused
//! by row and column. A one-part polygon or line is served as such, as GDAL reads it.

use std::io::{Cursor, Read};

use dbase::FieldValue;
use encoding_rs::Encoding;
use serde_json::{Map, Value as Json};

use super::{at, bilingual, build_layer, geo_json, prj, take_id, text, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::{IngestError, SourceFile};
use crate::model::LayerMeta;

/// A Shapefile's parts, from the directory or a zip.
struct Parts {
    /// How problems name it (`a.shp`, or `b.zip: a.shp`).
    label: String,
    /// Shared with the read (or mapped) file: a loose Shapefile is not copied.
    shp: bytes::Bytes,
    dbf: Option<bytes::Bytes>,
    prj: Option<String>,
    cpg: Option<String>,
}

pub(crate) fn read_loose(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<LayerParts, IngestError> {
    let companion = |ending| cx.companions.get(stem, ending);
    let parts = Parts {
        label: file.name.clone(),
        shp: file.bytes.clone(),
        dbf: companion(".dbf").map(|f| f.bytes.clone()),
        prj: companion(".prj").map(|f| String::from_utf8_lossy(&f.bytes).into_owned()),
        cpg: companion(".cpg").map(|f| String::from_utf8_lossy(&f.bytes).into_owned()),
    };
    let meta = cx.meta(stem);
    read(parts, stem, meta, cx)
}

pub(crate) fn read_zip(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<Vec<LayerParts>, IngestError> {
    let label = file.name.as_str();
    let bad = |e: &dyn std::fmt::Display| unreadable(label, ("zip", "zip 文件"), e);
    let mut zip = zip::ZipArchive::new(Cursor::new(file.bytes.as_ref())).map_err(|e| bad(&e))?;
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let shps: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".shp") && !n.starts_with("__MACOSX"))
        .collect();
    if shps.is_empty() {
        return Err(IngestError::file(
            label,
            bilingual("holds no .shp file", "不含 .shp 文件"),
        ));
    }
    let mut entry = |name: &str| -> Result<Option<Vec<u8>>, IngestError> {
        let Some(found) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) else {
            return Ok(None);
        };
        let mut f = zip.by_name(found).map_err(|e| bad(&e))?;
        let mut out = Vec::new();
        // The zip's sizes are untrusted; what is read is bounded by the file's own size
        // times the best deflate ratio, which a real Shapefile stays far below.
        (&mut f)
            .take((file.bytes.len() as u64).saturating_mul(1032))
            .read_to_end(&mut out)
            .map_err(|e| bad(&e))?;
        Ok(Some(out))
    };
    let single = shps.len() == 1;
    let mut layers = Vec::new();
    for shp in &shps {
        let inner = &shp[..shp.len() - 4];
        let base = inner.rsplit('/').next().unwrap_or(inner);
        let name = if single { stem } else { base };
        let text_of = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
        let parts = Parts {
            label: format!("{label}: {shp}"),
            shp: entry(shp)?.map(bytes::Bytes::from).unwrap_or_default(),
            dbf: entry(&format!("{inner}.dbf"))?.map(bytes::Bytes::from),
            prj: text_of(entry(&format!("{inner}.prj"))?),
            cpg: text_of(entry(&format!("{inner}.cpg"))?),
        };
        let meta = cx.meta(name);
        layers.push(read(parts, name, meta, cx)?);
    }
    Ok(layers)
}

/// The DBF's encoding: the sidecar's, else the `.cpg`'s (the two must agree), else the
/// Chinese code page marks of the DBF header (0x4D, 0x7A), else UTF-8.
fn encoding(parts: &Parts, meta: &LayerMeta) -> Result<&'static Encoding, String> {
    let sidecar = meta.encoding.as_deref().map(text::named).transpose()?;
    let cpg = parts.cpg.as_deref().map(text::named).transpose()?;
    match (sidecar, cpg) {
        (Some(s), Some(c)) if s != c => Err(bilingual(
            &format!(
                "the .cpg says {} but the sidecar says {}; remove one of them",
                c.name(),
                s.name()
            ),
            &format!(
                ".cpg 文件为 {}，附属文件为 {}，两者不一致；请删去其一",
                c.name(),
                s.name()
            ),
        )),
        (Some(e), _) | (None, Some(e)) => Ok(e),
        (None, None) => Ok(match parts.dbf.as_ref().and_then(|d| d.get(29)) {
            Some(0x4D | 0x7A) => encoding_rs::GBK,
            _ => encoding_rs::UTF_8,
        }),
    }
}

fn read(
    parts: Parts,
    name: &str,
    meta: LayerMeta,
    cx: &Context,
) -> Result<LayerParts, IngestError> {
    let label = parts.label.as_str();
    let encoding = encoding(&parts, &meta).map_err(|r| IngestError::file(label, r))?;
    let crs = match &parts.prj {
        Some(wkt) => {
            Some(prj::source_crs(wkt).map_err(|r| IngestError::file(label, format!(".prj: {r}")))?)
        }
        None => None,
    };
    let bad = |e: &dyn std::fmt::Display| unreadable(label, ("Shapefile", "Shapefile"), e);
    let dbf = parts.dbf.as_ref().ok_or_else(|| {
        IngestError::file(
            label,
            bilingual(
                "has no .dbf beside it (the attributes)",
                "缺少同名 .dbf 文件（属性表）",
            ),
        )
    })?;
    check_layout(&parts.shp, dbf).map_err(|e| bad(&e))?;
    let shapes =
        shapefile::ShapeReader::new(Cursor::new(parts.shp.as_ref())).map_err(|e| bad(&e))?;
    let table = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(encoding))
        .build(Cursor::new(dbf.as_ref()))
        .map_err(|e| bad(&e))?;
    let fields: Vec<String> = table.fields().iter().map(|f| f.name().to_owned()).collect();
    let mut reader = shapefile::Reader::new(shapes, table);
    build_layer(label, name, meta, cx.options, crs, |builder| {
        for (index, item) in reader.iter_shapes_and_records().enumerate() {
            let row = index + 1;
            let (shape, mut record) = item.map_err(|e| {
                IngestError::feature(
                    label,
                    at(index, &None),
                    bilingual(
                        &format!("record {row}: {e}"),
                        &format!("第 {row} 条记录：{e}"),
                    ),
                )
            })?;
            let mut properties = Map::new();
            for field in &fields {
                let v = record.remove(field).map_or(Json::Null, value_of);
                // The `dbase` decoder replaces bytes that are not valid in the encoding
                // (its error type cannot be implemented outside it): a replacement
                // character in the text is such bytes, refused by row and column.
                if v.as_str().is_some_and(|s| s.contains('\u{FFFD}')) {
                    return Err(IngestError::feature(
                        label,
                        at(index, &None),
                        format!(
                            "record {row}, column {field:?} (第 {row} 条记录“{field}”列): {}",
                            text::undecodable(encoding)
                        ),
                    ));
                }
                properties.insert(field.clone(), v);
            }
            let id = take_id(&mut properties);
            let geometry = geo::Geometry::<f64>::try_from(shape)
                .ok()
                .map(|g| geo_json(&single_part(g)));
            builder.push(at(index, &id), id, geometry, properties)?;
        }
        Ok(())
    })
}

/// Walks the `.shp` records and the `.dbf` header before the readers do: a corrupt count
/// would have them allocate gigabytes (found by fuzzing). Every record must lie within the
/// file, and every count of parts and points within its record; the DBF's records within it.
fn check_layout(shp: &[u8], dbf: &[u8]) -> Result<(), String> {
    let be = |at: usize| -> Option<usize> {
        let b = shp.get(at..at + 4)?;
        usize::try_from(i32::from_be_bytes(b.try_into().ok()?)).ok()
    };
    let le = |at: usize| -> Option<usize> {
        let b = shp.get(at..at + 4)?;
        usize::try_from(i32::from_le_bytes(b.try_into().ok()?)).ok()
    };
    if shp.len() < 100 {
        return Err("a .shp shorter than its 100-byte header".into());
    }
    let mut at = 100;
    while at < shp.len() {
        let len = be(at + 4)
            .and_then(|words| words.checked_mul(2))
            .ok_or_else(|| format!("a record header cut short at byte {at}"))?;
        let content = at + 8;
        let end = content
            .checked_add(len)
            .filter(|end| *end <= shp.len())
            .ok_or_else(|| {
                format!("a record of {len} bytes at byte {at} runs past the end of the file")
            })?;
        let shape_type = le(content).unwrap_or(0);
        // Polyline, polygon, multipatch and their Z/M kinds: parts at 36, points at 40;
        // multipoints: points at 36. Each point is at least 16 bytes, each part 4.
        let (parts, points) = match shape_type {
            3 | 5 | 13 | 15 | 23 | 25 | 31 => {
                (le(content + 36).unwrap_or(0), le(content + 40).unwrap_or(0))
            }
            8 | 18 | 28 => (0, le(content + 36).unwrap_or(0)),
            _ => (0, 0),
        };
        if parts
            .saturating_mul(4)
            .saturating_add(points.saturating_mul(16))
            > len
        {
            return Err(format!(
                "a record at byte {at} claims {parts} parts and {points} points in {len} bytes"
            ));
        }
        at = end;
    }
    let word = |at: usize| {
        dbf.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let records = dbf
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("a .dbf shorter than its header")?;
    let (header, record) = (word(8).unwrap_or(0), word(10).unwrap_or(0));
    if header.saturating_add(records.saturating_mul(record)) > dbf.len() {
        return Err(format!(
            "the .dbf claims {records} records of {record} bytes in {} bytes",
            dbf.len()
        ));
    }
    Ok(())
}

/// A multi-geometry of one part as that part: a Shapefile cannot tell the two apart.
fn single_part(g: geo::Geometry<f64>) -> geo::Geometry<f64> {
    match g {
        geo::Geometry::MultiPolygon(mut m) if m.0.len() == 1 => {
            geo::Geometry::Polygon(m.0.remove(0))
        }
        geo::Geometry::MultiLineString(mut m) if m.0.len() == 1 => {
            geo::Geometry::LineString(m.0.remove(0))
        }
        other => other,
    }
}

fn number(x: f64) -> Json {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Json::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

fn value_of(v: FieldValue) -> Json {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Json::String(s),
        FieldValue::Numeric(Some(x)) => number(x),
        FieldValue::Float(Some(x)) => number(x.to_string().parse().unwrap_or(f64::from(x))),
        FieldValue::Logical(Some(b)) => Json::Bool(b),
        FieldValue::Date(Some(d)) => {
            Json::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        FieldValue::Integer(i) => Json::from(i),
        FieldValue::Double(x) | FieldValue::Currency(x) => number(x),
        FieldValue::DateTime(t) => Json::String(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.date().year(),
            t.date().month(),
            t.date().day(),
            t.time().hours(),
            t.time().minutes(),
            t.time().seconds()
        )),
        _ => Json::Null,
    }
}
