//! `/metrics`: what an operator's Prometheus scrapes, in the OpenMetrics text format (which
//! Prometheus reads natively), written with the Prometheus project's own `prometheus-client`.
//!
//! Requests and their latency are counted per route (the route's pattern, never the raw
//! path, so a client cannot mint new series), method and status as they happen; everything
//! else (data version, replica lag, the store's pool and outage, edits, cache hit counts) is
//! read from the server's state at scrape time, so it costs nothing between scrapes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::error::ApiError;
use super::extract::{NoParams, Query};
use super::AppState;

/// The content type of the exposition.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The request counters, shared by every request.
#[derive(Debug)]
pub struct HttpMetrics {
    requests: Family<RouteLabels, Counter>,
    latency: Latency,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

/// Counts a request and the time to its response's head, by route.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or_else(
        || "(static or unknown)".to_owned(),
        |m| m.as_str().to_owned(),
    );
    let method = method_label(req.method()).to_owned();
    let res = next.run(req).await;
    let labels = RouteLabels {
        route,
        method,
        status: res.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    res
}

/// The method as a label: the methods of RFC 9110 and PATCH by name, any other token as
/// `other` (a client sending random methods would otherwise mint a series per request).
fn method_label(method: &axum::http::Method) -> &str {
    use axum::http::Method;
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if KNOWN.contains(method) {
        method.as_str()
    } else {
        "other"
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g: Gauge = Gauge::default();
    g.set(value);
    registry.register(name, help, g);
}

fn gauge_f(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let g: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    g.set(value);
    registry.register(name, help, g);
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let c: Counter = Counter::default();
    c.inc_by(value);
    registry.register(name, help, c);
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    Query(NoParams): Query<NoParams>,
) -> Result<Response, ApiError> {
    let mut r = Registry::with_prefix("atlas");
    r.register(
        "http_requests",
        "requests answered, by route pattern, method and status",
        state.metrics.requests.clone(),
    );
    r.register(
        "http_request_duration_seconds",
        "time from request to response head, by route pattern, method and status",
        state.metrics.latency.clone(),
    );
    let snapshot = state.snapshot();
    gauge(
        &mut r,
        "data_version",
        "the last recorded change the served data reflects",
        snapshot.change(),
    );
    gauge(
        &mut r,
        "data_features",
        "features served",
        i64::try_from(snapshot.feature_count()).unwrap_or(i64::MAX),
    );
    let hits: Family<CacheLabels, Counter> = Family::default();
    let misses: Family<CacheLabels, Counter> = Family::default();
    for (cache, (h, m)) in [
        ("responses", state.responses.hits_misses()),
        ("counts", state.counts.hits_misses()),
        ("filters", state.filters.hits_misses()),
        ("tiles", state.tiles.hits_misses()),
    ] {
        hits.get_or_create(&CacheLabels { cache }).inc_by(h);
        misses.get_or_create(&CacheLabels { cache }).inc_by(m);
    }
    r.register("cache_hits", "cache lookups that found an answer", hits);
    r.register("cache_misses", "cache lookups that did not", misses);
    if let Some(editor) = state.store.editor() {
        if let Some((open, idle)) = editor.pool() {
            gauge(
                &mut r,
                "store_pool_connections",
                "connections open in the read pool",
                i64::from(open),
            );
            gauge(
                &mut r,
                "store_pool_idle",
                "idle connections in the read pool",
                i64::from(idle),
            );
        }
        if let Some(status) = editor.status() {
            let s = status.report();
            gauge(
                &mut r,
                "store_up",
                "1 while the store answers, 0 during an outage",
                i64::from(s.outage.is_none()),
            );
            gauge_f(
                &mut r,
                "store_unreachable_seconds",
                "how long the current outage has lasted (0: none)",
                s.outage
                    .as_ref()
                    .map_or(0.0, |o| o.started.elapsed().as_secs_f64()),
            );
            gauge(
                &mut r,
                "store_latest_version",
                "the newest change the store is known to hold",
                s.latest,
            );
            gauge_f(
                &mut r,
                "replica_lag_seconds",
                "how long this server has known of a change it has not applied (0: caught up)",
                s.lag.as_secs_f64(),
            );
            counter(
                &mut r,
                "edits",
                "edits this server recorded (rate() gives edits per second)",
                s.edits,
            );
            counter(
                &mut r,
                "changes_replayed",
                "changes recorded by other servers and applied here",
                s.replayed,
            );
            counter(
                &mut r,
                "edits_refused_unavailable",
                "edits refused with 503 because the store was unreachable",
                s.refused_unavailable,
            );
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &r)
        .map_err(|_| ApiError::from_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    let mut res = text.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
