//! Cross-cutting behaviour applied to every response.

use crate::http::problem::Problem;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::error::{ApiError, PROBLEM_JSON};
use crate::store::Ticket;

/// Responses larger than this are not buffered to compute an ETag (they stream as they are).
const MAX_ETAG_BODY: u64 = 16 * 1024 * 1024;

/// A span per request with the fields a log search needs. The URL is logged without the
/// values of query parameters that carry credentials (a client may send its token as
/// `?access_token=`; logs are read by more people than tokens should be).
pub fn request_span(req: &Request<Body>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), uri = %redacted(req.uri()))
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &["access_token", "token", "api_key", "apikey", "key"];

/// `uri` with the values of [`SECRET_PARAMS`] replaced by `REDACTED`.
pub fn redacted(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            if SECRET_PARAMS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                format!("{name}=REDACTED")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
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
            Problem::UriTooLong,
            format!("the URL is {len} bytes; the limit is {max}. Send large filters and geometries by POST (/collections/{{id}}/search)"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Answers 503 problem+json when a request runs past the configured time.
///
/// An edit is the exception that keeps the rule honest: the request carries a [`Ticket`], and
/// past the deadline the 503 is answered only if the ticket can still be abandoned (the writer
/// has not started the edit, and now never will). Once the writer has taken it, the edit's own
/// outcome is awaited and answered, so a 503 always means "nothing changed".
pub async fn timeout(limit: Duration, mut req: Request, next: Next) -> Response {
    let ticket = std::sync::Arc::new(Ticket::default());
    req.extensions_mut().insert(std::sync::Arc::clone(&ticket));
    let run = next.run(req);
    tokio::pin!(run);
    match tokio::time::timeout(limit, &mut run).await {
        Ok(res) => res,
        Err(_) if !ticket.abandon() => run.await,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::Timeout,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_query_are_not_logged() {
        let uri: axum::http::Uri = "/collections?f=json&access_token=s3cret&TOKEN=abc&limit=5"
            .parse()
            .expect("uri");
        let logged = redacted(&uri);
        assert!(
            !logged.contains("s3cret") && !logged.contains("abc"),
            "{logged}"
        );
        assert_eq!(
            logged,
            "/collections?f=json&access_token=REDACTED&TOKEN=REDACTED&limit=5"
        );
    }
}
