//! Whole responses kept in memory, keyed by the request, for the requests many visitors repeat:
//! the map's first view, a shared link, the same page of the same filter. The layers never
//! change while the server runs, so a stored answer stays right; the only thing that ages is
//! an items page's `timeStamp`, which then says when the answer was computed, as it should (the
//! page's ETag leaves it out, so a cached and a recomputed page validate alike).
//!
//! Only successful GETs with a body of known length are kept (a streamed download never is),
//! and never `/health`, whose answer changes. The key holds everything that shapes the answer:
//! the path and query, `Host` (links are absolute), `Accept`, `Accept-Language` and
//! `Accept-Encoding`.
//!
//! The cache sits outside compression and keeps what compression produced, one entry per
//! `Accept-Encoding` a client sends. Compression is most of a hit's cost otherwise: brotli at
//! level 4 over a 51 KB page takes ten times as long as everything else a hit does, and every
//! browser asks for it. Because a compressed body's length is not known in advance, a marker
//! layer inside compression ([`mark_known_length`]) says which answers had a known, plain
//! length; only those are collected and kept. An `X-Cache: hit` or `miss` header says which it
//! was.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use quick_cache::sync::Cache;

use super::error::ApiError;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The plain length of an answer that may be cached, set inside compression: streamed answers
/// (downloads) have none and pass the cache by.
#[derive(Clone, Copy)]
struct KnownLength(u64);

/// Marks successful answers of known length for [`response_cache`], which runs outside
/// compression and so no longer sees the plain body's length.
pub async fn mark_known_length(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.status() == StatusCode::OK {
        if let Some(n) = http_body::Body::size_hint(res.body()).exact() {
            res.extensions_mut().insert(KnownLength(n));
        }
    }
    res
}

/// Set by a handler whose answers are kept elsewhere (tiles, in the tile cache).
#[derive(Clone, Copy)]
pub struct NotKept;

#[derive(Clone)]
struct Stored {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone)]
struct ByteWeight;

/// What an entry holds, counted as the allocator sees it: the key's and body's bytes, each
/// header's name, value and slot, the header map itself, and the cache's bookkeeping. (Counting
/// only the bytes let 50,000 small answers grow the process 92-146 MiB past a 64 MiB budget.)
impl quick_cache::Weighter<String, Stored> for ByteWeight {
    fn weight(&self, key: &String, v: &Stored) -> u64 {
        const ENTRY: usize = 192;
        const HEADER: usize = 96;
        let headers: usize = v
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + HEADER)
            .sum::<usize>()
            + std::mem::size_of::<HeaderMap>()
            + 256;
        (key.capacity() + headers + v.body.len() + ENTRY) as u64
    }
}

/// The store of whole responses; `bytes` of zero turns it off.
pub struct ResponseCache {
    cache: Option<Cache<String, Stored, ByteWeight>>,
    /// The largest single answer kept: an eighth of the budget, so one huge page cannot push out
    /// everything else.
    max_entry: u64,
}

impl ResponseCache {
    /// Lookups that found an entry, and lookups that did not, since start (for `/metrics`).
    pub fn hits_misses(&self) -> (u64, u64) {
        self.cache
            .as_ref()
            .map_or((0, 0), |c| (c.hits(), c.misses()))
    }

    pub fn new(bytes: u64) -> Self {
        ResponseCache {
            cache: (bytes > 0).then(|| Cache::with_weighter(4096, bytes, ByteWeight)),
            max_entry: bytes / 8,
        }
    }
}

/// Longest `Host` or `Accept` a cached request may carry: real ones are far shorter, and a
/// client inventing long ones only to fill the cache gets its answers computed instead.
const MAX_KEY_HEADER: usize = 256;

