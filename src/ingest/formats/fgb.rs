//! FlatGeobuf (`.fgb`): features in file order, typed columns as the header declares them,
//! the coordinate system from the header's `crs` (an EPSG code, or its WKT).

use flatgeobuf::{ColumnType, FallibleStreamingIterator, FgbReader};
use geozero::{ColumnValue, PropertyProcessor, ToGeo};
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
    let columns: Vec<(String, ColumnType)> = reader
        .header()
        .columns()
        .map(|cs| {
            cs.iter()
                .map(|c| (c.name().to_owned(), c.type_()))
                .collect()
        })
        .unwrap_or_default();
    let mut features = reader.select_all().map_err(|e| bad(&e))?;
    let meta = cx.meta(stem);
    build_layer(label, stem, meta, cx.options, crs, |builder| {
        let mut index = 0;
        while let Some(feature) = features.next().map_err(|e| bad(&e))? {
            let mut row = Row::default();
            let bytes = feature
                .fbs_feature()
                .properties()
                .map(|p| p.bytes())
                .unwrap_or_default();
            decode(bytes, &columns, &mut row)
                .map_err(|e| IngestError::feature(label, at(index, &None), e))?;
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

/// A feature's properties (a column index, then its value, repeated), read with every slice
/// bounds-checked: the crate's own decoder indexes the buffer unchecked and panics on a
/// corrupt length (found by fuzzing).
fn decode(bytes: &[u8], columns: &[(String, ColumnType)], row: &mut Row) -> Result<(), String> {
    struct Cursor<'a> {
        bytes: &'a [u8],
        at: usize,
    }
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
            let slice = self
                .at
                .checked_add(n)
                .and_then(|end| self.bytes.get(self.at..end))
                .ok_or_else(|| format!("properties cut short at byte {}", self.at))?;
            self.at += n;
            Ok(slice)
        }
    }
    let mut cursor = Cursor { bytes, at: 0 };
    fn le<const N: usize>(s: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&s[..N]);
        a
    }
    while cursor.at < bytes.len() {
        let i = usize::from(u16::from_le_bytes(le(cursor.take(2)?)));
        let (name, ty) = columns
            .get(i)
            .ok_or_else(|| format!("a property of column {i}, which the header does not have"))?;
        let text = |s: &[u8]| {
            std::str::from_utf8(s)
                .map(str::to_owned)
                .map_err(|e| format!("column {name:?}: {e}"))
        };
        let value = match *ty {
            ColumnType::Bool => ColumnValue::Bool(cursor.take(1)?[0] != 0),
            ColumnType::Byte => ColumnValue::Byte(i8::from_le_bytes(le(cursor.take(1)?))),
            ColumnType::UByte => ColumnValue::UByte(cursor.take(1)?[0]),
            ColumnType::Short => ColumnValue::Short(i16::from_le_bytes(le(cursor.take(2)?))),
            ColumnType::UShort => ColumnValue::UShort(u16::from_le_bytes(le(cursor.take(2)?))),
            ColumnType::Int => ColumnValue::Int(i32::from_le_bytes(le(cursor.take(4)?))),
            ColumnType::UInt => ColumnValue::UInt(u32::from_le_bytes(le(cursor.take(4)?))),
            ColumnType::Long => ColumnValue::Long(i64::from_le_bytes(le(cursor.take(8)?))),
            ColumnType::ULong => ColumnValue::ULong(u64::from_le_bytes(le(cursor.take(8)?))),
            ColumnType::Float => ColumnValue::Float(f32::from_le_bytes(le(cursor.take(4)?))),
            ColumnType::Double => ColumnValue::Double(f64::from_le_bytes(le(cursor.take(8)?))),
            ColumnType::String | ColumnType::Json | ColumnType::DateTime | ColumnType::Binary => {
                let len = u32::from_le_bytes(le(cursor.take(4)?)) as usize;
                let raw = cursor.take(len)?;
                let s;
                let v = match *ty {
                    ColumnType::Binary => ColumnValue::Binary(raw),
                    ColumnType::Json => {
                        s = text(raw)?;
                        ColumnValue::Json(&s)
                    }
                    ColumnType::DateTime => {
                        s = text(raw)?;
                        ColumnValue::DateTime(&s)
                    }
                    _ => {
                        s = text(raw)?;
                        ColumnValue::String(&s)
                    }
                };
                row.property(i, name, &v).map_err(|e| e.to_string())?;
                continue;
            }
            other => return Err(format!("column {name:?} has the unknown type {other:?}")),
        };
        row.property(i, name, &value).map_err(|e| e.to_string())?;
    }
    Ok(())
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
