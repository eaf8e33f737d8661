//! `asOf`: answering a read from the data as it was at an earlier moment (see
//! `store::JournaledStore::as_of`). Items, one item, statistics, tiles and downloads take it.

use std::sync::Arc;

use super::error::ApiError;
use super::params::{always, ParamSpec, Params};
use super::AppState;
use crate::query::Budget;
use crate::store::{AsOfError, FeatureStore, Snapshot};

pub static AS_OF: ParamSpec = ParamSpec {
    name: "asOf",
    description: "an RFC 3339 instant (with its offset, e.g. 2026-12-01T00:00:00+08:00): the data \
                  as it was then, rebuilt from the change log (before the first edit: the seed). \
                  Not in the future.",
    required: false,
    schema: |_| serde_json::json!({"type": "string", "format": "date-time"}),
    documented_for: always,
};

/// The instant `asOf` names, in milliseconds since the epoch, if it names one (checked: an
/// RFC 3339 instant with an offset, not in the future).
pub fn take_as_of(params: &mut Params) -> Result<Option<i64>, ApiError> {
    let Some(raw) = params.take("asOf") else {
        return Ok(None);
    };
    let at = chrono::DateTime::parse_from_rfc3339(raw.trim()).map_err(|e| {
        ApiError::parameter(
            "asOf",
            format!(
                "asOf must be an RFC 3339 instant with an offset, such as 2026-12-01T00:00:00+08:00 \
                 ({e}); got {:?}",
                super::params::shorten(&raw)
            ),
        )
    })?;
    let at_ms = at.timestamp_millis();
    if at_ms > chrono::Utc::now().timestamp_millis() {
        return Err(ApiError::parameter(
            "asOf",
            format!("asOf {raw} is in the future: the data is known up to now"),
        ));
    }
    Ok(Some(at_ms))
}

/// The version a read answers from: `current`, or the data as it was at `at_ms`. A store that
/// keeps no edits has always had the data it has now.
pub async fn snapshot_at(
    state: &AppState,
    current: Arc<Snapshot>,
    at_ms: Option<i64>,
) -> Result<Arc<Snapshot>, ApiError> {
    let Some(at_ms) = at_ms else {
        return Ok(current);
    };
    if state.store.editor().is_none() {
        return Ok(current);
    }
    let store = Arc::clone(&state.store);
    let retry = state.retry_after();
    state
        .compute(move |budget| past(&*store, current, Some(at_ms), budget, retry))
        .await
}

/// [`snapshot_at`] for work already on the compute boundary (a POST body read there).
pub fn past(
    store: &dyn FeatureStore,
    current: Arc<Snapshot>,
    at_ms: Option<i64>,
    budget: &Budget,
    retry_after_s: u32,
) -> Result<Arc<Snapshot>, ApiError> {
    let (Some(at_ms), Some(editor)) = (at_ms, store.editor()) else {
        return Ok(current);
    };
    editor
        .as_of(at_ms, budget)
        .map_err(|e| history_error(e, retry_after_s))
}

/// The answer when the change log could not be read for a past version, a trend or a report:
/// a spent budget is the timeout every computation answers, an unreachable store a 503.
pub fn history_error(e: AsOfError, retry_after_s: u32) -> ApiError {
    match e {
        AsOfError::OutOfTime => ApiError::from(crate::query::Exceeded),
        AsOfError::Record(e) => ApiError::store_read(&e, "the change log", retry_after_s),
    }
}
