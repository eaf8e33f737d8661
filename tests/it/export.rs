//! Downloads in every format, opened by GDAL (`ogr2ogr` converts each back to GeoJSON) and
//! compared with the API's own GeoJSON: the same features, attribute values (Chinese included)
//! and coordinates (within 1e-7°). Clipped area exports against an independent area computation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::common::*;
use serde_json::{json, Value};

/// A file `name` in a fresh temporary directory, removed with it when the test ends (even by
/// a failure).
fn tmp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

/// GDAL reads `path` and writes GeoJSON to stdout; the parsed features.
fn gdal_features(path: &str) -> Vec<Value> {
    gdal_layer(path, None)
}

/// One layer (or the only one) of a dataset, through GDAL, as GeoJSON features.
fn gdal_layer(path: &str, layer: Option<&str>) -> Vec<Value> {
    let mut args = vec!["-f", "GeoJSON", "/vsistdout/", path];
    args.extend(layer);
    let out = Command::new("ogr2ogr")
        .args(&args)
        .output()
        .expect("ogr2ogr runs (gdal-bin is installed by the test command)");
    assert!(
        out.status.success(),
        "ogr2ogr {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["features"].as_array().unwrap().clone()
}

fn positions(g: &Value, out: &mut Vec<(f64, f64)>) {
    match g {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() => {
            out.push((a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
        }
        Value::Array(a) => a.iter().for_each(|x| positions(x, out)),
        _ => {}
    }
}

/// Every position of a geometry, sorted (formats differ in ring orientation and start).
fn sorted_positions(g: &Value) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    positions(&g["coordinates"], &mut v);
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// A value as text, so that formats that store numbers or booleans differently compare.
fn norm(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        // dBase logicals come back as T/t/Y or F/f/N.
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "t" | "y" | "true" => "true".into(),
            "f" | "n" | "false" => "false".into(),
            _ => s.replace('/', "-"),
        },
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn same_number(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(1.0),
        _ => false,
    }
}

/// Downloads `path` into a temporary directory, which lives as long as the returned `TempDir`.
async fn download(
    addr: &std::net::SocketAddr,
    path: &str,
    file: &str,
) -> (reqwest::header::HeaderMap, PathBuf, tempfile::TempDir) {
    let res = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let headers = res.headers().clone();
    let (dir, p) = tmp(file);
    std::fs::write(&p, res.bytes().await.unwrap()).unwrap();
    (headers, p, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_opens_in_gdal_with_the_same_features_values_and_coordinates() {
    let addr = serve(shipped_app()).await;
    let api: Value = reqwest::get(format!(
        "http://{addr}/collections/spatial-carriers/items?limit=10000"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let expected: BTreeMap<String, &Value> = api["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_owned(), f))
        .collect();
    assert_eq!(expected.len(), 58);

    for (f, file, id_key) in [
        ("geojson", "c.geojson", None),
        ("csv", "c.csv", Some("id")),
        ("gpkg", "c.gpkg", Some("feature_id")),
        ("fgb", "c.fgb", Some("feature_id")),
        ("kml", "c.kml", Some("feature_id")),
        ("shp", "c.shp.zip", Some("feature_id")),
    ] {
        let (headers, path, _dir) = download(
            &addr,
            &format!("/collections/spatial-carriers/export?f={f}"),
            file,
        )
        .await;
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"spatial-carriers-")
                && disposition.contains(&chrono::Utc::now().format("%Y-%m-%d").to_string()),
            "{disposition}"
        );
        let gdal_path = if f == "shp" {
            format!("/vsizip/{}", path.display())
        } else {
            path.display().to_string()
        };
        let got = gdal_features(&gdal_path);
        assert_eq!(got.len(), 58, "{f}: feature count");
        for g in &got {
            let id = match id_key {
                None => g["id"].as_str().unwrap().to_owned(),
                Some(k) => g["properties"][k].as_str().unwrap().to_owned(),
            };
            let want = expected
                .get(&id)
                .unwrap_or_else(|| panic!("{f}: unknown id {id}"));
            for (k, v) in want["properties"].as_object().unwrap() {
                // Shapefile field names are cut to 10 bytes.
                let key = if f == "shp" {
                    k.chars().take(10).collect::<String>()
                } else {
                    k.clone()
                };
                let key = if f == "shp" && k == "available_floor_area_m2" {
                    "available_".to_owned()
                } else {
                    key
                };
                let got_v = &g["properties"][&key];
                if let Some(b) = v.as_bool() {
                    let truthy = matches!(norm(got_v).as_str(), "true" | "1");
                    assert_eq!(truthy, b, "{f} {id} {k}: {got_v}");
                } else if v.is_number() {
                    assert!(same_number(v, got_v), "{f} {id} {k}: {v} vs {got_v}");
                } else {
                    assert_eq!(norm(v), norm(got_v).replace("\\\"", "\""), "{f} {id} {k}");
                }
            }
            let (a, b) = (
                sorted_positions(&want["geometry"]),
                sorted_positions(&g["geometry"]),
            );
            assert_eq!(a.len(), b.len(), "{f} {id}: vertex count");
            for (p, q) in a.iter().zip(&b) {
                assert!(
                    (p.0 - q.0).abs() < 1e-7 && (p.1 - q.1).abs() < 1e-7,
                    "{f} {id}: {p:?} vs {q:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_honour_the_query_and_items_advertise_them() {
    let addr = serve(shipped_app()).await;
    let cql = "industry = 'future_health'";
    let q: String = form_urlencoded::byte_serialize(cql.as_bytes()).collect();
    let page: Value = reqwest::get(format!(
        "http://{addr}/collections/spatial-carriers/items?limit=2&filter={q}"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let total = page["numberMatched"].as_u64().unwrap() as usize;
    assert!(total > 2, "the download must hold more than one page");
    let links = page["links"].as_array().unwrap();
    for f in ["geojson", "csv", "gpkg", "fgb", "kml", "shp"] {
        let l = links
            .iter()
            .find(|l| {
                l["rel"] == "alternate"
                    && l["href"].as_str().unwrap().contains("/export?")
                    && l["href"].as_str().unwrap().ends_with(&format!("f={f}"))
            })
            .unwrap_or_else(|| panic!("no link for {f}"));
        assert!(
            l["href"].as_str().unwrap().contains("filter="),
            "the link keeps the filter"
        );
    }
    let gpkg_link = links
        .iter()
        .find(|l| l["href"].as_str().unwrap().ends_with("f=gpkg"))
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = reqwest::get(&gpkg_link).await.unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "application/geopackage+sqlite3"
    );
    let (_dir, p) = tmp("filtered.gpkg");
    std::fs::write(&p, res.bytes().await.unwrap()).unwrap();
    let got = gdal_features(p.to_str().unwrap());
    assert_eq!(got.len(), total, "the whole result, not one page");
    assert!(got
        .iter()
        .all(|g| g["properties"]["industry"] == "future_health"));

    // properties= and the Accept header.
    let res = reqwest::Client::new()
        .get(format!(
            "http://{addr}/collections/spatial-carriers/export?properties=name_zh,floor_area_m2"
        ))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().next().unwrap(), "id,wkt,name_zh,floor_area_m2");
    assert_eq!(text.lines().count(), 59);
    // The BOM for Excel.
    let bytes = reqwest::get(format!(
        "http://{addr}/collections/spatial-carriers/export?f=csv&bom=true"
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_download_parameters_are_400s() {
    let app = shipped_app();
    for (q, param) in [
        ("f=xls", "f"),
        ("crs=EPSG:2385", "crs"),
        ("f=kml&crs=EPSG:3857", "crs"),
        ("bom=yes", "bom"),
        ("colour=red", "colour"),
    ] {
        let p = get(&app, &format!("/collections/spatial-carriers/export?{q}"))
            .await
            .problem(400);
        assert_eq!(p["parameter"], param, "{q}");
    }
    get(&app, "/collections/nope/export").await.problem(404);
}

#[tokio::test(flavor = "multi_thread")]
async fn clipped_area_exports_recompute_areas_exactly() {
    let addr = serve(shipped_app()).await;
    // A box across the FTZ that cuts through some parcels.
    let (w, s, e, n) = (116.505, 39.765, 116.5205, 39.7930);
    let area =
        json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]});
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/export"))
        .json(&json!({"layers": ["spatial-carriers", "parks"], "area": area, "clip": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("etown-atlas-area-"));
    let doc: Value = res.json().await.unwrap();
    let feats = doc["features"].as_array().unwrap();
    let carriers: Vec<&Value> = feats
        .iter()
        .filter(|f| f["properties"]["layer"] == "spatial-carriers")
        .collect();
    assert!(feats.iter().any(|f| f["properties"]["layer"] == "parks"));
    let originals: BTreeMap<String, Value> =
        file_features(&geodata_dir().join("spatial-carriers.geojson"))
            .into_iter()
            .map(|f| (f["id"].as_str().unwrap().to_owned(), f))
            .collect();
    let mut cut = 0;
    for f in &carriers {
        let orig = &originals[f["id"].as_str().unwrap()];
        let ring = orig["geometry"]["coordinates"][0].as_array().unwrap();
        let xs: Vec<f64> = ring.iter().map(|c| c[0].as_f64().unwrap()).collect();
        let ys: Vec<f64> = ring.iter().map(|c| c[1].as_f64().unwrap()).collect();
        let fold = |v: &[f64], init: f64, f: fn(f64, f64) -> f64| v.iter().copied().fold(init, f);
        // Parcels are lon/lat rectangles, so their intersection with the box is one too.
        let (x0, x1) = (
            fold(&xs, f64::INFINITY, f64::min).max(w),
            fold(&xs, f64::NEG_INFINITY, f64::max).min(e),
        );
        let (y0, y1) = (
            fold(&ys, f64::INFINITY, f64::min).max(s),
            fold(&ys, f64::NEG_INFINITY, f64::max).min(n),
        );
        let expected = cea_area_m2(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]);
        let got = f["properties"]["geodesic_area_m2"].as_f64().unwrap();
        assert!(
            ((got - expected) / expected).abs() < 0.001,
            "{}: {got} vs {expected}",
            f["id"]
        );
        if x0 > fold(&xs, f64::INFINITY, f64::min)
            || x1 < fold(&xs, f64::NEG_INFINITY, f64::max)
            || y0 > fold(&ys, f64::INFINITY, f64::min)
            || y1 < fold(&ys, f64::NEG_INFINITY, f64::max)
        {
            cut += 1;
            // And the geometry really was cut to the box.
            let mut pts = Vec::new();
            positions(&f["geometry"]["coordinates"], &mut pts);
            assert!(pts.iter().all(|(x, y)| *x >= w - 1e-9
                && *x <= e + 1e-9
                && *y >= s - 1e-9
                && *y <= n + 1e-9));
        }
    }
    assert!(cut >= 1, "the box should cut through at least one parcel");

    // Unclipped: whole features. As a GeoPackage: one table per layer.
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/export"))
        .json(&json!({"layers": ["spatial-carriers", "parks"], "zone": "ftz-etown-cluster", "f": "gpkg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_dir, p) = tmp("area.gpkg");
    std::fs::write(&p, res.bytes().await.unwrap()).unwrap();
    let info = Command::new("ogrinfo")
        .args(["-ro", "-q", p.to_str().unwrap()])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&info.stdout);
    assert!(
        listing.contains("spatial-carriers") && listing.contains("parks"),
        "{listing}"
    );
    let in_ftz: Value = reqwest::get(format!(
        "http://{addr}/collections/spatial-carriers/items?limit=100&zones=ftz-etown-cluster"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let table = gdal_layer(p.to_str().unwrap(), Some("spatial-carriers"));
    assert!(table.len() >= in_ftz["numberMatched"].as_u64().unwrap() as usize);
}

#[tokio::test(flavor = "multi_thread")]
async fn gcj02_and_other_crs_outputs() {
    let addr = serve(fixture_app("gcj")).await;
    // eviltransform's published pairs (WGS84 -> GCJ-02).
    let expected = [
        ("shanghai", 121.531541859215, 31.17530398364597),
        ("shenzhen", 113.9171764808363, 22.540796131694766),
        ("beijing", 116.38404722455657, 39.91334545536069),
    ];
    let res = reqwest::get(format!(
        "http://{addr}/collections/cities/export?f=geojson&crs=gcj02"
    ))
    .await
    .unwrap();
    assert_eq!(res.headers()["content-crs"], "<gcj02>");
    let doc: Value = res.json().await.unwrap();
    for (id, lon, lat) in expected {
        let f = doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap();
        let c = &f["geometry"]["coordinates"];
        assert!(
            (c[0].as_f64().unwrap() - lon).abs() < 1e-9
                && (c[1].as_f64().unwrap() - lat).abs() < 1e-9,
            "{id}: {c}"
        );
    }
    // EPSG:4490 puts latitude first, as its definition orders the axes.
    let doc: Value = reqwest::get(format!(
        "http://{addr}/collections/cities/export?crs=EPSG:4490"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let c = &doc["features"][2]["geometry"]["coordinates"];
    assert_eq!(
        (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
        (39.911954, 116.377817)
    );
    // EPSG:3857, in a GeoPackage that GDAL reads with its CRS.
    let (_, p, _dir) = download(
        &addr,
        "/collections/cities/export?f=gpkg&crs=EPSG:3857",
        "m.gpkg",
    )
    .await;
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al", p.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("Pseudo-Mercator") || text.contains("3857"),
        "{text}"
    );
    let f = gdal_features(p.to_str().unwrap());
    let x = f
        .iter()
        .find(|g| g["properties"]["feature_id"] == "beijing")
        .unwrap()["geometry"]["coordinates"][0]
        .as_f64()
        .unwrap();
    assert!((x - 6_378_137.0 * 116.377817f64.to_radians()).abs() < 1e-3);
}

/// An area export with the find panel's filter holds what the map shows: for the filtered
/// layer, exactly what a search with the area and the filter finds; the others, the area only.
#[tokio::test]
async fn an_area_export_applies_each_layers_own_filter() {
    let app = shipped_app();
    let area = serde_json::json!({"type": "Polygon", "coordinates": [[[116.45, 39.70], [116.70, 39.70], [116.70, 39.86], [116.45, 39.86], [116.45, 39.70]]]});
    let find =
        serde_json::json!({"op": ">=", "args": [{"property": "available_floor_area_m2"}, 50000]});
    let within =
        serde_json::json!({"op": "s_intersects", "args": [{"property": "geometry"}, area]});
    let ids = |doc: &Value, layer: Option<&str>| -> Vec<String> {
        let mut v: Vec<String> = doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| layer.is_none_or(|l| f["properties"]["layer"] == l))
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let search = |layer: &str, filter: Value| {
        let body = serde_json::json!({"filter": filter, "limit": 10000}).to_string();
        let uri = format!("/collections/{layer}/search");
        let app = app.clone();
        async move { request(&app, post_json(&uri, body)).await.json() }
    };
    let body = serde_json::json!({"layers": ["spatial-carriers", "parks"], "area": area, "filters": {"spatial-carriers": find}});
    let doc = request(&app, post_json("/export", body.to_string()))
        .await
        .json();
    let carriers = ids(
        &search(
            "spatial-carriers",
            serde_json::json!({"op": "and", "args": [within, find]}),
        )
        .await,
        None,
    );
    assert!(!carriers.is_empty() && carriers.len() < 58);
    assert_eq!(ids(&doc, Some("spatial-carriers")), carriers);
    assert_eq!(
        ids(&doc, Some("parks")),
        ids(&search("parks", within.clone()).await, None)
    );
    // A filter for a layer not exported, or one that does not compile: 400, naming `filters`.
    for filters in [
        serde_json::json!({"parks": find}),
        serde_json::json!({"spatial-carriers": {"op": ">=", "args": [{"property": "nope"}, 1]}}),
    ] {
        let body =
            serde_json::json!({"layers": ["spatial-carriers"], "area": area, "filters": filters});
        let p = request(&app, post_json("/export", body.to_string()))
            .await
            .problem(400);
        assert_eq!(p["parameter"], "filters", "{p}");
    }
}
