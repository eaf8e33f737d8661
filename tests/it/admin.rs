//! Tokens managed over the API and the audit (issue 29): an administrator makes a scoped token
//! (its secret shown once), the token edits inside its scope only, is listed without its
//! secret, revoked, and refused from then on; the audit lists exactly the changes the test
//! made, by who, filtered, as JSON and as CSV read back with a CSV reader.

use std::sync::Arc;

use etown_atlas::http::{app, AppState};
use etown_atlas::record::{tokens, NewToken};
use etown_atlas::sqlite::Journal;
use serde_json::{json, Value};

use crate::common::*;

const CARRIERS: &str = "/collections/spatial-carriers/items";

fn cli_token(dir: &std::path::Path, name: &str, role: &str) -> String {
    let mut j = Journal::open(dir).unwrap();
    tokens::create(
        &mut j,
        &NewToken {
            name: name.into(),
            role: role.into(),
            collections: None,
            scopes: Default::default(),
            expires_at: None,
        },
        "2026-12-07T00:00:00Z",
    )
    .unwrap()
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_lists_and_revokes_scoped_tokens_and_reads_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let root = cli_token(dir.path(), "root", "admin");
    let office = cli_token(dir.path(), "office", "editor");
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let addr = serve(app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    )))
    .await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut r = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, text)
        }
    };
    let json_of = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);

    let features = file_features(&geodata_dir().join("spatial-carriers.geojson"));
    let park_of = |f: &Value| f["properties"]["park"].as_str().map(str::to_owned);
    let mine = features
        .iter()
        .find(|f| park_of(f).as_deref() == Some("ic-park"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = features
        .iter()
        .find(|f| park_of(f).is_some() && park_of(f).as_deref() != Some("ic-park"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let asked = json!({"name": "ic-park-operator", "role": "editor", "collections": ["spatial-carriers"],
        "scopes": {"spatial-carriers": {"where": "park = 'ic-park'", "fields": ["available_floor_area_m2", "status"]}},
        "expires": "30d"});
    // Only an administrator.
    let (status, body) = send(
        reqwest::Method::POST,
        "/admin/tokens",
        &office,
        Some(asked.clone()),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        send(reqwest::Method::GET, "/admin/tokens", &office, None)
            .await
            .0,
        403
    );
    assert_eq!(
        send(reqwest::Method::GET, "/admin/audit", "", None).await.0,
        401
    );
    // Scopes that do not fit are refused when the token is made, naming what is wrong.
    for (bad, names) in [
        (
            json!({"name": "x", "scopes": {"spatial-carriers": {"where": "parc = 'ic-park'"}}}),
            "parc",
        ),
        (
            json!({"name": "x", "scopes": {"spatial-carriers": {"fields": ["rent"]}}}),
            "rent",
        ),
        (
            json!({"name": "x", "scopes": {"no-such": {"fields": ["status"]}}}),
            "no-such",
        ),
        (
            json!({"name": "x", "scopes": {"spatial-carriers": {"area": {"type": "Point", "coordinates": [116, 39]}}}}),
            "Polygon",
        ),
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": "x", "expires": "soon"}), "expires"),
        (json!({"name": "x", "colections": []}), "colections"),
    ] {
        let (status, body) = send(
            reqwest::Method::POST,
            "/admin/tokens",
            &root,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains(names), "{bad}: {body}");
    }
    let (status, body) = send(
        reqwest::Method::POST,
        "/admin/tokens",
        &root,
        Some(asked.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let made = json_of(&body);
    let secret = made["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(tokens::PREFIX));
    assert_eq!(made["scopes"], asked["scopes"]);
    assert_eq!(made["active"], true);
    let (status, _) = send(
        reqwest::Method::POST,
        "/admin/tokens",
        &root,
        Some(asked.clone()),
    )
    .await;
    assert_eq!(status, 409, "a second token of one name");
    // Listed, never with a secret; the state store keeps only its hash.
    let (status, listed) = send(reqwest::Method::GET, "/admin/tokens", &root, None).await;
    assert_eq!(status, 200);
    assert!(!listed.contains(&secret));
    let mut names: Vec<String> = json_of(&listed)["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["ic-park-operator", "office", "root"]);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is stored"
        );
    }

    // The new token edits inside its scope only.
    let patch = |token: String, id: String, props: Value| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let url = format!("{base}{CARRIERS}/{id}");
            let etag = http.get(&url).send().await.unwrap().headers()["etag"]
                .to_str()
                .unwrap()
                .to_owned();
            http.patch(&url)
                .bearer_auth(token)
                .header("if-match", etag)
                .header("content-type", "application/merge-patch+json")
                .body(json!({ "properties": props }).to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        patch(
            secret.clone(),
            mine.clone(),
            json!({"available_floor_area_m2": 10})
        )
        .await,
        200
    );
    assert_eq!(
        patch(
            secret.clone(),
            theirs.clone(),
            json!({"available_floor_area_m2": 10})
        )
        .await,
        403
    );
    assert_eq!(
        patch(secret.clone(), mine.clone(), json!({"name_en": "x"})).await,
        403
    );
    assert_eq!(
        patch(
            office.clone(),
            theirs.clone(),
            json!({"available_floor_area_m2": 20})
        )
        .await,
        200
    );
    assert_eq!(
        patch(office.clone(), mine.clone(), json!({"status": "planned"})).await,
        200
    );

    // Revoked: refused from the next request on; a second revoke finds none.
    let (status, _) = send(
        reqwest::Method::DELETE,
        "/admin/tokens/ic-park-operator",
        &root,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        patch(
            secret.clone(),
            mine.clone(),
            json!({"available_floor_area_m2": 11})
        )
        .await,
        401
    );
    assert_eq!(
        send(
            reqwest::Method::DELETE,
            "/admin/tokens/ic-park-operator",
            &root,
            None
        )
        .await
        .0,
        404
    );
    let listed = json_of(
        &send(reqwest::Method::GET, "/admin/tokens", &root, None)
            .await
            .1,
    );
    let revoked = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ic-park-operator")
        .unwrap();
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].is_string());

    // The audit: exactly the three accepted edits, newest first, filterable.
    let made_edits = [
        ("office", mine.as_str()),
        ("office", theirs.as_str()),
        ("ic-park-operator", mine.as_str()),
    ];
    let (status, body) = send(reqwest::Method::GET, "/admin/audit", &root, None).await;
    assert_eq!(status, 200, "{body}");
    let all = json_of(&body)["changes"].as_array().unwrap().clone();
    let seen: Vec<(String, String)> = all
        .iter()
        .map(|c| {
            (
                c["principal"].as_str().unwrap().to_owned(),
                c["feature_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = made_edits
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect();
    assert_eq!(seen, expected);
    let by_office = json_of(
        &send(
            reqwest::Method::GET,
            "/admin/audit?principal=office",
            &root,
            None,
        )
        .await
        .1,
    );
    assert_eq!(by_office["changes"].as_array().unwrap().len(), 2);
    let page = json_of(
        &send(reqwest::Method::GET, "/admin/audit?limit=2", &root, None)
            .await
            .1,
    );
    let next = page["next_before"].as_i64().unwrap();
    let rest = json_of(
        &send(
            reqwest::Method::GET,
            &format!("/admin/audit?limit=2&before={next}"),
            &root,
            None,
        )
        .await
        .1,
    );
    assert_eq!(rest["changes"].as_array().unwrap().len(), 1);
    assert_eq!(rest["changes"][0]["principal"], "ic-park-operator");
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let none = json_of(
        &send(
            reqwest::Method::GET,
            &format!("/admin/audit?since={tomorrow}"),
            &root,
            None,
        )
        .await
        .1,
    );
    assert!(none["changes"].as_array().unwrap().is_empty());
    let until_today = json_of(
        &send(
            reqwest::Method::GET,
            &format!("/admin/audit?until={today}&collection=spatial-carriers"),
            &root,
            None,
        )
        .await
        .1,
    );
    assert_eq!(
        until_today["changes"].as_array().unwrap().len(),
        3,
        "until a date includes that day"
    );
    for bad in ["since=yesterday", "limit=0", "f=xml", "before=0", "who=x"] {
        let (status, body) = send(
            reqwest::Method::GET,
            &format!("/admin/audit?{bad}"),
            &root,
            None,
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // As CSV, read back by a CSV reader.
    let r = http
        .get(format!("{base}/admin/audit?f=csv"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let bytes = r.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[2], "principal");
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[2].to_owned(), r[4].to_owned())
        })
        .collect();
    assert_eq!(rows, expected);
}
