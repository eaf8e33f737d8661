//! Vector tiles (issue 17): OGC API - Tiles discovery, TileJSON, and the tiles themselves,
//! decoded by an independent decoder (the `mvt-reader` crate) and by GDAL's MVT driver, checked
//! against what the items API returns for the same box and filter.

use std::collections::{BTreeMap, BTreeSet};

use geo::{BoundingRect, Coord, CoordsIter, Distance, Euclidean, LinesIter};
use mvt_reader::feature::Value as MvtValue;
use serde_json::{json, Value};

use crate::common::*;

/// Units across a tile, and the buffer around it, as MVT and the server use them.
const EXTENT: f64 = 4096.0;
const BUFFER: f64 = 64.0;

/// Web Mercator, computed here (not by the server): a CRS84 position as a fraction of the
/// world from its north-west corner.
fn world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.to_radians();
    (
        (lon + 180.0) / 360.0,
        (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0,
    )
}

fn unworld(x: f64, y: f64) -> (f64, f64) {
    (
        x * 360.0 - 180.0,
        (std::f64::consts::PI * (1.0 - 2.0 * y))
            .sinh()
            .atan()
            .to_degrees(),
    )
}

/// A position in a tile's units.
fn in_tile((z, tx, ty): (u32, u32, u32), c: Coord<f64>) -> Coord<f64> {
    let n = f64::from(1u32 << z);
    let (x, y) = world(c.x, c.y);
    Coord {
        x: x * n * EXTENT - f64::from(tx) * EXTENT,
        y: y * n * EXTENT - f64::from(ty) * EXTENT,
    }
}

/// The CRS84 box of a tile and its buffer, as `west,south,east,north`.
fn buffered_bbox((z, x, y): (u32, u32, u32)) -> String {
    let n = f64::from(1u32 << z);
    let b = BUFFER / EXTENT;
    let (w, north) = unworld((f64::from(x) - b) / n, (f64::from(y) - b) / n);
    let (e, s) = unworld((f64::from(x) + 1.0 + b) / n, (f64::from(y) + 1.0 + b) / n);
    format!("{w},{s},{e},{north}")
}

/// A decoded tile: its layers by name.
fn decode(bytes: &[u8]) -> BTreeMap<String, Vec<mvt_reader::feature::Feature<f64>>> {
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    reader
        .get_layer_names()
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, reader.get_features_as::<f64>(i).unwrap()))
        .collect()
}

fn fid(f: &mvt_reader::feature::Feature<f64>) -> String {
    match f.properties.as_ref().and_then(|p| p.get("fid")) {
        Some(MvtValue::String(s)) => s.clone(),
        Some(MvtValue::SInt(n)) | Some(MvtValue::Int(n)) => n.to_string(),
        other => panic!("fid {other:?}"),
    }
}

/// A tile's property as the JSON the items API gives for it.
fn as_json(v: &MvtValue) -> Value {
    match v {
        MvtValue::String(s) => json!(s),
        MvtValue::Double(d) => json!(d),
        MvtValue::Float(f) => json!(f),
        MvtValue::Int(n) | MvtValue::SInt(n) => json!(n),
        MvtValue::UInt(n) => json!(n),
        MvtValue::Bool(b) => json!(b),
        MvtValue::Null => Value::Null,
    }
}

/// The segments of a polygonal or linear geometry.
fn outline(g: &geo::Geometry<f64>) -> Vec<geo::Line<f64>> {
    match g {
        geo::Geometry::Polygon(p) => p.lines_iter().collect(),
        geo::Geometry::MultiPolygon(mp) => mp.lines_iter().collect(),
        geo::Geometry::LineString(l) => l.lines_iter().collect(),
        geo::Geometry::MultiLineString(ml) => ml.lines_iter().collect(),
        other => panic!("no outline: {other:?}"),
    }
}

