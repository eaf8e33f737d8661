//! The one GeoJSON feature writer.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::geometry::GeometryOut;
use super::value::write_slot_properties;
use crate::index::Layer;
use crate::model::json_text::{write_i64, write_str};
use crate::model::{Crs, FeatureId};

/// Where a feature's properties come from.
pub enum Properties<'a> {
    /// Straight from a layer's columns (only the columns `only`, if given).
    Slot {
        layer: &'a Layer,
        slot: usize,
        only: Option<&'a [usize]>,
    },
    /// A materialised map (a clipped feature of an area export, say).
    Map(&'a Map<String, Json>),
    /// A map with one member written first: `layer` in a multi-layer download.
    Tagged {
        first: (&'a str, &'a str),
        rest: &'a Map<String, Json>,
    },
}

/// Writes `{"type":"Feature","id":…,"geometry":…,"properties":{…}}`, the geometry in `crs` (in
/// its axis order), then any `extra` members (`links`, `collection`, `distance_m`…) in order.
/// The bytes are what `serde_json` writes for the same feature as an ordered map.
pub fn write_feature(
    out: &mut Vec<u8>,
    id: &FeatureId,
    geometry: &geo::Geometry<f64>,
    properties: Properties,
    crs: Crs,
    extra: &[(&str, &dyn erased::Member)],
) {
    out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
    match id {
        FeatureId::Int(n) => write_i64(out, *n),
        FeatureId::Str(s) => write_str(out, s),
    }
    out.extend_from_slice(b",\"geometry\":");
    // Writing to a Vec cannot fail, and every geometry here is serialisable.
    let _ = if crs == Crs::Crs84 {
        serde_json::to_writer(&mut *out, &GeometryOut(geometry))
    } else {
        serde_json::to_writer(&mut *out, &GeometryOut(&crs.for_text(geometry)))
    };
    out.extend_from_slice(b",\"properties\":");
    match properties {
        Properties::Slot { layer, slot, only } => write_slot_properties(layer, slot, only, out),
        Properties::Map(map) => {
            let _ = serde_json::to_writer(&mut *out, map);
        }
        Properties::Tagged { first, rest } => {
            // As a map that holds the tag first and then takes the rest: a property of the
            // tag's name keeps the first place and gives its own value.
            out.push(b'{');
            write_str(out, first.0);
            out.push(b':');
            match rest.get(first.0) {
                Some(own) => {
                    let _ = serde_json::to_writer(&mut *out, own);
                }
                None => write_str(out, first.1),
            }
            for (k, v) in rest {
                if k == first.0 {
                    continue;
                }
                out.push(b',');
                write_str(out, k);
                out.push(b':');
                let _ = serde_json::to_writer(&mut *out, v);
            }
            out.push(b'}');
        }
    }
    for (name, value) in extra {
        out.push(b',');
        write_str(out, name);
        out.push(b':');
        value.write(out);
    }
    out.push(b'}');
}

/// Extra members of any serialisable type, behind one object-safe trait.
pub mod erased {
    /// A value that writes itself as JSON.
    pub trait Member {
        fn write(&self, out: &mut Vec<u8>);
    }

    impl<T: super::Serialize> Member for T {
        fn write(&self, out: &mut Vec<u8>) {
            // Writing to a Vec cannot fail, and these values are plain JSON.
            let _ = serde_json::to_writer(&mut *out, self);
        }
    }
}

/// A feature of a layer as the API serves it alone (CRS84, no links): what edits record and
/// what its ETag covers.
pub fn feature_bytes(layer: &Layer, slot: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_feature(
        &mut out,
        &layer.ids[slot],
        &layer.geometries[slot],
        Properties::Slot {
            layer,
            slot,
            only: None,
        },
        Crs::Crs84,
        &[],
    );
    out
}

/// The strong ETag of a feature: a digest of its id, geometry and every property, so it
/// changes exactly when the feature does, and is the same on every server and after restarts.
pub fn feature_etag(layer: &Layer, slot: usize) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(feature_bytes(layer, slot));
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}
