//! Repeated requests are answered from the response cache without reaching the store, and the
//! cache never mixes answers that differ: by host, language, media type or status.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use etown_atlas::config::ServerConfig;

/// The shipped data behind a store that counts the queries, pages and statistics it runs.
fn counted_app(config: ServerConfig) -> (axum::Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let hook: etown_atlas::http::WorkHook = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (shipped_app_with(config, Some(hook)), calls)
}

const PAGE: &str = "/collections/spatial-carriers/items?limit=7&industry=future_health";

#[tokio::test]
async fn a_repeated_request_is_answered_without_the_store() {
    let (app, calls) = counted_app(ServerConfig::default());
    let first = get(&app, PAGE).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["x-cache"], "miss");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    for _ in 0..3 {
        let again = get(&app, PAGE).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.headers["x-cache"], "hit");
        assert_eq!(again.bytes, first.bytes, "the same answer, byte for byte");
        assert_eq!(again.headers["etag"], first.headers["etag"]);
        assert_eq!(again.content_type(), first.content_type());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the store ran once");
    // Statistics are cached the same way.
    let stats = "/collections/spatial-carriers/stats?group-by=industry";
    assert_eq!(get(&app, stats).await.headers["x-cache"], "miss");
    assert_eq!(get(&app, stats).await.headers["x-cache"], "hit");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn answers_that_differ_by_host_language_or_media_type_are_kept_apart() {
    let (app, calls) = counted_app(ServerConfig::default());
    let base = request(&app, get_with(PAGE, &[])).await;
    let other_host = request(
        &app,
        Request::get(PAGE)
            .header("host", "other.test")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(other_host.headers["x-cache"], "miss");
    let links = other_host.json()["links"].to_string();
    assert!(
        links.contains("other.test") && !links.contains("atlas.test"),
        "{links}"
    );
    let json = request(&app, get_with("/", &[("accept", "application/json")])).await;
    let html = request(&app, get_with("/", &[("accept", "text/html")])).await;
    assert_eq!(html.headers["x-cache"], "miss");
    assert!(
        html.content_type().starts_with("text/html"),
        "{}",
        html.content_type()
    );
    assert!(json.content_type().starts_with("application/json"));
    assert_eq!(base.headers["x-cache"], "miss");
    let collection = "/collections/spatial-carriers";
    let landing_en = request(&app, get_with(collection, &[("accept-language", "en")])).await;
    let landing_zh = request(&app, get_with(collection, &[("accept-language", "zh-CN")])).await;
    assert_eq!(landing_zh.headers["x-cache"], "miss");
    assert_eq!(landing_en.headers["x-cache"], "miss");
    assert_ne!(
        landing_en.bytes, landing_zh.bytes,
        "each language has its own answer"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one store call per host");
}

#[tokio::test]
async fn errors_and_health_are_never_cached() {
    let (app, calls) = counted_app(ServerConfig::default());
    for _ in 0..2 {
        let bad = get(
            &app,
            "/collections/spatial-carriers/items?filter=nope%3D%3D",
        )
        .await;
        bad.problem(400);
        assert!(!bad.headers.contains_key("x-cache"));
        let missing = get(&app, "/collections/no-such-layer/items").await;
        missing.problem(404);
        assert!(!missing.headers.contains_key("x-cache"));
        let health = get(&app, "/health").await;
        assert_eq!(health.status, 200);
        assert!(!health.headers.contains_key("x-cache"));
    }
    // Downloads stream, so they are never held in memory, compressed or not.
    let csv = "/collections/spatial-carriers/export?f=csv";
    for _ in 0..2 {
        assert!(!get(&app, csv).await.headers.contains_key("x-cache"));
        let gzipped = request(&app, get_with(csv, &[("accept-encoding", "gzip")])).await;
        assert_eq!(gzipped.headers["content-encoding"], "gzip");
        assert!(!gzipped.headers.contains_key("x-cache"));
    }
    let before = calls.load(Ordering::SeqCst);
    get(&app, PAGE).await;
    get(&app, PAGE).await;
    assert_eq!(calls.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_cached_answer_still_honours_if_none_match() {
    let (app, _) = counted_app(ServerConfig::default());
    let first = get(&app, PAGE).await;
    let tag = first.headers["etag"].to_str().unwrap().to_owned();
    let revalidated = request(&app, get_with(PAGE, &[("if-none-match", &tag)])).await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(revalidated.headers["x-cache"], "hit");
    assert!(revalidated.bytes.is_empty());
    let stale = request(&app, get_with(PAGE, &[("if-none-match", "\"0000\"")])).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.bytes, first.bytes);
}

#[tokio::test]
async fn a_zero_budget_turns_the_cache_off() {
    let config = ServerConfig {
        response_cache_bytes: 0,
        ..ServerConfig::default()
    };
    let (app, calls) = counted_app(config);
    for _ in 0..3 {
        let r = get(&app, PAGE).await;
        assert_eq!(r.status, 200);
        assert!(!r.headers.contains_key("x-cache"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn answers_over_an_eighth_of_the_budget_are_not_kept() {
    // Every carrier as one page is tens of kilobytes; a 64 KiB budget keeps at most 8 KiB each.
    let config = ServerConfig {
        response_cache_bytes: 64 * 1024,
        ..ServerConfig::default()
    };
    let (app, calls) = counted_app(config);
    let all = "/collections/spatial-carriers/items?limit=100";
    let first = get(&app, all).await;
    assert!(first.bytes.len() > 8 * 1024, "{} bytes", first.bytes.len());
    assert!(!first.headers.contains_key("x-cache"));
    get(&app, all).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A small answer still fits.
    let small = "/collections/spatial-carriers/items?limit=1";
    get(&app, small).await;
    assert_eq!(get(&app, small).await.headers["x-cache"], "hit");
}

/// A page computed again a second later differs only in its `timeStamp`; its ETag must not, or
/// a client's `If-None-Match` would stop matching as soon as the cache no longer held the page.
#[tokio::test]
async fn a_recomputed_page_keeps_its_etag_when_only_its_timestamp_moves() {
    let (app, calls) = counted_app(ServerConfig {
        response_cache_bytes: 0,
        ..ServerConfig::default()
    });
    let first = get(&app, PAGE).await;
    let stamp = |r: &Reply| r.json()["timeStamp"].as_str().unwrap().to_owned();
    let without_stamp = |r: &Reply| {
        let mut doc = r.json();
        doc.as_object_mut().unwrap().remove("timeStamp");
        doc
    };
    // Ask again until the clock has moved on to another second (stamps are in whole seconds).
    let mut later = get(&app, PAGE).await;
    for _ in 0..30 {
        if stamp(&later) != stamp(&first) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        later = get(&app, PAGE).await;
    }
    assert_ne!(stamp(&later), stamp(&first), "the clock moved on");
    assert_eq!(without_stamp(&later), without_stamp(&first));
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "both pages were computed"
    );
    assert_eq!(later.headers["etag"], first.headers["etag"]);

    let tag = first.headers["etag"].to_str().unwrap();
    let revalidated = request(&app, get_with(PAGE, &[("if-none-match", tag)])).await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.bytes.is_empty());
    // Different content, different validator.
    let other = get(&app, &PAGE.replace("limit=7", "limit=8")).await;
    assert_ne!(other.headers["etag"], first.headers["etag"]);
}

/// Browsers always ask for compression, and compressing is most of what a hit would cost, so
/// the compressed answer is what is kept: one entry per `Accept-Encoding`, each decoding to the
/// same document as the plain answer.
#[tokio::test]
async fn compressed_answers_are_kept_per_encoding() {
    let (app, calls) = counted_app(ServerConfig::default());
    let without_stamp = |text: &[u8]| {
        let mut doc: serde_json::Value = serde_json::from_slice(text).unwrap();
        doc.as_object_mut().unwrap().remove("timeStamp");
        doc
    };
    let plain = get(&app, PAGE).await;
    assert!(!plain.headers.contains_key("content-encoding"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let browser = [("accept-encoding", "gzip, deflate, br, zstd")];
    let first = request(&app, get_with(PAGE, &browser)).await;
    assert_eq!(
        first.headers["x-cache"], "miss",
        "another encoding, another entry"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let encoding = first.headers["content-encoding"]
        .to_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let hit = request(&app, get_with(PAGE, &browser)).await;
        assert_eq!(hit.headers["x-cache"], "hit");
        assert_eq!(hit.headers["content-encoding"], encoding.as_str());
        assert_eq!(hit.headers["vary"], first.headers["vary"]);
        assert_eq!(hit.headers["etag"], plain.headers["etag"]);
        assert_eq!(hit.bytes, first.bytes);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "hits do not reach the store"
    );

    let gzip = [("accept-encoding", "gzip")];
    let gzipped = request(&app, get_with(PAGE, &gzip)).await;
    assert_eq!(gzipped.headers["content-encoding"], "gzip");
    let again = request(&app, get_with(PAGE, &gzip)).await;
    assert_eq!(again.headers["x-cache"], "hit");
    assert_eq!(again.headers["content-encoding"], "gzip");
    let text = gunzip(&again.bytes);
    assert_eq!(without_stamp(&text), without_stamp(&plain.bytes));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
