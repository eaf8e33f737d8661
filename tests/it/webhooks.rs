//! Webhooks (issue 30): changes POSTed to a receiver on loopback, as the server's own HTTP
//! client sends them. The receiver here answers 500 to the first POST, so the retry is seen; it
//! checks the signature with its own HMAC-SHA256 over `<timestamp>.<body>`; and a robot-format
//! webhook with a two-second digest gets a burst of edits in at most two messages.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::{app, AppState};
use etown_atlas::notify::{self, WebhookConfig};
use etown_atlas::store::FeatureStore;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};

use crate::common::*;

/// What the receiver got: path, headers, body.
type Received = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let record = |path: &'static str, fail_first: bool| {
        move |State(got): State<Received>, headers: HeaderMap, body: Bytes| async move {
            let mut g = got.lock().unwrap();
            let first = !g.iter().any(|(p, _, _)| p == path);
            g.push((path.to_owned(), headers, body));
            if fail_first && first {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
    };
    let router = Router::new()
        .route("/hook", post(record("/hook", true)))
        .route("/robot", post(record("/robot", false)))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), got)
}

fn hook(url: String) -> WebhookConfig {
    WebhookConfig {
        url,
        collections: None,
        events: None,
        format: None,
        digest_s: None,
        max_per_minute: None,
        secret: None,
        secret_env: None,
        retries: None,
    }
}

async fn wait_for(got: &Received, path: &str, n: usize, limit: Duration) {
    let start = Instant::now();
    while got
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .count()
        < n
    {
        assert!(
            start.elapsed() < limit,
            "{path}: {n} POSTs within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_posted_signed_retried_after_a_500_and_digested_for_robots() {
    let (base, got) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let token = editor_token(&store, "notifier");
    let store: Arc<dyn FeatureStore> = Arc::new(store);
    let secret = "a-test-key-not-a-real-one";
    let programs = WebhookConfig {
        secret: Some(secret.into()),
        retries: Some(3),
        events: Some(vec!["update".into()]),
        ..hook(format!("{base}/hook"))
    };
    let robot = WebhookConfig {
        format: Some("wecom".into()),
        digest_s: Some(2),
        ..hook(format!("{base}/robot?key=robot-key"))
    };
    // A webhook that cannot be used is refused when it starts.
    let bad = hook("ftp://127.0.0.1/x".into());
    assert!(notify::start(Arc::clone(&store), vec![bad], notify::http_post()).is_err());
    notify::start(
        Arc::clone(&store),
        vec![programs, robot],
        notify::http_post(),
    )
    .unwrap();
    let site = app(AppState::new(Arc::clone(&store), ServerConfig::default()));
    let edit = |id: &'static str, v: i64| {
        let site = site.clone();
        let token = token.clone();
        async move {
            let url = format!("/collections/spatial-carriers/items/{id}");
            let etag = get(&site, &url).await.headers["etag"].clone();
            let mut req = axum::http::Request::patch(&url)
                .header("host", "atlas.test")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/merge-patch+json")
                .body(axum::body::Body::from(
                    json!({"properties": {"available_floor_area_m2": v}}).to_string(),
                ))
                .unwrap();
            req.headers_mut().insert("if-match", etag);
            let r = request(&site, req).await;
            assert_eq!(r.status, 200);
        }
    };

    edit("carrier-01", 1234).await;
    // The first POST is answered 500; the same change comes again about a second later.
    wait_for(&got, "/hook", 2, Duration::from_secs(10)).await;
    let posts: Vec<(HeaderMap, Bytes)> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/hook")
        .map(|(_, h, b)| (h.clone(), b.clone()))
        .collect();
    for (headers, body) in &posts {
        let doc: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(doc["changes"][0]["featureId"], "carrier-01");
        assert_eq!(doc["changes"][0]["operation"], "update");
        assert_eq!(doc["changes"][0]["principal"], "notifier");
        assert!(
            doc["changes"][0].get("after").is_none(),
            "the feature stays in the log"
        );
        // The signature, recomputed here.
        let ts = headers["x-atlas-timestamp"].to_str().unwrap();
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            headers["x-atlas-signature"].to_str().unwrap(),
            format!("sha256={want}")
        );
        assert_eq!(headers["content-type"], "application/json");
    }

    // A burst of five edits: the robot, digesting every 2 s, gets them in at most two messages
    // (the first change at once, the rest together), each a WeCom Markdown message.
    let burst = [
        "carrier-02",
        "carrier-03",
        "carrier-04",
        "carrier-05",
        "carrier-06",
    ];
    for (i, id) in burst.iter().enumerate() {
        edit(id, 100 + i as i64).await;
    }
    let start = Instant::now();
    let mut seen = String::new();
    while !burst.iter().all(|id| seen.contains(id)) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "every change reached the robot: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == "/robot")
            .map(|(_, _, b)| {
                let doc: Value = serde_json::from_slice(b).unwrap();
                assert_eq!(doc["msgtype"], "markdown");
                doc["markdown"]["content"].as_str().unwrap().to_owned()
            })
            .collect();
    }
    let robot_posts = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/robot")
        .count();
    // carrier-01's change came first (its own message), then the burst in one or two.
    assert!(
        robot_posts <= 3,
        "a digest, not a message per change: {robot_posts}"
    );
    assert!(seen.contains("更新 updated"), "{seen}");
    // The programs' webhook (no digest) got every change too.
    let start = Instant::now();
    loop {
        let ids: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == "/hook")
            .flat_map(|(_, _, b)| {
                let doc: Value = serde_json::from_slice(b).unwrap();
                doc["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["featureId"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        if burst.iter().all(|id| ids.iter().any(|x| x == id)) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{ids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
