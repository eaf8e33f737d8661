//! The write path's bounds (issue 25): a retried create is one feature (`Idempotency-Key`),
//! an edit answered 503 changed nothing, a body is not read before its token is checked,
//! geometries, properties and ids have limits that refuse and change nothing, preconditions
//! compare versions exactly, history comes in pages, and the state files are private.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::{app, AppState};
use etown_atlas::ingest::LoadOptions;
use etown_atlas::record::tokens;
use etown_atlas::record::NewToken;
use etown_atlas::sqlite::Journal;
use serde_json::{json, Value};

use crate::common::*;

const CARRIERS: &str = "/collections/spatial-carriers/items";

fn make_token(dir: &std::path::Path, name: &str) -> String {
    let mut j = Journal::open(dir).unwrap();
    tokens::create(
        &mut j,
        &NewToken {
            name: name.into(),
            role: "editor".into(),
            collections: None,
            scopes: Default::default(),
            expires_at: None,
        },
        "2026-12-01T00:00:00Z",
    )
    .unwrap()
    .0
}

/// The app over `data` (the shipped layers when `None`) with the state in `state`.
fn open(
    data: Option<&std::path::Path>,
    state: &std::path::Path,
    config: ServerConfig,
) -> axum::Router {
    let catalog = match data {
        Some(d) => catalog_for(d, LoadOptions::default()),
        None => shipped_catalog(),
    };
    let (store, _) = etown_atlas::sqlite::open_store(catalog, state, &[]).unwrap();
    app(AppState::new(Arc::new(store), config))
}

fn send(method: &str, uri: &str, headers: &[(&str, &str)], body: Option<String>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "atlas.test");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.map_or_else(Body::empty, Body::from)).unwrap()
}

fn carrier(x: f64, y: f64, name: &str) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.002, y], [x + 0.002, y + 0.0015], [x, y + 0.0015], [x, y]]]},
        "properties": {"name_zh": "测试载体", "name_en": name, "industry": "future_health", "building_type": "laboratory",
        "status": "planned", "floor_area_m2": 20000, "available_floor_area_m2": 5000, "delivery_date": "2027-06-30",
        "clear_height_m": 8.5, "floor_load_kn_m2": 10.0, "power_kva": 2000, "schematic": true, "source": "test"}})
}

/// How many carriers are named `name` (a count the server makes from its index).
async fn named(app: &axum::Router, name: &str) -> u64 {
    let uri = format!(
        "{CARRIERS}?limit=1&filter={}",
        urlencode(&format!("name_en = '{name}'"))
    );
    get(app, &uri).await.json()["numberMatched"]
        .as_u64()
        .unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_create_retried_with_its_idempotency_key_is_one_feature_even_after_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let alice = format!("Bearer {}", make_token(state.path(), "alice"));
    let bob = format!("Bearer {}", make_token(state.path(), "bob"));
    let body = carrier(116.51, 39.79, "Idempotent carrier").to_string();
    let post = |auth: &str, key: &str, body: &str| {
        send(
            "POST",
            CARRIERS,
            &[
                ("content-type", "application/geo+json"),
                ("authorization", auth),
                ("idempotency-key", key),
            ],
            Some(body.to_owned()),
        )
    };
    let first_id;
    {
        let app = open(None, state.path(), ServerConfig::default());
        let first = request(&app, post(&alice, "order-7f3a", &body)).await;
        assert_eq!(first.status, 201);
        first_id = first.json()["id"].clone();
        let again = request(&app, post(&alice, "order-7f3a", &body)).await;
        assert_eq!(again.status, 201, "a retry is answered as the first was");
        assert_eq!(again.json()["id"], first_id);
        assert_eq!(again.headers["location"], first.headers["location"]);
        assert_eq!(named(&app, "Idempotent carrier").await, 1);
        // The same key with another body is a client's mistake, not a retry.
        let other = carrier(116.52, 39.79, "Another carrier").to_string();
        let r = request(&app, post(&alice, "order-7f3a", &other)).await;
        assert_eq!(r.problem(422)["code"], "idempotency_key_reused");
        assert_eq!(named(&app, "Another carrier").await, 0);
        // Another principal's key of the same text is another request.
        let r = request(&app, post(&bob, "order-7f3a", &body)).await;
        assert_eq!(r.status, 201);
        assert_ne!(r.json()["id"], first_id);
        assert_eq!(named(&app, "Idempotent carrier").await, 2);
        // A key that is not a token of visible ASCII is refused before anything is stored.
        let r = request(&app, post(&alice, &"k".repeat(256), &body)).await;
        assert_eq!(r.problem(400)["parameter"], "Idempotency-Key");
    }
    // After a restart (as after a crash), the retry still finds the first create.
    let app = open(None, state.path(), ServerConfig::default());
    let r = request(&app, post(&alice, "order-7f3a", &body)).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["id"], first_id);
    assert_eq!(named(&app, "Idempotent carrier").await, 2);
}

