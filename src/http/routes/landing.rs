use super::openapi::*;
use super::Contract;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::web::index_html;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::links::{link, BaseUrl, JSON, OPENAPI_JSON};
use crate::http::negotiate::{json_or_html, Format, JsonOrHtml};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(landing))
}

/// The landing page: the web app for browsers, the OGC API landing document for everyone else.
async fn landing(
    State(_state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Query(JsonOrHtml(f)): Query<JsonOrHtml>,
) -> Result<Response, ApiError> {
    let format = json_or_html(f.as_deref(), &headers)?;
    if format == Format::Html {
        return Ok(index_html());
    }
    Ok(Json(json!({
        "title": "etown-atlas: Beijing E-Town industrial space",
        "description": "OGC API - Features for the Beijing E-Town free-trade-zone cluster, the data pilot zone, the bonded zone, the characteristic parks and the 58 spatial carriers (schematic data).",
        "links": [
            link(base.at("/?f=json"), "self", JSON, "this document"),
            link(base.at("/?f=html"), "alternate", "text/html", "the web map"),
            link(base.at("/api"), "service-desc", OPENAPI_JSON, "the API definition"),
            link(base.at("/conformance"), "conformance", JSON, "conformance classes implemented"),
            link(base.at("/collections"), "data", JSON, "the collections"),
            link(base.at("/vocabularies"), "http://www.opengis.net/def/rel/ogc/1.0/data-meta", JSON, "controlled vocabularies (industries)"),
            link(base.at("/health"), "status", JSON, "liveness and counts"),
            link(
                base.at("/metrics"),
                "monitor",
                "application/openmetrics-text",
                "metrics for Prometheus",
            ),
            link(base.at("/tiles"), super::tiles::REL_TILESETS_VECTOR, JSON, "vector tiles of every collection"),
            link(base.at("/tileMatrixSets"), super::tiles::REL_TILING_SCHEMES, JSON, "the tiling schemes"),
        ],
    }))
    .into_response())
}

/// `/`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    paths.insert("/".into(), serde_json::json!({"get": {"summary": "landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
        "parameters": parameters::<crate::http::negotiate::JsonOrHtml>(None),
        "responses": {
            "200": {"description": "the landing page", "content": {
                "application/json": {"schema": {"type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": link_schema()}}}},
                "text/html": {"schema": {"type": "string"}}}},
            "400": problem("a malformed or unknown parameter")}}}));
}
