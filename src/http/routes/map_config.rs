//! `/map-config`: what the web map shows besides the data (basemaps, review number,
//! attribution), and `/basemaps/{id}/{z}/{x}/{y}`: the tiles of local basemap files (see
//! `basemap`). Public, like every endpoint the app uses.

use super::openapi::*;
use super::Contract;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::basemap::is_gzip;
use crate::config::Basemap;
use crate::http::error::ApiError;
use crate::http::extract::{NoParams, Query};
use crate::http::links::BaseUrl;
use crate::http::negotiate::{content_etag, if_none_match, JsonOnly};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/map-config", get(map_config))
        .route("/basemaps/{basemap}/{z}/{x}/{y}", get(basemap_tile))
}

/// One basemap as the web map needs it: a raster or vector tile source.
fn describe(b: &Basemap, state: &AppState, base: &BaseUrl) -> Option<Value> {
    let mut out = json!({"id": b.id, "title": b.title, "datum": b.datum, "tileSize": b.tile_size,
        "default": b.default, "attribution": b.attribution});
    match (b.resolved_url(), &b.mbtiles) {
        (Some(url), _) => {
            out["type"] = json!("raster");
            out["tiles"] = json!([url]);
        }
        (None, Some(_)) => {
            let file = state.basemaps.get(&b.id)?;
            let info = &file.info;
            out["type"] = json!(if info.format.is_vector() {
                "vector"
            } else {
                "raster"
            });
            out["tiles"] = json!([base.at(&format!("/basemaps/{}/{{z}}/{{x}}/{{y}}", b.id))]);
            out["minzoom"] = json!(info.minzoom);
            out["maxzoom"] = json!(info.maxzoom);
            if let Some(bounds) = info.bounds {
                out["bounds"] = json!(bounds);
            }
            if b.attribution.is_none() {
                out["attribution"] = json!(info.attribution);
            }
            if let Some(layers) = &info.vector_layers {
                out["vectorLayers"] = layers.clone();
            }
        }
        (None, None) => return None,
    }
    Some(out)
}

async fn map_config(
    State(state): State<AppState>,
    base: BaseUrl,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let m = &state.config.map;
    let basemaps: Vec<Value> = m
        .basemaps
        .iter()
        .filter_map(|b| describe(b, &state, &base))
        .collect();
    Ok(Json(json!({
        "basemaps": basemaps,
        "reviewNumber": m.review_number,
        "attribution": m.attribution,
        "contact": m.contact,
        // Whether this server keeps edits (`--state`): the map offers sign-in and editing then.
        "editing": state.store.editor().is_some(),
        "staleAfterDays": state.config.stale_after_days,
    })))
}

/// A tile of a local basemap: 204 where the file has none (the map draws nothing there),
/// 404 for no such basemap or a position outside the zoom's grid.
async fn basemap_tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, z, x, y)): Path<(String, String, String, String)>,
    Query(NoParams): Query<NoParams>,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::not_found(format!("there is no local basemap tile {id}/{z}/{x}/{y}"));
    let Some(file) = state.basemaps.get(&id) else {
        return Err(not_found());
    };
    let (Ok(z), Ok(x), Ok(y)) = (z.parse::<u8>(), x.parse::<u32>(), y.parse::<u32>()) else {
        return Err(not_found());
    };
    if z > 30 || u64::from(x) >= 1u64 << z || u64::from(y) >= 1u64 << z {
        return Err(not_found());
    }
    let basemaps = std::sync::Arc::clone(&state.basemaps);
    let id_owned = id.clone();
    let read = tokio::task::spawn_blocking(move || {
        basemaps.get(&id_owned).map(|f| f.tile(z, x, y)).transpose()
    })
    .await
    .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let bytes = match read {
        Ok(Some(Some(b))) => b,
        Ok(_) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => {
            tracing::error!(basemap = %id, error = %e, "cannot read a basemap tile");
            return Err(ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR));
        }
    };
    let etag = content_etag(&bytes);
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.info.format.media_type()),
    );
    // The file does not change while the server runs; a day is a fair reuse.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if if_none_match(headers.get(header::IF_NONE_MATCH), &etag) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    if file.info.format.is_vector() && is_gzip(&bytes) {
        // Stored compressed, as MBTiles vector tiles usually are: sent as they are.
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok((h, bytes).into_response())
}

/// `/map-config` and the local basemaps' tiles.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    paths.insert("/map-config".into(), serde_json::json!({"get": {"summary": "what the web map shows besides the data: basemaps, review number, attribution", "operationId": "getMapConfig", "tags": ["Capabilities"],
        "parameters": parameters::<crate::http::negotiate::JsonOnly>(None),
        "responses": json_ok("the map settings", serde_json::json!({"type": "object"}))}}));
    let basemap_params: Vec<serde_json::Value> = ["basemapId", "z", "x", "y"]
        .iter()
        .map(|n| serde_json::json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
        .chain(parameters::<crate::http::extract::NoParams>(None))
        .collect();
    paths.insert("/basemaps/{basemapId}/{z}/{x}/{y}".into(), serde_json::json!({"get": {"summary": "a tile of a local basemap file (MBTiles) the operator configured", "operationId": "getBasemapTile", "tags": ["Tiles"],
        "parameters": basemap_params,
        "responses": {"200": {"description": "the tile (an image, or a vector tile)", "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/vnd.mapbox-vector-tile": {}}},
                      "204": {"description": "the file has no tile here"}, "304": {"description": "not modified"},
                      "400": problem("a malformed parameter"), "404": problem("no such basemap or tile position")}}}));
}
