//! OGC API - Features Part 2: `crs` on responses and `bbox-crs` on boxes.

use crate::common::*;
use serde_json::Value;

fn ids(doc: &Value) -> Vec<String> {
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn collections_list_the_supported_crs() {
    let c = get(&shipped_app(), "/collections/spatial-carriers")
        .await
        .json();
    let list: Vec<&str> = c["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for code in ["OGC/1.3/CRS84", "EPSG/0/4326", "EPSG/0/4490", "EPSG/0/3857"] {
        assert!(
            list.iter().any(|c| c.ends_with(code)),
            "{code} missing: {list:?}"
        );
    }
    assert_eq!(
        c["storageCrs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
}

#[tokio::test]
async fn responses_in_another_crs_carry_its_header_and_axis_order() {
    let app = fixture_app("gcj");
    let base = get(&app, "/collections/cities/items/beijing").await.json();
    let (lon, lat) = (
        base["geometry"]["coordinates"][0].as_f64().unwrap(),
        base["geometry"]["coordinates"][1].as_f64().unwrap(),
    );
    let r = get(
        &app,
        "/collections/cities/items/beijing?crs=http://www.opengis.net/def/crs/EPSG/0/3857",
    )
    .await;
    assert_eq!(
        r.headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    );
    let m = r.json();
    let x = m["geometry"]["coordinates"][0].as_f64().unwrap();
    let y = m["geometry"]["coordinates"][1].as_f64().unwrap();
    // Independent spherical Mercator.
    let r_earth = 6_378_137.0f64;
    assert!((x - r_earth * lon.to_radians()).abs() < 1e-6);
    assert!(
        (y - r_earth
            * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                .tan()
                .ln())
        .abs()
            < 1e-6
    );
    let c = get(&app, "/collections/cities/items?crs=EPSG:4490").await;
    assert_eq!(
        c.headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    );
    let f = &c.json()["features"][2];
    assert_eq!(
        f["geometry"]["coordinates"][0].as_f64().unwrap(),
        lat,
        "latitude first"
    );
    get(&app, "/collections/cities/items?crs=EPSG:2385")
        .await
        .problem(400);
}

#[tokio::test]
async fn bbox_crs_selects_the_same_features_as_the_crs84_box() {
    let app = shipped_app();
    let (w, s, e, n) = (116.50, 39.76, 116.56, 39.80);
    let crs84 = ids(&get(
        &app,
        &format!("/collections/spatial-carriers/items?limit=100&bbox={w},{s},{e},{n}"),
    )
    .await
    .json());
    assert!(!crs84.is_empty());
    let lat_first = ids(&get(
        &app,
        &format!(
            "/collections/spatial-carriers/items?limit=100&bbox={s},{w},{n},{e}&bbox-crs=EPSG:4490"
        ),
    )
    .await
    .json());
    assert_eq!(lat_first, crs84);
    let r = 6_378_137.0f64;
    let merc = |lon: f64, lat: f64| {
        (
            r * lon.to_radians(),
            r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
                .tan()
                .ln(),
        )
    };
    let (x0, y0) = merc(w, s);
    let (x1, y1) = merc(e, n);
    let mercator = ids(&get(&app, &format!("/collections/spatial-carriers/items?limit=100&bbox={x0},{y0},{x1},{y1}&bbox-crs=EPSG:3857")).await.json());
    assert_eq!(mercator, crs84);
    let p = get(
        &app,
        "/collections/spatial-carriers/items?bbox=1,2,3,4&bbox-crs=EPSG:9999",
    )
    .await
    .problem(400);
    assert_eq!(p["parameter"], "bbox-crs");
}

/// Every position of two loaded layers of the same data, paired by feature id: the largest
/// difference in degrees.
fn largest_difference(a: &etown_atlas::index::Catalog, b: &etown_atlas::index::Catalog) -> f64 {
    fn numbers(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            Value::Array(items) => items.iter().for_each(|i| numbers(i, out)),
            _ => {}
        }
    }
    let mut worst: f64 = 0.0;
    for la in a.layers() {
        let lb = b
            .layer(la.id.as_str())
            .unwrap_or_else(|| panic!("{} is missing", la.id));
        assert_eq!(la.live_count(), lb.live_count(), "{}", la.id);
        for slot in la.live_slots() {
            let id = la.ids[slot].to_string();
            let other = lb
                .slot_of(&id)
                .unwrap_or_else(|| panic!("{}/{id} is missing", la.id));
            let (mut xa, mut xb) = (Vec::new(), Vec::new());
            numbers(
                &serde_json::to_value(geojson::Geometry::from(&*la.geometries[slot])).unwrap()
                    ["coordinates"],
                &mut xa,
            );
            numbers(
                &serde_json::to_value(geojson::Geometry::from(&*lb.geometries[other])).unwrap()
                    ["coordinates"],
                &mut xb,
            );
            assert_eq!(xa.len(), xb.len(), "{}/{id}", la.id);
            for (p, q) in xa.iter().zip(&xb) {
                worst = worst.max((p - q).abs());
            }
        }
    }
    worst
}

/// The shipped layers converted by GDAL (`ogr2ogr -t_srs`, PROJ underneath) into CGCS2000
/// Gauss-Krüger zones (3- and 6-degree, with and without the zone number), a WGS 84 UTM zone and
/// Web Mercator load back where they were: within 1e-7° (about 1 cm) of the original, every
/// property and vocabulary as before. Once through the `crs` member GDAL writes, once through
/// the sidecar's `"crs"` with the member removed.
#[test]
fn files_projected_by_gdal_load_back_where_they_were() {
    let original = catalog_for(&geodata_dir(), etown_atlas::ingest::LoadOptions::default());
    for epsg in [4548, 4527, 4508, 4497, 32650, 3857] {
        for via_sidecar in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            for entry in std::fs::read_dir(geodata_dir()).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                if let Some(stem) = name.strip_suffix(".geojson") {
                    let out = dir.path().join(&name);
                    let status = std::process::Command::new("ogr2ogr")
                        .args(["-f", "GeoJSON", "-t_srs", &format!("EPSG:{epsg}")])
                        .arg(&out)
                        .arg(&path)
                        .status()
                        .expect("ogr2ogr runs");
                    assert!(status.success(), "ogr2ogr {name} to EPSG:{epsg}");
                    let mut doc: Value =
                        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
                    assert!(doc["crs"].is_object(), "GDAL names the CRS in the file");
                    let meta_path = dir.path().join(format!("{stem}.meta.json"));
                    let mut meta: Value = serde_json::from_slice(
                        &std::fs::read(geodata_dir().join(format!("{stem}.meta.json"))).unwrap(),
                    )
                    .unwrap();
                    if via_sidecar {
                        doc.as_object_mut().unwrap().remove("crs");
                        std::fs::write(&out, doc.to_string()).unwrap();
                        meta["crs"] = Value::from(format!("EPSG:{epsg}"));
                    }
                    std::fs::write(meta_path, meta.to_string()).unwrap();
                } else if name.ends_with(".vocab.json") {
                    std::fs::copy(&path, dir.path().join(&name)).unwrap();
                }
            }
            let loaded = catalog_for(dir.path(), etown_atlas::ingest::LoadOptions::default());
            let worst = largest_difference(&original, &loaded);
            assert!(
                worst <= 1e-7,
                "EPSG:{epsg} (sidecar: {via_sidecar}): {worst}° off"
            );
            let carriers = |c: &etown_atlas::index::Catalog| {
                let l = c.layer("spatial-carriers").unwrap();
                l.live_slots()
                    .map(|s| {
                        serde_json::from_slice::<Value>(&etown_atlas::encode::feature_bytes(l, s))
                            .unwrap()["properties"]
                            .clone()
                    })
                    .collect::<Vec<_>>()
            };
            // Derived areas may differ in the last digits (the geometry moved by < 1 cm); every
            // property of the data itself is the same.
            let strip = |mut v: Vec<Value>| {
                for p in &mut v {
                    p.as_object_mut().unwrap().remove("geodesic_area_m2");
                }
                v
            };
            assert_eq!(
                strip(carriers(&original)),
                strip(carriers(&loaded)),
                "EPSG:{epsg}"
            );
        }
    }
}

