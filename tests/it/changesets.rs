//! Change sets (issue 28): the workbook a person fills in, read and written by a real reader
//! (openpyxl), uploaded over a socket; the preview checked row by row against what the script
//! changed; apply refused while it has errors, then applied; the items, `/stats`, a tile and
//! the history showing exactly the changes; a conflicting edit refused; the revert restoring
//! every feature's bytes. Expected values come from the script's own record of its edits, the
//! seed file and the vocabulary file, never from the code under test.

use std::collections::BTreeMap;
use std::sync::Arc;

use etown_atlas::http::{app, AppState};
use etown_atlas::record::tokens;
use etown_atlas::record::NewToken;
use etown_atlas::sqlite::Journal;
use serde_json::{json, Value};

use crate::common::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn token(dir: &std::path::Path, name: &str, role: &str) -> String {
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
        "2026-12-01T00:00:00Z",
    )
    .unwrap()
    .0
}

fn script(args: &[&str]) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/changesets_openpyxl.py");
    let out = std::process::Command::new(python())
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openpyxl script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The term id a Chinese or English label names, from the vocabulary file.
fn term_id(vocab: &str, label: &str) -> String {
    let v: Value = serde_json::from_slice(
        &std::fs::read(geodata_dir().join(format!("{vocab}.vocab.json"))).unwrap(),
    )
    .unwrap();
    v["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == label || t["zh"] == label || t["en"] == label)
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| label.to_owned())
}

struct Site {
    http: reqwest::Client,
    base: String,
    editor: String,
}

impl Site {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.editor)
            .send()
            .await
            .unwrap()
    }
    async fn post(&self, path: &str, ct: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.editor)
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
    /// Every carrier's bytes as the items API serves them, by id.
    async fn all_items(&self) -> BTreeMap<String, String> {
        let page: Value = self
            .get("/collections/spatial-carriers/items?limit=1000")
            .await
            .json()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for f in page["features"].as_array().unwrap() {
            let id = f["id"].as_str().unwrap().to_owned();
            let bytes = self
                .get(&format!("/collections/spatial-carriers/items/{id}"))
                .await
                .text()
                .await
                .unwrap();
            out.insert(id, bytes);
        }
        out
    }
    async fn available_sum(&self) -> f64 {
        let s: Value = self
            .get("/collections/spatial-carriers/stats?sum=available_floor_area_m2")
            .await
            .json()
            .await
            .unwrap();
        s["total"]["sums"]["available_floor_area_m2"]
            .as_f64()
            .unwrap()
    }
}

