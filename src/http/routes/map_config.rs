//! `/map-config`: what the web map shows besides the data (basemaps, review number,
//! attribution). Public, like every endpoint the app uses.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::negotiate::JsonOnly;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/map-config", get(map_config))
}

async fn map_config(
    State(state): State<AppState>,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let m = &state.config.map;
    let basemaps: Vec<Value> = m
        .basemaps
        .iter()
        .map(|b| json!({"id": b.id, "title": b.title, "tiles": [b.resolved_url()], "datum": b.datum, "attribution": b.attribution, "tileSize": b.tile_size}))
        .collect();
    Ok(Json(json!({
        "basemaps": basemaps,
        "reviewNumber": m.review_number,
        "attribution": m.attribution,
    })))
}
