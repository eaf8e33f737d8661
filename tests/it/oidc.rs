//! Single sign-on (issue 29): bearer JWTs verified against a key set the test serves on
//! loopback, found through the issuer's discovery document, fetched by the server over HTTP as
//! it would from an intranet's identity server. Keys are made by `openssl` for each run; the
//! tokens are signed by `jsonwebtoken` from them. Every refused token leaves the carrier as it
//! was; an accepted one's edit is recorded under the token's subject.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use base64::Engine;
use etown_atlas::http::{app, AppState};
use etown_atlas::oidc::{http_fetch, Oidc, OidcConfig};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::*;

const AUDIENCE: &str = "etown-atlas";
const CARRIERS: &str = "/collections/spatial-carriers/items";

/// A private key made by openssl, as PEM, and its public half.
fn openssl_key(dir: &std::path::Path, name: &str, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let path = dir.join(format!("{name}.pem"));
    let out = std::process::Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&path)
        .output()
        .expect("openssl is installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(public.status.success());
    (std::fs::read(&path).unwrap(), public.stdout)
}

struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl Key {
    fn jwk(&self) -> Jwk {
        let mut j = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        j.common.key_id = Some(self.kid.clone());
        j
    }
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &self.encoding).unwrap()
    }
}

/// The identity server's published documents, changeable by the test, and how often the key
/// set was asked for.
#[derive(Clone)]
struct Idp {
    keys: Arc<Mutex<Vec<Jwk>>>,
    jwks_hits: Arc<AtomicU64>,
}

