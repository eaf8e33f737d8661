//! Every documented limit answers with its own status and a problem+json body.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::*;
use etown_atlas::config::ServerConfig;
use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::store::MemoryStore;
use etown_atlas::{app, AppState};

fn app_with(config: ServerConfig) -> axum::Router {
    let catalog =
        ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default()).unwrap();
    app(AppState::new(Arc::new(MemoryStore::new(catalog)), config))
}

fn post_json(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
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

#[tokio::test]
async fn past_the_cap_expensive_requests_get_503_with_retry_after() {
    // No permits at all: every expensive request is turned away at once, and cheap ones are not.
    let app = app_with(ServerConfig {
        max_concurrent_heavy: 0,
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