/// The request's identity for the cache, or `None` if it must not be cached. Headers enter in
/// the form the answer depends on: the language as the answer uses it (`zh` or `en`), the
/// encodings as the set of those the server can send, so that a client cannot multiply one
/// answer into thousands of entries by varying what does not change it.
fn key(req: &Request, version: u64) -> Option<String> {
    // Answers for a principal (history, the change feed) are never shared.
    if req.method() != Method::GET
        || req.uri().path() == "/health"
        || req.uri().path() == "/metrics"
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return None;
    }
    let h = req.headers();
    let get = |name: header::HeaderName| h.get(name).map(HeaderValue::as_bytes).unwrap_or(b"");
    let host = get(header::HOST);
    let accept = get(header::ACCEPT);
    if host.len() > MAX_KEY_HEADER || accept.len() > MAX_KEY_HEADER {
        return None;
    }
    let mut key = String::with_capacity(128);
    // The data version: no answer outlives an edit.
    key.push_str(&version.to_string());
    key.push('|');
    key.push_str(&req.uri().to_string());
    key.push('\n');
    key.push_str(&String::from_utf8_lossy(host));
    key.push('\n');
    key.push_str(&String::from_utf8_lossy(accept));
    key.push('\n');
    key.push_str(super::language(h));
    key.push('\n');
    key.push_str(&encodings(h));
    key.shrink_to_fit();
    Some(key)
}

/// The codings of `Accept-Encoding` the server can answer with and the client does not
/// refuse, in a fixed order: what decides the encoding of the answer.
fn encodings(h: &HeaderMap) -> String {
    let raw = h
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut codings: Vec<(&str, String)> = Vec::new();
    for part in raw.split(',') {
        let mut pieces = part.split(';');
        let name = pieces.next().unwrap_or_default().trim();
        // Quantised as the compression layer reads it (thousandths), so `q=0.5000001` is
        // the same key as `q=0.5`.
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0))
            .next()
            .unwrap_or(1.0);
        let q = format!("{q:.3}");
        for known in ["zstd", "br", "gzip", "deflate", "*"] {
            if name == known && !codings.iter().any(|(n, _)| *n == known) {
                codings.push((known, q.clone()));
            }
        }
    }
    codings.sort();
    codings
        .iter()
        .map(|(n, q)| format!("{n};{q}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `If-None-Match` names the stored answer's ETag.
fn not_modified(req_headers: &HeaderMap, stored: &HeaderMap) -> bool {
    stored
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tag| {
            super::negotiate::if_none_match(req_headers.get(header::IF_NONE_MATCH), tag)
        })
}

pub async fn response_cache(
    cache: Arc<ResponseCache>,
    version: u64,
    req: Request,
    next: Next,
) -> Response {
    let (Some(store), Some(key)) = (cache.cache.as_ref(), key(&req, version)) else {
        return next.run(req).await;
    };
    if let Some(hit) = store.get(&key) {
        let mut res = if not_modified(req.headers(), &hit.headers) {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            *res.headers_mut() = hit.headers;
            res.headers_mut().remove(header::CONTENT_LENGTH);
            res
        } else {
            let mut res = Response::new(Body::from(hit.body));
            *res.headers_mut() = hit.headers;
            res
        };
        res.headers_mut()
            .insert(X_CACHE, HeaderValue::from_static("hit"));
        return res;
    }
    let res = next.run(req).await;
    // The plain length bounds the compressed one (give or take a few framing bytes), so the
    // per-entry cap holds for what is kept.
    let plain = res.extensions().get::<KnownLength>().map(|k| k.0);
    let elsewhere = res.extensions().get::<NotKept>().is_some()
        || res
            .headers()
            .get(header::CACHE_CONTROL)
            .is_some_and(|v| v.as_bytes().windows(8).any(|w| w == b"no-store"));
    if res.status() != StatusCode::OK || elsewhere || plain.is_none_or(|n| n > cache.max_entry) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
    };
    store.insert(
        key,
        Stored {
            headers: parts.headers.clone(),
            body: body.clone(),
        },
    );
    parts
        .headers
        .insert(X_CACHE, HeaderValue::from_static("miss"));
    Response::from_parts(parts, Body::from(body))
}
