//! Local basemaps: an MBTiles file the operator names in the config is served by this server,
//! raster or vector, with no outside host. The files here are written by the test with SQLite
//! directly (the MBTiles 1.3 layout), not by the code under test.

use std::io::Write;
use std::sync::Arc;

use etown_atlas::basemap::Basemaps;
use etown_atlas::config::{Basemap, Datum, ServerConfig};
use etown_atlas::http::{app, AppState};
use etown_atlas::model::Localized;
use etown_atlas::store::MemoryStore;

use crate::common::*;

/// Writes an MBTiles file with `tiles` as `(z, x, y_xyz, bytes)`.
fn mbtiles(
    path: &std::path::Path,
    format: &str,
    extra: &[(&str, &str)],
    tiles: &[(u8, u32, u32, Vec<u8>)],
) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch("CREATE TABLE metadata (name text, value text); CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);").unwrap();
    for (k, v) in [
        ("name", "test"),
        ("format", format),
        ("minzoom", "0"),
        ("maxzoom", "3"),
    ]
    .iter()
    .chain(extra)
    {
        db.execute("INSERT INTO metadata VALUES (?1, ?2)", (k, v))
            .unwrap();
    }
    for (z, x, y, bytes) in tiles {
        // MBTiles rows count from the south.
        let tms = (1u32 << z) - 1 - y;
        db.execute(
            "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
            (z, x, tms, bytes),
        )
        .unwrap();
    }
}

fn basemap(id: &str, file: &std::path::Path) -> Basemap {
    Basemap {
        id: id.into(),
        title: Localized::Both {
            zh: "本地底图".into(),
            en: "Local basemap".into(),
        },
        url: None,
        mbtiles: Some(file.to_owned()),
        key: None,
        datum: Datum::Wgs84,
        attribution: None,
        tile_size: 256,
        default: true,
    }
}

fn app_with(basemaps: Vec<Basemap>) -> axum::Router {
    let mut config = ServerConfig::default();
    config.map.basemaps = basemaps;
    let opened = Basemaps::open(
        config
            .map
            .basemaps
            .iter()
            .filter_map(|b| Some((b.id.as_str(), b.mbtiles.as_ref()?))),
    )
    .unwrap();
    app(AppState::new(Arc::new(MemoryStore::new(shipped_catalog())), config).with_basemaps(opened))
}

#[tokio::test]
async fn a_raster_mbtiles_file_is_served_by_xyz_with_no_outside_host() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roads.mbtiles");
    let png = |n: u8| [&[0x89, b'P', b'N', b'G'][..], &[n; 16]].concat();
    // Distinct bytes per tile, so a row flipped the wrong way shows.
    mbtiles(
        &file,
        "png",
        &[
            ("attribution", "Survey bureau"),
            ("bounds", "116.0,39.5,117.0,40.2"),
        ],
        &[(1, 1, 0, png(1)), (1, 1, 1, png(2)), (2, 3, 1, png(3))],
    );
    let app = app_with(vec![basemap("roads", &file)]);
    for (path, bytes) in [
        ("/basemaps/roads/1/1/0", png(1)),
        ("/basemaps/roads/1/1/1", png(2)),
        ("/basemaps/roads/2/3/1", png(3)),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.headers["content-type"], "image/png");
        assert_eq!(&r.bytes[..], &bytes[..], "{path}");
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        let again = request(&app, get_with(path, &[("if-none-match", &etag)])).await;
        assert_eq!(again.status, 304);
    }
    // Where the file has nothing: an empty answer the map draws as nothing.
    assert_eq!(get(&app, "/basemaps/roads/1/0/0").await.status, 204);
    // Outside the grid, an unknown basemap, a parameter: problems.
    get(&app, "/basemaps/roads/1/2/0").await.problem(404);
    get(&app, "/basemaps/roads/x/0/0").await.problem(404);
    get(&app, "/basemaps/nope/1/1/0").await.problem(404);
    get(&app, "/basemaps/roads/1/1/0?x=1").await.problem(400);
    // The map's settings point at this server only, with the file's metadata.
    let cfg = get(&app, "/map-config").await.json();
    let b = &cfg["basemaps"][0];
    assert_eq!(b["type"], "raster");
    assert_eq!(b["attribution"], "Survey bureau");
    assert_eq!(b["bounds"], serde_json::json!([116.0, 39.5, 117.0, 40.2]));
    assert_eq!(b["default"], true);
    let tiles = b["tiles"][0].as_str().unwrap();
    assert!(tiles.ends_with("/basemaps/roads/{z}/{x}/{y}"), "{tiles}");
    let csp = get(&app, "/").await.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("http"), "a local basemap adds no host: {csp}");
}

