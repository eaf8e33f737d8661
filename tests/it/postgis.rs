//! PostgreSQL/PostGIS as the store: `db migrate` creates the schema once (numbered migrations),
//! `db import` writes every layer as a table, and GDAL's PostgreSQL driver (what QGIS uses)
//! then reads from the database the same features, attribute values and geometries as the API
//! serves. Against a throwaway cluster started by the test.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

use crate::common::postgres::Cluster;
use crate::common::{served, shipped_catalog, spawn_server};

fn atlas(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether a value the API serves and the one GDAL read back are the same datum: numbers to
/// the last bits GDAL writes, instants as instants (GDAL may write them differently).
fn same(api: &Value, ogr: &Value) -> bool {
    match (api, ogr) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
        }
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!(
                    (
                        chrono::DateTime::parse_from_rfc3339(a),
                        chrono::DateTime::parse_from_rfc3339(&b.replace('/', "-").replacen(' ', "T", 1)),
                    ),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (a, b) => a == b,
    }
}

/// Every feature of `table` as GDAL's PostgreSQL driver reads it, by `feature_id`.
pub(crate) fn read_with_gdal(dsn: &str, table: &str) -> HashMap<String, Value> {
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "/vsistdout/", &format!("PG:{dsn}"), table])
        .output()
        .expect("ogr2ogr runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["feature_id"].as_str().unwrap().to_owned(),
                f.clone(),
            )
        })
        .collect()
}

/// Asserts that the feature GDAL read (`ogr`) has the API's properties and coordinates.
pub(crate) fn assert_same_feature(
    what: &str,
    properties: &serde_json::Map<String, Value>,
    geometry: &Value,
    ogr: &Value,
) {
    for (name, value) in properties {
        let got = &ogr["properties"][name];
        assert!(
            same(value, got),
            "{what} {name}: API {value}, database {got}"
        );
    }
    let (mut want, mut got) = (Vec::new(), Vec::new());
    coordinates(geometry, &mut want);
    coordinates(&ogr["geometry"], &mut got);
    assert_eq!(want.len(), got.len(), "{what}: vertices");
    assert!(
        want.iter().zip(&got).all(|(a, b)| (a - b).abs() < 1e-9),
        "{what}: coordinates differ"
    );
}

/// Every coordinate of a GeoJSON geometry, in order.
fn coordinates(g: &Value, out: &mut Vec<f64>) {
    match g {
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().for_each(|i| coordinates(i, out)),
        Value::Object(o) => {
            if let Some(c) = o.get("coordinates") {
                coordinates(c, out)
            }
        }
        _ => {}
    }
}

#[test]
fn the_database_holds_what_the_api_serves() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let (ok, log) = atlas(&["db", "migrate", "--store", &dsn]);
    assert!(
        ok && log.contains("applied migrations [1, 2, 3, 4, 5, 6]"),
        "{log}"
    );
    let (ok, log) = atlas(&["db", "migrate", "--store", &dsn]);
    assert!(
        ok && log.contains("up to date"),
        "a second migrate changes nothing: {log}"
    );
    let (ok, log) = atlas(&["db", "import", "--store", &dsn]);
    assert!(ok, "{log}");
    // Importing again replaces the tables: still one copy of each feature.
    let (ok, log) = atlas(&["db", "import", "--store", &dsn]);
    assert!(ok, "{log}");

    let mut client = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
    let versions: Vec<i32> = client
        .query("SELECT version FROM atlas_migrations ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);

    let catalog = shipped_catalog();
    for layer in catalog.layers() {
        let read = read_with_gdal(&dsn, layer.id.as_str());
        assert_eq!(read.len(), layer.live_count(), "{}", layer.id);
        let stored: i64 = client
            .query_one(
                "SELECT features FROM atlas_collections WHERE id = $1",
                &[&layer.id.as_str()],
            )
            .unwrap()
            .get(0);
        assert_eq!(stored as usize, layer.live_count());
        for slot in layer.live_slots() {
            let api = layer.feature(slot, None);
            let id = api.id.to_string();
            let ogr = read
                .get(&id)
                .unwrap_or_else(|| panic!("{} {id} is in the database", layer.id));
            let geometry = serde_json::to_value(geojson::Geometry::from(&api.geometry)).unwrap();
            assert_same_feature(
                &format!("{} {id}", layer.id),
                &api.properties,
                &geometry,
                ogr,
            );
        }
    }
    // A GiST index on every table's geometry.
    let gist: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(gist as usize, catalog.layers().len());
}

