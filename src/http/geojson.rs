//! Features as GeoJSON objects.

use std::io::Write;

use serde_json::{json, Map, Value as Json};

use super::negotiate::content_etag;

use crate::export::{write_features, Crs, GeometryOut};
use crate::store::Feature;
use crate::store::PageJson;

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

/// A FeatureCollection page and its validator.
pub struct PageBody {
    pub bytes: Vec<u8>,
    /// A strong ETag over everything but the closing `timeStamp`: that member says when the page
    /// was written, and hashing it would give the same content a new ETag every second, so a
    /// client's `If-None-Match` would never match once the response cache no longer held it.
    pub etag: String,
}

/// A FeatureCollection response body: the features streamed into the buffer one by one, then
/// the links and counts.
pub fn feature_collection_body(
    features: &[Feature],
    crs: Crs,
    links: &[Json],
    number_matched: usize,
) -> PageBody {
    let mut members = Vec::with_capacity(features.len() * 1024);
    write_features(features, crs, &mut members);
    let page = PageJson {
        number_matched,
        number_returned: features.len(),
        features: members,
    };
    page_body(page, links)
}

/// A FeatureCollection around features already written (see `FeatureStore::page_json`).
pub fn page_body(page: PageJson, links: &[Json]) -> PageBody {
    let features = page.number_returned;
    let number_matched = page.number_matched;
    let mut out = Vec::with_capacity(page.features.len() + 1024);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    out.extend_from_slice(&page.features);
    out.extend_from_slice(b"],\"links\":");
    let _ = serde_json::to_writer(&mut out, links);
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        ",\"numberMatched\":{number_matched},\"numberReturned\":{features}"
    );
    let etag = content_etag(&out);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _ = write!(out, ",\"timeStamp\":\"{now}\"}}");
    PageBody { bytes: out, etag }
}
