//! Features as GeoJSON objects.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value as Json};

use crate::export::{Crs, GeometryOut};
use crate::store::Feature;

/// A geometry as a GeoJSON value. Polygons are already right-hand-rule oriented by ingest.
pub fn geometry_json(g: &geo::Geometry<f64>) -> Json {
    serde_json::to_value(GeometryOut(g)).unwrap_or(Json::Null)
}

/// A feature as GeoJSON, its geometry in `crs` (in that CRS's axis order).
pub fn feature_json(f: &Feature, links: Option<Vec<Json>>, crs: Crs) -> Json {
    let mut obj = Map::new();
    obj.insert("type".into(), json!("Feature"));
    obj.insert("id".into(), f.id.to_json());
    let geometry = if crs == Crs::Crs84 {
        geometry_json(&f.geometry)
    } else {
        geometry_json(&crs.for_text(&f.geometry))
    };
    obj.insert("geometry".into(), geometry);
    obj.insert("properties".into(), Json::Object(f.properties.clone()));
    if let Some(links) = links {
        obj.insert("links".into(), Json::Array(links));
    }
    Json::Object(obj)
}

/// A feature serialised straight to the output, without an intermediate JSON tree (the tree and
/// its copies of every property were most of an items request's time).
pub struct FeatureOut<'a> {
    pub feature: &'a Feature,
    pub crs: Crs,
}

impl Serialize for FeatureOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.feature;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", &f.id.to_json())?;
        if self.crs == Crs::Crs84 {
            m.serialize_entry("geometry", &GeometryOut(&f.geometry))?;
        } else {
            m.serialize_entry("geometry", &GeometryOut(&self.crs.for_text(&f.geometry)))?;
        }
        m.serialize_entry("properties", &f.properties)?;
        m.end()
    }
}

/// A FeatureCollection response body: the features streamed into the buffer one by one, then
/// the links and counts.
pub fn feature_collection_body(
    features: &[Feature],
    crs: Crs,
    links: &[Json],
    number_matched: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + features.len() * 1024);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing to a Vec cannot fail, and every value here is serialisable.
        let _ = serde_json::to_writer(&mut out, &FeatureOut { feature: f, crs });
    }
    out.extend_from_slice(b"],\"links\":");
    let _ = serde_json::to_writer(&mut out, links);
    let tail = json!({
        "numberMatched": number_matched,
        "numberReturned": features.len(),
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    // Splice the counts into the same object: drop the tail's opening brace.
    out.push(b',');
    let tail = tail.to_string();
    out.extend_from_slice(&tail.as_bytes()[1..]);
    out
}
