//! OGC API - Features Part 4 (create, replace, update, delete, optimistic locking with ETags and
//! timestamps) on the collections whose sidecar says `editable`, when the server keeps a state
//! store; the history of a feature and the change feed.
//!
//! Bodies are read strictly (exact media types, no repeated members), geometries arrive in the
//! CRS `Content-Crs` names, and the store checks every edit as ingest checks a file (see
//! `ingest::check_feature`). A 2xx means the edit is on disk.

use super::openapi::*;
use super::Contract;
use crate::http::problem::Problem;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::auth;
use crate::http::body::{require_media_type, strict_json};
use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::extract::{NoParams, Query};
use crate::http::links::{path_segment, BaseUrl};
use crate::http::params::{ParamSpec, Params};
use crate::http::AppState;
use crate::ingest::edit_geometry_to_crs84;
use crate::model::Crs;
use crate::record::{Change, RequestKey};
use crate::store::{Condition, EditAction, EditError, EditRequest, Edited};

/// Media types a feature body may declare.
const FEATURE_TYPES: &[&str] = &["application/geo+json", "application/json"];
/// And a merge patch.
const PATCH_TYPES: &[&str] = &[
    "application/merge-patch+json",
    "application/json",
    "application/geo+json",
];

/// Edits take no query parameter.
fn no_params(raw: Option<&str>) -> Result<(), ApiError> {
    NoParams::from_params(Params::parse(raw)?, None).map(|_| ())
}

/// What every edit checks first, in this order: the collection takes edits here (else 405:
/// a method the resource does not take comes before anything else is looked at), the URL has
/// no query, the caller may edit it (401/403). The caller, when all hold.
async fn preflight(
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
fn editable(state: &AppState, collection: &str) -> Result<(), ApiError> {
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
const READ_METHODS: &str = "GET, HEAD, OPTIONS";

fn not_allowed(detail: &str) -> ApiError {
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
fn content_crs(headers: &HeaderMap) -> Result<Crs, ApiError> {
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
fn condition(headers: &HeaderMap) -> Result<Condition, ApiError> {
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
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match strict_json(body)? {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::invalid_body(
            "the body must be a JSON object (a GeoJSON Feature)",
        )),
    }
}

/// The body's geometry moved into CRS84, refused when too large or out of the CRS's range.
fn in_crs84(
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
async fn feature_body(
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest `Idempotency-Key` taken (a UUID is 36 characters).
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A create's `Idempotency-Key`, if it sent one, for `principal` in `collection`: the key is
/// stored hashed with both, so one client's key never replays another's request.
fn idempotency_key(
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
fn ticket(req: &axum::extract::Request) -> Option<std::sync::Arc<crate::store::Ticket>> {
    req.extensions()
        .get::<std::sync::Arc<crate::store::Ticket>>()
        .cloned()
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        let (status, code) = match &e {
            EditError::NoSuchCollection(_) => (StatusCode::NOT_FOUND, Problem::CollectionNotFound),
            EditError::NotEditable(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, Problem::MethodNotAllowed)
            }
            EditError::NotFound(_) => (StatusCode::NOT_FOUND, Problem::NotFound),
            EditError::Exists(_) => (StatusCode::CONFLICT, Problem::Conflict),
            EditError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                Problem::PreconditionRequired,
            ),
            EditError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, Problem::PreconditionFailed)
            }
            EditError::Body(_) => (StatusCode::BAD_REQUEST, Problem::InvalidFeature),
            EditError::IdChange(_) => (StatusCode::BAD_REQUEST, Problem::InvalidFeature),
            EditError::Storage(_) => (StatusCode::SERVICE_UNAVAILABLE, Problem::StorageFailed),
            EditError::Unavailable { retry_after } => {
                return ApiError::store_unavailable(u32::try_from(*retry_after).unwrap_or(60));
            }
            EditError::Abandoned => (StatusCode::SERVICE_UNAVAILABLE, Problem::Timeout),
            EditError::KeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem::IdempotencyKeyReused,
            ),
            EditError::RequestInProgress => (StatusCode::CONFLICT, Problem::RequestInProgress),
        };
        let mut err = ApiError::new(status, code, e.to_string());
        if let EditError::Body(b) = &e {
            err.parameter = b.property().map(str::to_owned);
        }
        err
    }
}

