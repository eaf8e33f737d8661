//! The web app (`web/`), embedded in the binary and served with validators for caching.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "web/"]
#[exclude = "node_modules/*"]
#[exclude = "tests/*"]
#[exclude = "package*.json"]
struct WebAssets;

/// The app's page, served at `/` to browsers.
pub fn index_html() -> Response {
    asset("index.html", &HeaderMap::new())
        .unwrap_or_else(|| ApiError::not_found("the web app is not built in").into_response())
}

/// Serves an embedded file by URL path; only names compiled in can be reached, so no path can
/// escape the folder.
/// The fallback of every path no route claims. Files are read-only: GET and HEAD get them, any
/// other method a 405 naming those two (an unknown path is a 404 whatever the method).
pub async fn static_asset(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(found) = asset(path, &headers) else {
        let shown = crate::http::params::shorten(path);
        return ApiError::not_found(format!("no resource at /{shown}")).into_response();
    };
    if method == Method::GET || method == Method::HEAD {
        return found;
    }
    let mut res = ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED).into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    res
}

fn asset(path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = WebAssets::get(path)?;
    let etag = format!(
        "\"{}\"",
        file.metadata.sha256_hash()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // Vendored libraries change only with their version; the app's own files revalidate.
    let cache = if path.starts_with("vendor/") {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let not_modified =
        crate::http::negotiate::if_none_match(headers.get(header::IF_NONE_MATCH), &etag);
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Body::from(file.data).into_response()
    };
    let h = res.headers_mut();
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res.extensions_mut()
        .insert(crate::http::compression::CompressWell);
    Some(res)
}
