//! OGC API - Features Part 4 (create, replace, update, delete, optimistic locking with ETags and
//! timestamps) on the collections whose sidecar says `editable`, when the server keeps a state
//! store; the history of a feature and the change feed.
//!
//! Bodies are read strictly (exact media types, no repeated members), geometries arrive in the
//! CRS `Content-Crs` names, and the store checks every edit as ingest checks a file (see
//! `ingest::check_feature`). A 2xx means the edit is on disk.

mod answer;
mod doc;
mod history;
mod request;
mod stream;

use crate::http::routes::Contract;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::http::body::require_media_type;
use crate::http::error::ApiError;
use crate::http::links::BaseUrl;
use crate::http::AppState;
use crate::record::RequestKey;
use crate::store::{Condition, EditAction, EditRequest};

pub use answer::http_date;
use answer::*;
use doc::*;
pub use history::{changes, history, ChangesParams};
pub(crate) use request::editable;
use request::*;

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
        .route("/changes/stream", get(stream::stream))
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
            scope: principal.scope_of(&collection),
            principal: principal.name,
            condition: Condition::NotApplicable,
            ticket,
            request: key.map(|key| RequestKey { key, body_hash }),
            changeset: None,
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
            scope: principal.scope_of(&collection),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
            changeset: None,
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
            scope: principal.scope_of(&collection),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
            changeset: None,
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
            scope: principal.scope_of(&collection),
            principal: principal.name,
            condition: cond,
            ticket,
            request: None,
            changeset: None,
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
