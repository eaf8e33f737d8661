//! Every documented limit answers with its own status and a problem+json body.

use std::sync::Arc;

use crate::common::*;
use etown_atlas::config::ServerConfig;
use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::store::MemoryStore;
use etown_atlas::{app, AppState};

fn app_with(config: ServerConfig) -> axum::Router {
    let catalog =
        ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default()).unwrap();
    app(AppState::new(Arc::new(MemoryStore::new(catalog)), config))
}

#[tokio::test]
async fn a_url_over_16_kib_is_a_414() {
    let long = format!(
        "/collections/spatial-carriers/items?filter={}",
        "a".repeat(17 * 1024)
    );
    let p = get(&shipped_app(), &long).await.problem(414);
    assert_eq!(p["code"], "uri_too_long");
    assert!(p["detail"].as_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn a_body_over_4_mib_is_a_413() {
    let body = format!("{{\"filter\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let r = request(
        &shipped_app(),
        post_json("/collections/spatial-carriers/search", body),
    )
    .await;
    r.problem(413);
}

#[tokio::test]
async fn too_many_filter_terms_is_a_400() {
    let terms = vec!["floor_area_m2 = 1"; 2_100].join(" OR ");
    let body = serde_json::json!({"filter": terms}).to_string();
    let r = request(
        &shipped_app(),
        post_json("/collections/spatial-carriers/search", body),
    )
    .await;
    assert_eq!(r.problem(400)["code"], "filter_too_complex");
}

/// Found by the `query_string` fuzz target: the CQL2 text grammar backtracks four ways per
/// bracket that does not close, so without the parser's work budget these filters ran for
/// minutes (20 brackets) to years (30). Each must now be refused like any other bad filter.
#[tokio::test]
async fn brackets_that_never_close_are_refused_not_parsed_for_ever() {
    let app = shipped_app();
    for filter in [
        "indfi=ltdusAt((((((((((((((((((((((r",
        "((((((((((((((((((((((((((((((x=))))))))))))))))))))))))))))))",
        "status IN ((((((((((((((((((((((((((((((('a'",
    ] {
        let url = format!(
            "/collections/spatial-carriers/items?filter={}",
            form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let p = get(&app, &url).await.problem(400);
        let code = p["code"].as_str().unwrap();
        assert!(
            code == "filter_too_complex" || code == "filter_syntax",
            "{filter}: {p}"
        );
    }
    // The budget grows with the filter: a long valid one still parses.
    let ring: Vec<String> = (0..=3_000)
        .map(|i| {
            let a = f64::from(i) / 3_000.0 * std::f64::consts::TAU;
            format!("{:.6} {:.6}", 116.5 + 0.1 * a.cos(), 39.8 + 0.1 * a.sin())
        })
        .collect();
    let mut ring = ring;
    ring.pop();
    ring.push(ring[0].clone());
    let filter = format!(
        "((S_INTERSECTS(geometry, POLYGON(({})))) AND (NOT (status = 'planned')))",
        ring.join(",")
    );
    let body = serde_json::json!({"filter": filter, "filter-lang": "cql2-text"}).to_string();
    let r = request(
        &app,
        post_json("/collections/spatial-carriers/search", body),
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "{}",
        String::from_utf8_lossy(&r.bytes[..r.bytes.len().min(400)])
    );
}

#[tokio::test]
async fn past_the_cap_expensive_requests_get_503_with_retry_after() {
    // No permits at all: every expensive request is turned away (after the queue wait, here
    // none), and cheap ones are not.
    let app = app_with(ServerConfig {
        max_concurrent_heavy: 0,
        queue_wait: std::time::Duration::ZERO,
        ..ServerConfig::default()
    });
    for path in [
        "/collections/spatial-carriers/stats?group-by=industry",
        "/collections/spatial-carriers/export?f=gpkg",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.problem(503)["code"], "busy", "{path}");
        assert_eq!(r.headers["retry-after"], "5");
    }
    let r = request(
        &app,
        post_json("/export", r#"{"zone": "bonded-zone"}"#.into()),
    )
    .await;
    r.problem(503);
    assert_eq!(
        get(&app, "/collections/spatial-carriers/items")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn permits_come_back_when_downloads_finish() {
    let app = app_with(ServerConfig {
        max_concurrent_heavy: 1,
        ..ServerConfig::default()
    });
    for _ in 0..3 {
        let r = get(&app, "/collections/spatial-carriers/export?f=csv").await;
        assert_eq!(r.status, 200);
        assert_eq!(String::from_utf8_lossy(&r.bytes).lines().count(), 59);
    }
}

/// Blocking work past the request timeout is answered 503 problem+json on time: the work runs
/// on the blocking pool, so the timeout is not stuck behind it. (Were the store called on the
/// async worker, the timeout could only fire after the 3 s of work, as a 200.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_past_the_request_timeout_is_a_503_problem() {
    // Every query and statistic takes 3 s of CPU-bound (blocking) work: a stand-in for a scan
    // over millions of features, without a wall-clock bet on this machine.
    let config = ServerConfig {
        request_timeout: std::time::Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let slow: etown_atlas::http::WorkHook =
        Arc::new(|_| std::thread::sleep(std::time::Duration::from_secs(3)));
    let app = shipped_app_with(config, Some(slow));
    for path in [
        "/collections/spatial-carriers/items?limit=5",
        "/collections/spatial-carriers/stats?group-by=industry",
    ] {
        let started = std::time::Instant::now();
        let p = get(&app, path).await.problem(503);
        assert_eq!(p["code"], "timeout", "{path}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{path}: answered only after the work finished"
        );
    }
    // Requests that do not touch the slow calls are unaffected.
    assert_eq!(get(&app, "/collections").await.status, 200);
}
