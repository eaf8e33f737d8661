use super::openapi::*;
use super::Contract;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::{NoParams, Query};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(crate::http::metrics::metrics))
}

/// Liveness plus what is loaded, for probes and people alike. The server listens only once
/// its data is loaded, so any answer means ready. While a PostgreSQL store is unreachable the
/// status is `degraded` (still 200: reads are served from memory), with since when and why.
async fn health(
    State(state): State<AppState>,
    Query(NoParams): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot();
    let uptime = state.started_at.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    let status = state.store.editor().and_then(|e| e.status());
    let report = status.map(|s| s.report());
    let degraded = report.as_ref().is_some_and(|r| r.outage.is_some());
    let mut body = json!({
        "status": if degraded { "degraded" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "collections": snapshot.collections().len(),
        "features": snapshot.feature_count(),
        "dataVersion": snapshot.version(),
        "change": snapshot.change(),
        "uptime_s": uptime,
    });
    if let Some(r) = report {
        body["store"] = json!({
            "kind": r.kind,
            "location": r.location,
            "reachable": r.outage.is_none(),
            "unreachableSince": r.outage.as_ref().map(|o| o.since.clone()),
            "reason": r.outage.as_ref().map(|o| o.reason.clone()),
            "appliedChange": r.applied,
            "latestChange": r.latest,
            "lag_s": r.lag.as_secs_f64(),
        });
    }
    Ok(Json(body))
}

/// `/health` and `/metrics`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    use crate::http::extract::NoParams;
    paths.insert("/health".into(), serde_json::json!({"get": {"summary": "liveness and counts", "operationId": "getHealth", "tags": ["Operations"],
        "parameters": parameters::<NoParams>(None),
        "responses": {"200": {"description": "the server is up", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}, "collections": {"type": "integer"}, "features": {"type": "integer"}}}}}}}}}));
    paths.insert("/metrics".into(), serde_json::json!({"get": {"summary": "metrics for Prometheus (OpenMetrics text)", "operationId": "getMetrics", "tags": ["Operations"],
        "parameters": parameters::<NoParams>(None),
        "responses": {"200": {"description": "requests, latency, data version, replica lag, store and cache figures", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}}}}));
}
