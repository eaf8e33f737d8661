//! Choosing a representation: `f=` wins, then the `Accept` header.

use axum::http::{header, HeaderMap, HeaderValue};

use super::error::ApiError;
use super::extract::RouteParams;
use super::params::{always, ParamSpec, Params};
use crate::store::CollectionInfo;

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
            format!(
                "f must be json or html, got {:?}",
                super::params::shorten(other)
            ),
        )),
        None => Ok(if prefers_html(headers) {
            Format::Html
        } else {
            Format::Json
        }),
    }
}

/// `f=json`, the one parameter of JSON-only resources.
pub static F_JSON: ParamSpec = ParamSpec {
    name: "f",
    description: "the representation (JSON only)",
    required: false,
    schema: |_| serde_json::json!({"type": "string", "enum": ["json"]}),
    documented_for: always,
};

/// The parameters of a JSON-only resource: `f=json` or nothing.
pub struct JsonOnly;

impl RouteParams for JsonOnly {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_JSON]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        json_only(params.take("f").as_deref(), &["json"])?;
        Ok(JsonOnly)
    }
}

static F_LANDING: ParamSpec = ParamSpec {
    name: "f",
    description: "json (the landing document) or html (the web map); default by the Accept header",
    required: false,
    schema: |_| serde_json::json!({"type": "string", "enum": ["json", "html"]}),
    documented_for: always,
};

/// The parameters of a resource offered as JSON and as HTML (the landing page).
pub struct JsonOrHtml(pub Option<String>);

impl RouteParams for JsonOrHtml {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_LANDING]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        Ok(JsonOrHtml(params.take("f")))
    }
}

/// For JSON-only resources: `f` may be absent or name the one format offered.
pub fn json_only(f: Option<&str>, accepted: &[&str]) -> Result<(), ApiError> {
    match f {
        None => Ok(()),
        Some(v) if accepted.contains(&v) => Ok(()),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!(
                "f must be one of {}, got {:?}",
                accepted.join(", "),
                super::params::shorten(other)
            ),
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

/// Browsers put `text/html` before any JSON type in `Accept`; a client that refuses HTML
/// (`text/html;q=0`) never gets it.
fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = AcceptList::of(headers);
    let html = accept.quality("text/html");
    let json = ["application/json", "application/geo+json"]
        .iter()
        .map(|t| accept.quality(t))
        .fold(0.0, f32::max);
    match (accept.position("text/html"), accept.position_json()) {
        (Some(h), Some(j)) => html > 0.0 && (html > json || (html == json && h < j)),
        (Some(_), None) => html > 0.0,
        _ => false,
    }
}

/// The media ranges of an `Accept` header with their qualities (RFC 9110, 12.5.1).
#[derive(Debug, Default)]
pub struct AcceptList {
    ranges: Vec<(String, f32)>,
}

impl AcceptList {
    pub fn of(headers: &HeaderMap) -> Self {
        let raw = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Self::parse(raw)
    }

    pub fn parse(raw: &str) -> Self {
        let ranges = raw
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let range = pieces.next()?.trim().to_ascii_lowercase();
                if range.is_empty() {
                    return None;
                }
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .filter_map(|v| v.trim().parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                Some((range, q))
            })
            .collect();
        AcceptList { ranges }
    }

    /// The quality the client gives `media_type`: its most specific matching range's.
    pub fn quality(&self, media_type: &str) -> f32 {
        let essence = media_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let (kind, _) = essence.split_once('/').unwrap_or((&essence, ""));
        let mut best: Option<(u8, f32)> = None;
        for (range, q) in &self.ranges {
            let specificity = if *range == essence {
                3
            } else if range.strip_suffix("/*") == Some(kind) {
                2
            } else if range == "*/*" {
                1
            } else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, *q));
            }
        }
        best.map_or(if self.ranges.is_empty() { 1.0 } else { 0.0 }, |(_, q)| q)
    }

    fn position(&self, essence: &str) -> Option<usize> {
        self.ranges.iter().position(|(r, _)| r == essence)
    }

    fn position_json(&self) -> Option<usize> {
        self.ranges.iter().position(|(r, _)| r.contains("json"))
    }

    /// The offered type the client ranks highest (ties: the one its header names first, then
    /// offer order), among those it does not refuse; `None` if it names none of them.
    pub fn best<'a>(&self, offered: impl Iterator<Item = &'a str>) -> Option<usize> {
        offered
            .enumerate()
            .filter_map(|(i, t)| {
                let essence = t
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let at = self.position(&essence)?;
                let q = self.ranges[at].1;
                (q > 0.0).then_some((i, q, at))
            })
            .min_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)))
            .map(|(i, _, _)| i)
    }

    /// Whether a type the client does not name is acceptable: no header, or `*/*` not refused.
    pub fn allows_anything(&self) -> bool {
        self.ranges.is_empty() || self.quality("x-unnamed/x-unnamed") > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_zero_refuses_and_specific_ranges_win() {
        let a = AcceptList::parse("application/geo+json;q=0, */*");
        assert_eq!(a.quality("application/geo+json"), 0.0);
        assert_eq!(a.quality("text/csv"), 1.0);
        assert_eq!(
            a.best(["application/geo+json", "text/csv"].into_iter()),
            None
        );
        assert!(a.allows_anything());
        let b = AcceptList::parse("text/csv;q=0.5, application/geopackage+sqlite3");
        assert_eq!(
            b.best(["text/csv", "application/geopackage+sqlite3"].into_iter()),
            Some(1)
        );
        assert!(!b.allows_anything());
        assert!(AcceptList::parse("").allows_anything());
        assert!(!AcceptList::parse("*/*;q=0").allows_anything());
    }
}
