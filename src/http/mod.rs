//! The HTTP face of the server: routing, content negotiation, errors and cross-cutting layers.
//! Only this module knows axum and tower.

mod as_of;
mod auth;
mod body;
mod compression;
mod download;
pub mod error;
pub mod extract;
mod links;
mod metrics;
mod middleware;
mod negotiate;
pub mod params;
pub mod problem;
mod problem_language;
mod query_params;
mod response_cache;
pub mod routes;
mod schema;
pub mod server;
mod state;
mod tile_cache;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use query_params::feature_query_from_url;
pub use state::{AppState, WorkHook};

/// The whole application as one `Router`, so tests can drive it in-process with `oneshot` and
/// `main` can serve it on a socket.
///
/// The layers, outermost first (a request passes them in this order, its answer in reverse):
///
/// 1. tracing;
/// 2. the security headers, on every answer whatever made it;
/// 3. problem+json for any bare error status a lower layer produced (413, 414, 405, timeouts);
/// 4. CORS;
/// 5. the response cache, which keeps compressed answers;
/// 6. compression;
/// 7. problem bodies in the reader's language (`problem_language`);
/// 8. the URL and body size limits, and 9. the request timeout, whose answers layer 3 dresses;
/// 10. ETags; then the routes.
pub fn app(state: AppState) -> Router {
    let timeout: Duration = state.config.request_timeout;
    let body_limit = state.config.max_body_bytes;
    let max_uri = state.config.max_uri_bytes;
    let csp = HeaderValue::from_str(&state.config.content_security_policy())
        .unwrap_or(HeaderValue::from_static("default-src 'self'"));
    let cors = cors_layer(&state.config.cors_origins);
    let responses = Arc::clone(&state.responses);
    let versions = state.clone();
    let data_versions = state.clone();
    let inner = Router::new()
        .merge(routes::router())
        .fallback(routes::web::static_asset)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::reads_need_a_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(middleware::etag))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::timeout(timeout, req, next)
        }))
        // The body limit is this layer's alone: axum's own default (2 MiB) would answer first.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::uri_limit(max_uri, req, next)
        }))
        .layer(axum::middleware::from_fn(
            problem_language::localize_problems,
        ))
        .layer(axum::middleware::from_fn(response_cache::mark_known_length))
        .layer(compression::well())
        .layer(compression::fast())
        .layer(axum::middleware::from_fn(move |req, next| {
            response_cache::response_cache(
                Arc::clone(&responses),
                versions.snapshot().version(),
                req,
                next,
            )
        }))
        .layer(axum::middleware::from_fn_with_state(
            data_versions,
            middleware::data_version,
        ));
    // CORS (when configured) answers preflights, but a plain OPTIONS (QGIS asking which methods
    // a resource allows) must reach the routes: tower-http's layer takes every OPTIONS.
    let inner = match cors {
        None => inner,
        Some(cors) => {
            let with_cors = inner.clone().layer(cors);
            Router::new().fallback(move |req: axum::extract::Request| {
                use tower::ServiceExt;
                let plain_options = req.method() == Method::OPTIONS
                    && !req
                        .headers()
                        .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
                let target = if plain_options {
                    inner.clone()
                } else {
                    with_cors.clone()
                };
                async move {
                    match target.oneshot(req).await {
                        Ok(res) => res,
                        Err(never) => match never {},
                    }
                }
            })
        }
    };
    inner
        .layer(axum::middleware::from_fn(
            middleware::problem_for_bare_errors,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::security_headers(csp.clone(), req, next)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::request_span))
}

/// CORS: off unless origins are configured; then only those, for reading (GET, POST queries).
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::HEAD])
            .allow_headers([
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::ACCEPT_LANGUAGE,
            ])
            .expose_headers([
                header::CONTENT_DISPOSITION,
                HeaderName::from_static("content-crs"),
            ]),
    )
}

/// The language the client prefers for titles: `zh` if `Accept-Language` starts with Chinese.
pub fn language(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.trim_start().to_ascii_lowercase().starts_with("zh") {
        "zh"
    } else {
        "en"
    }
}