/// The largest distance from a point of `a` to the outline of `b`, in tile units.
fn one_way_distance(a: &geo::Geometry<f64>, b: &geo::Geometry<f64>) -> f64 {
    let lines = outline(b);
    a.coords_iter()
        .map(|c| {
            lines
                .iter()
                .map(|l| Euclidean.distance(&geo::Point(c), l))
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max)
}

async fn tile_bytes(app: &axum::Router, path: &str) -> (u16, Vec<u8>, axum::http::HeaderMap) {
    let r = get(app, path).await;
    (r.status.as_u16(), r.bytes, r.headers)
}

#[tokio::test]
async fn tiles_are_discoverable_as_ogc_api_tiles_and_tilejson() {
    let app = shipped_app();
    let landing = get(&app, "/?f=json").await.json();
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert!(
        rels.contains(&"http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"),
        "{rels:?}"
    );
    let conformance = get(&app, "/conformance").await.json();
    for c in [
        "core",
        "tileset",
        "tilesets-list",
        "geodata-tilesets",
        "dataset-tilesets",
        "collections-selection",
        "mvt",
    ] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{c}");
        assert!(
            conformance["conformsTo"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == &json!(uri)),
            "{c}"
        );
    }
    let collection = get(&app, "/collections/spatial-carriers").await.json();
    let tiles_link = collection["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
        .unwrap();
    assert!(tiles_link["href"]
        .as_str()
        .unwrap()
        .ends_with("/collections/spatial-carriers/tiles"));
    assert_eq!(
        collection["mapRendering"]["mode"], "geojson",
        "58 carriers are sent whole"
    );

    let list = get(&app, "/collections/spatial-carriers/tiles")
        .await
        .json();
    let sets = list["tilesets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    for set in sets {
        assert_eq!(set["dataType"], "vector");
        let item = set["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "item")
            .unwrap();
        assert_eq!(item["templated"], true);
        assert_eq!(item["type"], "application/vnd.mapbox-vector-tile");
        assert!(item["href"]
            .as_str()
            .unwrap()
            .ends_with("/{tileMatrix}/{tileRow}/{tileCol}"));
    }
    let tileset = get(&app, "/collections/spatial-carriers/tiles/WebMercatorQuad")
        .await
        .json();
    assert_eq!(
        tileset["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    // The limits at zoom 10 are the tiles that cover the collection's extent.
    let extent = collection["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect::<Vec<_>>();
    let (_, x0, y0) = tile_of(10, extent[0], extent[3]);
    let (_, x1, y1) = tile_of(10, extent[2], extent[1]);
    let z10 = tileset["tileMatrixSetLimits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tileMatrix"] == "10")
        .unwrap();
    assert_eq!(
        (z10["minTileCol"].as_u64(), z10["maxTileCol"].as_u64()),
        (Some(x0.into()), Some(x1.into()))
    );
    assert_eq!(
        (z10["minTileRow"].as_u64(), z10["maxTileRow"].as_u64()),
        (Some(y0.into()), Some(y1.into()))
    );
    let tms = get(&app, "/tileMatrixSets/WebMercatorQuad").await.json();
    assert_eq!(tms["tileMatrices"][0]["matrixWidth"], 1);
    assert_eq!(tms["tileMatrices"][16]["matrixWidth"], 65536);
    let tj = get(
        &app,
        "/collections/spatial-carriers/tiles/WebMercatorQuad?f=tilejson&industry=future_health",
    )
    .await
    .json();
    assert_eq!(tj["tilejson"], "3.0.0");
    let template = tj["tiles"][0].as_str().unwrap();
    assert!(
        template.contains("/{z}/{y}/{x}?industry=future_health"),
        "{template}"
    );
    let layers: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        ["spatial-carriers", "spatial-carriers_cells", "tile_info"]
    );
}

/// At full detail, a tile holds exactly the features the items API returns for its buffered box,
/// with every property, and geometries within a tile unit or so of the originals.
#[tokio::test]
async fn full_detail_tiles_hold_exactly_what_items_return() {
    let app = shipped_app();
    let carriers = file_features(&geodata_dir().join("spatial-carriers.geojson"));
    // The tiles at the centre of every carrier, at zoom 14 (whole parcels) and 16 (cut ones).
    let tiles: BTreeSet<(u32, u32, u32)> = carriers
        .iter()
        .flat_map(|f| {
            let g: geo::Geometry<f64> = geojson::Geometry::from_json_value(f["geometry"].clone())
                .unwrap()
                .try_into()
                .unwrap();
            let c = g.bounding_rect().unwrap().center();
            [tile_of(14, c.x, c.y), tile_of(16, c.x, c.y)]
        })
        .collect();
    let mut compared = 0;
    for t in tiles {
        let (status, bytes, headers) = tile_bytes(
            &app,
            &format!(
                "/collections/spatial-carriers/tiles/WebMercatorQuad/{}/{}/{}",
                t.0, t.2, t.1
            ),
        )
        .await;
        assert_eq!(status, 200, "{t:?}");
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        assert_eq!(headers["x-tile-complete"], "true");
        let layers = decode(&bytes);
        let items = get(
            &app,
            &format!(
                "/collections/spatial-carriers/items?limit=10000&bbox={}",
                buffered_bbox(t)
            ),
        )
        .await
        .json();
        let expected: BTreeMap<String, &Value> = items["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"]
                        .as_str()
                        .map_or_else(|| f["id"].to_string(), str::to_owned),
                    f,
                )
            })
            .collect();
        let got: BTreeMap<String, &mvt_reader::feature::Feature<f64>> = layers["spatial-carriers"]
            .iter()
            .map(|f| (fid(f), f))
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "tile {t:?}"
        );
        for (id, f) in &got {
            let item = expected[id];
            // Every property the items API gives, with the same value.
            let props = f.properties.as_ref().unwrap();
            for (k, v) in item["properties"].as_object().unwrap() {
                match (props.get(k), v) {
                    (None, Value::Null) => {}
                    (Some(MvtValue::String(s)), Value::Array(_)) => {
                        assert_eq!(s, &v.to_string(), "{id} {k}")
                    }
                    (Some(tv), v) => assert_eq!(&as_json(tv), v, "{id} {k}"),
                    (None, v) => panic!("{id}: {k} = {v} is missing from the tile"),
                }
            }
            // The outline, within about a tile unit (simplified at one unit, snapped to whole
            // units), for parcels wholly inside the tile (others are cut at the buffer).
            let original: geo::Geometry<f64> =
                geojson::Geometry::from_json_value(item["geometry"].clone())
                    .unwrap()
                    .try_into()
                    .unwrap();
            let projected = geo::MapCoords::map_coords(&original, |c| in_tile(t, c));
            let r = projected.bounding_rect().unwrap();
            if r.min().x >= 0.0 && r.min().y >= 0.0 && r.max().x <= EXTENT && r.max().y <= EXTENT {
                let drawn = &f.geometry;
                assert!(
                    one_way_distance(drawn, &projected) <= 1.5,
                    "{id}: a vertex strays from the outline"
                );
                assert!(
                    one_way_distance(&projected, drawn) <= 1.5,
                    "{id}: the outline strays from the tile's"
                );
                compared += 1;
            }
        }
        // What the tile says of itself.
        let info = &layers["tile_info"][0];
        let p = info.properties.as_ref().unwrap();
        assert_eq!(as_json(&p["matched"]), json!(expected.len()));
        assert_eq!(as_json(&p["complete"]), json!(true));
    }
    assert!(compared > 20, "only {compared} outlines compared");
}

