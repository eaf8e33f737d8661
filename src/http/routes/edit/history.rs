//! A feature's history and the change feed, a page at a time.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::auth;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::extract::RouteParams;
use crate::http::links::{path_segment, BaseUrl};
use crate::http::params::{ParamSpec, Params};
use crate::http::AppState;
use crate::record::Change;

pub(super) fn change_json(c: &Change) -> Value {
    json!({
        "seq": c.seq, "collection": c.collection, "featureId": c.feature_id, "operation": c.operation.as_str(),
        "principal": c.principal, "at": c.at, "changeset": c.changeset, "before": c.before, "after": c.after,
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
pub(super) async fn json_answer(
    make: impl FnOnce() -> Value + Send + 'static,
) -> Result<Response, Response> {
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

pub(super) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(super) static SINCE: ParamSpec = ParamSpec {
    name: "since",
    description: "changes after this sequence number (0: from the first)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 0}),
    documented_for: crate::http::params::always,
};
pub(super) static CHANGES_LIMIT: ParamSpec = ParamSpec {
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