#[tokio::test]
async fn an_edit_answered_503_changed_nothing() {
    let state = tempfile::tempdir().unwrap();
    let auth = format!("Bearer {}", make_token(state.path(), "alice"));
    // A timeout so short that many edits give up while queued behind the others.
    let config = ServerConfig {
        request_timeout: Duration::from_millis(2),
        ..ServerConfig::default()
    };
    let app = open(None, state.path(), config);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let app = app.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("Deadline carrier {i}");
            let body = carrier(116.5 + 0.003 * f64::from(i), 39.7, &name).to_string();
            let r = request(
                &app,
                send(
                    "POST",
                    CARRIERS,
                    &[
                        ("content-type", "application/geo+json"),
                        ("authorization", &auth),
                    ],
                    Some(body),
                ),
            )
            .await;
            (name, r.status)
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    // Read back with an app that has time to answer.
    let reader = {
        drop(app);
        tokio::time::sleep(Duration::from_millis(200)).await;
        open(None, state.path(), ServerConfig::default())
    };
    let mut refused = 0;
    for (name, status) in &outcomes {
        let n = named(&reader, name).await;
        match status.as_u16() {
            201 => assert_eq!(n, 1, "{name} was acknowledged"),
            503 => {
                refused += 1;
                assert_eq!(n, 0, "{name} was answered 503 but stored");
            }
            other => panic!("{name}: unexpected {other}"),
        }
    }
    assert!(
        refused > 0,
        "the timeout never fired: the test showed nothing"
    );
}

#[tokio::test]
async fn a_body_is_not_read_before_its_token_is_checked() {
    let state = tempfile::tempdir().unwrap();
    let app = open(None, state.path(), ServerConfig::default());
    let polled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&polled);
    let stream = futures_util::stream::once(async move {
        flag.store(true, Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(
            carrier(116.5, 39.8, "x").to_string(),
        ))
    });
    let req = Request::builder()
        .method("POST")
        .uri(CARRIERS)
        .header("host", "atlas.test")
        .header("content-type", "application/geo+json")
        .header("authorization", "Bearer not-a-token")
        .body(Body::from_stream(stream))
        .unwrap();
    let r = request(&app, req).await;
    assert_eq!(r.problem(401)["code"], "unauthorized");
    assert!(
        !polled.load(Ordering::SeqCst),
        "the body was read for a request refused by its token"
    );
}

#[tokio::test]
async fn oversized_geometries_properties_and_positions_are_refused_and_change_nothing() {
    let state = tempfile::tempdir().unwrap();
    let auth = format!("Bearer {}", make_token(state.path(), "alice"));
    let app = open(None, state.path(), ServerConfig::default());
    let path = format!("{CARRIERS}/carrier-12");
    let etag = get(&app, &path).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let patch = |body: Value, crs: Option<&str>| {
        let mut h = vec![
            ("content-type", "application/merge-patch+json"),
            ("authorization", auth.as_str()),
            ("if-match", etag.as_str()),
        ];
        if let Some(c) = crs {
            h.push(("content-crs", c));
        }
        send("PATCH", &path, &h, Some(body.to_string()))
    };
    // A circle of MAX_EDIT_VERTICES + 1 positions.
    let n = etown_atlas::ingest::MAX_EDIT_VERTICES;
    let ring: Vec<[f64; 2]> = (0..=n)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            [116.5 + 0.01 * a.cos(), 39.8 + 0.01 * a.sin()]
        })
        .collect();
    assert_eq!(ring.len(), n + 1);
    let r = request(
        &app,
        patch(
            json!({"geometry": {"type": "Polygon", "coordinates": [ring]}}),
            None,
        ),
    )
    .await;
    let p = r.problem(400);
    assert!(
        p["detail"].as_str().unwrap().contains(&n.to_string()),
        "{p}"
    );
    // Web Mercator past its square's edge (it used to be clamped to the pole).
    let far = json!({"geometry": {"type": "Point", "coordinates": [12_969_000.0, 1e308]}});
    let r = request(
        &app,
        patch(far, Some("<http://www.opengis.net/def/crs/EPSG/0/3857>")),
    )
    .await;
    assert!(r.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains("20037508"));
    // A 70 KB property.
    let big = json!({"properties": {"source": "x".repeat(70 * 1024)}});
    let r = request(&app, patch(big, None)).await;
    assert_eq!(r.problem(400)["parameter"], "source");
    // Nothing changed: the version is the one read first.
    assert_eq!(
        get(&app, &path).await.headers["etag"].to_str().unwrap(),
        etag
    );
}

