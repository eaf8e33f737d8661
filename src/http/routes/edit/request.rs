//! What every edit reads first: the preflight (405, query, 401/403 in that order), the media
//! type, `Content-Crs`, the precondition, the body (strict, bounded, in CRS84) and an
//! `Idempotency-Key`.

use crate::http::problem::Problem;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::http::auth;
use crate::http::body::strict_json;
use crate::http::error::ApiError;
use crate::http::extract::NoParams;
use crate::http::extract::RouteParams;
use crate::http::params::Params;
use crate::http::AppState;
use crate::ingest::edit_geometry_to_crs84;
use crate::model::Crs;
use crate::store::{Condition, EditError};

/// Media types a feature body may declare.
pub(super) const FEATURE_TYPES: &[&str] = &["application/geo+json", "application/json"];
/// And a merge patch.
pub(super) const PATCH_TYPES: &[&str] = &[
    "application/merge-patch+json",
    "application/json",
    "application/geo+json",
];

/// Edits take no query parameter.
pub(super) fn no_params(raw: Option<&str>) -> Result<(), ApiError> {
    NoParams::from_params(Params::parse(raw)?, None).map(|_| ())
}

/// What every edit checks first, in this order: the collection takes edits here (else 405:
/// a method the resource does not take comes before anything else is looked at), the URL has
/// no query, the caller may edit it (401/403). The caller, when all hold.
pub(super) async fn preflight(
    state: &AppState,
    collection: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<auth::Principal, Response> {
    editable(state, collection).map_err(IntoResponse::into_response)?;
    no_params(raw).map_err(IntoResponse::into_response)?;
    auth::editor_of(state, headers, collection).await
}

/// Whether `collection` of the current data can be edited here, and why not.
pub(crate) fn editable(state: &AppState, collection: &str) -> Result<(), ApiError> {
    let snapshot = state.snapshot();
    let layer = snapshot
        .layer(collection)
        .ok_or_else(|| ApiError::no_such_collection(collection))?;
    if state.store.editor().is_none() {
        return Err(not_allowed(
            "this server keeps no edits: start it with --state DIR",
        ));
    }
    if !layer.meta.editable {
        return Err(not_allowed(
            "this collection is read-only (its sidecar does not say \"editable\")",
        ));
    }
    Ok(())
}

/// What a client may do with a collection's items that cannot be edited here.
pub(super) const READ_METHODS: &str = "GET, HEAD, OPTIONS";

pub(super) fn not_allowed(detail: &str) -> ApiError {
    ApiError {
        allow: Some(READ_METHODS),
        ..ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Problem::MethodNotAllowed,
            detail.to_owned(),
        )
    }
}

/// The CRS of a body's geometry: `Content-Crs` (a URI in angle brackets, as Part 2 writes it),
/// CRS84 by default.
pub(super) fn content_crs(headers: &HeaderMap) -> Result<Crs, ApiError> {
    let Some(v) = headers.get("content-crs") else {
        return Ok(Crs::Crs84);
    };
    let text = v.to_str().unwrap_or_default().trim();
    let uri = text.trim_start_matches('<').trim_end_matches('>');
    Crs::parse(uri).map_err(|e| {
        let mut err = ApiError::new(
            StatusCode::BAD_REQUEST,
            Problem::InvalidParameter,
            format!("Content-Crs: {e}"),
        );
        err.parameter = Some("Content-Crs".into());
        err
    })
}

/// The precondition of an edit of an existing feature.
pub(super) fn condition(headers: &HeaderMap) -> Result<Condition, ApiError> {
    if let Some(v) = headers.get(header::IF_MATCH) {
        let tags: Vec<String> = v
            .to_str()
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.iter().any(|t| t.starts_with("W/")) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Problem::InvalidParameter,
                "If-Match needs strong ETags (edits compare versions exactly)".to_owned(),
            ));
        }
        return Ok(Condition::IfMatch(tags));
    }
    if let Some(v) = headers.get(header::IF_UNMODIFIED_SINCE) {
        let text = v.to_str().unwrap_or_default();
        let t = chrono::DateTime::parse_from_rfc2822(text).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Problem::InvalidParameter,
                format!(
                    "If-Unmodified-Since {:?} is not an HTTP date",
                    crate::http::params::shorten(text)
                ),
            )
        })?;
        return Ok(Condition::IfUnmodifiedSince(t.timestamp()));
    }
    Ok(Condition::Missing)
}

/// A body that must be a JSON object.
pub(super) fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match strict_json(body)? {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::invalid_body(
            "the body must be a JSON object (a GeoJSON Feature)",
        )),
    }
}

/// The body's geometry moved into CRS84, refused when too large or out of the CRS's range.
pub(super) fn in_crs84(
    mut feature: serde_json::Map<String, Value>,
    crs: Crs,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    if let Some(g) = feature.get_mut("geometry") {
        *g = edit_geometry_to_crs84(g, crs).map_err(|e| ApiError::from(EditError::Body(e)))?;
    }
    Ok(feature)
}

/// The body of an edit whose caller is already authorised: read while the bytes of all edit
/// bodies in flight stay under their cap, then parsed (strict JSON, an object, its geometry
/// in CRS84) on the blocking pool, so a large body never stalls the async workers.
pub(super) async fn feature_body(
    state: &AppState,
    req: axum::extract::Request,
    crs: Crs,
) -> Result<(serde_json::Map<String, Value>, String), Response> {
    use axum::extract::FromRequest;
    let limit = state.config.max_body_bytes;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(limit)
        .min(limit);
    let cap = crate::http::state::EDIT_BYTES_IN_FLIGHT / 1024;
    let kib = u32::try_from((announced / 1024 + 1).min(cap)).unwrap_or(u32::MAX);
    let _permit = std::sync::Arc::clone(&state.edit_bodies)
        .acquire_many_owned(kib)
        .await
        .map_err(|_| ApiError::from_status(StatusCode::SERVICE_UNAVAILABLE).into_response())?;
    let body = Bytes::from_request(req, &())
        .await
        .map_err(IntoResponse::into_response)?;
    tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        let hash = hex(&sha2::Sha256::digest(&body));
        Ok::<_, ApiError>((in_crs84(object(&body)?, crs)?, hash))
    })
    .await
    .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?
    .map_err(IntoResponse::into_response)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest `Idempotency-Key` taken (a UUID is 36 characters).
pub(super) const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A create's `Idempotency-Key`, if it sent one, for `principal` in `collection`: the key is
/// stored hashed with both, so one client's key never replays another's request.
pub(super) fn idempotency_key(
    headers: &HeaderMap,
    principal: &str,
    collection: &str,
) -> Result<Option<String>, ApiError> {
    use sha2::Digest;
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(|k| k.trim().trim_matches('"'))
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY
                && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            let mut err = ApiError::new(
                StatusCode::BAD_REQUEST,
                Problem::InvalidParameter,
                format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (a UUID, say)"),
            );
            err.parameter = Some("Idempotency-Key".into());
            err
        })?;
    let mut h = sha2::Sha256::new();
    for part in [principal, collection, key] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    Ok(Some(hex(&h.finalize())))
}

/// The ticket the timeout layer gave this request (see `middleware::timeout`).
pub(super) fn ticket(req: &axum::extract::Request) -> Option<std::sync::Arc<crate::store::Ticket>> {
    req.extensions()
        .get::<std::sync::Arc<crate::store::Ticket>>()
        .cloned()
}
