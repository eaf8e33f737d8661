//! Several servers on one PostgreSQL (issue 19): edits through one show on the other, the
//! database holds what the API serves, an outage stops writes but not reads, and nothing an
//! acknowledged write wrote is lost, not even when its server is killed.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::postgres::Cluster;
use crate::common::{python, spawn_server};
use crate::postgis::{assert_same_feature, read_with_gdal};

const HEADER: &str = "atlas-data-version";

/// A server on the store, its log collected (a full pipe would stall it).
struct Replica {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Replica {
    fn start(dsn: &str) -> Self {
        let (mut child, addr) = spawn_server(&[
            "--store".as_ref(),
            dsn.as_ref(),
            // Quick to notice an outage and to come back: the test waits for both.
            "--store-poll-ms".as_ref(),
            "200".as_ref(),
            "--store-backoff-max-ms".as_ref(),
            "500".as_ref(),
            "--store-connect-timeout-ms".as_ref(),
            "1000".as_ref(),
            "--store-retry-after-s".as_ref(),
            "2".as_ref(),
        ]);
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Replica { child, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn atlas(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A blocking HTTP client (the servers are other processes). Its idle connections are
/// dropped before the server's own idle timeout (10 s) closes them: a request sent on a
/// connection the server is closing that instant fails with `IncompleteMessage` (seen once in
/// CI, after the OWSLib phase left the pool idle for about that long).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn version(&self) -> i64 {
        self.headers[HEADER].to_str().unwrap().parse().unwrap()
    }
}

impl Http {
    fn new() -> Self {
        Http {
            rt: tokio::runtime::Runtime::new().unwrap(),
            client: client(),
        }
    }

    fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        self.rt.block_on(async {
            let r = req.send().await.unwrap();
            Answer {
                status: r.status().as_u16(),
                headers: r.headers().clone(),
                body: r.text().await.unwrap(),
            }
        })
    }

    fn get(&self, url: &str) -> Answer {
        self.send(self.client.get(url))
    }

    fn create(&self, url: &str, token: &str, body: &Value) -> Answer {
        self.send(
            self.client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/geo+json")
                .body(body.to_string()),
        )
    }
}

fn carrier(name: &str, available: i64) -> Value {
    let ring = json!([
        [116.56, 39.76],
        [116.561, 39.76],
        [116.561, 39.761],
        [116.56, 39.761],
        [116.56, 39.76]
    ]);
    json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name_zh": name, "name_en": name, "industry": "future_energy", "status": "planned",
            "available_floor_area_m2": available, "schematic": true, "source": "replica test"}})
}

/// Waits until `ok` holds, or fails naming `what`.
fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of one sample line of an OpenMetrics exposition (`name{labels} value`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split([' ', '{']).next().is_some_and(|n| n == name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Percentile `p` (0..=100) of `values`, nearest rank.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Every carrier as one server serves it, by id, without links.
fn carriers(http: &Http, r: &Replica) -> HashMap<String, Value> {
    let page = http
        .get(&r.url("/collections/spatial-carriers/items?limit=10000"))
        .json();
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("links");
            (f["id"].to_string().trim_matches('"').to_owned(), f)
        })
        .collect()
}

