//! `asOf` (issue 30): the data as it was at an earlier moment. Random edits are made in waves
//! and a moment is noted between waves; afterwards, at every moment, the server's `asOf`
//! answers are compared with two things computed without it:
//!
//! - an independent replay, here in the test, of the change log (`GET /changes`) over the
//!   features as they were served before the first edit: the items (every feature, every
//!   property and coordinate) and the statistics (count and available floor area per industry);
//! - what the server itself answered live at that moment (a vector tile, decoded), which is
//!   what a map showed then.
//!
//! On the shipped data and on 100,000 synthetic carriers with 3,000 edits (embedded state
//! store), and on the shipped data through PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::{app, AppState};
use etown_atlas::index::Catalog;
use etown_atlas::store::JournaledStore;
use mvt_reader::feature::Value as MvtValue;
use serde_json::{json, Value};

use crate::common::postgres::Cluster;
use crate::common::*;

const CARRIERS: &str = "/collections/spatial-carriers";

/// A small deterministic generator (SplitMix64), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A server over `store`, and an editor's token made through it.
fn serve_store(store: JournaledStore) -> (Router, String) {
    let token = editor_token(&store, "historian");
    let app = app(AppState::new(Arc::new(store), ServerConfig::default()));
    (app, token)
}

fn with_token(method: &str, uri: &str, token: &str, body: Option<(&str, Value)>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "atlas.test")
        .header("authorization", format!("Bearer {token}"));
    match body {
        Some((ty, v)) => b
            .header("content-type", ty)
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// Every feature a query of the carriers matches, by id (`query` without `limit`/`offset`).
async fn all_items(app: &Router, query: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let r = get(
            app,
            &format!("{CARRIERS}/items?{query}&limit=10000&offset={offset}"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
        let page = r.json();
        let features = page["features"].as_array().unwrap().clone();
        let n = features.len();
        for f in features {
            out.insert(id_of(&f), f);
        }
        offset += n;
        if n == 0 || offset >= page["numberMatched"].as_u64().unwrap() as usize {
            return out;
        }
    }
}

fn id_of(f: &Value) -> String {
    match &f["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Now, as the RFC 3339 instant (milliseconds, UTC) a client sends.
fn instant() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ms(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .timestamp_millis()
}

/// One random edit of carrier `id` (or, now and then, a new carrier like it): a patch of its
/// available area or status, a delete, or a create. Returns the id created, if any.
async fn random_edit(
    app: Router,
    token: String,
    id: String,
    template: Value,
    roll: u64,
) -> (String, Option<String>) {
    let url = format!("{CARRIERS}/items/{id}");
    match roll % 10 {
        0 => {
            // A new carrier where this one is, with the derived values left to the server.
            let mut f = template;
            f.as_object_mut().unwrap().remove("id");
            let p = f["properties"].as_object_mut().unwrap();
            let queryables = get(&app, &format!("{CARRIERS}/queryables")).await.json();
            for (name, s) in queryables["properties"].as_object().unwrap() {
                if s["readOnly"] == true {
                    p.remove(name);
                }
            }
            p.insert("name_en".into(), json!(format!("Added {roll}")));
            let r = request(
                &app,
                with_token(
                    "POST",
                    &format!("{CARRIERS}/items"),
                    &token,
                    Some(("application/geo+json", f)),
                ),
            )
            .await;
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
            let location = r.headers["location"].to_str().unwrap();
            (id, Some(location.rsplit('/').next().unwrap().to_owned()))
        }
        1 => {
            let etag = get(&app, &url).await.headers["etag"].clone();
            let mut req = with_token("DELETE", &url, &token, None);
            req.headers_mut().insert("if-match", etag);
            let r = request(&app, req).await;
            assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
            (String::new(), None)
        }
        k => {
            let etag = get(&app, &url).await.headers["etag"].clone();
            let patch = if k < 7 {
                json!({"properties": {"available_floor_area_m2": (roll % 20_000) as i64}})
            } else {
                let s = ["operating", "under_construction", "planned"][(roll % 3) as usize];
                json!({"properties": {"status": s, "available_floor_area_m2": (roll % 900) as i64}})
            };
            let mut req = with_token(
                "PATCH",
                &url,
                &token,
                Some(("application/merge-patch+json", patch)),
            );
            req.headers_mut().insert("if-match", etag);
            let r = request(&app, req).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
            (id, None)
        }
    }
}

/// The features of a decoded tile's carriers layer: id and properties.
fn tile_features(bytes: &[u8]) -> BTreeMap<String, BTreeMap<String, String>> {
    if bytes.is_empty() {
        return BTreeMap::new();
    }
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    let Some(i) = names.iter().position(|n| n == "spatial-carriers") else {
        return BTreeMap::new();
    };
    reader
        .get_features_as::<f64>(i)
        .unwrap()
        .into_iter()
        .map(|f| {
            let props: BTreeMap<String, String> = f
                .properties
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        MvtValue::String(s) => s,
                        other => format!("{other:?}"),
                    };
                    (k, v)
                })
                .collect();
            (props.get("fid").cloned().unwrap_or_default(), props)
        })
        .collect()
}

/// The changes of the log, oldest first, read through the change feed.
async fn change_log(app: &Router, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut since = 0;
    loop {
        let r = request(
            app,
            with_token(
                "GET",
                &format!("/changes?since={since}&limit=1000"),
                token,
                None,
            ),
        )
        .await;
        assert_eq!(r.status, 200);
        let page = r.json();
        let changes = page["changes"].as_array().unwrap().clone();
        if changes.is_empty() {
            return out;
        }
        since = page["last"].as_i64().unwrap();
        out.extend(changes);
    }
}

/// The carriers as the log says they were at `at`: `seed` with the `after` of every change of
/// the carriers made at or before it laid over, in order.
fn replay(seed: &BTreeMap<String, Value>, log: &[Value], at: &str) -> BTreeMap<String, Value> {
    let mut state = seed.clone();
    for c in log {
        if c["collection"] != "spatial-carriers" || ms(c["at"].as_str().unwrap()) > ms(at) {
            continue;
        }
        let id = c["featureId"].as_str().unwrap().to_owned();
        match &c["after"] {
            Value::Null => state.remove(&id),
            after => state.insert(id, after.clone()),
        };
    }
    state
}

/// Count and available floor area per industry, summed here.
fn per_industry(state: &BTreeMap<String, Value>) -> BTreeMap<String, (u64, f64)> {
    let mut out: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for f in state.values() {
        let p = &f["properties"];
        let e = out
            .entry(p["industry"].as_str().unwrap_or("").to_owned())
            .or_default();
        e.0 += 1;
        e.1 += p["available_floor_area_m2"].as_f64().unwrap_or(0.0);
    }
    out
}

/// What the server's `/stats?group-by=industry` says, in the same shape.
async fn stats_per_industry(app: &Router, as_of: &str) -> BTreeMap<String, (u64, f64)> {
    let r = get(
        app,
        &format!(
            "{CARRIERS}/stats?group-by=industry&sum=available_floor_area_m2&asOf={}",
            urlencode(as_of)
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    r.json()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap_or("").to_owned(),
                (
                    g["count"].as_u64().unwrap(),
                    g["sums"]["available_floor_area_m2"].as_f64().unwrap_or(0.0),
                ),
            )
        })
        .collect()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The edits, the moments and the comparisons (see the module). `focus` narrows the edits and
/// the items compared to one industry's carriers (at 100,000, some 17,000).
async fn edits_then_compare(
    app: &Router,
    token: &str,
    waves: usize,
    per_wave: usize,
    tile_z: u32,
    one_industry: bool,
) {
    let seed = all_items(app, "").await;
    // With `one_industry`, the industry with the most carriers: edits stay in it, so one filtered read
    // holds them all.
    let focus = one_industry.then(|| {
        let counts = per_industry(&seed);
        counts
            .iter()
            .filter(|(p, _)| !p.is_empty())
            .max_by_key(|(_, (n, _))| *n)
            .map(|(p, _)| p.clone())
            .unwrap()
    });
    let in_focus = |f: &Value| {
        focus
            .as_ref()
            .is_none_or(|p| f["properties"]["industry"] == p.as_str())
    };
    let mut ids: Vec<String> = seed.values().filter(|f| in_focus(f)).map(id_of).collect();
    let first = &seed[&ids[0]];
    let corner = &first["geometry"]["coordinates"][0][0];
    let (z, x, y) = tile_of(
        tile_z,
        corner[0].as_f64().unwrap(),
        corner[1].as_f64().unwrap(),
    );
    let tile_url = format!("{CARRIERS}/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let live_tile = |app: Router| {
        let url = tile_url.clone();
        async move { tile_features(&get(&app, &url).await.bytes) }
    };

    let mut rng = Rng(30);
    let mut moments = vec![(instant(), live_tile(app.clone()).await)];
    let mut made = 0;
    tokio::time::sleep(Duration::from_millis(3)).await;
    for _ in 0..waves {
        // Distinct carriers per wave, edited eight at a time (the writer commits them together).
        let mut chosen = Vec::new();
        while chosen.len() < per_wave.min(ids.len()) {
            let id = ids.swap_remove(rng.below(ids.len()));
            chosen.push(id);
        }
        for group in chosen.chunks(8) {
            let tasks: Vec<_> = group
                .iter()
                .map(|id| {
                    let template = seed.get(id).cloned().unwrap_or_else(|| first.clone());
                    tokio::spawn(random_edit(
                        app.clone(),
                        token.to_owned(),
                        id.clone(),
                        template,
                        rng.next(),
                    ))
                })
                .collect();
            for t in tasks {
                made += 1;
                let (kept, created) = t.await.unwrap();
                if !kept.is_empty() {
                    ids.push(kept);
                }
                ids.extend(created);
            }
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
        moments.push((instant(), live_tile(app.clone()).await));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    let log = change_log(app, token).await;
    assert_eq!(log.len(), made, "every edit is in the log");
    let focus_query = match &focus {
        Some(p) => format!("filter={}", urlencode(&format!("industry = '{p}'"))),
        None => String::new(),
    };
    for (i, (at, tile_then)) in moments.iter().enumerate() {
        let expected = replay(&seed, &log, at);
        let q = format!("{focus_query}&asOf={}", urlencode(at));
        let got = all_items(app, &q).await;
        let want: BTreeMap<String, Value> = expected
            .iter()
            .filter(|(_, f)| in_focus(f))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(got.len(), want.len(), "moment {i} ({at}): how many");
        for (id, f) in &want {
            assert_eq!(got.get(id), Some(f), "moment {i} ({at}): feature {id}");
        }
        let stats = stats_per_industry(app, at).await;
        let replayed = per_industry(&expected);
        assert_eq!(
            stats.keys().collect::<Vec<_>>(),
            replayed.keys().collect::<Vec<_>>()
        );
        for (industry, (n, sum)) in &replayed {
            let (gn, gsum) = stats[industry];
            assert_eq!(gn, *n, "moment {i}: count in {industry}");
            assert!(
                (gsum - sum).abs() < 1e-6,
                "moment {i}: available in {industry}"
            );
        }
        let tile = get(app, &format!("{tile_url}?asOf={}", urlencode(at))).await;
        assert!(tile.status == 200 || tile.status == 204);
        assert_eq!(
            &tile_features(&tile.bytes),
            tile_then,
            "moment {i}: the tile as the map showed it then"
        );
        // One feature at a time too: one that was changed, as it was then (or 404 before it
        // existed / after its delete).
        if let Some(c) = log.get(i * log.len() / moments.len()) {
            let id = c["featureId"].as_str().unwrap();
            let one = get(
                app,
                &format!("{CARRIERS}/items/{id}?asOf={}", urlencode(at)),
            )
            .await;
            match expected.get(id) {
                Some(f) => {
                    assert_eq!(one.status, 200);
                    let mut got = one.json();
                    got.as_object_mut().unwrap().remove("links");
                    assert_eq!(&got, f, "moment {i}: item {id}");
                }
                None => assert_eq!(one.status, 404, "moment {i}: {id} did not exist"),
            }
        }
    }
    // A download as of the first moment is the replayed seed too (ids and properties).
    let (first_at, _) = &moments[0];
    let file = get(
        app,
        &format!(
            "{CARRIERS}/export?f=geojson&{focus_query}&asOf={}",
            urlencode(first_at)
        ),
    )
    .await;
    assert_eq!(file.status, 200, "{}", String::from_utf8_lossy(&file.bytes));
    let exported: BTreeMap<String, Value> = file.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (id_of(f), f["properties"].clone()))
        .collect();
    let replayed: BTreeMap<String, Value> = replay(&seed, &log, first_at)
        .into_iter()
        .filter(|(_, f)| in_focus(f))
        .map(|(k, f)| (k, f["properties"].clone()))
        .collect();
    assert_eq!(exported, replayed, "the download as of the first moment");
    // POST …/search takes asOf in its body as well.
    let mut body = json!({"asOf": first_at, "limit": 10000});
    if let Some(p) = &focus {
        body["filter"] = json!(format!("industry = '{p}'"));
    }
    let searched = request(
        app,
        post_json(&format!("{CARRIERS}/search"), body.to_string()),
    )
    .await;
    assert_eq!(
        searched.status,
        200,
        "{}",
        String::from_utf8_lossy(&searched.bytes)
    );
    let n = searched.json()["numberMatched"].as_u64().unwrap() as usize;
    assert_eq!(n, replayed.len(), "a POSTed search as of the first moment");

    // The present is what asOf=now answers; the future and a bad instant are refused.
    let now = all_items(
        app,
        &format!("{focus_query}&asOf={}", urlencode(&instant())),
    )
    .await;
    assert_eq!(now, all_items(app, &focus_query).await);
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    let r = get(
        app,
        &format!(
            "{CARRIERS}/items?asOf={}",
            urlencode(&future.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        ),
    )
    .await;
    assert_eq!(r.problem(400)["parameter"], "asOf");
    let r = get(app, &format!("{CARRIERS}/stats?asOf=last%20monday")).await;
    assert_eq!(r.problem(400)["parameter"], "asOf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_data_as_of_ten_moments_is_the_change_log_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let (app, token) = serve_store(store);
    edits_then_compare(&app, &token, 9, 6, 13, false).await;
}

/// Carriers for [`many_carriers_after_many_edits_as_of_ten_moments`]: 10,000 in CI, more with
/// `ETOWN_ATLAS_AS_OF_CARRIERS` (`scripts/as-of-long.sh` runs it at 100,000 after 3,000 edits in
/// a release build; in a debug build that took 90 s of CI).
fn as_of_carriers() -> usize {
    std::env::var("ETOWN_ATLAS_AS_OF_CARRIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_carriers_after_many_edits_as_of_ten_moments() {
    let carriers = as_of_carriers();
    let data = synth_dir(carriers);
    let state = tempfile::tempdir().unwrap();
    let catalog: Catalog = catalog_for(data.path(), Default::default());
    let (store, _) = etown_atlas::sqlite::open_store(catalog, state.path(), &[]).unwrap();
    let (app, token) = serve_store(store);
    // Nine waves of edits, 3 % of the carriers in all.
    edits_then_compare(&app, &token, 9, (carriers / 300).max(1), 14, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_postgresql_as_of_ten_moments_is_the_change_log_replayed() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
        .args(["db", "import", "--store", &dsn])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (store, _) = tokio::task::spawn_blocking(move || {
        etown_atlas::postgis::open_store(&dsn, &Default::default(), &[]).unwrap()
    })
    .await
    .unwrap();
    let (app, token) = serve_store(store);
    edits_then_compare(&app, &token, 9, 6, 13, false).await;
    // The pool's connections close as blocking calls: not on the runtime's threads.
    tokio::task::spawn_blocking(move || drop(app))
        .await
        .unwrap();
}
