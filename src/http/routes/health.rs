use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Liveness plus what is loaded, for probes and people alike.
async fn health(State(state): State<AppState>) -> Json<Value> {
    let h = state.store.health();
    let uptime = state.started_at.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "collections": h.collections,
        "features": h.features,
        "uptime_s": uptime,
    }))
}