/// Filters, `property=value` and POSTed queries select the same features as items.
#[tokio::test]
async fn filtered_tiles_hold_what_the_same_filter_selects() {
    let app = shipped_app();
    let t = (11, 1686, 776);
    let path = |q: &str| {
        format!(
            "/collections/spatial-carriers/tiles/WebMercatorQuad/{}/{}/{}?{q}",
            t.0, t.2, t.1
        )
    };
    let ids = |bytes: &[u8]| -> BTreeSet<String> {
        decode(bytes)
            .get("spatial-carriers")
            .map(|fs| fs.iter().map(fid).collect())
            .unwrap_or_default()
    };
    let items_ids = |doc: Value| -> BTreeSet<String> {
        doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = ids(&tile_bytes(&app, &path("")).await.1);
    for q in [
        "industry=future_health",
        "filter=available_floor_area_m2%20%3E%3D%2050000",
        "filter=status%3D%27planned%27&filter-lang=cql2-text",
    ] {
        let (status, bytes, _) = tile_bytes(&app, &path(q)).await;
        let expected = items_ids(
            get(
                &app,
                &format!(
                    "/collections/spatial-carriers/items?limit=10000&bbox={}&{q}",
                    buffered_bbox(t)
                ),
            )
            .await
            .json(),
        );
        if expected.is_empty() {
            assert_eq!(status, 204, "{q}");
            continue;
        }
        let got = ids(&bytes);
        assert_eq!(got, expected, "{q}");
        assert!(got.len() < all.len(), "{q} selects something");
    }
    // A filter the items API refuses, tiles refuse the same way.
    let p = get(&app, &path("filter=no_such_property%3D1"))
        .await
        .problem(400);
    assert_eq!(p["code"], "unknown_property");
    // A query too large for a URL: POSTed, kept, and used by id.
    let body = json!({"filter": {"op": "=", "args": [{"property": "industry"}, "future_space"]}});
    let r = request(
        &app,
        post_json("/collections/spatial-carriers/tiles", body.to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let tj = r.json();
    let template = tj["tiles"][0].as_str().unwrap();
    let query = template.split("query=").nth(1).unwrap().to_owned();
    assert!(location.ends_with(&format!("?query={query}")), "{location}");
    let got = ids(&tile_bytes(&app, &path(&format!("query={query}"))).await.1);
    let expected = items_ids(
        get(
            &app,
            &format!(
                "/collections/spatial-carriers/items?limit=10000&bbox={}&industry=future_space",
                buffered_bbox(t)
            ),
        )
        .await
        .json(),
    );
    assert_eq!(got, expected);
    get(&app, &path("query=0123456789abcdef"))
        .await
        .problem(404);
}

#[tokio::test]
async fn tiles_answer_204_404_304_and_compress() {
    let app = shipped_app();
    // The middle of the Pacific: nothing there.
    let (status, bytes, _) = tile_bytes(
        &app,
        "/collections/spatial-carriers/tiles/WebMercatorQuad/5/15/1",
    )
    .await;
    assert_eq!((status, bytes.len()), (204, 0));
    for path in [
        "/collections/spatial-carriers/tiles/WebMercatorQuad/25/0/0",
        "/collections/spatial-carriers/tiles/WebMercatorQuad/3/8/0",
        "/collections/spatial-carriers/tiles/WebMercatorQuad/17/0/0",
        "/collections/spatial-carriers/tiles/NoSuchSet/3/0/0",
        "/collections/nothing/tiles/WebMercatorQuad/3/0/0",
    ] {
        get(&app, path).await.problem(404);
    }
    let path = "/collections/spatial-carriers/tiles/WebMercatorQuad/10/388/843";
    let first = get(&app, path).await;
    assert_eq!(first.status, 200);
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");
    let again = request(&app, get_with(path, &[("if-none-match", &etag)])).await;
    assert_eq!(again.status, 304);
    let gz = request(&app, get_with(path, &[("accept-encoding", "gzip")])).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    assert_eq!(gunzip(&gz.bytes), first.bytes);
}

/// The dataset's tiles hold each named collection as a layer, in the order named.
#[tokio::test]
async fn dataset_tiles_hold_a_layer_per_collection() {
    let app = shipped_app();
    let (status, bytes, _) = tile_bytes(
        &app,
        "/tiles/WebMercatorQuad/10/388/843?collections=parks,spatial-carriers",
    )
    .await;
    assert_eq!(status, 200);
    let reader = mvt_reader::Reader::new(bytes).unwrap();
    assert_eq!(
        reader.get_layer_names().unwrap(),
        ["parks", "spatial-carriers", "tile_info"]
    );
    get(
        &app,
        "/tiles/WebMercatorQuad/10/388/843?collections=parks,parks",
    )
    .await
    .problem(400);
}

/// Past its caps a tile drops the smallest features first, or sums them per cell, and says so.
#[test]
fn tiles_over_their_caps_degrade_and_say_so() {
    use etown_atlas::query::{compile, Budget, FeatureQuery};
    use etown_atlas::tiles::matrix::TileId;
    use etown_atlas::tiles::{encode, layer_tile, TileLimits};
    let dir = synth_dir(20_000);
    let catalog = catalog_for(dir.path(), etown_atlas::ingest::LoadOptions::default());
    let layer = catalog.layer("spatial-carriers").unwrap();
    let plan = compile(layer, &FeatureQuery::default()).unwrap();
    // Beijing's south-east at zoom 10, where the synthetic parks are densest.
    let (z, x, y) = tile_of(10, 116.6, 39.8);
    let tile = TileId::new(z, x, y).unwrap();
    // Room for every feature (the default byte cap would already thin this dense tile).
    let room = TileLimits {
        max_bytes: 16 << 20,
        ..TileLimits::default()
    };
    let ample = layer_tile(layer, &plan, tile, &room, &Budget::unlimited()).unwrap();
    assert!(
        ample.complete() && ample.matched > 500,
        "{} matched",
        ample.matched
    );
    // Fewer features allowed: the largest kept, the tile incomplete.
    let few = TileLimits {
        max_features: 100,
        ..room
    };
    let thinned = layer_tile(layer, &plan, tile, &few, &Budget::unlimited()).unwrap();
    assert_eq!(thinned.drawn, 100);
    assert!(!thinned.complete());
    let kept: BTreeSet<u64> = thinned.layer.features.iter().filter_map(|f| f.id).collect();
    let area = |id: u64| {
        layer
            .column("floor_area_m2")
            .unwrap()
            .number_at(layer.slot_of(&id.to_string()).unwrap())
            .unwrap()
    };
    let smallest_kept = kept
        .iter()
        .map(|id| area(*id))
        .fold(f64::INFINITY, f64::min);
    let all: Vec<u64> = ample.layer.features.iter().filter_map(|f| f.id).collect();
    let larger_dropped = all
        .iter()
        .filter(|id| !kept.contains(id) && area(**id) > smallest_kept * 4.0)
        .count();
    // Drawn size follows the parcel's area (rectangles of similar shape), so what was dropped is
    // not much larger than what was kept.
    assert!(
        larger_dropped < all.len() / 20,
        "{larger_dropped} much larger features were dropped"
    );
    // A byte cap.
    let small = TileLimits {
        max_bytes: 20_000,
        ..room
    };
    let capped = layer_tile(layer, &plan, tile, &small, &Budget::unlimited()).unwrap();
    assert!(
        encode(vec![("spatial-carriers".into(), capped.clone())])
            .bytes
            .len()
            <= 20_000 + 4_000
    );
    assert!(!capped.complete() && capped.drawn < ample.drawn);
    // Too many to draw: cells with counts that add up to the features whose centre is inside.
    let cells = TileLimits {
        aggregate_above: 10,
        ..room
    };
    let summed = layer_tile(layer, &plan, tile, &cells, &Budget::unlimited()).unwrap();
    assert!(summed.aggregated && !summed.complete());
    assert_eq!(summed.layer.name, "spatial-carriers_cells");
    let encoded = encode(vec![("spatial-carriers".into(), summed)]);
    let layers = decode(&encoded.bytes);
    let counted: f64 = layers["spatial-carriers_cells"]
        .iter()
        .map(|f| {
            as_json(&f.properties.as_ref().unwrap()["count"])
                .as_f64()
                .unwrap()
        })
        .sum();
    let (west, south, east, north) = {
        let n = f64::from(1u32 << z);
        let (w, nn) = unworld(f64::from(x) / n, f64::from(y) / n);
        let (e, s) = unworld(f64::from(x + 1) / n, f64::from(y + 1) / n);
        (w, s, e, nn)
    };
    let centred = (0..layer.len())
        .filter(|&s| {
            let c = layer.envelope(s).center();
            c.x >= west && c.x < east && c.y > south && c.y <= north
        })
        .count();
    assert_eq!(counted as usize, centred);
    let info = &layers["tile_info"][0];
    assert_eq!(
        as_json(&info.properties.as_ref().unwrap()["complete"]),
        json!(false)
    );
}

/// GDAL's MVT driver reads a tile (georeferenced by its z/x/y path) and finds its layers.
#[tokio::test(flavor = "multi_thread")]
async fn gdal_reads_the_tiles() {
    let app = shipped_app();
    let (status, bytes, _) = tile_bytes(
        &app,
        "/collections/spatial-carriers/tiles/WebMercatorQuad/10/388/843",
    )
    .await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10/843/388.pbf");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&path)
        .output()
        .expect("ogrinfo runs (gdal-bin is installed by the test command)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Layer name: spatial-carriers") && text.contains("Layer name: tile_info"),
        "{text}"
    );
    let count = get(
        &app,
        &format!(
            "/collections/spatial-carriers/items?limit=1&bbox={}",
            buffered_bbox((10, 843, 388))
        ),
    )
    .await
    .json()["numberMatched"]
        .as_u64()
        .unwrap();
    assert!(
        text.contains(&format!("Feature Count: {count}")),
        "{count}: {text}"
    );
}