/// Runs an edit on the store's writer, off the async workers; the answer once it is on disk.
async fn submit(state: &AppState, request: EditRequest) -> Result<Edited, Response> {
    let store = std::sync::Arc::clone(&state.store);
    let outcome = tokio::task::spawn_blocking(move || match store.editor() {
        Some(e) => e.edit(request),
        None => Err(EditError::Storage("no state store".into())),
    })
    .await
    .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?;
    outcome.map_err(|e| {
        // A conflict gives the current ETag; the client fetches the feature (once) to show it.
        if let EditError::PreconditionFailed { etag } = &e {
            let mut res = ApiError::from(e.clone()).into_response();
            if let Ok(v) = HeaderValue::from_str(etag) {
                res.headers_mut().insert(header::ETAG, v);
            }
            return res;
        }
        ApiError::from(e).into_response()
    })
}

/// The answer to a stored edit: the feature (200, or 201 with Location), or 204 for a delete.
fn answer(edited: Edited, base: &BaseUrl, collection: &str) -> Response {
    let location = base.at(&format!(
        "/collections/{}/items/{}",
        path_segment(collection),
        path_segment(&edited.id)
    ));
    let mut res = match &edited.feature {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(f) => {
            let status = if edited.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, f.to_string()).into_response()
        }
    };
    let h = res.headers_mut();
    h.insert(
        crate::http::middleware::DATA_VERSION,
        HeaderValue::from(edited.change.seq),
    );
    if edited.feature.is_some() {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>", Crs::Crs84.uri())) {
            h.insert("content-crs", v);
        }
    }
    if edited.created {
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(header::LOCATION, v);
        }
    }
    if let Some(v) = edited
        .etag
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        h.insert(header::ETAG, v);
    }
    if let Some(t) = edited.last_modified.and_then(http_date) {
        if let Ok(v) = HeaderValue::from_str(&t) {
            h.insert(header::LAST_MODIFIED, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Seconds since the epoch as an HTTP date.
pub fn http_date(secs: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

pub async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    req: axum::extract::Request,
) -> Result<Response, Response> {
    let principal = preflight(&state, &collection, raw.as_deref(), &headers).await?;
    require_media_type(&headers, FEATURE_TYPES).map_err(IntoResponse::into_response)?;
    let crs = content_crs(&headers).map_err(IntoResponse::into_response)?;
    let key = idempotency_key(&headers, &principal.name, &collection)
        .map_err(IntoResponse::into_response)?;
    let ticket = ticket(&req);
    let (feature, body_hash) = feature_body(&state, req, crs).await?;
    let edited = submit(
        &state,
        EditRequest {
            collection: collection.clone(),
            action: EditAction::Create(feature),
            principal: principal.name,
            condition: Condition::NotApplicable,
            ticket,
            request: key.map(|key| RequestKey { key, body_hash }),
        },
    )
    .await?;
    Ok(answer(edited, &base, &collection))
}

pub async fn replace(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    req: axum::extract::Request,
) -> Result<Response, Response> {
    let principal = preflight(&state, &collection, raw.as_deref(), &headers).await?;
    require_media_type(&headers, FEATURE_TYPES).map_err(IntoResponse::into_response)?;
    let crs = content_crs(&headers).map_err(IntoResponse::into_response)?;
    let cond = condition(&headers).map_err(IntoResponse::into_response)?;
    let ticket = ticket(&req);
    let (mut feature, _) = feature_body(&state, req, crs).await?;
    // The URL names the feature; an id in the body is ignored (Part 4).
    feature.remove("id");
    let edited = submit(
        &state,
        EditRequest {
            collection: collection.clone(),
            action: EditAction::Replace(id, feature),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
        },
    )
    .await?;
    Ok(answer(edited, &base, &collection))
}

pub async fn update(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    req: axum::extract::Request,
) -> Result<Response, Response> {
    let principal = preflight(&state, &collection, raw.as_deref(), &headers).await?;
    require_media_type(&headers, PATCH_TYPES).map_err(IntoResponse::into_response)?;
    let crs = content_crs(&headers).map_err(IntoResponse::into_response)?;
    let cond = condition(&headers).map_err(IntoResponse::into_response)?;
    let ticket = ticket(&req);
    let (patch, _) = feature_body(&state, req, crs).await?;
    let edited = submit(
        &state,
        EditRequest {
            collection: collection.clone(),
            action: EditAction::Update(id, Value::Object(patch)),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
        },
    )
    .await?;
    Ok(answer(edited, &base, &collection))
}

pub async fn remove(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    req: axum::extract::Request,
) -> Result<Response, Response> {
    let principal = preflight(&state, &collection, raw.as_deref(), &headers).await?;
    let cond = condition(&headers).map_err(IntoResponse::into_response)?;
    let ticket = ticket(&req);
    let edited = submit(
        &state,
        EditRequest {
            collection: collection.clone(),
            action: EditAction::Delete(id),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
        },
    )
    .await?;
    Ok(answer(edited, &base, &collection))
}

/// `OPTIONS`: the methods a client may use here (QGIS discovers editing this way).
fn allow(methods: &str) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_str(methods).unwrap_or(HeaderValue::from_static(READ_METHODS)),
    );
    res
}

pub async fn options_items(
    State(state): State<AppState>,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    state
        .snapshot()
        .layer(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection))?;
    Ok(allow(if editable(&state, &collection).is_ok() {
        "GET, HEAD, POST, OPTIONS"
    } else {
        READ_METHODS
    }))
}

