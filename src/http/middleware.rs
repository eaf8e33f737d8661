//! Cross-cutting behaviour applied to every response.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::error::{ApiError, PROBLEM_JSON};

/// Responses larger than this are not buffered to compute an ETag (they stream as they are).
const MAX_ETAG_BODY: u64 = 16 * 1024 * 1024;

/// A span per request with the fields a log search needs.
pub fn request_span(req: &Request<Body>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), uri = %req.uri())
}

/// Gives any error response that a lower layer produced as a bare status (405, 413, a path that
/// does not decode) the same problem+json body as the API's own errors.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let lang = super::language(req.headers());
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let mut replaced = ApiError::from_status(status).into_response();
        if lang == "zh" {
            replaced = super::problem_language::in_chinese(replaced).await;
        }
        if let Some(allow) = res.headers().get(header::ALLOW) {
            replaced.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return replaced;
    }
    res
}

/// Refuses URLs longer than the configured limit with 414, before any work is done.
pub async fn uri_limit(max: usize, req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > max {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URL is {len} bytes; the limit is {max}. Send large filters and geometries by POST (/collections/{{id}}/search)"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Answers 503 problem+json when a request runs past the configured time.
pub async fn timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s and was stopped",
                    limit.as_secs()
                ),
            )
            .into_response()
        }
    }
}

/// Headers every response carries: the Content-Security-Policy, no MIME sniffing, no referrer
/// leak.
pub async fn security_headers(csp: HeaderValue, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("content-security-policy", csp);
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}

/// A content ETag on successful GET API responses, and 304 when the client already has it.
///
/// The data never changes while the process runs, so a hash of the body is a correct validator;
/// `no-cache` makes clients revalidate, which is one cheap round trip when nothing changed.
/// A response that already carries an ETag keeps it: static assets tag their build, items pages
/// their content without `timeStamp` (see `geojson::PageBody`); `If-None-Match` is still answered.
pub async fn etag(req: Request, next: Next) -> Response {
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.run(req).await;
    if !is_get || res.status() != StatusCode::OK {
        return res;
    }
    if let Some(tag) = res.headers().get(header::ETAG) {
        let matched = tag
            .to_str()
            .is_ok_and(|tag| super::negotiate::if_none_match(if_none_match.as_ref(), tag));
        let res = revalidate_by_default(res);
        return if matched { not_modified(res) } else { res };
    }
    let small = http_body::Body::size_hint(res.body())
        .exact()
        .is_some_and(|n| n <= MAX_ETAG_BODY);
    if !small {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
    };
    let tag = super::negotiate::content_etag(&bytes);
    let matched = super::negotiate::if_none_match(if_none_match.as_ref(), &tag);
    if let Ok(v) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, v);
    }
    let res = revalidate_by_default(Response::from_parts(parts, Body::from(bytes)));
    if matched {
        return not_modified(res);
    }
    res
}

/// `no-cache` unless the handler chose a policy: clients keep the answer but ask again, which is
/// one cheap round trip (a 304) when nothing changed.
fn revalidate_by_default(mut res: Response) -> Response {
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    res
}

/// `res` as a 304: its headers (ETag, cache policy) without its body.
fn not_modified(res: Response) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

/// The header that says which recorded change an answer reflects (see [`data_version`]).
pub const DATA_VERSION: &str = "atlas-data-version";

/// Says on every answer which data version it reflects at least: the last recorded change
/// (`Snapshot::change`) of the data as it was when the request arrived. An edit's own answer
/// sets it to the change it made. Servers of one PostgreSQL store share these numbers, so a
/// client that wrote through one can tell when another has caught up.
pub async fn data_version(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let version = state.snapshot().change();
    let mut res = next.run(req).await;
    if !res.headers().contains_key(DATA_VERSION) {
        res.headers_mut()
            .insert(DATA_VERSION, HeaderValue::from(version));
    }
    res
}