/// A sidecar `"crs"` that disagrees with the file's `crs` member is refused, naming both; an
/// unknown one is named.
#[test]
fn a_crs_that_disagrees_or_is_unknown_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parks.geojson");
    assert!(std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "-t_srs", "EPSG:4548"])
        .arg(&out)
        .arg(geodata_dir().join("parks.geojson"))
        .status()
        .unwrap()
        .success());
    let mut meta: Value =
        serde_json::from_slice(&std::fs::read(geodata_dir().join("parks.meta.json")).unwrap())
            .unwrap();
    for (crs, expected) in [("EPSG:4547", "EPSG:4547"), ("EPSG:9999", "unknown crs")] {
        meta["crs"] = Value::from(crs);
        std::fs::write(dir.path().join("parks.meta.json"), meta.to_string()).unwrap();
        let Err(e) = etown_atlas::ingest::load(
            etown_atlas::ingest::read_dir(dir.path()).unwrap(),
            "test",
            etown_atlas::ingest::LoadOptions::default(),
        ) else {
            panic!("{crs} should be refused");
        };
        let e = e.to_string();
        assert!(e.contains("parks.geojson") && e.contains(expected), "{e}");
    }
}

/// Anywhere in China, in its own zone and at a zone's edge: positions GDAL (PROJ) projects into
/// each CGCS2000 Gauss-Krüger family come back within 1e-7° (about 1 cm).
#[test]
fn gauss_kruger_positions_across_china_come_back_within_a_centimetre() {
    use etown_atlas::ingest::source_crs::SourceCrs;
    // Kashgar, Lhasa, Urumqi, Lanzhou, Kunming, Beijing, Sanya, Shanghai, Harbin, Fuyuan.
    let places: [(f64, f64); 10] = [
        (75.99, 39.47),
        (91.13, 29.65),
        (87.62, 43.83),
        (103.83, 36.06),
        (102.71, 25.04),
        (116.40, 39.90),
        (109.51, 18.25),
        (121.47, 31.23),
        (126.63, 45.75),
        (134.29, 48.36),
    ];
    for (lon, lat) in places {
        // The 3-degree and 6-degree central meridians nearest to it, and the zone numbers.
        let cm3 = ((lon / 3.0).round() * 3.0) as u32;
        let zone6 = (lon / 6.0).floor() as u32 + 1;
        let codes = [
            4534 + (cm3 - 75) / 3,           // 3-degree, CM
            4513 + cm3 / 3 - 25,             // 3-degree, zone prefix
            4502 + (zone6 * 6 - 3 - 75) / 6, // 6-degree, CM
            4491 + zone6 - 13,               // 6-degree, zone prefix
        ];
        for epsg in codes {
            let out = std::process::Command::new("gdaltransform")
                .args([
                    "-s_srs",
                    "EPSG:4490",
                    "-t_srs",
                    &format!("EPSG:{epsg}"),
                    "-output_xy",
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    // gdaltransform reads x first (traditional GIS order).
                    child
                        .stdin
                        .take()
                        .unwrap()
                        .write_all(format!("{lon} {lat}\n").as_bytes())?;
                    child.wait_with_output()
                })
                .expect("gdaltransform runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let xy: Vec<f64> = text
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            let (easting, northing) = (xy[0], xy[1]);
            let (back_lon, back_lat) = SourceCrs::parse(&format!("EPSG:{epsg}"))
                .unwrap()
                .to_crs84(easting, northing)
                .unwrap();
            assert!(
                (back_lon - lon).abs() < 1e-7 && (back_lat - lat).abs() < 1e-7,
                "EPSG:{epsg} at ({lon}, {lat}): GDAL gave {text:?}, back to ({back_lon}, {back_lat})"
            );
        }
    }
}