pub async fn options_item(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let layer = snapshot
        .layer(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection))?;
    layer.slot_of(&id).ok_or_else(|| {
        ApiError::not_found(format!(
            "collection {collection:?} has no feature {:?}",
            crate::http::params::shorten(&id)
        ))
    })?;
    Ok(allow(if editable(&state, &collection).is_ok() {
        "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    } else {
        READ_METHODS
    }))
}

fn change_json(c: &Change) -> Value {
    json!({
        "seq": c.seq, "collection": c.collection, "featureId": c.feature_id, "operation": c.operation.as_str(),
        "principal": c.principal, "at": c.at, "before": c.before, "after": c.after,
    })
}

/// `GET …/items/{id}/history`: every change of a feature, oldest first (any valid token).
/// `GET …/items/{id}/history?since=N&limit=M`: a feature's changes, oldest first, a page at a
/// time (at most `limit`, and at most `record::PAGE_BYTES` of features); the `next` link goes
/// on after the last one.
pub async fn history(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
    Query(p): Query<ChangesParams>,
) -> Result<Response, Response> {
    state
        .snapshot()
        .layer(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection).into_response())?;
    auth::required(&state, &headers).await?;
    let store = std::sync::Arc::clone(&state.store);
    let (c2, i2) = (collection.clone(), id.clone());
    let (since, limit) = (p.since, p.limit);
    let found = tokio::task::spawn_blocking(move || {
        store.editor().map(|e| e.history(&c2, &i2, since, limit))
    })
    .await
    .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?;
    let changes = match found {
        None => Vec::new(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            return Err(
                ApiError::store_read(&e, "the history", state.retry_after()).into_response()
            );
        }
    };
    if changes.is_empty()
        && since == 0
        && state
            .snapshot()
            .layer(&collection)
            .and_then(|l| l.slot_of(&id))
            .is_none()
    {
        return Err(ApiError::not_found(format!(
            "collection {collection:?} has no feature {:?} and never had",
            crate::http::params::shorten(&id)
        ))
        .into_response());
    }
    let last = changes.last().map_or(since, |c| c.seq);
    let next = base.at(&format!(
        "/collections/{}/items/{}/history?since={last}&limit={limit}",
        path_segment(&collection),
        path_segment(&id)
    ));
    json_answer(move || {
        json!({
            "collection": collection,
            "featureId": id,
            "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
            "last": last,
            "links": [{"href": next, "rel": "next", "type": "application/json", "title": "the changes after these"}],
        })
    })
    .await
}