#[test]
fn two_replicas_share_one_postgresql() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let out = atlas(&["db", "import", "--store", &dsn]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = atlas(&[
        "token",
        "create",
        "--store",
        &dsn,
        "--name",
        "replica-test",
        "--role",
        "editor",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // The secret is stored only as a hash.
    let mut db = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM atlas_tokens WHERE hash = sha256($1::text::bytea)",
            &[&token],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let dumped: i64 = db
        .query_one(
            "SELECT count(*) FROM atlas_tokens WHERE position($1 in row_to_json(atlas_tokens)::text) > 0",
            &[&token],
        )
        .unwrap()
        .get(0);
    assert_eq!(dumped, 0, "the token itself is nowhere in the table");

    let a = Replica::start(&dsn);
    let b = Replica::start(&dsn);
    let http = Http::new();
    let before = carriers(&http, &a).len();

    // 200 edits through A with OWSLib; each must show on B.
    let edits = 200;
    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/replicas_owslib.py"
        ))
        .args([&a.url(""), &b.url(""), &token, &edits.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "OWSLib: {}\nA: {}\nB: {}",
        String::from_utf8_lossy(&out.stderr),
        a.log(),
        b.log()
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ms: Vec<f64> = run["convergence_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(ms.len(), edits);
    let (p50, p99) = (percentile(&ms, 50.0), percentile(&ms, 99.0));
    eprintln!(
        "convergence over {edits} edits: p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
        percentile(&ms, 100.0)
    );
    let _ = std::fs::write(
        concat!(env!("CARGO_TARGET_TMPDIR"), "/replica-convergence.json"),
        json!({"edits": edits, "p50_ms": p50, "p99_ms": p99, "ms": ms}).to_string(),
    );
    let kept = run["kept"].as_object().unwrap();
    let deleted = run["deleted"].as_array().unwrap();
    // A zone's edit changes derived values of other features: delete a park that holds
    // carriers, through A; their `zones` lose it, on B and in the database too.
    let seed = carriers(&http, &a);
    let park = seed
        .values()
        .flat_map(|f| {
            f["properties"]["zones"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|z| z.as_str().map(str::to_owned))
        .find(|z| z.ends_with("-park"))
        .expect("a carrier lies in a park");
    let park_url = a.url(&format!("/collections/parks/items/{park}"));
    let etag = http.get(&park_url).headers["etag"].clone();
    let gone = http.send(
        http.client
            .delete(&park_url)
            .bearer_auth(&token)
            .header("if-match", etag),
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    let last_version = gone.version();
    wait_until(
        "B applies the park's deletion",
        Duration::from_secs(30),
        || http.get(&b.url("/health")).version() >= last_version,
    );
    assert!(
        seed.values().any(|f| f["properties"]["zones"]
            .as_array()
            .is_some_and(|z| z.iter().any(|z| z == park.as_str()))),
        "the park held carriers before"
    );

    // Both servers serve the same carriers: the seed's, plus those kept.
    let on_a = carriers(&http, &a);
    let on_b = carriers(&http, &b);
    assert_eq!(on_a.len(), before + kept.len());
    assert_eq!(on_a, on_b);
    assert!(
        !on_a.values().any(|f| f["properties"]["zones"]
            .as_array()
            .is_some_and(|z| z.iter().any(|z| z == park.as_str()))),
        "no carrier lies in the deleted park"
    );
    for (id, available) in kept {
        assert_eq!(
            on_a[id]["properties"]["available_floor_area_m2"],
            *available
        );
    }
    for id in deleted {
        assert!(!on_a.contains_key(id.as_str().unwrap()));
    }

    // /metrics shows the edits (on A, which took them; on B, which replayed them) and the lag.
    let scrape_a = http.get(&a.url("/metrics"));
    assert_eq!(scrape_a.status, 200);
    assert!(scrape_a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let scrape_b = http.get(&b.url("/metrics")).body;
    assert_eq!(
        metric(&scrape_a.body, "atlas_edits_total"),
        Some(edits as f64 + 1.0)
    );
    assert_eq!(
        metric(&scrape_b, "atlas_changes_replayed_total"),
        Some(edits as f64 + 1.0)
    );
    for text in [&scrape_a.body, &scrape_b] {
        assert_eq!(
            metric(text, "atlas_data_version"),
            Some(last_version as f64)
        );
        assert_eq!(metric(text, "atlas_replica_lag_seconds"), Some(0.0));
        assert_eq!(metric(text, "atlas_store_up"), Some(1.0));
        assert!(
            text.contains(
                "atlas_http_requests_total{route=\"/collections/{collection}/items/{feature}\""
            ),
            "{text}"
        );
    }

    // ogrinfo and ogr2ogr read from PostgreSQL what the API serves.
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", &format!("PG:{dsn}"), "spatial-carriers"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(
        info.contains(&format!("Feature Count: {}", on_a.len())),
        "{info}"
    );
    let read = read_with_gdal(&dsn, "spatial-carriers");
    assert_eq!(read.len(), on_a.len());
    for (id, api) in &on_a {
        let ogr = read
            .get(id)
            .unwrap_or_else(|| panic!("{id} is in the database"));
        let properties = api["properties"].as_object().unwrap();
        assert_same_feature(id, properties, &api["geometry"], ogr);
    }
    // Every change is in the log, with who made it.
    let authors: Vec<(String, i64)> = db
        .query(
            "SELECT author, count(*) FROM atlas_changes GROUP BY author",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(authors, [("replica-test".to_owned(), edits as i64 + 1)]);
    drop(db);

    // Tokens and the audit on PostgreSQL (issue 29): an admin (made by the CLI) makes a scoped
    // token through A; B, sharing the table, honours its scope; the audit on B lists the
    // changes of the log by author.
    let out = atlas(&[
        "token", "create", "--store", &dsn, "--name", "pg-admin", "--role", "admin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let park_carrier = on_a
        .values()
        .find(|f| f["properties"]["park"] == "ic-park")
        .expect("a carrier of ic-park")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_carrier = on_a
        .values()
        .find(|f| f["properties"]["park"].is_string() && f["properties"]["park"] != "ic-park")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = http.send(
        http.client
            .post(a.url("/admin/tokens"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(
                json!({"name": "ic-operator", "collections": ["spatial-carriers"],
                "scopes": {"spatial-carriers": {"where": "park = 'ic-park'"}}})
                .to_string(),
            ),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let scoped = made.json()["token"].as_str().unwrap().to_owned();
    let listed = http.send(http.client.get(b.url("/admin/tokens")).bearer_auth(&admin));
    assert!(listed.body.contains("park = 'ic-park'"), "{}", listed.body);
    for (id, expected) in [(&park_carrier, 200), (&other_carrier, 403)] {
        let url = b.url(&format!("/collections/spatial-carriers/items/{id}"));
        let etag = http.get(&url).headers["etag"].clone();
        let r = http.send(
            http.client
                .patch(&url)
                .bearer_auth(&scoped)
                .header("if-match", etag)
                .header("content-type", "application/merge-patch+json")
                .body(json!({"properties": {"available_floor_area_m2": 42}}).to_string()),
        );
        assert_eq!(r.status, expected, "{id}: {}", r.body);
    }
    let audit = http
        .send(
            http.client
                .get(b.url("/admin/audit?principal=replica-test&limit=10000"))
                .bearer_auth(&admin),
        )
        .json();
    assert_eq!(audit["changes"].as_array().unwrap().len(), edits + 1);
    let audit = http
        .send(
            http.client
                .get(b.url("/admin/audit?principal=ic-operator"))
                .bearer_auth(&admin),
        )
        .json();
    assert_eq!(audit["changes"][0]["feature_id"], park_carrier.as_str());
    assert_eq!(audit["changes"].as_array().unwrap().len(), 1);

    // PostgreSQL stops: reads go on on both, writes get 503 with Retry-After, health degrades.
    pg.stop();
    let reads_before = carriers(&http, &b);
    for r in [&a, &b] {
        let res = http.get(&r.url("/collections/spatial-carriers/items?limit=5"));
        assert_eq!(res.status, 200);
        let refused = http.create(
            &r.url("/collections/spatial-carriers/items"),
            &token,
            &carrier("during the outage", 1),
        );
        assert_eq!(refused.status, 503, "{}", refused.body);
        assert_eq!(refused.headers["retry-after"], "2");
        assert!(refused.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json"));
        wait_until("health says degraded", Duration::from_secs(30), || {
            let h = http.get(&r.url("/health")).json();
            h["status"] == "degraded" && h["store"]["unreachableSince"].is_string()
        });
        let scrape = http.get(&r.url("/metrics")).body;
        assert_eq!(metric(&scrape, "atlas_store_up"), Some(0.0));
    }
    assert_eq!(
        carriers(&http, &a),
        reads_before,
        "nothing changed by the refused writes"
    );

    // PostgreSQL is back: writes succeed on both (once each has reconnected), both converge.
    pg.start_again();
    let mut made = Vec::new();
    for (r, name) in [
        (&a, "after the outage, through A"),
        (&b, "after the outage, through B"),
    ] {
        let mut answer = None;
        wait_until("a write succeeds again", Duration::from_secs(60), || {
            let res = http.create(
                &r.url("/collections/spatial-carriers/items"),
                &token,
                &carrier(name, 7),
            );
            let done = res.status == 201;
            if !done {
                assert_eq!(res.status, 503, "{}", res.body);
            }
            answer = done.then_some(res);
            done
        });
        let res = answer.unwrap();
        made.push((
            res.json()["id"].to_string().trim_matches('"').to_owned(),
            res.version(),
        ));
    }
    let newest = made.iter().map(|m| m.1).max().unwrap();
    for r in [&a, &b] {
        wait_until("both replicas converge", Duration::from_secs(30), || {
            http.get(&r.url("/health")).version() >= newest
        });
        let h = http.get(&r.url("/health")).json();
        assert_eq!(h["status"], "ok", "{h}");
        for (id, _) in &made {
            let f = http.get(&r.url(&format!("/collections/spatial-carriers/items/{id}")));
            assert_eq!(f.status, 200, "{id} on {}", r.addr);
        }
    }
    assert_eq!(carriers(&http, &a), carriers(&http, &b));
    assert!(!carriers(&http, &a)
        .values()
        .any(|f| f["properties"]["name_en"] == "during the outage"));

    // A replica killed mid-write loses no acknowledged edit.
    let mut a = a;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let (url, token, acknowledged) = (
            a.url("/collections/spatial-carriers/items"),
            token.clone(),
            Arc::clone(&acknowledged),
        );
        std::thread::spawn(move || {
            let http = Http::new();
            for i in 0.. {
                let res = http.rt.block_on(async {
                    http.client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/geo+json")
                        .body(carrier(&format!("before the kill {i}"), i).to_string())
                        .send()
                        .await
                });
                match res {
                    Ok(r) if r.status() == 201 => {
                        let body: Value = http.rt.block_on(r.json()).unwrap_or_default();
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(body["id"].to_string().trim_matches('"').to_owned());
                    }
                    _ => break,
                }
            }
        })
    };
    wait_until("some edits acknowledged", Duration::from_secs(30), || {
        acknowledged.lock().unwrap().len() >= 20
    });
    // SIGKILL: no chance to finish anything.
    a.child.kill().unwrap();
    let _ = a.child.wait();
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let c = Replica::start(&dsn);
    for r in [&b, &c] {
        let now: i64 = {
            let mut db = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
            db.query_one("SELECT max(version) FROM atlas_changes", &[])
                .unwrap()
                .get(0)
        };
        wait_until("the survivors converge", Duration::from_secs(30), || {
            http.get(&r.url("/health")).version() >= now
        });
        let served = carriers(&http, r);
        for id in &acknowledged {
            assert!(
                served.contains_key(id),
                "acknowledged {id} is served by {}",
                r.addr
            );
        }
    }
    assert_eq!(carriers(&http, &b), carriers(&http, &c));

    // The store's current data, written back out as a data directory, is valid seed data
    // holding what the replicas serve.
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("export");
    let out = atlas(&[
        "state",
        "export",
        "--store",
        &dsn,
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let catalog = crate::common::catalog_for(&exported, Default::default());
    let served = carriers(&http, &c);
    let layer = catalog.layer("spatial-carriers").unwrap();
    assert_eq!(layer.live_count(), served.len());
    for slot in layer.live_slots() {
        let id = layer.ids[slot].to_string();
        let f = &served[&id];
        assert_eq!(
            layer.feature(slot, None).properties["name_en"],
            f["properties"]["name_en"],
            "{id}"
        );
    }
}
