//! Edits (OGC API - Features Part 4): every answer an edit can get, that a refused edit changes
//! nothing, that an acknowledged one is in every read at once and after a restart, and who may
//! make them. Expected values come from the request bodies and independent computations.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use etown_atlas::http::{app, AppState};
use etown_atlas::record::tokens::{self, TokenBook};
use etown_atlas::record::NewToken;
use etown_atlas::sqlite::Journal;
use serde_json::{json, Value};

use crate::common::*;

/// A state directory with tokens, and the app over the shipped data with it.
struct Editing {
    dir: tempfile::TempDir,
    app: axum::Router,
    editor: String,
    reader: String,
    parks_only: String,
}

fn token(
    dir: &std::path::Path,
    name: &str,
    role: &str,
    collections: Option<Vec<String>>,
    expires: Option<&str>,
) -> String {
    let mut j = Journal::open(dir).unwrap();
    tokens::create(
        &mut j,
        &NewToken {
            name: name.into(),
            role: role.into(),
            collections,
            scopes: Default::default(),
            expires_at: expires.map(str::to_owned),
        },
        "2026-11-30T00:00:00Z",
    )
    .unwrap()
    .0
}

fn open_app(dir: &std::path::Path) -> axum::Router {
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir, &[]).unwrap();
    app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    ))
}

fn editing() -> Editing {
    let dir = tempfile::tempdir().unwrap();
    let editor = token(dir.path(), "alice", "editor", None, None);
    let reader = token(dir.path(), "rita", "reader", None, None);
    let parks_only = token(
        dir.path(),
        "pat",
        "editor",
        Some(vec!["parks".into()]),
        None,
    );
    let app = open_app(dir.path());
    Editing {
        dir,
        app,
        editor,
        reader,
        parks_only,
    }
}

fn req(method: &str, uri: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "atlas.test");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
        .unwrap()
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn square(x: f64, y: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.002, y], [x + 0.002, y + 0.0015], [x, y + 0.0015], [x, y]]]})
}

fn carrier(x: f64, y: f64, available: i64) -> Value {
    json!({"type": "Feature", "geometry": square(x, y), "properties": {
        "name_zh": "测试载体", "name_en": "Test carrier", "industry": "future_health", "building_type": "laboratory",
        "status": "planned", "floor_area_m2": 20000, "available_floor_area_m2": available, "delivery_date": "2027-06-30",
        "clear_height_m": 8.5, "floor_load_kn_m2": 10.0, "power_kva": 2000, "schematic": true, "source": "test"}})
}