#[test]
fn a_store_that_cannot_be_reached_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://atlas:s3cret-w0rd@127.0.0.1:{port}/atlas");
    let (ok, log) = atlas(&["db", "migrate", "--store", &url]);
    assert!(!ok);
    assert!(
        log.contains(&format!("port {port}")) && log.contains("database atlas"),
        "{log}"
    );
    assert!(!log.contains("s3cret-w0rd"), "{log}");
}

#[test]
fn layers_read_back_from_the_database_are_the_layers_imported() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let (ok, log) = atlas(&["db", "import", "--store", &dsn]);
    assert!(ok, "{log}");
    let mut client = etown_atlas::postgis::connect(&dsn).unwrap();
    let (read, version) = etown_atlas::postgis::load(&mut client, &[]).unwrap();
    assert_eq!(version, 0, "no change recorded yet");
    let shipped = shipped_catalog();
    assert_eq!(served(&read), served(&shipped));
    // The sidecars and vocabularies came along: titles, zones and vocabularies as shipped.
    for (a, b) in read.layers().iter().zip(shipped.layers()) {
        assert_eq!(a.meta, b.meta, "{}", a.id);
    }
    assert_eq!(
        read.vocabularies().collect::<Vec<_>>(),
        shipped.vocabularies().collect::<Vec<_>>()
    );
}

/// `serve --store`: a server that reads the database at start answers as one that reads the
/// files.
#[test]
fn a_server_started_from_the_database_answers_as_one_started_from_the_files() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let (ok, log) = atlas(&["db", "import", "--store", &dsn]);
    assert!(ok, "{log}");
    let (mut from_db, db_addr) = spawn_server(&["--store".as_ref(), dsn.as_ref()]);
    let (mut from_files, files_addr) = spawn_server(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for path in [
        "/collections/spatial-carriers/items?limit=100",
        "/collections/spatial-carriers/items?filter=industry%3D%27future_health%27%20AND%20available_floor_area_m2%3E%3D3000",
        "/collections/parks/items",
        "/collections/spatial-carriers/stats?group-by=industry&sum=floor_area_m2",
        "/collections/spatial-carriers/queryables",
    ] {
        let get = |addr: &str| {
            let url = format!("http://{addr}{path}");
            runtime.block_on(async {
                let r = reqwest::get(&url).await.unwrap();
                assert_eq!(r.status(), 200, "{url}");
                let mut v: Value = r.json().await.unwrap();
                // Links name the server's own address.
                v.as_object_mut().map(|o| o.remove("links"));
                v.as_object_mut().map(|o| o.remove("timeStamp"));
                serde_json::to_string(&v).unwrap().replace(addr, "HOST")
            })
        };
        assert_eq!(get(&db_addr), get(&files_addr), "{path}");
    }
    from_db.kill().unwrap();
    from_files.kill().unwrap();
    let _ = (from_db.wait(), from_files.wait());
}

