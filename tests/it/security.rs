//! Web security: the Content-Security-Policy, the other headers, CORS off by default, no path
//! traversal, and no internals in error bodies.

use std::sync::Arc;

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use etown_atlas::config::{Basemap, Datum, ServerConfig};
use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::model::Localized;
use etown_atlas::store::MemoryStore;
use etown_atlas::{app, AppState};

fn app_with(config: ServerConfig) -> axum::Router {
    let catalog =
        ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default()).unwrap();
    app(AppState::new(Arc::new(MemoryStore::new(catalog)), config))
}

#[tokio::test]
async fn every_response_carries_a_csp_that_allows_only_this_origin() {
    let app = shipped_app();
    for path in ["/", "/collections", "/js/main.js", "/nope"] {
        let r = request(
            &app,
            Request::get(path)
                .header("accept", "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("http"), "no outside host by default: {csp}");
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"));
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["referrer-policy"], "no-referrer");
    }
    // A configured basemap's host is added for tiles, and nothing else.
    let mut config = ServerConfig::default();
    config.map.basemaps.push(Basemap {
        id: "osm".into(),
        title: Localized::One("OSM".into()),
        url: Some("https://tiles.example.org/{z}/{x}/{y}.png".into()),
        mbtiles: None,
        key: None,
        datum: Datum::Wgs84,
        attribution: Some("©".into()),
        tile_size: 256,
        default: false,
    });
    let r = get(&app_with(config), "/").await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: blob: https://tiles.example.org;"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https://tiles.example.org;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"));
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_allow_list() {
    let req = |origin: &str| {
        Request::get("/collections")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let r = request(&shipped_app(), req("https://elsewhere.example")).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let config = ServerConfig {
        cors_origins: vec!["https://gis.example.gov.cn".into()],
        ..ServerConfig::default()
    };
    let app = app_with(config);
    let ok = request(&app, req("https://gis.example.gov.cn")).await;
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://gis.example.gov.cn"
    );
    let other = request(&app, req("https://elsewhere.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn no_path_escapes_the_embedded_files() {
    let app = shipped_app();
    for path in [
        "/../Cargo.toml",
        "/js/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/%252e%252e%252fCargo.toml",
        "/vendor/..%2f..%2fsrc/main.rs",
        "/..%5c..%5cCargo.toml",
        "/collections/..%2F..%2Fetc%2Fpasswd/items",
        "/collections/%2e%2e/items",
        "/etc/passwd",
        "/js/%00main.js",
    ] {
        let r = request(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
        let body = String::from_utf8_lossy(&r.bytes);
        assert!(
            !body.contains("[package]") && !body.contains("root:") && !body.contains("fn main"),
            "{path} leaked a file"
        );
        assert_eq!(r.content_type(), "application/problem+json", "{path}");
    }
}

#[tokio::test]
async fn error_bodies_name_no_internals() {
    let app = shipped_app();
    let mut bodies = Vec::new();
    for path in [
        "/collections/spatial-carriers/items?filter=%28%28%28",
        "/collections/spatial-carriers/items?filter=floor_area_m2%20%3E%20%27x%27",
        "/collections/spatial-carriers/items?bbox=a",
        "/collections/nope",
        "/collections/spatial-carriers/items/%FF%FE",
    ] {
        bodies.push(
            String::from_utf8_lossy(
                &request(&app, Request::get(path).body(Body::empty()).unwrap())
                    .await
                    .bytes,
            )
            .into_owned(),
        );
    }
    let bad = request(
        &app,
        Request::post("/collections/spatial-carriers/search")
            .header("content-type", "application/json")
            .body(Body::from("{\"filter\": 5}"))
            .unwrap(),
    )
    .await;
    bodies.push(String::from_utf8_lossy(&bad.bytes).into_owned());
    for b in bodies {
        for leak in [
            "/work/",
            "/root/",
            "src/",
            ".rs",
            "panicked",
            "RUST_BACKTRACE",
            "serde_json::",
            "thread '",
        ] {
            assert!(!b.contains(leak), "error body leaks {leak:?}: {b}");
        }
    }
}