/// A JSON answer built and written on the blocking pool: a page of history or of the change
/// feed can be megabytes of coordinates, too much work for an async worker that also answers
/// `/health`.
async fn json_answer(make: impl FnOnce() -> Value + Send + 'static) -> Result<Response, Response> {
    let internal = || ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response();
    let bytes = tokio::task::spawn_blocking(move || serde_json::to_vec(&make()))
        .await
        .map_err(|_| internal())?
        .map_err(|_| internal())?;
    let mut res = (StatusCode::OK, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(no_store(res))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

static SINCE: ParamSpec = ParamSpec {
    name: "since",
    description: "changes after this sequence number (0: from the first)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 0}),
    documented_for: crate::http::params::always,
};
static CHANGES_LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description: "most changes returned (1 to 1000, default 100)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1, "maximum": 1000}),
    documented_for: crate::http::params::always,
};

pub struct ChangesParams {
    since: i64,
    limit: usize,
}

impl RouteParams for ChangesParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&SINCE, &CHANGES_LIMIT]
    }
    fn parse(
        params: &mut Params,
        _: Option<&crate::store::CollectionInfo>,
    ) -> Result<Self, ApiError> {
        let since = params.take_usize("since")?.unwrap_or(0);
        let since =
            i64::try_from(since).map_err(|_| ApiError::parameter("since", "since is too large"))?;
        let limit = params.take_usize("limit")?.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::parameter(
                "limit",
                "limit must be between 1 and 1000",
            ));
        }
        Ok(ChangesParams { since, limit })
    }
}

/// `GET /changes?since=N`: the change feed, for integrations and replicas to follow.
pub async fn changes(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Query(p): Query<ChangesParams>,
) -> Result<Response, Response> {
    auth::required(&state, &headers).await?;
    let store = std::sync::Arc::clone(&state.store);
    let (since, limit) = (p.since, p.limit);
    let found =
        tokio::task::spawn_blocking(move || store.editor().map(|e| e.changes(since, limit)))
            .await
            .map_err(|_| {
                ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
            })?;
    let changes = match found {
        None => Vec::new(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            return Err(
                ApiError::store_read(&e, "the change feed", state.retry_after()).into_response(),
            );
        }
    };
    let last = changes.last().map_or(since, |c| c.seq);
    let next = base.at(&format!("/changes?since={last}&limit={limit}"));
    json_answer(move || {
        json!({
            "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
            "last": last,
            "links": [{"href": next, "rel": "next", "type": "application/json", "title": "the changes after these"}],
        })
    })
    .await
}

/// OGC API - Features Part 4 on the items paths, each item's history and `/changes`: described
/// where edits can happen (an editable collection of a server that keeps edits), and claimed
/// only then.
pub const CONTRACT: Contract = Contract {
    router,
    describe: operations,
    classes: |edits| if edits { EDIT_CLASSES } else { &[] },
};

/// OGC API - Features Part 4 (draft 1.0.0-draft.2), exercised by tests/it/edit.rs and the
/// OWSLib test.
const EDIT_CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-timestamps",
];

/// The edit methods of the items paths (merged with their GET in `items`), each item's history
/// and the change feed.
pub fn router() -> axum::Router<crate::http::AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route(
            "/collections/{collection}/items",
            post(create).options(options_items),
        )
        .route(
            "/collections/{collection}/items/{feature}",
            put(replace)
                .patch(update)
                .delete(remove)
                .options(options_item),
        )
        .route(
            "/collections/{collection}/items/{feature}/history",
            get(history),
        )
        .route("/changes", get(changes))
}

