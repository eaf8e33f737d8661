//! FlatGeobuf (`.fgb`): features in file order, typed columns as the header declares them,
//! the coordinate system from the header's `crs` (an EPSG code, or its WKT).

use flatgeobuf::{FallibleStreamingIterator, FgbReader};
use geozero::{ColumnValue, FeatureProperties, PropertyProcessor, ToGeo};
use serde_json::{Map, Value as Json};

use super::{at, build_layer, geo_json, prj, take_id, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::source_crs::SourceCrs;
use crate::ingest::{IngestError, SourceFile};

pub(crate) fn read(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<LayerParts, IngestError> {
    let label = file.name.as_str();
    let bad =
        |e: &dyn std::fmt::Display| unreadable(label, ("FlatGeobuf file", "FlatGeobuf 文件"), e);
    let reader = FgbReader::open(std::io::Cursor::new(file.bytes.as_ref())).map_err(|e| bad(&e))?;
    check_layout(&file.bytes, &reader.header()).map_err(|e| bad(&e))?;
    let crs = header_crs(&reader.header()).map_err(|r| IngestError::file(label, r))?;
    let mut features = reader.select_all().map_err(|e| bad(&e))?;
    let meta = cx.meta(stem);
    build_layer(label, stem, meta, cx.options, crs, |builder| {
        let mut index = 0;
        while let Some(feature) = features.next().map_err(|e| bad(&e))? {
            let mut row = Row::default();
            feature
                .process_properties(&mut row)
                .map_err(|e| IngestError::feature(label, at(index, &None), e.to_string()))?;
            let mut properties = row.0;
            let id = take_id(&mut properties);
            let geometry = match feature.geometry() {
                None => None,
                Some(_) => Some(geo_json(&feature.to_geo().map_err(|e| {
                    IngestError::feature(label, at(index, &id), format!("unreadable geometry: {e}"))
                })?)),
            };
            builder.push(at(index, &id), id, geometry, properties)?;
            index += 1;
        }
        Ok(())
    })
}

/// Bytes of one node of the packed R-tree index (four f64 bounds and a u64 offset).
const NODE_BYTES: u64 = 40;

/// Walks the size prefixes of the features before the reader does: a corrupt size would have
/// it allocate and zero gigabytes before finding the file short (seconds per file, found by
/// fuzzing). Every feature must lie within the file.
fn check_layout(bytes: &[u8], header: &flatgeobuf::Header) -> Result<(), String> {
    let len = bytes.len() as u64;
    let u32_at = |at: u64| -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u64::from(u32::from_le_bytes(b.try_into().ok()?)))
    };
    let header_size = u32_at(8).ok_or("no header")?;
    let mut at = 12 + header_size;
    let (count, node) = (header.features_count(), u64::from(header.index_node_size()));
    if node > 0 && count > 0 {
        if node < 2 {
            return Err(format!("index node size {node} (at least 2)"));
        }
        if count > len {
            return Err(format!("{count} features in {len} bytes"));
        }
        // As the format counts them: the leaves, then every level up to and including a root
        // of one node (a single leaf still gets its root).
        let (mut n, mut nodes) = (count, count);
        loop {
            n = n.div_ceil(node);
            nodes += n;
            if n == 1 {
                break;
            }
        }
        at += nodes * NODE_BYTES;
    }
    while at < len {
        let size = u32_at(at).ok_or_else(|| format!("a feature cut short at byte {at}"))?;
        at += 4 + size;
        if at > len {
            return Err(format!(
                "a feature of {size} bytes runs past the end of the file"
            ));
        }
    }
    Ok(())
}

/// The header's coordinate system: an EPSG code, else its WKT; none means CRS84.
fn header_crs(header: &flatgeobuf::Header) -> Result<Option<SourceCrs>, String> {
    let Some(crs) = header.crs() else {
        return Ok(None);
    };
    let org = crs.org().unwrap_or("EPSG");
    if crs.code() > 0 && org.eq_ignore_ascii_case("EPSG") {
        return SourceCrs::parse(&format!("EPSG:{}", crs.code())).map(Some);
    }
    match crs.wkt() {
        Some(wkt) if !wkt.trim().is_empty() => prj::source_crs(wkt).map(Some),
        _ => Ok(None),
    }
}

/// One feature's properties, typed as the columns declare them.
#[derive(Default)]
struct Row(Map<String, Json>);

impl PropertyProcessor for Row {
    fn property(
        &mut self,
        _: usize,
        name: &str,
        value: &ColumnValue,
    ) -> geozero::error::Result<bool> {
        let v = match value {
            ColumnValue::Bool(b) => Json::Bool(*b),
            ColumnValue::Byte(x) => Json::from(*x),
            ColumnValue::UByte(x) => Json::from(*x),
            ColumnValue::Short(x) => Json::from(*x),
            ColumnValue::UShort(x) => Json::from(*x),
            ColumnValue::Int(x) => Json::from(*x),
            ColumnValue::UInt(x) => Json::from(*x),
            ColumnValue::Long(x) => Json::from(*x),
            ColumnValue::ULong(x) => Json::from(*x),
            ColumnValue::Float(x) => serde_json::Number::from_f64(f64::from(*x)).map_or(Json::Null, Json::Number),
            ColumnValue::Double(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            ColumnValue::String(s) => Json::String((*s).to_owned()),
            // GDAL writes a date as a date-time at midnight: served as the date it is.
            ColumnValue::DateTime(s) => Json::String(
                s.strip_suffix("T00:00:00")
                    .or_else(|| s.strip_suffix("T00:00:00Z"))
                    .filter(|d| d.len() == 10)
                    .unwrap_or(s)
                    .to_owned(),
            ),
            ColumnValue::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| Json::String((*s).to_owned())),
            ColumnValue::Binary(_) => {
                return Err(geozero::error::GeozeroError::Property(format!(
                    "column {name:?} holds binary data, which cannot be served / “{name}”列为二进制数据，无法发布"
                )))
            }
        };
        self.0.insert(name.to_owned(), v);
        Ok(false)
    }
}