#[tokio::test]
async fn if_unmodified_since_treats_a_change_within_the_named_second_as_unseen() {
    let state = tempfile::tempdir().unwrap();
    let auth = format!("Bearer {}", make_token(state.path(), "alice"));
    let app = open(None, state.path(), ServerConfig::default());
    let path = format!("{CARRIERS}/carrier-12");
    let etag = get(&app, &path).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let h = [
        ("content-type", "application/merge-patch+json"),
        ("authorization", auth.as_str()),
        ("if-match", etag.as_str()),
    ];
    let r = request(
        &app,
        send(
            "PATCH",
            &path,
            &h,
            Some(json!({"properties": {"available_floor_area_m2": 1111}}).to_string()),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let modified = r.headers["last-modified"].to_str().unwrap().to_owned();
    let stamp = r.json()["properties"]["updated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = chrono::DateTime::parse_from_rfc3339(&stamp).unwrap();
    // The header names the second the change was made in: the change may be unseen.
    let with = |since: &str| {
        send(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", auth.as_str()),
                ("if-unmodified-since", since),
            ],
            Some(json!({"properties": {"available_floor_area_m2": 2222}}).to_string()),
        )
    };
    let r = request(&app, with(&modified)).await;
    assert_eq!(r.problem(412)["code"], "precondition_failed");
    assert_eq!(
        get(&app, &path).await.json()["properties"]["available_floor_area_m2"],
        1111
    );
    // The next second is after the change.
    let next = (t + chrono::Duration::seconds(1))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let r = request(&app, with(&next)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn integer_ids_stay_within_2_to_the_53_and_keep_their_kind_across_a_restart() {
    let data = synth_dir(50);
    let state = tempfile::tempdir().unwrap();
    let auth = format!("Bearer {}", make_token(state.path(), "alice"));
    let post = |body: Value| {
        send(
            "POST",
            CARRIERS,
            &[
                ("content-type", "application/geo+json"),
                ("authorization", auth.as_str()),
            ],
            Some(body.to_string()),
        )
    };
    let with_id = |id: Value| {
        let mut f = carrier(116.5, 39.8, "Id carrier");
        f["id"] = id;
        f
    };
    {
        let app = open(Some(data.path()), state.path(), ServerConfig::default());
        let r = request(&app, post(with_id(json!(i64::MAX)))).await;
        assert_eq!(r.problem(400)["code"], "invalid_feature");
        let top = (1i64 << 53) - 1;
        let r = request(&app, post(with_id(json!(top)))).await;
        assert_eq!(r.status, 201);
        // max + 1 would leave the safe range: the next id is the lowest unused one (the
        // synthetic carriers are 1 to 50).
        let r = request(&app, post(carrier(116.6, 39.8, "Next carrier"))).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["id"], 51);
        // An id-less create keeps working after deleting both.
        for id in [top, 51] {
            let p = format!("{CARRIERS}/{id}");
            let etag = get(&app, &p).await.headers["etag"]
                .to_str()
                .unwrap()
                .to_owned();
            let r = request(
                &app,
                send(
                    "DELETE",
                    &p,
                    &[
                        ("authorization", auth.as_str()),
                        ("if-match", etag.as_str()),
                    ],
                    None,
                ),
            )
            .await;
            assert_eq!(r.status, 204);
        }
        let r = request(&app, post(carrier(116.7, 39.8, "Third carrier"))).await;
        assert_eq!(r.status, 201);
    }
    // After a restart a deleted feature has no slot left, but its id stays used: the change
    // log remembers the largest, and the next id-less create stays clear of it.
    let state3 = tempfile::tempdir().unwrap();
    let auth3 = format!("Bearer {}", make_token(state3.path(), "alice"));
    let post3 = |body: Value| {
        send(
            "POST",
            CARRIERS,
            &[
                ("content-type", "application/geo+json"),
                ("authorization", auth3.as_str()),
            ],
            Some(body.to_string()),
        )
    };
    {
        let app = open(Some(data.path()), state3.path(), ServerConfig::default());
        let r = request(&app, post3(carrier(116.6, 39.8, "Short-lived"))).await;
        assert_eq!(r.json()["id"], 51);
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        let r = request(
            &app,
            send(
                "DELETE",
                &format!("{CARRIERS}/51"),
                &[
                    ("authorization", auth3.as_str()),
                    ("if-match", etag.as_str()),
                ],
                None,
            ),
        )
        .await;
        assert_eq!(r.status, 204);
    }
    let app = open(Some(data.path()), state3.path(), ServerConfig::default());
    let r = request(&app, post3(carrier(116.8, 39.8, "After the restart"))).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["id"], 52, "a deleted feature's id came back");
    // A string id layer given a number keeps the number after a restart, with its ETag.
    let state2 = tempfile::tempdir().unwrap();
    let auth2 = format!("Bearer {}", make_token(state2.path(), "alice"));
    let etag = {
        let app = open(None, state2.path(), ServerConfig::default());
        let r = request(
            &app,
            send(
                "POST",
                CARRIERS,
                &[
                    ("content-type", "application/geo+json"),
                    ("authorization", auth2.as_str()),
                ],
                Some(with_id(json!(42)).to_string()),
            ),
        )
        .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["id"], 42);
        r.headers["etag"].to_str().unwrap().to_owned()
    };
    let app = open(None, state2.path(), ServerConfig::default());
    let r = get(&app, &format!("{CARRIERS}/42")).await;
    assert_eq!(r.json()["id"], 42);
    assert_eq!(r.headers["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn history_comes_in_pages_that_link_on() {
    let state = tempfile::tempdir().unwrap();
    let auth = format!("Bearer {}", make_token(state.path(), "alice"));
    let app = open(None, state.path(), ServerConfig::default());
    let path = format!("{CARRIERS}/carrier-12");
    for v in [101, 102, 103] {
        let etag = get(&app, &path).await.headers["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        let r = request(
            &app,
            send(
                "PATCH",
                &path,
                &[
                    ("content-type", "application/merge-patch+json"),
                    ("authorization", auth.as_str()),
                    ("if-match", etag.as_str()),
                ],
                Some(json!({"properties": {"available_floor_area_m2": v}}).to_string()),
            ),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let read = |uri: String| send("GET", &uri, &[("authorization", auth.as_str())], None);
    let page = request(&app, read(format!("{path}/history?limit=2")))
        .await
        .json();
    let values: Vec<&Value> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["after"]["properties"]["available_floor_area_m2"])
        .collect();
    assert_eq!(values, [&json!(101), &json!(102)]);
    let next = page["links"][0]["href"].as_str().unwrap();
    let next = next.split("atlas.test").nth(1).unwrap().to_owned();
    let rest = request(&app, read(next)).await.json();
    let values: Vec<&Value> = rest["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["after"]["properties"]["available_floor_area_m2"])
        .collect();
    assert_eq!(values, [&json!(103)]);
    let r = request(&app, read(format!("{path}/history?limit=1001"))).await;
    assert_eq!(r.problem(400)["parameter"], "limit");
}

#[tokio::test]
async fn metrics_name_unknown_methods_other_and_the_bearer_scheme_is_case_insensitive() {
    let state = tempfile::tempdir().unwrap();
    let token = make_token(state.path(), "alice");
    let app = open(None, state.path(), ServerConfig::default());
    for i in 0..5 {
        let method = format!("X{}", "Q".repeat(100 + i));
        let _ = request(&app, send(&method, "/collections", &[], None)).await;
    }
    let text = String::from_utf8(get(&app, "/metrics").await.bytes.to_vec()).unwrap();
    assert!(!text.contains("QQQQ"), "a method token became a label");
    assert!(text.contains("method=\"other\""));
    // RFC 9110: the scheme is case-insensitive.
    let r = request(
        &app,
        send(
            "GET",
            "/changes",
            &[("authorization", &format!("BEARER {token}"))],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[test]
fn the_state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), state.path(), &[]).unwrap();
    for name in ["state.sqlite", "server.lock"] {
        let mode = std::fs::metadata(state.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    drop(store);
}
