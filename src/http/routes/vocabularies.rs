use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::links::{link, BaseUrl, JSON};
use crate::http::negotiate::json_resource;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vocabularies", get(list))
        .route("/vocabularies/{id}", get(one))
}

/// The controlled vocabularies (industries and their colours) that layers are checked against.
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    json_resource(q.as_deref())?;
    let vocabularies: Vec<Value> = state
        .store
        .vocabularies()
        .into_iter()
        .map(|v| {
            json!({
                "id": v.id,
                "title": v.title,
                "links": [link(base.at(&format!("/vocabularies/{}", v.id)), "item", JSON, "terms")],
            })
        })
        .collect();
    Ok(Json(json!({
        "vocabularies": vocabularies,
        "links": [link(base.at("/vocabularies"), "self", JSON, "this document")],
    })))
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    json_resource(q.as_deref())?;
    state
        .store
        .vocabularies()
        .into_iter()
        .find(|v| v.id == id)
        .map(|v| Json(json!(v)))
        .ok_or_else(|| {
            ApiError::not_found(format!("there is no vocabulary {id:?}; see /vocabularies"))
        })
}
