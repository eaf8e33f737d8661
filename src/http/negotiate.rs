//! Choosing a representation: `f=` wins, then the `Accept` header.

use axum::http::{header, HeaderMap, HeaderValue};

use super::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

/// For resources offered as JSON and HTML (the landing page). Browsers, which put `text/html`
/// first in `Accept`, get the web app; everyone else gets JSON.
pub fn json_or_html(f: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    match f {
        Some("json") => Ok(Format::Json),
        Some("html") => Ok(Format::Html),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!("f must be json or html, got {other:?}"),
        )),
        None => Ok(if prefers_html(headers) {
            Format::Html
        } else {
            Format::Json
        }),
    }
}

/// For JSON-only resources that take no parameter but `f=json`: anything else is a 400.
pub fn json_resource(raw_query: Option<&str>) -> Result<(), ApiError> {
    let mut params = super::params::Params::parse(raw_query)?;
    json_only(params.take("f").as_deref(), &["json"])?;
    params.finish(&["f"])
}

/// For JSON-only resources: `f` may be absent or name the one format offered.
pub fn json_only(f: Option<&str>, accepted: &[&str]) -> Result<(), ApiError> {
    match f {
        None => Ok(()),
        Some(v) if accepted.contains(&v) => Ok(()),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!("f must be one of {}, got {other:?}", accepted.join(", ")),
        )),
    }
}

/// A strong ETag for `bytes`: a 64-bit hash is plenty to tell two versions of one resource apart.
pub fn content_etag(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    bytes.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

/// Whether a request's `If-None-Match` value names `etag` (weak or strong), so a 304 will do.
pub fn if_none_match(value: Option<&HeaderValue>, etag: &str) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    })
}

fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let pos = |needle: &str| accept.find(needle);
    match (pos("text/html"), pos("json")) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}
