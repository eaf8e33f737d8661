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
use crate::http::extract::RouteParams;
use crate::http::links::{link, BaseUrl, JSON, OPENAPI_JSON};
use crate::http::negotiate::{json_or_html, Format, JsonOrHtml};
use crate::http::params::{ParamSpec, Params};
use crate::http::AppState;
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(landing))
}

/// The landing page: the web app for browsers, the OGC API landing document for everyone else.
async fn landing(
    State(_state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Query(p): Query<LandingParams>,
) -> Result<Response, ApiError> {
    let format = json_or_html(p.f.as_deref(), &headers)?;
    if format == Format::Html {
        return Ok(index_html());
    }
    if let Some(name) = p.sign_in_return {
        return Err(ApiError::parameter(
            name,
            format!("{name} is what an identity server sends the web map back with; it means nothing to the landing document"),
        ));
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

/// What an identity server sends the browser back to the web map with (RFC 6749 § 4.1.2, and
/// OpenID Connect's `session_state` and RFC 9207's `iss`): the page reads them.
static SIGN_IN_RETURN: [ParamSpec; 6] = {
    const fn spec(name: &'static str, description: &'static str) -> ParamSpec {
        ParamSpec {
            name,
            description,
            required: false,
            schema: |_| serde_json::json!({"type": "string"}),
            documented_for: crate::http::params::always,
        }
    }
    [
        spec(
            "code",
            "the web map's single sign-on: the authorization code (HTML only)",
        ),
        spec(
            "state",
            "the web map's single sign-on: the state it sent (HTML only)",
        ),
        spec(
            "error",
            "the web map's single sign-on: why the identity server refused (HTML only)",
        ),
        spec(
            "error_description",
            "the web map's single sign-on: the refusal in words (HTML only)",
        ),
        spec(
            "session_state",
            "the web map's single sign-on: the identity server's session (HTML only)",
        ),
        spec(
            "iss",
            "the web map's single sign-on: the identity server (HTML only)",
        ),
    ]
};

/// The landing page's parameters: `f`, and an identity server's answer for the web map.
pub struct LandingParams {
    f: Option<String>,
    /// The first sign-in parameter present, if any.
    sign_in_return: Option<&'static str>,
}

impl RouteParams for LandingParams {
    fn specs() -> Vec<&'static ParamSpec> {
        JsonOrHtml::specs()
            .into_iter()
            .chain(SIGN_IN_RETURN.iter())
            .collect()
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let JsonOrHtml(f) = JsonOrHtml::parse(params, c)?;
        let mut sign_in_return = None;
        for s in &SIGN_IN_RETURN {
            if params.take(s.name).is_some() && sign_in_return.is_none() {
                sign_in_return = Some(s.name);
            }
        }
        Ok(LandingParams { f, sign_in_return })
    }
}

/// `/`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    paths.insert("/".into(), serde_json::json!({"get": {"summary": "landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
        "parameters": parameters::<LandingParams>(None),
        "responses": {
            "200": {"description": "the landing page", "content": {
                "application/json": {"schema": {"type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": link_schema()}}}},
                "text/html": {"schema": {"type": "string"}}}},
            "400": problem("a malformed or unknown parameter")}}}));
}
