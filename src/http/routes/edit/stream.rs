//! `GET /changes/stream`: the change log as Server-Sent Events, one `change` event per change
//! (its number as the event id; collection, feature, operation, who, when, change set), as it
//! is recorded here or by another server on the same PostgreSQL. A client that reconnects
//! sends `Last-Event-ID` (browsers do it themselves) and gets exactly the changes it missed,
//! read from the log; `?since=N` does the same for a first connection. Keep-alive comments
//! every 15 s hold proxies open. Subscribers are bounded ([`MAX_CHANGE_STREAMS`]); each costs a
//! cursor and at most one page of changes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use crate::http::auth;
use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::params::{ParamSpec, Params};
use crate::http::state::MAX_CHANGE_STREAMS;
use crate::http::AppState;
use crate::record::Change;
use crate::store::CollectionInfo;

/// Changes read from the log at a time, catching up.
const PAGE: usize = 500;
/// How long a stream waits before reading again when the store could not be read.
const RETRY: Duration = Duration::from_secs(2);

pub static SINCE: ParamSpec = ParamSpec {
    name: "since",
    description:
        "start after this change number (as Last-Event-ID does); default: only changes from now on",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 0}),
    documented_for: crate::http::params::always,
};

pub struct StreamParams {
    since: Option<i64>,
}

impl RouteParams for StreamParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&SINCE]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let since = params
            .take_usize("since")?
            .map(|s| {
                i64::try_from(s).map_err(|_| ApiError::parameter("since", "since is too large"))
            })
            .transpose()?;
        Ok(StreamParams { since })
    }
}

/// One subscriber's place in the log.
struct Cursor {
    state: AppState,
    /// The last change sent.
    last: i64,
    pending: VecDeque<Change>,
    _slot: OwnedSemaphorePermit,
}

fn event(c: &Change) -> Event {
    Event::default().id(c.seq.to_string()).event("change").data(
        json!({
            "seq": c.seq, "collection": c.collection, "featureId": c.feature_id,
            "operation": c.operation.as_str(), "principal": c.principal, "at": c.at,
            "changeset": c.changeset,
        })
        .to_string(),
    )
}

impl Cursor {
    /// The next change to send, waiting for one as long as it takes.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        let mut published = self.state.published.clone();
        loop {
            if let Some(c) = self.pending.pop_front() {
                self.last = c.seq;
                return Some((Ok(event(&c)), self));
            }
            // Marked seen before reading: a version published during the read wakes the wait.
            // Nothing newer than what was sent: no read (an idle subscriber costs no thread).
            let newest = *published.borrow_and_update();
            if newest <= self.last {
                if published.changed().await.is_err() {
                    return None;
                }
                continue;
            }
            let store = std::sync::Arc::clone(&self.state.store);
            let since = self.last;
            let read =
                tokio::task::spawn_blocking(move || store.editor().map(|e| e.changes(since, PAGE)))
                    .await;
            match read {
                Ok(Some(Ok(changes))) if !changes.is_empty() => {
                    self.pending.extend(changes);
                    continue;
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => {
                    tracing::warn!(reason = %e, "the change stream cannot read the log; retrying");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
                Ok(None) | Err(_) => return None,
            }
            if published.changed().await.is_err() {
                return None;
            }
        }
    }
}

/// The number after which a subscriber starts: `Last-Event-ID`, else `since`, else now.
fn start(state: &AppState, headers: &HeaderMap, since: Option<i64>) -> Result<i64, ApiError> {
    if let Some(v) = headers.get("last-event-id") {
        return v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::parameter(
                    "Last-Event-ID",
                    "Last-Event-ID is the number of the last change received",
                )
            });
    }
    Ok(since.unwrap_or_else(|| state.snapshot().change()))
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    auth::required(&state, &headers).await?;
    let p = Params::parse(raw.as_deref())
        .and_then(|p| StreamParams::from_params(p, None))
        .map_err(IntoResponse::into_response)?;
    if state.store.editor().is_none() {
        return Err(ApiError::not_found(
            "this server keeps no change log (it runs without a state store)",
        )
        .into_response());
    }
    let last = start(&state, &headers, p.since).map_err(IntoResponse::into_response)?;
    let Ok(slot) = std::sync::Arc::clone(&state.change_streams).try_acquire_owned() else {
        tracing::warn!(
            limit = MAX_CHANGE_STREAMS,
            "change stream refused: too many subscribers"
        );
        return Err(ApiError::busy(30).into_response());
    };
    let cursor = Cursor {
        state,
        last,
        pending: VecDeque::new(),
        _slot: slot,
    };
    let events = futures_util::stream::unfold(cursor, Cursor::next);
    let mut res = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