fn operations(doc: &Doc, paths: &mut Paths) {
    if !doc.edits {
        return;
    }
    for c in doc.collections.iter().filter(|c| c.meta.editable) {
        let base = format!("/collections/{}", c.id);
        let (Some(mut items), Some(mut item)) = (
            paths.shift_remove(&format!("{base}/items")),
            paths.shift_remove(&format!("{base}/items/{{featureId}}")),
        ) else {
            continue;
        };
        let history = edit_operations(c, &mut items, &mut item);
        paths.insert(format!("{base}/items"), items);
        paths.insert(format!("{base}/items/{{featureId}}"), item);
        paths.insert(format!("{base}/items/{{featureId}}/history"), history);
    }
    paths.insert("/changes".into(), json!({"get": {"summary": "the change feed: every change after `since`, oldest first", "operationId": "getChanges", "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": parameters::<ChangesParams>(None),
        "responses": {"200": {"description": "the changes and a next link", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token")}}}));
}

/// The answers every edit may get besides its success.
fn edit_errors() -> Value {
    json!({
        "400": problem("a body that is not a valid feature of this collection (a type, a vocabulary term, a geometry, a derived or unknown property), or a malformed header"),
        "401": problem("no API token, or one that is not valid (see WWW-Authenticate)"),
        "403": problem("a token whose role may not edit this collection"),
        "404": problem("no such collection or feature"),
        "405": problem("the collection is read-only, or the server keeps no edits (no --state)"),
        "409": problem("a feature with the body's id exists"),
        "412": problem("the feature changed since the version in If-Match or If-Unmodified-Since"),
        "413": problem("body too large"),
        "415": problem("a body that is not GeoJSON (or a merge patch)"),
        "428": problem("an edit of an existing feature without If-Match or If-Unmodified-Since"),
        "503": problem("the edit could not be stored; nothing changed")
    })
}

/// Part 4 on a collection's items and one item, and the history of an item.
fn edit_operations(c: &CollectionInfo, items: &mut Value, item: &mut Value) -> Value {
    let feature_body = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        json!({"required": true, "content": content})
    };
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}});
    let id = json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id});
    let crs = header(
        "Content-Crs",
        "the CRS of the body's geometry, as <URI> (default CRS84)",
    );
    let preconditions = [
        header("If-Match", "the feature's ETag, from GET"),
        header("If-Unmodified-Since", "an HTTP date"),
    ];
    let with = |base: Value, extra: Value| {
        let mut r = edit_errors();
        if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        let mut op = base;
        op["responses"] = r;
        op["tags"] = json!(["Edit"]);
        op["security"] = json!([{"bearer": []}]);
        op
    };
    let feature_ok = json!({"description": "the feature as stored", "headers": {"ETag": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}});
    items["post"] = with(
        json!({"summary": format!("add a feature to {}", c.id), "operationId": format!("createItem_{}", c.id), "parameters": [crs.clone(), header("Idempotency-Key", "a key of the client's choosing (a UUID): a retry with the same key and body answers the first result instead of creating a second feature")], "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"201": {"description": "created (or, for a repeated Idempotency-Key, created before)", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}},
               "409": problem("a feature with that id exists, or a request with this Idempotency-Key is in progress"),
               "422": problem("this Idempotency-Key was used for a different body")}),
    );
    items["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItems_{}", c.id), "tags": ["Edit"], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such collection")}});
    let with_id = |mut extra: Vec<Value>| {
        let mut v = vec![id.clone()];
        v.append(&mut extra);
        v
    };
    item["put"] = with(
        json!({"summary": format!("replace a feature of {}", c.id), "operationId": format!("replaceItem_{}", c.id), "parameters": with_id(vec![crs.clone(), preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"200": feature_ok.clone()}),
    );
    item["patch"] = with(
        json!({"summary": format!("change part of a feature of {} (JSON Merge Patch)", c.id), "operationId": format!("updateItem_{}", c.id), "parameters": with_id(vec![crs, preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/merge-patch+json", "application/json", "application/geo+json"])}),
        json!({"200": feature_ok}),
    );
    item["delete"] = with(
        json!({"summary": format!("delete a feature of {}", c.id), "operationId": format!("deleteItem_{}", c.id), "parameters": with_id(vec![preconditions[0].clone(), preconditions[1].clone()])}),
        json!({"204": {"description": "deleted"}}),
    );
    item["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItem_{}", c.id), "tags": ["Edit"], "parameters": [id.clone()], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such feature")}});
    json!({"get": {"summary": format!("every change of a feature of {}, oldest first", c.id), "operationId": format!("itemHistory_{}", c.id), "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": std::iter::once(id).chain(parameters::<ChangesParams>(None)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "the changes", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token"), "404": problem("no such feature, now or ever")}}})
}
