//! `/api`: the OpenAPI 3.0 definition, generated from the loaded collections so that each items
//! path lists its own queryable properties. Every schema is inline: no outside host is named.
//!
//! Each operation's parameters come from the route's own [`RouteParams`] declaration, the list
//! the route parses with and names in its 400s, so the document cannot drift from the server.

use super::openapi::*;
use super::Contract;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::links::OPENAPI_JSON;
use crate::http::negotiate::JsonOnly;
use crate::http::AppState;
use crate::store::CollectionInfo;

/// `/api`.
pub const CONTRACT: Contract = Contract {
    router,
    describe: operations,
    classes: |_| &["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"],
};

fn operations(_: &Doc, paths: &mut Paths) {
    paths.insert("/api".into(), json!({"get": {"summary": "this API definition", "operationId": "getApi", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": {"200": {"description": "the OpenAPI document", "content": {OPENAPI_JSON: {"schema": {"type": "object"}}}},
                      "400": problem("a malformed or unknown parameter")}}}));
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api", get(api))
}

async fn api(
    State(state): State<AppState>,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Response, ApiError> {
    let doc = definition(
        state.snapshot().collections(),
        state.store.editor().is_some(),
    );
    let mut res = doc.to_string().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_JSON));
    Ok(res)
}

/// Builds the whole OpenAPI document for the loaded collections: every route module adds its
/// own operations.
pub fn definition(collections: &[CollectionInfo], edits: bool) -> Value {
    let doc = Doc { collections, edits };
    let mut paths = Paths::new();
    for c in super::CONTRACTS {
        (c.describe)(&doc, &mut paths);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "etown-atlas",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API - Features for Beijing E-Town's industrial space (schematic data). Limits: limit ≤ 10000 per page.",
            "license": {"name": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Tiles"}, {"name": "Edit"}, {"name": "Operations"}],
        "paths": paths,
        "components": {"schemas": {"Problem": problem_schema()}, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an API token made with `etown-atlas token create`"}}},
    })
}
