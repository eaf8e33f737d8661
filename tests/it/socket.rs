//! The server on a real loopback socket, with real HTTP clients: reqwest, and GDAL's OGC API
//! driver (`ogrinfo`/`ogr2ogr` from gdal-bin, which the test command installs).

use std::process::Command;

use crate::common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn serves_over_a_real_socket_with_compression() {
    let addr = serve(shipped_app()).await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!(
            "http://{addr}/collections/spatial-carriers/items?limit=5"
        ))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["numberReturned"], 5);
    assert_eq!(doc["numberMatched"], 58);
    // Links point back at the address the client used.
    let next = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(next["href"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://{addr}/")));
    let p: Value = client
        .get(format!("http://{addr}/collections/x/items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["code"], "collection_not_found");
}

fn gdal_installed() -> bool {
    Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command on a blocking thread and returns stdout, failing the test with stderr.
async fn run(cmd: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(cmd).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn gdal_lists_every_collection() {
    assert!(
        gdal_installed(),
        "gdal-bin is missing: run the README's test command, which installs it"
    );
    let addr = serve(shipped_app()).await;
    let out = run(
        "ogrinfo",
        vec![
            "-ro".into(),
            "-so".into(),
            "-q".into(),
            format!("OAPIF:http://{addr}"),
        ],
    )
    .await;
    for id in [
        "ftz-etown-cluster",
        "data-pilot-zone",
        "bonded-zone",
        "spatial-carriers",
        "parks",
        "new-town",
    ] {
        assert!(out.contains(id), "ogrinfo did not list {id}:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gdal_downloads_a_collection_larger_than_one_page_completely() {
    assert!(
        gdal_installed(),
        "gdal-bin is missing: run the README's test command, which installs it"
    );
    let addr = serve(fixture_app("basic")).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gpkg = dir.join("points.gpkg");
    let _ = std::fs::remove_file(&gpkg);
    // 250 features in pages of 40: GDAL must follow six `next` links.
    run(
        "ogr2ogr",
        vec![
            "-f".into(),
            "GPKG".into(),
            gpkg.display().to_string(),
            format!("OAPIF:http://{addr}/collections/points"),
            "-oo".into(),
            "PAGE_SIZE=40".into(),
        ],
    )
    .await;
    let info = run(
        "ogrinfo",
        vec![
            "-ro".into(),
            "-so".into(),
            gpkg.display().to_string(),
            "points".into(),
        ],
    )
    .await;
    let expected = file_features(&fixture_dir("basic").join("points.geojson")).len();
    assert!(
        info.contains(&format!("Feature Count: {expected}")),
        "{info}"
    );
    // And the values arrive intact, Chinese included.
    let sql = run(
        "ogrinfo",
        vec![
            "-ro".into(),
            "-q".into(),
            gpkg.display().to_string(),
            "-sql".into(),
            "SELECT COUNT(*) AS n FROM points WHERE note = '有注释'".into(),
        ],
    )
    .await;
    let with_note = (0..250).filter(|i| i % 4 == 0).count();
    assert!(sql.contains(&format!("n (Integer) = {with_note}")), "{sql}");
}

#[tokio::test(flavor = "multi_thread")]
async fn gdal_where_and_spat_agree_with_the_api() {
    assert!(
        gdal_installed(),
        "gdal-bin is missing: run the README's test command, which installs it"
    );
    let addr = serve(shipped_app()).await;
    let count = |args: Vec<String>| async move {
        let out = run(
            "ogr2ogr",
            [
                vec![
                    "-f".into(),
                    "GeoJSON".into(),
                    "/vsistdout/".into(),
                    format!("OAPIF:http://{addr}/collections/spatial-carriers"),
                ],
                args,
            ]
            .concat(),
        )
        .await;
        let v: Value = serde_json::from_str(&out).unwrap();
        v["features"].as_array().unwrap().len()
    };
    let api = |q: &str| {
        let url = format!("http://{addr}/collections/spatial-carriers/items?limit=100&{q}");
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["numberMatched"]
                .as_u64()
                .unwrap() as usize
        }
    };
    let filtered = count(vec![
        "-where".into(),
        "industry = 'future_health' AND available_floor_area_m2 >= 3000".into(),
    ])
    .await;
    let cql: String = form_urlencoded::byte_serialize(
        "industry = 'future_health' AND available_floor_area_m2 >= 3000".as_bytes(),
    )
    .collect();
    let expected = api(&format!("filter={cql}")).await;
    assert!(expected > 0 && expected < 58);
    assert_eq!(filtered, expected);
    let spat = count(
        ["-spat", "116.50", "39.76", "116.56", "39.80"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
    .await;
    assert_eq!(spat, api("bbox=116.50,39.76,116.56,39.80").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn owslib_lists_collections_and_filters_with_cql2() {
    let addr = serve(shipped_app()).await;
    let script = r#"
import json, sys
from owslib.ogcapi.features import Features
api = Features(sys.argv[1])
ids = sorted(c["id"] for c in api.collections()["collections"])
items = api.collection_items("spatial-carriers", filter="industry = 'future_space'", limit=100)
print(json.dumps({"ids": ids, "matched": items["numberMatched"], "industries": sorted({f["properties"]["industry"] for f in items["features"]})}))
"#;
    let url = format!("http://{addr}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(["-c", script, &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "OWSLib failed (the test command installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for id in ["ftz-etown-cluster", "spatial-carriers", "parks"] {
        assert!(v["ids"].as_array().unwrap().iter().any(|x| x == id), "{v}");
    }
    let expected = file_features(&geodata_dir().join("spatial-carriers.geojson"))
        .iter()
        .filter(|f| f["properties"]["industry"] == "future_space")
        .count();
    assert_eq!(v["matched"], expected);
    assert_eq!(v["industries"], serde_json::json!(["future_space"]));
}
