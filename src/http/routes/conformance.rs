use super::openapi::*;
use super::Contract;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::negotiate::JsonOnly;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/conformance", get(conformance))
}

async fn conformance(
    axum::extract::State(state): axum::extract::State<AppState>,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    // Each route module declares the classes it implements; nothing is claimed that the test
    // suite does not exercise.
    let edits = state.store.editor().is_some();
    let classes: Vec<&str> = super::CONTRACTS
        .iter()
        .flat_map(|c| (c.classes)(edits).iter().copied())
        .collect();
    Ok(Json(json!({ "conformsTo": classes })))
}

/// `/conformance`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    paths.insert("/conformance".into(), json!({"get": {"summary": "conformance classes", "operationId": "getConformance", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the conformance classes", json!({"type": "object", "required": ["conformsTo"], "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}}))}}));
}