/// Values that CSV, array literals and NULL markers could garble arrive as they left.
#[test]
fn awkward_values_survive_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let features: Vec<Value> = [
        (
            "a,b",
            serde_json::json!(["x\"y", "a\\b", "", "c,d", "{e}"]),
            serde_json::json!({"k": [1, "v"]}),
            "2026-01-02T03:04:05.123Z",
        ),
        (
            "he said \"hi\"\nthen left",
            serde_json::json!([]),
            Value::Null,
            "2026-11-01T00:00:00Z",
        ),
        (
            "\\N",
            Value::Null,
            serde_json::json!([1, {"a": null}]),
            "1999-12-31T23:59:59Z",
        ),
        (
            "",
            serde_json::json!(["NULL"]),
            serde_json::json!({"s": "te\"xt"}),
            "2000-01-01T00:00:00Z",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (text, tags, extra, at))| {
        serde_json::json!({
            "type": "Feature",
            "id": format!("f-{i}\"'"),
            "geometry": {"type": "Point", "coordinates": [116.5 + i as f64 * 0.001, 39.8]},
            "properties": {
                "text": text, "tags": tags, "extra": extra, "at": at,
                "n": if i == 1 { Value::Null } else { serde_json::json!(0.1 + i as f64 / 3.0) },
                "big": 9_007_199_254_740_993_i64 - i as i64,
                "flag": i % 2 == 0,
                "day": format!("2026-0{}-1{}", i + 1, i),
            }
        })
    })
    .collect();
    std::fs::write(
        dir.path().join("awkward.geojson"),
        serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features}))
            .unwrap(),
    )
    .unwrap();
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let (ok, log) = atlas(&[
        "db",
        "import",
        "--store",
        &dsn,
        "--data",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    let mut client = etown_atlas::postgis::connect(&dsn).unwrap();
    let (read, version) = etown_atlas::postgis::load(&mut client, &[]).unwrap();
    assert_eq!(version, 0, "no change recorded yet");
    let files = crate::common::catalog_for(dir.path(), etown_atlas::ingest::LoadOptions::default());
    assert_eq!(served(&read), served(&files));
}

/// A table the program did not create (here in EPSG:3857, with a text id and columns of
/// several types) is served read-only by configuration, beside the imported collections.
#[test]
fn a_configured_postgis_table_is_served_read_only() {
    let pg = Cluster::start();
    let dsn = pg.dsn();
    let (ok, log) = atlas(&["db", "import", "--store", &dsn]);
    assert!(ok, "{log}");
    let mut client = postgres::Client::connect(&dsn, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE SCHEMA city;
             CREATE TABLE city.roads (code varchar PRIMARY KEY, name text, lanes int4, width real,
                 opened date, tags text[], shape geometry(LineString, 3857), secret text);
             INSERT INTO city.roads VALUES
               ('R1', 'Jinghai Road', 6, 30.5, '2001-05-01', '{arterial}',
                ST_Transform(ST_GeomFromText('LINESTRING(116.50 39.78, 116.52 39.79)', 4326), 3857), 'x'),
               ('R2', 'Kechuang Street', 4, NULL, NULL, '{}',
                ST_Transform(ST_GeomFromText('LINESTRING(116.51 39.77, 116.51 39.80)', 4326), 3857), 'y');",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("atlas.toml");
    std::fs::write(
        &config,
        r#"[[postgis_tables]]
collection = "roads"
table = "city.roads"
id_column = "code"
geometry_column = "shape"
columns = ["name", "lanes", "width", "opened", "tags"]
title = { zh = "道路", en = "Roads" }
"#,
    )
    .unwrap();
    let (mut server, addr) = spawn_server(&[
        "--store".as_ref(),
        dsn.as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let get = |path: &str| -> (u16, Value) {
        runtime.block_on(async {
            let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
        })
    };
    let (status, page) = get("/collections/roads/items");
    assert_eq!(status, 200, "{page}");
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    let r1 = &features[0];
    assert_eq!(r1["id"], "R1");
    assert_eq!(r1["properties"]["name"], "Jinghai Road");
    assert_eq!(r1["properties"]["lanes"], 6);
    assert_eq!(r1["properties"]["width"], 30.5);
    assert_eq!(r1["properties"]["opened"], "2001-05-01");
    assert_eq!(r1["properties"]["tags"], serde_json::json!(["arterial"]));
    assert!(
        r1["properties"].get("secret").is_none(),
        "only the configured columns"
    );
    // Back in EPSG:4326 (to PostGIS's transform's precision).
    let c = &r1["geometry"]["coordinates"][0];
    assert!((c[0].as_f64().unwrap() - 116.50).abs() < 1e-9, "{c}");
    assert!((c[1].as_f64().unwrap() - 39.78).abs() < 1e-9, "{c}");
    // Queryable like any collection, and the imported collections are still there.
    let (_, found) = get("/collections/roads/items?filter=lanes%3E5");
    assert_eq!(found["numberMatched"], 1);
    assert_eq!(get("/collections/spatial-carriers/items?limit=1").0, 200);
    let (_, collection) = get("/collections/roads");
    assert_eq!(collection["title"], "Roads");
    // Read-only: an edit is refused whatever the token.
    let refused = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/collections/roads/items"))
            .header("content-type", "application/geo+json")
            .body("{}")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert!(matches!(refused, 401 | 405), "{refused}");
    server.kill().unwrap();
    let _ = server.wait();

    // A table that is not there, and `editable = true`, are refused at start with the reason.
    for (table, editable, says) in [
        ("city.nowhere", "false", "does not exist"),
        ("city.roads", "true", "not supported yet"),
    ] {
        std::fs::write(
            &config,
            format!(
                "[[postgis_tables]]\ncollection = \"roads\"\ntable = \"{table}\"\nid_column = \"code\"\ngeometry_column = \"shape\"\neditable = {editable}\n"
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                &dsn,
                "--config",
            ])
            .arg(&config)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{err}");
    }
}