async fn etag_of(app: &axum::Router, path: &str) -> String {
    let r = get(app, path).await;
    assert_eq!(r.status, 200, "{path}");
    r.headers["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_replace_update_delete_answer_as_part_4_says() {
    let e = editing();
    let app = &e.app;
    let auth = bearer(&e.editor);
    let gj = ("content-type", "application/geo+json");
    // Create: 201, Location, ETag; the feature reads back as sent, with derived properties.
    let body = carrier(116.52, 39.78, 3000);
    let r = request(
        app,
        req(
            "POST",
            "/collections/spatial-carriers/items",
            &[gj, ("authorization", &auth)],
            Some(&body),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let path = location
        .strip_prefix("http://atlas.test")
        .unwrap()
        .to_owned();
    let created = r.json();
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let got = get(app, &path).await;
    assert_eq!(
        got.headers["etag"].to_str().unwrap(),
        etag,
        "GET gives the ETag the create gave"
    );
    let f = got.json();
    assert_eq!(f["id"], created["id"]);
    assert_eq!(f["properties"]["available_floor_area_m2"], 3000);
    assert_eq!(f["properties"]["industry"], "future_health");
    // Derived: the geodesic area, independently (an equal-area projection), and the zones.
    let ring: Vec<(f64, f64)> = body["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let area = f["properties"]["geodesic_area_m2"].as_f64().unwrap();
    assert!((area - cea_area_m2(&ring)).abs() / area < 1e-3, "{area}");
    assert!(f["properties"]["zones"]
        .as_array()
        .unwrap()
        .contains(&json!("new-town")));
    assert!(f["properties"]["updated_at"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert!(got.headers.contains_key("last-modified"));

    // Replace with If-Match: 200; an id in the body is ignored (the URL's wins).
    let mut replacement = carrier(116.53, 39.781, 5000);
    replacement["id"] = json!("something-else");
    let r = request(
        app,
        req(
            "PUT",
            &path,
            &[gj, ("authorization", &auth), ("if-match", &etag)],
            Some(&replacement),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let replaced = r.json();
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["properties"]["available_floor_area_m2"], 5000);
    assert_eq!(replaced["geometry"], replacement["geometry"]);
    let etag2 = r.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag2, etag);

    // Update: a merge patch; null removes a property (it reads null after).
    let patch = json!({"properties": {"available_floor_area_m2": 4200, "power_kva": null}});
    let r = request(
        app,
        req(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", &auth),
                ("if-match", &etag2),
            ],
            Some(&patch),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let updated = r.json();
    assert_eq!(updated["properties"]["available_floor_area_m2"], 4200);
    assert_eq!(updated["properties"]["power_kva"], Value::Null);
    assert_eq!(
        updated["properties"]["clear_height_m"], 8.5,
        "the rest is kept"
    );
    assert_eq!(updated["geometry"], replacement["geometry"]);
    let etag3 = r.headers["etag"].to_str().unwrap().to_owned();

    // A stale ETag: 412, with the current ETag; nothing changes.
    let r = request(
        app,
        req(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", &auth),
                ("if-match", &etag),
            ],
            Some(&patch),
        ),
    )
    .await;
    assert_eq!(r.problem(412)["code"], "precondition_failed");
    assert_eq!(r.headers["etag"].to_str().unwrap(), etag3);
    // If-Unmodified-Since: before the edit, 412; after it, accepted.
    let r = request(
        app,
        req(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", &auth),
                ("if-unmodified-since", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ],
            Some(&patch),
        ),
    )
    .await;
    r.problem(412);
    let r = request(
        app,
        req(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", &auth),
                ("if-unmodified-since", "Fri, 01 Jan 2100 00:00:00 GMT"),
            ],
            Some(&json!({"properties": {"status": "operating"}})),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let etag4 = r.headers["etag"].to_str().unwrap().to_owned();

    // Delete: 204, then 404.
    let r = request(
        app,
        req(
            "DELETE",
            &path,
            &[("authorization", &auth), ("if-match", &etag4)],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 204);
    get(app, &path).await.problem(404);

    // The history, oldest first, says who did what, with before and after.
    let h = request(
        app,
        req(
            "GET",
            &format!("{path}/history"),
            &[("authorization", &bearer(&e.reader))],
            None,
        ),
    )
    .await
    .json();
    let ops: Vec<&str> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create", "replace", "update", "update", "delete"]);
    assert!(h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["principal"] == "alice"));
    assert_eq!(
        h["changes"][2]["before"]["properties"]["available_floor_area_m2"],
        5000
    );
    assert_eq!(
        h["changes"][2]["after"]["properties"]["available_floor_area_m2"],
        4200
    );
    assert_eq!(h["changes"][4]["after"], Value::Null);
    // Without a token, no history.
    get(app, &format!("{path}/history")).await.problem(401);
    drop(e.dir);
}

#[tokio::test]
async fn every_refusal_has_its_status_and_changes_nothing() {
    let e = editing();
    let app = &e.app;
    let auth = bearer(&e.editor);
    let path = "/collections/spatial-carriers/items/carrier-05";
    let etag = etag_of(app, path).await;
    let before = get(app, path).await.bytes;
    let gj = ("content-type", "application/geo+json");
    let mp = ("content-type", "application/merge-patch+json");
    let good = carrier(116.52, 39.78, 1000);
    let with = |mut f: Value, k: &str, v: Value| {
        f["properties"][k] = v;
        f
    };
    let bowtie = json!({"type": "Polygon", "coordinates": [[[116.5, 39.78], [116.51, 39.79], [116.51, 39.78], [116.5, 39.79], [116.5, 39.78]]]});
    let geometry = |g: Value| {
        let mut f = good.clone();
        f["geometry"] = g;
        f
    };
    let cases: Vec<Case> = vec![
        // (method, path, headers, body, status, the parameter or property named)
        (
            "PUT",
            path,
            vec![gj_h(gj), auth_h(&auth)],
            Some(good.clone()),
            428,
            None,
        ),
        (
            "PATCH",
            path,
            vec![gj_h(mp), auth_h(&auth)],
            Some(json!({"properties": {"status": "planned"}})),
            428,
            None,
        ),
        ("DELETE", path, vec![auth_h(&auth)], None, 428, None),
        (
            "PUT",
            path,
            vec![gj_h(gj), ("if-match", etag.clone())],
            Some(good.clone()),
            401,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                ("authorization", "Bearer eta_not-a-token".into()),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            401,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                ("authorization", "Basic YWxpY2U6cGFzcw==".into()),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            401,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                ("authorization", bearer(&e.reader)),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            403,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                ("authorization", bearer(&e.parks_only)),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            403,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                ("content-type", "text/plain".into()),
                auth_h(&auth),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            415,
            None,
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                ("content-encoding", "gzip".into()),
                auth_h(&auth),
                ("if-match", etag.clone()),
            ],
            Some(good.clone()),
            415,
            None,
        ),
        (
            "PUT",
            "/collections/spatial-carriers/items/nope",
            vec![gj_h(gj), auth_h(&auth), ("if-match", etag.clone())],
            Some(good.clone()),
            404,
            None,
        ),
        (
            "PUT",
            "/collections/nope/items/x",
            vec![gj_h(gj), auth_h(&auth), ("if-match", etag.clone())],
            Some(good.clone()),
            404,
            None,
        ),
        (
            "PUT",
            "/collections/ftz-etown-cluster/items/ftz-etown-cluster",
            vec![gj_h(gj), auth_h(&auth), ("if-match", etag.clone())],
            Some(good.clone()),
            405,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(json!({"type": "FeatureCollection", "features": []})),
            400,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(json!({"type": "Feature", "geometry": null, "properties": {}})),
            400,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(geometry(bowtie)),
            400,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(geometry(square(190.0, 39.0))),
            400,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(geometry(
                json!({"type": "Point", "coordinates": [116.5, 39.8]}),
            )),
            400,
            None,
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "colour", json!("red"))),
            400,
            Some("colour"),
        ),
        // Properties sent at the top level of a patch would change nothing: refused, named.
        (
            "PATCH",
            path,
            vec![gj_h(mp), auth_h(&auth), ("if-match", etag.clone())],
            Some(json!({"available_floor_area_m2": 10})),
            400,
            Some("available_floor_area_m2"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some({
                let mut f = good.clone();
                f["status"] = json!("let");
                f
            }),
            400,
            Some("status"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "geodesic_area_m2", json!(5))),
            400,
            Some("geodesic_area_m2"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "zones", json!(["x"]))),
            400,
            Some("zones"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(
                good.clone(),
                "updated_at",
                json!("2020-01-01T00:00:00Z"),
            )),
            400,
            Some("updated_at"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "available_floor_area_m2", json!("lots"))),
            400,
            Some("available_floor_area_m2"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "power_kva", json!(12.5))),
            400,
            Some("power_kva"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "delivery_date", json!("next year"))),
            400,
            Some("delivery_date"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "industry", json!("future_fishing"))),
            400,
            Some("industry"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(with(good.clone(), "name_en", json!(["a"]))),
            400,
            Some("name_en"),
        ),
        (
            "POST",
            "/collections/spatial-carriers/items",
            vec![gj_h(gj), auth_h(&auth)],
            Some(
                json!({"type": "Feature", "id": "carrier-01", "geometry": good["geometry"], "properties": {}}),
            ),
            409,
            None,
        ),
        (
            "PATCH",
            path,
            vec![gj_h(mp), auth_h(&auth), ("if-match", etag.clone())],
            Some(json!({"id": "carrier-99"})),
            400,
            None,
        ),
        (
            "PATCH",
            path,
            vec![gj_h(mp), auth_h(&auth), ("if-match", "W/\"weak\"".into())],
            Some(json!({"properties": {}})),
            400,
            None,
        ),
        (
            "PATCH",
            path,
            vec![gj_h(mp), auth_h(&auth), ("if-match", etag.clone())],
            Some(json!({"properties": {"clear_height_m": "tall"}})),
            400,
            Some("clear_height_m"),
        ),
        (
            "PUT",
            path,
            vec![
                gj_h(gj),
                auth_h(&auth),
                ("if-match", etag.clone()),
                ("content-crs", "<http://example.org/crs/1>".into()),
            ],
            Some(good.clone()),
            400,
            Some("Content-Crs"),
        ),
    ];
    for (i, (method, p, headers, body, status, names)) in cases.into_iter().enumerate() {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = request(app, req(method, p, &hs, body.as_ref())).await;
        let problem = r.problem(status);
        if let Some(n) = names {
            assert_eq!(problem["parameter"], n, "case {i}: {problem}");
        }
        if status == 401 {
            assert!(
                r.headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer"),
                "case {i}"
            );
        }
        if status == 405 {
            // RFC 9110: a 405 lists what the resource does take.
            assert_eq!(allow(&r), "GET, HEAD, OPTIONS", "case {i}");
        }
    }
    // A JSON object naming a member twice is refused too.
    let raw = r#"{"type":"Feature","type":"Feature","geometry":null,"properties":{}}"#;
    let r = request(
        app,
        Request::post("/collections/spatial-carriers/items")
            .header("content-type", "application/geo+json")
            .header("authorization", &auth)
            .body(Body::from(raw))
            .unwrap(),
    )
    .await;
    r.problem(400);
    // Nothing changed: the feature, its ETag, the collection's size, the change feed.
    assert_eq!(get(app, path).await.bytes, before);
    assert_eq!(etag_of(app, path).await, etag);
    assert_eq!(
        get(app, "/collections/spatial-carriers").await.json()["numberOfFeatures"],
        58
    );
    let feed = request(
        app,
        req(
            "GET",
            "/changes",
            &[("authorization", &bearer(&e.reader))],
            None,
        ),
    )
    .await
    .json();
    assert_eq!(feed["changes"].as_array().unwrap().len(), 0);
}

