//! Absolute links (`self`, `next`, ...) as OGC API clients such as GDAL follow them.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde_json::{json, Value as Json};

use super::error::ApiError;
use super::AppState;

pub const GEOJSON: &str = "application/geo+json";
pub const JSON: &str = "application/json";
pub const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.0";
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The server's base URL for this request, without a trailing slash: the configured public URL,
/// or `http://` plus the request's `Host`.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(url) = &state.config.public_url {
            return Ok(BaseUrl(url.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
            })
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}

impl BaseUrl {
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

pub fn link(href: String, rel: &str, media_type: &str, title: &str) -> Json {
    json!({"href": href, "rel": rel, "type": media_type, "title": title})
}

/// Encodes a query string from pairs (form encoding, as the parser reads it).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Percent-encodes one path segment (a feature id can hold any character).
pub fn path_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
