use super::openapi::*;
use super::Contract;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::links::{link, BaseUrl, JSON};
use crate::http::negotiate::JsonOnly;
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
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let vocabularies: Vec<Value> = state
        .snapshot()
        .vocabularies()
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
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    state
        .snapshot()
        .vocabulary(&id)
        .map(|v| Json(json!(v)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "there is no vocabulary {:?}; see /vocabularies",
                crate::http::params::shorten(&id)
            ))
        })
}

/// `/vocabularies` and each `/vocabularies/{id}`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    use crate::http::negotiate::JsonOnly;
    paths.insert("/vocabularies".into(), serde_json::json!({"get": {"summary": "controlled vocabularies", "operationId": "getVocabularies", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the vocabularies", serde_json::json!({"type": "object"}))}}));
    paths.insert("/vocabularies/{vocabularyId}".into(), serde_json::json!({"get": {"summary": "one vocabulary", "operationId": "getVocabulary", "tags": ["Capabilities"],
        "parameters": std::iter::once(serde_json::json!({"name": "vocabularyId", "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(parameters::<JsonOnly>(None))
            .collect::<Vec<_>>(),
        "responses": {"200": {"description": "the terms", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": problem("a malformed parameter"), "404": problem("no such vocabulary")}}}));
}
