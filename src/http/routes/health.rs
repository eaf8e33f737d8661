use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::{NoParams, Query};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Liveness plus what is loaded, for probes and people alike.
async fn health(
    State(state): State<AppState>,
    Query(NoParams): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot();
    let uptime = state.started_at.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "collections": snapshot.collections().len(),
        "features": snapshot.feature_count(),
        "dataVersion": snapshot.version(),
        "uptime_s": uptime,
    })))
}
