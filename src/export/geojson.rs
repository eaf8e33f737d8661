//! Streamed GeoJSON (RFC 7946): one feature at a time, polygons by the right-hand rule.

use std::io::Write;

use serde_json::{Map, Value as Json};

use super::{ExportError, ExportOptions, ExportSource, GeometryOut};

/// One feature, written without building a JSON tree of it first.
#[derive(serde::Serialize)]
struct FeatureOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Json,
    geometry: GeometryOut<'a>,
    properties: &'a Map<String, Json>,
}

/// Writes one FeatureCollection. With `tag_layer` (an area export), each feature gets a `layer`
/// property naming its layer, placed first.
pub fn write(
    sources: impl Iterator<Item = ExportSource>,
    tag_layer: bool,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    let mut first = true;
    for source in sources {
        for f in source.features {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            let mut properties = Map::with_capacity(f.properties.len() + 1);
            if tag_layer {
                properties.insert("layer".into(), Json::from(source.name.as_str()));
            }
            properties.extend(f.properties);
            let geometry = options.crs.for_text(&f.geometry);
            let feature = FeatureOut {
                kind: "Feature",
                id: f.id.to_json(),
                geometry: GeometryOut(&geometry),
                properties: &properties,
            };
            serde_json::to_writer(&mut *out, &feature).map_err(std::io::Error::from)?;
        }
    }
    out.write_all(b"\n]}\n")?;
    Ok(())
}