#[tokio::test]
async fn a_vector_mbtiles_file_is_served_compressed_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("streets.mbtiles");
    let tile = b"\x1a\x05fake!".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tile).unwrap();
    let stored = gz.finish().unwrap();
    let json = r#"{"vector_layers":[{"id":"roads","fields":{"name":"String"}}]}"#;
    mbtiles(
        &file,
        "pbf",
        &[("json", json)],
        &[(0, 0, 0, stored.clone())],
    );
    let app = app_with(vec![basemap("streets", &file)]);
    let r = get(&app, "/basemaps/streets/0/0/0").await;
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(gunzip(&r.bytes), tile);
    let cfg = get(&app, "/map-config").await.json();
    assert_eq!(cfg["basemaps"][0]["type"], "vector");
    assert_eq!(cfg["basemaps"][0]["vectorLayers"][0]["id"], "roads");
}

#[test]
fn a_file_that_is_not_mbtiles_is_refused_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mbtiles");
    std::fs::write(&text, "hello").unwrap();
    let no_format = dir.path().join("noformat.mbtiles");
    let db = rusqlite::Connection::open(&no_format).unwrap();
    db.execute_batch("CREATE TABLE metadata (name text, value text); CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);").unwrap();
    drop(db);
    for (file, expected) in [(&text, "notes.mbtiles"), (&no_format, "no format")] {
        let e = Basemaps::open([("b", file)]).err().unwrap().to_string();
        assert!(e.contains(expected), "{e}");
    }
    let missing = dir.path().join("missing.mbtiles");
    let e = Basemaps::open([("b", &missing)]).err().unwrap().to_string();
    assert!(e.contains("missing.mbtiles"), "{e}");
}

#[test]
fn the_config_file_takes_a_local_or_an_online_basemap_not_both() {
    let dir = tempfile::tempdir().unwrap();
    let write = |text: &str| {
        let p = dir.path().join("atlas.toml");
        std::fs::write(&p, text).unwrap();
        etown_atlas::config::FileConfig::load(&p)
    };
    let local = write(
        "[[map.basemaps]]\nid = \"roads\"\ntitle = \"Roads\"\nmbtiles = \"tiles/roads.mbtiles\"\n",
    )
    .unwrap();
    // A relative path is read from the config file's directory.
    assert_eq!(
        local.map.basemaps[0].mbtiles.as_deref(),
        Some(dir.path().join("tiles/roads.mbtiles").as_path())
    );
    for bad in [
        "[[map.basemaps]]\nid = \"x\"\ntitle = \"X\"\n",
        "[[map.basemaps]]\nid = \"x\"\ntitle = \"X\"\nmbtiles = \"a\"\nurl = \"https://t/{z}/{x}/{y}\"\nattribution = \"a\"\n",
        "[[map.basemaps]]\nid = \"x\"\ntitle = \"X\"\nurl = \"https://t/{z}/{x}/{y}\"\n",
        "[[map.basemaps]]\nid = \"x/y\"\ntitle = \"X\"\nmbtiles = \"a\"\n",
    ] {
        assert!(write(bad).is_err(), "{bad}");
    }
}
