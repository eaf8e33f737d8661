//! An edit handed to the store's writer, and its answer: the feature as stored (with its ETag
//! and Last-Modified), or the problem a refusal is.

use crate::http::problem::Problem;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::links::{path_segment, BaseUrl};
use crate::http::AppState;
use crate::model::Crs;
use crate::store::{EditError, EditRequest, Edited};

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        let (status, code) = match &e {
            EditError::NoSuchCollection(_) => (StatusCode::NOT_FOUND, Problem::CollectionNotFound),
            EditError::NotEditable(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, Problem::MethodNotAllowed)
            }
            EditError::NotFound(_) => (StatusCode::NOT_FOUND, Problem::NotFound),
            EditError::Exists(_) | EditError::ChangedSince(_) => {
                (StatusCode::CONFLICT, Problem::Conflict)
            }
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
            EditError::OutOfScope(_) => (StatusCode::FORBIDDEN, Problem::OutOfScope),
        };
        let mut err = ApiError::new(status, code, e.to_string());
        if let EditError::Body(b) = &e {
            err.parameter = b.property().map(str::to_owned);
        }
        if let EditError::OutOfScope(o) = &e {
            err.rule = Some(o.rule.name());
            err.parameter = o.property.clone();
        }
        err
    }
}

/// Runs an edit on the store's writer, off the async workers; the answer once it is on disk.
pub(super) async fn submit(state: &AppState, request: EditRequest) -> Result<Edited, Response> {
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
pub(super) fn answer(edited: Edited, base: &BaseUrl, collection: &str) -> Response {
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
