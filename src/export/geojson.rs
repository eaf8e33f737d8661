//! Streamed GeoJSON (RFC 7946): one feature at a time, polygons by the right-hand rule.

use std::io::Write;

use super::{ExportError, ExportOptions, ExportSource};
use crate::encode::{write_feature, Properties};

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
    let mut buf = Vec::with_capacity(4096);
    for source in sources {
        for f in source.features {
            let f = f?;
            buf.clear();
            if !first {
                buf.extend_from_slice(b",\n");
            }
            first = false;
            let properties = if tag_layer {
                Properties::Tagged {
                    first: ("layer", &source.name),
                    rest: &f.properties,
                }
            } else {
                Properties::Map(&f.properties)
            };
            write_feature(&mut buf, &f.id, &f.geometry, properties, options.crs, &[]);
            out.write_all(&buf)?;
        }
    }
    out.write_all(b"\n]}\n")?;
    Ok(())
}