async fn identity_server(idp: Idp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{base}/realms/etown");
    let (i, d) = (idp.clone(), issuer.clone());
    let router = axum::Router::new()
        .route(
            "/realms/etown/.well-known/openid-configuration",
            get(move || {
                let d = d.clone();
                async move {
                    axum::Json(json!({"issuer": d, "jwks_uri": format!("{d}/protocol/openid-connect/certs")}))
                }
            }),
        )
        .route(
            "/realms/etown/protocol/openid-connect/certs",
            get(move || {
                let i = i.clone();
                async move {
                    i.jwks_hits.fetch_add(1, Ordering::SeqCst);
                    let set = JwkSet {
                        keys: i.keys.lock().unwrap().clone(),
                    };
                    axum::Json(serde_json::to_value(set).unwrap())
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    issuer
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_are_verified_against_the_identity_servers_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    let (k1_pem, k1_pub) = openssl_key(tmp.path(), "k1", &rsa);
    let (k2_pem, _) = openssl_key(tmp.path(), "k2", &rsa);
    let (k3_pem, _) = openssl_key(
        tmp.path(),
        "k3",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let k1 = Key {
        kid: "k1".into(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_pem(&k1_pem).unwrap(),
    };
    let k2 = Key {
        kid: "k2".into(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_pem(&k2_pem).unwrap(),
    };
    let k3 = Key {
        kid: "k3".into(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_pem(&k3_pem).unwrap(),
    };
    let idp = Idp {
        keys: Arc::new(Mutex::new(vec![k1.jwk(), k3.jwk()])),
        jwks_hits: Arc::default(),
    };
    let issuer = identity_server(idp.clone()).await;

    let settings: OidcConfig = toml::from_str(&format!(
        r#"issuer = "{issuer}"
           audience = "{AUDIENCE}"
           roles_claim = "realm_access.roles"
           refetch_interval_s = 2
           [roles.office-editor]
           role = "editor"
           [roles.park7-editor]
           role = "editor"
           collections = ["spatial-carriers"]
           where = "park = 'biomedicine-park'"
           fields = ["available_floor_area_m2", "status"]"#
    ))
    .unwrap();
    settings.check().unwrap();
    let oidc = Arc::new(Oidc::new(settings, http_fetch()));
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let config = etown_atlas::config::ServerConfig {
        oidc: Some(Arc::clone(&oidc)),
        ..Default::default()
    };
    let addr = serve(app(AppState::new(Arc::new(store), config))).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    let features = file_features(&geodata_dir().join("spatial-carriers.geojson"));
    let in_park = features
        .iter()
        .find(|f| f["properties"]["park"] == "biomedicine-park")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let elsewhere = features
        .iter()
        .find(|f| {
            f["properties"]["park"].is_string() && f["properties"]["park"] != "biomedicine-park"
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // PATCHes the carrier's available area with `token`: the status, the body, and whether the
    // carrier changed.
    let patch = |token: String, id: String, value: i64| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let url = format!("{base}{CARRIERS}/{id}");
            let before = http.get(&url).send().await.unwrap();
            let etag = before.headers()["etag"].to_str().unwrap().to_owned();
            let before: Value = before.json().await.unwrap();
            let r = http
                .patch(&url)
                .bearer_auth(token)
                .header("if-match", etag)
                .header("content-type", "application/merge-patch+json")
                .body(json!({"properties": {"available_floor_area_m2": value}}).to_string())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let after: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
            (status, body, challenge, before != after)
        }
    };
    let claims = |sub: &str, roles: &[&str]| {
        json!({"iss": issuer, "aud": AUDIENCE, "sub": sub, "iat": now(), "exp": now() + 600,
               "realm_access": {"roles": roles}})
    };

    // Valid, RS256 and ES256: applied, recorded under the subject.
    let mut n = 100;
    for (key, sub) in [(&k1, "wang.fang"), (&k3, "li.lei")] {
        n += 1;
        let (status, body, _, changed) = patch(
            key.sign(&claims(sub, &["office-editor"])),
            elsewhere.clone(),
            n,
        )
        .await;
        assert_eq!(status, 200, "{sub}: {body}");
        assert!(changed);
        let history: Value = http
            .get(format!("{base}{CARRIERS}/{elsewhere}/history"))
            .bearer_auth(key.sign(&claims(sub, &["office-editor"])))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let last = history["changes"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["principal"], sub, "{history}");
    }
    assert_eq!(
        idp.jwks_hits.load(Ordering::SeqCst),
        1,
        "the key set is fetched once and kept"
    );

    // A role with a scope: its park only.
    let park7 = k1.sign(&claims("zhao.park7", &["park7-editor"]));
    assert_eq!(patch(park7.clone(), in_park.clone(), 7).await.0, 200);
    let (status, body, _, changed) = patch(park7, elsewhere.clone(), 8).await;
    assert_eq!(
        (status, body["rule"].as_str(), changed),
        (403, Some("where"), false),
        "{body}"
    );

    // Refused: each a 401 with an invalid_token challenge, and nothing changed.
    let mut expired = claims("a", &["office-editor"]);
    expired["exp"] = json!(now() - 3600);
    let mut early = claims("a", &["office-editor"]);
    early["nbf"] = json!(now() + 3600);
    let mut audience = claims("a", &["office-editor"]);
    audience["aud"] = json!("another-app");
    let mut other_issuer = claims("a", &["office-editor"]);
    other_issuer["iss"] = json!("http://127.0.0.1:1/realms/other");
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&claims("a", &["office-editor"]))
    );
    // The classic confusion: HS256 with the RSA public key as the HMAC secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims("a", &["office-editor"]),
        &EncodingKey::from_secret(&k1_pub).unwrap(),
    )
    .unwrap();
    let unknown_kid = k2.sign(&claims("a", &["office-editor"]));
    for (what, token, reason) in [
        ("expired", k1.sign(&expired), "expired"),
        ("not yet valid", k1.sign(&early), "not valid yet"),
        ("wrong audience", k1.sign(&audience), "audience"),
        ("wrong issuer", k1.sign(&other_issuer), "issuer"),
        ("alg none", none, "RS256 or ES256"),
        ("HS256 with the public key", confused, "RS256 or ES256"),
        (
            "a key not published yet",
            unknown_kid.clone(),
            "does not publish",
        ),
    ] {
        let (status, body, challenge, changed) = patch(token, elsewhere.clone(), 9).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(reason),
            "{what}: {body}"
        );
        assert!(challenge.unwrap().contains("invalid_token"), "{what}");
        assert!(!changed, "{what} changed the carrier");
    }
    // The unknown key asked for the set again only once the interval had passed: not yet.
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 1);

    // The identity server rotates: k2 published, k1 withdrawn. Past the interval, a k2 token
    // fetches the set again and is accepted; a k1 token is then refused.
    *idp.keys.lock().unwrap() = vec![k2.jwk(), k3.jwk()];
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body, _, changed) = patch(unknown_kid, elsewhere.clone(), 10).await;
    assert_eq!((status, changed), (200, true), "{body}");
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 2);
    let (status, body, _, changed) = patch(
        k1.sign(&claims("a", &["office-editor"])),
        elsewhere.clone(),
        11,
    )
    .await;
    assert_eq!(
        (status, changed),
        (401, false),
        "a token for a removed key: {body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("does not publish"),
        "{body}"
    );
    assert_eq!(
        idp.jwks_hits.load(Ordering::SeqCst),
        2,
        "no refetch within the interval"
    );
    assert_eq!(oidc.fetches(), 2);

    // A signed-in person without a configured role reads, and may not edit.
    let (status, body, _, changed) = patch(
        k2.sign(&claims("visitor", &["unmapped"])),
        elsewhere.clone(),
        12,
    )
    .await;
    assert_eq!((status, changed), (403, false), "{body}");
    // API tokens keep working beside single sign-on.
    let token = {
        let mut j = etown_atlas::sqlite::Journal::open(dir.path()).unwrap();
        etown_atlas::record::tokens::create(
            &mut j,
            &etown_atlas::record::NewToken {
                name: "ops".into(),
                role: "editor".into(),
                collections: None,
                scopes: Default::default(),
                expires_at: None,
            },
            "2026-12-07T00:00:00Z",
        )
        .unwrap()
        .0
    };
    assert_eq!(patch(token, elsewhere.clone(), 13).await.0, 200);
}