/// `available_floor_area_m2` of carrier `id` as the vector tile at z15 over its first vertex
/// carries it.
async fn tile_value(site: &Site, id: &str, lon: f64, lat: f64) -> Option<f64> {
    let (z, x, y) = tile_of(15, lon, lat);
    let bytes = site
        .get(&format!(
            "/collections/spatial-carriers/tiles/WebMercatorQuad/{z}/{y}/{x}"
        ))
        .await
        .bytes()
        .await
        .unwrap();
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    let features = reader.get_features_as::<f64>(0).unwrap();
    features.iter().find_map(|f| {
        let p = f.properties.as_ref()?;
        match p.get("fid") {
            Some(mvt_reader::feature::Value::String(s)) if s == id => {}
            _ => return None,
        }
        match p.get("available_floor_area_m2")? {
            mvt_reader::feature::Value::Double(d) => Some(*d),
            mvt_reader::feature::Value::Float(f) => Some(f64::from(*f)),
            mvt_reader::feature::Value::Int(n) | mvt_reader::feature::Value::SInt(n) => {
                Some(*n as f64)
            }
            mvt_reader::feature::Value::UInt(n) => Some(*n as f64),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_filled_in_with_openpyxl_is_previewed_applied_and_reverted() {
    let dir = tempfile::tempdir().unwrap();
    let editor = token(dir.path(), "alice", "editor");
    let other = token(dir.path(), "olga", "editor");
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let addr = serve(app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    )))
    .await;
    let site = Site {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
        editor,
    };
    let seed: BTreeMap<String, Value> =
        file_features(&geodata_dir().join("spatial-carriers.geojson"))
            .into_iter()
            .map(|f| (f["id"].as_str().unwrap().to_owned(), f))
            .collect();
    let original = site.all_items().await;
    let sum_before = site.available_sum().await;

    // 1. The workbook, filled in by openpyxl.
    let work = tempfile::tempdir().unwrap();
    let filled = work.path().join("filled.xlsx");
    let base = site.base.clone();
    let f = filled.to_str().unwrap().to_owned();
    let done = tokio::task::spawn_blocking(move || script(&["fill", &base, &f]))
        .await
        .unwrap();
    assert_eq!(done["titles"][0], "编号", "{done}");
    assert_eq!(done["keys"][0], "id");
    let meta: Value = serde_json::from_slice(
        &std::fs::read(geodata_dir().join("spatial-carriers.meta.json")).unwrap(),
    )
    .unwrap();
    let field = &meta["fields"]["available_floor_area_m2"];
    let unit = field["unit"]["zh"]
        .as_str()
        .or(field["unit"].as_str())
        .unwrap();
    let want = format!("{} ({unit})", field["title"]["zh"].as_str().unwrap());
    assert!(
        done["titles"].as_array().unwrap().contains(&json!(want)),
        "titles in Chinese, with units: {done}"
    );
    assert_eq!(done["rows"], seed.len(), "one row per carrier");
    // The workbook holds the data as it is: every cell read before a change is the seed's.
    for c in done["changes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(done["bad"].as_array().unwrap())
    {
        let want = &seed[c["id"].as_str().unwrap()]["properties"][c["key"].as_str().unwrap()];
        let got = &c["before"];
        assert!(
            got == want || got.as_f64().is_some() && got.as_f64() == want.as_f64(),
            "{c}: the seed has {want}"
        );
    }

    // 2. The preview: row by row.
    let (status, preview) = site
        .post(
            "/collections/spatial-carriers/changesets",
            Some(XLSX),
            std::fs::read(&filled).unwrap(),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    assert_eq!(preview["status"], "previewed");
    assert_eq!(preview["createdBy"], "alice");
    let rows: BTreeMap<String, &Value> = preview["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(rows.len(), seed.len());
    let mut expected: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for c in done["changes"].as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        let after = match key {
            "status" => json!(term_id("statuses", c["after"].as_str().unwrap())),
            _ => c["after"].clone(),
        };
        expected
            .entry(c["id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(key.to_owned(), after);
    }
    let bad: BTreeMap<String, String> = done["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_owned(),
                b["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, row) in &rows {
        if let Some(key) = bad.get(id) {
            assert_eq!(row["outcome"], "error", "{row}");
            let e = &row["errors"][0];
            assert_eq!(e["property"], key.as_str(), "{row}");
            assert!(!e["reason"]["en"].as_str().unwrap().is_empty());
            assert!(
                e["reason"]["zh"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{row}"
            );
        } else if let Some(cells) = expected.get(id) {
            assert_eq!(row["outcome"], "changed", "{row}");
            let got: BTreeMap<String, Value> = row["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["property"].as_str().unwrap().to_owned(),
                        c["after"].clone(),
                    )
                })
                .collect();
            assert_eq!(&got, cells, "{id}");
            for c in row["cells"].as_array().unwrap() {
                let p = c["property"].as_str().unwrap();
                let seed_value = &seed[id]["properties"][p];
                assert!(
                    c["before"] == *seed_value
                        || c["before"].as_f64() == seed_value.as_f64() && seed_value.is_number(),
                    "{id}.{p}: before {} but the seed has {seed_value}",
                    c["before"]
                );
            }
        } else {
            assert_eq!(row["outcome"], "unchanged", "{row}");
        }
    }
    let unknown: Vec<&Value> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "unknown")
        .collect();
    assert_eq!(unknown.len(), 1, "{}", preview["columns"]);
    assert_eq!(unknown[0]["header"], "colour");
    assert_eq!(preview["problems"].as_array().unwrap().len(), 1);
    assert_eq!(preview["summary"]["missing"], 0);

    // 3. Apply refused while it has errors; nothing changes.
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, problem) = site
        .post(
            &format!("/collections/spatial-carriers/changesets/{id}/apply"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "changeset_has_errors");
    assert_eq!(
        site.all_items().await,
        original,
        "a refused set changed something"
    );
    // A file without an id column matches nothing: refused, even asked to delete the missing
    // (which would otherwise be every feature).
    for body in ["name_en,status\nX,operating\n", "{}", "[]"] {
        let (status, problem) = site
            .post(
                "/collections/spatial-carriers/changesets?delete_missing=true",
                Some("text/csv"),
                body.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("no id column"),
            "{problem}"
        );
    }
    assert_eq!(site.all_items().await, original);

    // 4. Fixed, previewed again, applied.
    let fixed = work.path().join("fixed.xlsx");
    let (a, b) = (
        filled.to_str().unwrap().to_owned(),
        fixed.to_str().unwrap().to_owned(),
    );
    let fix = tokio::task::spawn_blocking(move || script(&["fix", &a, &b]))
        .await
        .unwrap();
    for c in fix["changes"].as_array().unwrap() {
        expected
            .entry(c["id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(c["key"].as_str().unwrap().to_owned(), c["after"].clone());
    }
    let (status, preview) = site
        .post(
            "/collections/spatial-carriers/changesets",
            Some(XLSX),
            std::fs::read(&fixed).unwrap(),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    assert_eq!(preview["summary"]["error"], 0, "{}", preview["summary"]);
    assert_eq!(preview["summary"]["changed"], expected.len());
    let set = preview["id"].as_str().unwrap().to_owned();
    let (status, applied) = site
        .post(
            &format!("/collections/spatial-carriers/changesets/{set}/apply"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["applied"]["by"], "alice");
    let changes = expected.len() as i64;
    assert_eq!(applied["applied"]["changes"], changes);
    // One transaction: consecutive numbers in the change feed.
    assert_eq!(
        applied["applied"]["lastSeq"].as_i64().unwrap()
            - applied["applied"]["firstSeq"].as_i64().unwrap()
            + 1,
        changes
    );
    let (status, again) = site
        .post(
            &format!("/collections/spatial-carriers/changesets/{set}/apply"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("changeset_state"))
    );

    // 5. The API, /stats, a tile and the history show exactly the changes.
    let now = site.all_items().await;
    for (fid, bytes) in &now {
        let f: Value = serde_json::from_str(bytes).unwrap();
        let before: Value = serde_json::from_str(&original[fid]).unwrap();
        match expected.get(fid) {
            None => assert_eq!(
                bytes, &original[fid],
                "{fid} changed but was not in the set"
            ),
            Some(cells) => {
                for (k, v) in f["properties"].as_object().unwrap() {
                    match cells.get(k) {
                        Some(want) => assert!(
                            v == want || v.as_f64().is_some() && v.as_f64() == want.as_f64(),
                            "{fid}.{k}: {v} != {want}"
                        ),
                        None if ["updated_at"].contains(&k.as_str()) => {}
                        None => assert_eq!(v, &before["properties"][k], "{fid}.{k} changed"),
                    }
                }
                assert_eq!(f["geometry"], before["geometry"]);
            }
        }
    }
    let delta: f64 = expected
        .iter()
        .filter_map(|(fid, cells)| {
            let after = cells.get("available_floor_area_m2")?.as_f64()?;
            Some(
                after
                    - seed[fid]["properties"]["available_floor_area_m2"]
                        .as_f64()
                        .unwrap(),
            )
        })
        .sum();
    assert_eq!(site.available_sum().await, sum_before + delta);
    let first = &seed["carrier-01"]["geometry"]["coordinates"][0][0];
    let (lon, lat) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
    assert_eq!(
        tile_value(&site, "carrier-01", lon, lat).await,
        expected["carrier-01"]["available_floor_area_m2"].as_f64()
    );
    for fid in expected.keys() {
        let h: Value = site
            .get(&format!(
                "/collections/spatial-carriers/items/{fid}/history"
            ))
            .await
            .json()
            .await
            .unwrap();
        let changes = h["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{fid}: {h}");
        assert_eq!(changes[0]["changeset"], set.as_str());
        assert_eq!(changes[0]["principal"], "alice");
    }

    // 6. Someone edits a feature of the set; reverting is refused, naming it, and changes
    // nothing; once it is put back, the revert restores every feature's bytes.
    let one = site
        .get("/collections/spatial-carriers/items/carrier-02")
        .await;
    let etag = one.headers()["etag"].to_str().unwrap().to_owned();
    let patched = site
        .http
        .patch(format!(
            "{}/collections/spatial-carriers/items/carrier-02",
            site.base
        ))
        .bearer_auth(&other)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", &etag)
        .body(r#"{"properties":{"available_floor_area_m2":77}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let between = site.all_items().await;
    let (status, problem) = site
        .post(
            &format!("/collections/spatial-carriers/changesets/{set}/revert"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "changeset_conflict");
    assert_eq!(problem["features"][0]["id"], "carrier-02", "{problem}");
    assert_eq!(
        site.all_items().await,
        between,
        "a refused revert changed something"
    );
    let etag = site
        .get("/collections/spatial-carriers/items/carrier-02")
        .await
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let back = json!({"properties": {"available_floor_area_m2": expected["carrier-02"]["available_floor_area_m2"]}});
    let patched = site
        .http
        .patch(format!(
            "{}/collections/spatial-carriers/items/carrier-02",
            site.base
        ))
        .bearer_auth(&other)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", &etag)
        .body(back.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    // The failed revert is kept as a previewed revert; a new one is made.
    let (status, reverted) = site
        .post(
            &format!("/collections/spatial-carriers/changesets/{set}/revert"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, 201, "{reverted}");
    assert_eq!(reverted["reverts"], set.as_str());
    assert_eq!(reverted["status"], "applied");
    let restored = site.all_items().await;
    // carrier-02 was edited twice since (and put back): the revert still restores the version
    // before the set, `updated_at` included.
    for (fid, bytes) in &original {
        assert_eq!(
            &restored[fid], bytes,
            "{fid} is not back to its bytes before the set"
        );
    }
    let list: Value = site
        .get("/collections/spatial-carriers/changesets")
        .await
        .json()
        .await
        .unwrap();
    let status_of = |sid: &str| {
        list["changesets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == sid)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status_of(&set), Some(json!("reverted")));
    assert_eq!(
        status_of(reverted["id"].as_str().unwrap()),
        Some(json!("applied"))
    );
    assert_eq!(status_of(&id), Some(json!("previewed")));
}

/// On PostgreSQL the preview is kept in the database: one server previews, another applies,
/// and the first serves the result; the rows of the collection's table and the change log name
/// the set. The `changeset apply` command writes to the same database beside the servers.
#[test]
fn on_postgresql_one_server_previews_another_applies_and_the_command_line_adds_a_set() {
    use crate::common::postgres::Cluster;
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["db", "import", "--store", &dsn]);
    let editor = run(&[
        "token",
        "create",
        "--store",
        &dsn,
        "--name",
        "pg-editor",
        "--role",
        "editor",
    ])
    .trim()
    .to_owned();
    let start = || {
        spawn_server(&[
            "--store".as_ref(),
            dsn.as_ref(),
            "--store-poll-ms".as_ref(),
            "200".as_ref(),
        ])
    };
    let (mut a, addr_a) = start();
    let (mut b, addr_b) = start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let post = |url: String, ct: Option<&str>, body: &str| -> (u16, Value) {
        rt.block_on(async {
            let mut req = http.post(url).bearer_auth(&editor).body(body.to_owned());
            if let Some(ct) = ct {
                req = req.header("content-type", ct);
            }
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        })
    };
    let served = |addr: &str, id: &str| -> Value {
        rt.block_on(async {
            let f: Value = http
                .get(format!(
                    "http://{addr}/collections/spatial-carriers/items/{id}"
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            f["properties"]["available_floor_area_m2"].clone()
        })
    };
    let wait_for = |addr: &str, id: &str, want: Value| {
        for _ in 0..100 {
            if served(addr, id) == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{addr} never served {id} = {want}");
    };
    let csv = "id,available_floor_area_m2\ncarrier-01,111\ncarrier-02,222\n";
    let (status, preview) = post(
        format!("http://{addr_a}/collections/spatial-carriers/changesets"),
        Some("text/csv"),
        csv,
    );
    assert_eq!(status, 201, "{preview}");
    assert_eq!(preview["summary"]["changed"], 2, "{preview}");
    let set = preview["id"].as_str().unwrap().to_owned();
    let (status, applied) = post(
        format!("http://{addr_b}/collections/spatial-carriers/changesets/{set}/apply"),
        None,
        "",
    );
    assert_eq!(status, 200, "{applied}");
    let mut db = ::postgres::Client::connect(&dsn, ::postgres::NoTls).unwrap();
    let logged: i64 = db
        .query_one(
            "SELECT count(*) FROM atlas_changes WHERE changeset = $1",
            &[&set],
        )
        .unwrap()
        .get(0);
    assert_eq!(logged, 2);
    let table: String = db
        .query_one(
            "SELECT table_name FROM atlas_collections WHERE id = 'spatial-carriers'",
            &[],
        )
        .unwrap()
        .get(0);
    let mut value = |id: &str| -> String {
        db.query_one(
            &format!("SELECT available_floor_area_m2::text FROM \"{table}\" WHERE feature_id = $1"),
            &[&id],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(value("carrier-01"), "111");
    assert_eq!(value("carrier-02"), "222");
    wait_for(&addr_a, "carrier-02", json!(222));
    // The command line, beside the running servers.
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), "id,available_floor_area_m2\ncarrier-03,333\n").unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let cli_set = run(&[
        "changeset",
        "apply",
        "--store",
        &dsn,
        "--collection",
        "spatial-carriers",
        "--as",
        "nightly-import",
        &path,
    ]);
    let mut db = ::postgres::Client::connect(&dsn, ::postgres::NoTls).unwrap();
    let who: String = db
        .query_one(
            "SELECT author FROM atlas_changes WHERE changeset = $1",
            &[&cli_set.trim()],
        )
        .unwrap()
        .get(0);
    assert_eq!(who, "nightly-import");
    wait_for(&addr_b, "carrier-03", json!(333));
    for c in [&mut a, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
