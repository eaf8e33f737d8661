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
