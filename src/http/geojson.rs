//! Features as GeoJSON objects.

use serde_json::{json, Map, Value as Json};

use crate::export::Crs;
use crate::store::Feature;

/// A geometry as a GeoJSON value. Polygons are already right-hand-rule oriented by ingest.
pub fn geometry_json(g: &geo::Geometry<f64>) -> Json {
    serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Json::Null)
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