/// (method, path, headers, body, status, the parameter or property the problem names)
type Case<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, String)>,
    Option<Value>,
    u16,
    Option<&'a str>,
);

fn gj_h(h: (&'static str, &'static str)) -> (&'static str, String) {
    (h.0, h.1.to_owned())
}

fn auth_h(a: &str) -> (&'static str, String) {
    ("authorization", a.to_owned())
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let old = token(
        dir.path(),
        "old",
        "editor",
        None,
        Some("2020-01-01T00:00:00Z"),
    );
    let gone = token(dir.path(), "gone", "editor", None, None);
    Journal::open(dir.path())
        .unwrap()
        .revoke("gone", "2026-11-30T00:00:00Z")
        .unwrap();
    let app = open_app(dir.path());
    let etag = etag_of(&app, "/collections/spatial-carriers/items/carrier-05").await;
    for t in [old, gone] {
        let r = request(
            &app,
            req(
                "DELETE",
                "/collections/spatial-carriers/items/carrier-05",
                &[("authorization", &bearer(&t)), ("if-match", &etag)],
                None,
            ),
        )
        .await;
        r.problem(401);
        assert!(r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
}

#[tokio::test]
async fn options_say_which_methods_each_resource_allows() {
    let e = editing();
    let r = request(
        &e.app,
        req("OPTIONS", "/collections/spatial-carriers/items", &[], None),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, POST, OPTIONS");
    let r = request(
        &e.app,
        req(
            "OPTIONS",
            "/collections/spatial-carriers/items/carrier-01",
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
    let r = request(
        &e.app,
        req("OPTIONS", "/collections/new-town/items", &[], None),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, OPTIONS");
    request(
        &e.app,
        req(
            "OPTIONS",
            "/collections/spatial-carriers/items/nope",
            &[],
            None,
        ),
    )
    .await
    .problem(404);
    // A server without a state store edits nothing and says why.
    let read_only = shipped_app();
    let r = request(
        &read_only,
        req("OPTIONS", "/collections/spatial-carriers/items", &[], None),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, OPTIONS");
    let r = request(
        &read_only,
        req(
            "POST",
            "/collections/spatial-carriers/items",
            &[("content-type", "application/geo+json")],
            Some(&carrier(116.5, 39.8, 1)),
        ),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, OPTIONS");
    let p = r.problem(405);
    assert!(p["detail"].as_str().unwrap().contains("--state"));
    // Part 4's classes are claimed only where edits are kept.
    let claims = |app: &axum::Router| {
        let app = app.clone();
        async move {
            get(&app, "/conformance").await.json()["conformsTo"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str().unwrap().contains("ogcapi-features-4"))
        }
    };
    assert!(claims(&e.app).await);
    assert!(!claims(&read_only).await);
    // With CORS configured, a preflight gets CORS headers and a plain OPTIONS still the Allow.
    let config = etown_atlas::config::ServerConfig {
        cors_origins: vec!["https://gis.example.gov.cn".into()],
        ..etown_atlas::config::ServerConfig::default()
    };
    // One server per state directory: a second one is refused, naming the directory.
    let err = etown_atlas::sqlite::open_store(shipped_catalog(), e.dir.path(), &[])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another server"), "{err}");
    let other = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), other.path(), &[]).unwrap();
    let with_cors = app(AppState::new(Arc::new(store), config));
    let r = request(
        &with_cors,
        req("OPTIONS", "/collections/spatial-carriers/items", &[], None),
    )
    .await;
    assert_eq!(allow(&r), "GET, HEAD, POST, OPTIONS");
    let r = request(
        &with_cors,
        req(
            "OPTIONS",
            "/collections/spatial-carriers/items",
            &[
                ("origin", "https://gis.example.gov.cn"),
                ("access-control-request-method", "GET"),
            ],
            None,
        ),
    )
    .await;
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://gis.example.gov.cn"
    );
}

#[tokio::test]
async fn a_geometry_sent_in_cgcs2000_or_web_mercator_is_stored_in_crs84() {
    let e = editing();
    let auth = bearer(&e.editor);
    let want = square(116.6, 39.75);
    let ring = want["coordinates"][0].as_array().unwrap().clone();
    // EPSG:4490 orders latitude first.
    let lat_first: Vec<Value> = ring.iter().map(|c| json!([c[1], c[0]])).collect();
    // EPSG:3857, by the spherical Mercator formulas written out here.
    let merc: Vec<Value> = ring
        .iter()
        .map(|c| {
            let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            let r = 6378137.0;
            json!([
                r * lon.to_radians(),
                r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                    .tan()
                    .ln()
            ])
        })
        .collect();
    for (crs, coords) in [
        ("<http://www.opengis.net/def/crs/EPSG/0/4490>", lat_first),
        ("<http://www.opengis.net/def/crs/EPSG/0/3857>", merc),
    ] {
        let mut f = carrier(0.0, 0.0, 10);
        f["geometry"] = json!({"type": "Polygon", "coordinates": [coords]});
        let r = request(
            &e.app,
            req(
                "POST",
                "/collections/spatial-carriers/items",
                &[
                    ("content-type", "application/geo+json"),
                    ("authorization", &auth),
                    ("content-crs", crs),
                ],
                Some(&f),
            ),
        )
        .await;
        assert_eq!(
            r.status,
            201,
            "{crs}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        let stored = r.json();
        for (a, b) in stored["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .zip(&ring)
        {
            for k in 0..2 {
                assert!(
                    (a[k].as_f64().unwrap() - b[k].as_f64().unwrap()).abs() < 1e-7,
                    "{crs}: {a} vs {b}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_edit_is_in_every_read_at_once_and_after_a_restart() {
    let Editing {
        dir,
        app: server,
        editor,
        ..
    } = editing();
    let app = &server;
    let auth = bearer(&editor);
    let path = "/collections/spatial-carriers/items/carrier-12";
    // Reads that will be asked again after the edit (and may be cached in between).
    let before_items = get(
        app,
        "/collections/spatial-carriers/items?available_floor_area_m2=777777",
    )
    .await
    .json();
    assert_eq!(before_items["numberMatched"], 0);
    let stats_before = get(app, "/collections/spatial-carriers/stats").await.json();
    let f = get(app, path).await.json();
    let etag = etag_of(app, path).await;
    let old = f["properties"]["available_floor_area_m2"].as_f64().unwrap();
    let r = request(app, req("PATCH", path, &[("content-type", "application/merge-patch+json"), ("authorization", &auth), ("if-match", &etag)], Some(&json!({"properties": {"available_floor_area_m2": 777777, "name_en": "Renamed Carrier Zeta"}})))).await;
    assert_eq!(r.status, 200);
    // Items (a repeat of a request made before), a single feature, statistics, names, an export.
    let after_items = get(
        app,
        "/collections/spatial-carriers/items?available_floor_area_m2=777777",
    )
    .await
    .json();
    assert_eq!(after_items["numberMatched"], 1);
    assert_eq!(
        get(app, path).await.json()["properties"]["available_floor_area_m2"],
        777777
    );
    let stats = get(app, "/collections/spatial-carriers/stats").await.json();
    let diff = stats["total"]["sums"]["available_floor_area_m2"]
        .as_f64()
        .unwrap()
        - stats_before["total"]["sums"]["available_floor_area_m2"]
            .as_f64()
            .unwrap();
    assert!((diff - (777777.0 - old)).abs() < 1e-6);
    let found = get(app, "/search?q=Renamed%20Carrier%20Zeta").await.json();
    assert_eq!(found["features"][0]["id"], "carrier-12");
    let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
    let (x, y) = (
        (ring[0][0].as_f64().unwrap() + ring[2][0].as_f64().unwrap()) / 2.0,
        (ring[0][1].as_f64().unwrap() + ring[2][1].as_f64().unwrap()) / 2.0,
    );
    let here = get(app, &format!("/whats-here?lon={x}&lat={y}"))
        .await
        .json();
    assert!(here["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["id"] == "carrier-12" && h["properties"]["available_floor_area_m2"] == 777777));
    let csv = get(
        app,
        "/collections/spatial-carriers/export?f=csv&available_floor_area_m2=777777",
    )
    .await;
    assert!(String::from_utf8_lossy(&csv.bytes).contains("Renamed Carrier Zeta"));
    // A delete leaves every read too.
    let etag = etag_of(app, "/collections/spatial-carriers/items/carrier-13").await;
    let r = request(
        app,
        req(
            "DELETE",
            "/collections/spatial-carriers/items/carrier-13",
            &[("authorization", &auth), ("if-match", &etag)],
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get(app, "/collections/spatial-carriers/items?limit=100")
            .await
            .json()["numberMatched"],
        57
    );
    assert_eq!(
        get(app, "/collections/spatial-carriers/stats").await.json()["total"]["count"],
        57
    );
    assert!(!get(app, "/collections/spatial-carriers/items?limit=100")
        .await
        .json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "carrier-13"));
    // A new server on the same state directory has both edits.
    // The first server stops (releasing the state directory) before the second starts.
    drop(server);
    let again = open_app(dir.path());
    assert_eq!(
        get(&again, path).await.json()["properties"]["available_floor_area_m2"],
        777777
    );
    get(&again, "/collections/spatial-carriers/items/carrier-13")
        .await
        .problem(404);
    assert_eq!(
        get(&again, "/collections/spatial-carriers").await.json()["numberOfFeatures"],
        57
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_all_acknowledged_and_recorded_once() {
    let e = editing();
    let auth = bearer(&e.editor);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (app, auth) = (e.app.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let body = carrier(116.50 + f64::from(i) * 0.003, 39.70, i64::from(i));
            request(
                &app,
                req(
                    "POST",
                    "/collections/spatial-carriers/items",
                    &[
                        ("content-type", "application/geo+json"),
                        ("authorization", &auth),
                    ],
                    Some(&body),
                ),
            )
            .await
            .status
            .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(
        get(&e.app, "/collections/spatial-carriers").await.json()["numberOfFeatures"],
        58 + 32
    );
    let feed = request(
        &e.app,
        req(
            "GET",
            "/changes?limit=1000",
            &[("authorization", &bearer(&e.reader))],
            None,
        ),
    )
    .await
    .json();
    let seqs: Vec<i64> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
    // The feed pages with `since`.
    let next = request(
        &e.app,
        req(
            "GET",
            "/changes?since=30",
            &[("authorization", &bearer(&e.reader))],
            None,
        ),
    )
    .await
    .json();
    assert_eq!(next["changes"].as_array().unwrap().len(), 2);
}

/// OWSLib's Features client creates, replaces and deletes carriers over a real socket (with the
/// token, and the ETag it fetched, in its headers); GDAL's OAPIF driver then reads the result.
#[tokio::test(flavor = "multi_thread")]
async fn owslib_edits_and_gdal_reads_the_changed_collection() {
    let e = editing();
    let addr = serve(e.app.clone()).await;
    let script = r#"
import json, sys, requests
from owslib.ogcapi.features import Features
url, token = sys.argv[1], sys.argv[2]
auth = {"Authorization": "Bearer " + token}
ring = [[116.55, 39.74], [116.553, 39.74], [116.553, 39.742], [116.55, 39.742], [116.55, 39.74]]
def carrier(name, available):
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name_zh": name, "name_en": name, "industry": "future_energy", "status": "planned",
                           "available_floor_area_m2": available, "schematic": True, "source": "OWSLib test"}}
api = Features(url, headers=dict(auth))
assert api.collection_item_create("spatial-carriers", carrier("OWSLib one", 1000))
assert api.collection_item_create("spatial-carriers", carrier("OWSLib two", 2000))
found = api.collection_items("spatial-carriers", name_en="OWSLib one")["features"]
one = found[0]["id"]
two = api.collection_items("spatial-carriers", name_en="OWSLib two")["features"][0]["id"]
etag = requests.get(f"{url}/collections/spatial-carriers/items/{one}").headers["ETag"]
put = Features(url, headers={**auth, "If-Match": etag, "Content-Type": "application/geo+json"})
assert put.collection_item_update("spatial-carriers", one, json.dumps(carrier("OWSLib one", 4321)))
etag = requests.get(f"{url}/collections/spatial-carriers/items/{two}").headers["ETag"]
delete = Features(url, headers={**auth, "If-Match": etag})
assert delete.collection_item_delete("spatial-carriers", two)
print(json.dumps({"one": one, "two": two}))
"#;
    let url = format!("http://{addr}");
    let token = e.editor.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .args(["-c", script, &url, &token])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "OWSLib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (one, two) = (
        ids["one"].as_str().unwrap().to_owned(),
        ids["two"].as_str().unwrap().to_owned(),
    );
    // The API says what OWSLib did.
    let f = get(
        &e.app,
        &format!("/collections/spatial-carriers/items/{one}"),
    )
    .await
    .json();
    assert_eq!(f["properties"]["available_floor_area_m2"], 4321);
    get(
        &e.app,
        &format!("/collections/spatial-carriers/items/{two}"),
    )
    .await
    .problem(404);
    // GDAL reads the changed collection: 59 carriers, the new one with its replaced value.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ogr2ogr")
            .args([
                "-f",
                "GeoJSON",
                "/vsistdout/",
                &format!("OAPIF:http://{addr}/collections/spatial-carriers"),
                "-where",
                "name_en = 'OWSLib one'",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 1);
    assert_eq!(
        fc["features"][0]["properties"]["available_floor_area_m2"],
        4321
    );
    let count = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ogrinfo")
            .args([
                "-ro",
                "-so",
                "-al",
                &format!("OAPIF:http://{addr}/collections/spatial-carriers"),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&count.stdout).contains("Feature Count: 59"),
        "{}",
        String::from_utf8_lossy(&count.stdout)
    );
}

/// The methods a response says the resource takes.
fn allow(r: &Reply) -> String {
    r.headers
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A property null in every seed feature is typed by its first edited value: a filter on it
/// (compiled, and cached, while it was all null) finds the edited feature at once.
#[tokio::test]
async fn a_filter_finds_a_value_edited_into_a_property_the_seed_left_null() {
    let data = tempfile::tempdir().unwrap();
    let square = |x: f64| json!({"type": "Polygon", "coordinates": [[[x, 39.8], [x + 0.001, 39.8], [x + 0.001, 39.801], [x, 39.801], [x, 39.8]]]});
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "geometry": square(116.5), "properties": {"name": "A", "note": null}},
        {"type": "Feature", "id": "b", "geometry": square(116.51), "properties": {"name": "B", "note": null}}]});
    std::fs::write(data.path().join("plots.geojson"), fc.to_string()).unwrap();
    std::fs::write(data.path().join("plots.meta.json"), r#"{"editable": true}"#).unwrap();
    let state = tempfile::tempdir().unwrap();
    let auth = bearer(&token(state.path(), "alice", "editor", None, None));
    let (store, _) = etown_atlas::sqlite::open_store(
        catalog_for(data.path(), etown_atlas::ingest::LoadOptions::default()),
        state.path(),
        &[],
    )
    .unwrap();
    let app = app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    ));
    let find = "/collections/plots/items?filter=note%20%3D%20%27let%27";
    assert_eq!(get(&app, find).await.json()["numberMatched"], 0);
    // While all null, the property compares with anything; once it holds text, as text only.
    let numeric = "/collections/plots/items?filter=note%20%3E%205";
    assert_eq!(get(&app, numeric).await.status, 200);
    let etag = etag_of(&app, "/collections/plots/items/a").await;
    let r = request(
        &app,
        req(
            "PATCH",
            "/collections/plots/items/a",
            &[
                ("content-type", "application/merge-patch+json"),
                ("authorization", &auth),
                ("if-match", &etag),
            ],
            Some(&json!({"properties": {"note": "let"}})),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let doc = get(&app, find).await.json();
    assert_eq!(doc["numberMatched"], 1, "{doc}");
    assert_eq!(doc["features"][0]["id"], "a");
    let p = get(&app, numeric).await.problem(400);
    assert_eq!(p["code"], "filter_type_mismatch", "{p}");
}

/// The collection's temporal extent follows edits of the temporal property past either end,
/// without a rescan, and equals what a scan of the edited features finds.
#[tokio::test]
async fn the_temporal_extent_widens_with_edited_dates() {
    let e = editing();
    let items = "/collections/spatial-carriers/items?limit=1000";
    let scan = |doc: &Value| -> [String; 2] {
        let mut dates: Vec<String> = doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["delivery_date"].as_str().map(str::to_owned))
            .collect();
        dates.sort();
        [dates[0].clone(), dates[dates.len() - 1].clone()]
    };
    let interval = |doc: &Value| -> [String; 2] {
        let i = &doc["extent"]["temporal"]["interval"][0];
        [i[0].as_str().unwrap().into(), i[1].as_str().unwrap().into()]
    };
    let before = scan(&get(&e.app, items).await.json());
    assert_eq!(
        interval(&get(&e.app, "/collections/spatial-carriers").await.json()),
        before
    );
    let ids: Vec<String> = get(&e.app, items).await.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    for (id, date) in ids.iter().zip(["2041-03-01", "2001-09-30"]) {
        let path = format!("/collections/spatial-carriers/items/{id}");
        let etag = etag_of(&e.app, &path).await;
        let r = request(
            &e.app,
            req(
                "PATCH",
                &path,
                &[
                    ("content-type", "application/merge-patch+json"),
                    ("authorization", &bearer(&e.editor)),
                    ("if-match", &etag),
                ],
                Some(&json!({"properties": {"delivery_date": date}})),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    }
    let after = scan(&get(&e.app, items).await.json());
    assert_ne!(after, before);
    assert_eq!(
        interval(&get(&e.app, "/collections/spatial-carriers").await.json()),
        after
    );
}

/// The writer thread runs at a lower priority than the readers (see `WRITER_NICENESS`), so a
/// large change set leaves reads most of the cores: read from the kernel's view of the thread.
#[cfg(target_os = "linux")]
#[test]
fn the_writer_thread_yields_to_readers() {
    let e = editing();
    let niceness = |task: &std::path::Path| -> Option<i64> {
        let stat = std::fs::read_to_string(task.join("stat")).ok()?;
        // Fields after the parenthesised name: state is field 3, nice is field 19.
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(16)?.parse().ok()
    };
    let writers = || -> Vec<i64> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "edit-writer")
            })
            .filter_map(|t| niceness(&t.path()))
            .collect()
    };
    // The thread names itself and sets its priority once it runs: wait for it to.
    let mut found = writers();
    for _ in 0..500 {
        if !found.is_empty() && found.iter().all(|n| *n != 0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        found = writers();
    }
    assert!(!found.is_empty(), "no writer thread found");
    assert!(found.iter().all(|n| *n == 10), "{found:?}");
    drop(e);
}
