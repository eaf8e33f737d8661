use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::{InCollection, Query};
use crate::http::links::{link, path_segment, BaseUrl, CRS84, GEOJSON, JSON};
use crate::http::negotiate::JsonOnly;
use crate::http::{language, AppState};
use crate::model::Crs;
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list))
        .route("/collections/{collection}", get(one))
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let lang = language(&headers);
    let collections: Vec<Value> = state
        .snapshot()
        .collections()
        .iter()
        .map(|c| describe(c, &base, lang))
        .collect();
    Ok(Json(json!({
        "links": [link(base.at("/collections"), "self", JSON, "the collections")],
        "collections": collections,
        "crs": Crs::SUPPORTED,
    })))
}

async fn one(
    base: BaseUrl,
    headers: HeaderMap,
    request: InCollection<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(describe(request.info(), &base, language(&headers))))
}

/// A collection as OGC API - Features Part 1 (7.14) describes it, extent computed from the data.
pub fn describe(c: &CollectionInfo, base: &BaseUrl, lang: &str) -> Value {
    let path = format!("/collections/{}", path_segment(&c.id));
    let title = c.meta.title.as_ref().map_or(c.id.as_str(), |t| t.get(lang));
    let mut out = json!({
        "id": c.id,
        "title": title,
        "itemType": "feature",
        "crs": Crs::SUPPORTED,
        "storageCrs": CRS84,
        "links": [
            link(base.at(&path), "self", JSON, "this collection"),
            link(base.at(&format!("{path}/items")), "items", GEOJSON, "the features"),
        ],
        "numberOfFeatures": c.count,
        "geometryTypes": c.geometry_types,
    });
    if let Some(d) = &c.meta.description {
        out["description"] = json!(d.get(lang));
    }
    if !c.meta.keywords.is_empty() {
        out["keywords"] = json!(c.meta.keywords);
    }
    if let Some(t) = &c.meta.title {
        out["titles"] = json!(t);
    }
    if let Some(d) = &c.meta.display_property {
        out["displayProperty"] = json!(d);
    }
    if c.meta.zone {
        out["zone"] = json!(true);
    }
    let mut extent = json!({});
    if let Some(b) = c.extent {
        extent["spatial"] = json!({"bbox": [b], "crs": CRS84});
    }
    if let Some([first, last]) = &c.temporal_extent {
        extent["temporal"] = json!({
            "interval": [[first, last]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        });
    }
    out["extent"] = extent;
    out
}
