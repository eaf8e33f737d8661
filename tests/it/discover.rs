//! Statistics, name search, "what's here" and nearest, on the shipped data, with expected values
//! computed from the committed GeoJSON.

use std::collections::BTreeMap;

use crate::common::*;
use serde_json::Value;

fn carriers() -> Vec<Value> {
    file_features(&geodata_dir().join("spatial-carriers.geojson"))
}

fn num(f: &Value, k: &str) -> f64 {
    f["properties"][k].as_f64().unwrap()
}

#[tokio::test]
async fn available_space_in_the_ftz_by_industry_is_one_request() {
    let app = shipped_app();
    let doc = get(
        &app,
        "/collections/spatial-carriers/stats?group-by=industry&zones=ftz-etown-cluster",
    )
    .await
    .json();
    // Which carriers are in the FTZ: the derived zones (checked independently in tests/geodata.rs).
    let listing = get(
        &app,
        "/collections/spatial-carriers/items?zones=ftz-etown-cluster&limit=100&properties=industry",
    )
    .await
    .json();
    let in_ftz: Vec<&str> = listing["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let mut expected: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for f in carriers()
        .iter()
        .filter(|f| in_ftz.contains(&f["id"].as_str().unwrap()))
    {
        let e = expected
            .entry(f["properties"]["industry"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += 1;
        e.1 += num(f, "floor_area_m2");
        e.2 += num(f, "available_floor_area_m2");
    }
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), expected.len());
    for g in groups {
        let (count, floor, avail) = expected[g["key"].as_str().unwrap()];
        assert_eq!(g["count"], count);
        assert_eq!(g["sums"]["floor_area_m2"].as_f64().unwrap(), floor);
        assert_eq!(
            g["sums"]["available_floor_area_m2"].as_f64().unwrap(),
            avail
        );
        assert!(g["sums"]["geodesic_area_m2"].as_f64().unwrap() > 0.0);
        assert!(
            g["label"]["zh"].is_string() && g["label"]["en"].is_string() && g["color"].is_string()
        );
        assert!(
            g["sums"].get("floor_load_kn_m2").is_none(),
            "a floor load is not summed"
        );
    }
    assert_eq!(doc["total"]["count"], in_ftz.len());
    // Groups follow the vocabulary's order.
    let order = [
        "future_information",
        "future_health",
        "future_manufacturing",
        "future_energy",
        "future_materials",
        "future_space",
    ];
    let keys: Vec<usize> = groups
        .iter()
        .map(|g| order.iter().position(|o| *o == g["key"]).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn stats_take_the_same_filters_as_items_and_by_post() {
    let app = shipped_app();
    let cql = "status = 'operating' AND S_INTERSECTS(geometry, BBOX(116.45,39.70,116.60,39.80))";
    let q: String = form_urlencoded::byte_serialize(cql.as_bytes()).collect();
    let items = get(
        &app,
        &format!("/collections/spatial-carriers/items?limit=100&filter={q}"),
    )
    .await
    .json();
    let stats = get(
        &app,
        &format!("/collections/spatial-carriers/stats?filter={q}&sum=floor_area_m2,power_kva"),
    )
    .await
    .json();
    let total: f64 = items["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| num(f, "floor_area_m2"))
        .sum();
    let power: f64 = items["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| num(f, "power_kva"))
        .sum();
    assert_eq!(stats["total"]["count"], items["numberMatched"]);
    assert_eq!(
        stats["total"]["sums"]["floor_area_m2"].as_f64().unwrap(),
        total
    );
    assert_eq!(stats["total"]["sums"]["power_kva"].as_f64().unwrap(), power);
    assert!(stats["groups"].as_array().unwrap().is_empty());

    let body = serde_json::json!({"filter": cql, "group-by": "status", "sum": ["floor_area_m2"]});
    let posted = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/stats")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(
        posted["total"]["sums"]["floor_area_m2"].as_f64().unwrap(),
        total
    );
    assert_eq!(posted["groups"][0]["key"], "operating");

    // Whole-layer totals honour the published figure.
    let all = get(&app, "/collections/spatial-carriers/stats")
        .await
        .json();
    assert_eq!(all["total"]["count"], 58);
    assert!(all["total"]["sums"]["floor_area_m2"].as_f64().unwrap() > 6_000_000.0);
}

#[tokio::test]
async fn stats_group_by_an_array_counts_each_zone() {
    let app = shipped_app();
    let doc = get(&app, "/collections/spatial-carriers/stats?group-by=zones")
        .await
        .json();
    let new_town = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "new-town")
        .unwrap();
    assert_eq!(new_town["count"], 58, "every carrier is in the New Town");
}

#[tokio::test]
async fn bad_stats_parameters_are_400s() {
    let app = shipped_app();
    for (q, param) in [
        ("group-by=colour", "group-by"),
        ("sum=name_en", "sum"),
        ("sum=nope", "sum"),
        ("limit=5", "limit"),
        ("sortby=name_en", "sortby"),
        ("bbox=1,2,3", "bbox"),
    ] {
        let p = get(&app, &format!("/collections/spatial-carriers/stats?{q}"))
            .await
            .problem(400);
        assert_eq!(p["parameter"], param, "{q}");
    }
}

#[tokio::test]
async fn name_search_ranks_exact_then_prefix_then_substring_in_both_languages() {
    let app = shipped_app();
    let names = |q: &str| {
        let app = app.clone();
        let uri = format!(
            "/search?q={}",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        async move {
            let doc = get(&app, &uri).await.json();
            doc["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["id"].as_str().unwrap().to_owned(),
                        f["match"]["kind"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // Exact (case-insensitive) beats the longer names that merely start with it.
    let r = names("beijing ROCKET street").await;
    assert_eq!(r[0], ("rocket-street".to_owned(), "exact".to_owned()));
    assert!(r[1..].iter().all(|(_, k)| k == "prefix"));
    assert_eq!(r.len(), 3);
    // Chinese.
    let r = names("火箭大街").await;
    assert_eq!(r[0].1, "exact");
    assert_eq!(r.len(), 3);
    let r = names("健康产业").await;
    let expected = carriers()
        .iter()
        .filter(|f| {
            f["properties"]["name_zh"]
                .as_str()
                .unwrap()
                .contains("健康产业")
        })
        .count();
    assert_eq!(r.len(), expected);
    assert!(r.iter().all(|(_, k)| k == "substring"));
    // Accents do not matter.
    assert_eq!(names("Béijing Rocket Street").await[0].1, "exact");
    // Prefix before substring.
    let r = names("future health carrier 0").await;
    assert!(r.iter().all(|(_, k)| k == "prefix"));
    let p = get(&app, "/search").await.problem(400);
    assert_eq!(p["parameter"], "q");
    get(&app, "/search?q=x&collections=nope").await.problem(404);
}

#[tokio::test]
async fn whats_here_answers_every_layer_at_a_point() {
    let app = shipped_app();
    let c = &carriers()[0];
    let ring = c["geometry"]["coordinates"][0].as_array().unwrap();
    let (x, y) = (
        (ring[0][0].as_f64().unwrap() + ring[2][0].as_f64().unwrap()) / 2.0,
        (ring[0][1].as_f64().unwrap() + ring[2][1].as_f64().unwrap()) / 2.0,
    );
    let doc = get(&app, &format!("/whats-here?lon={x}&lat={y}"))
        .await
        .json();
    let found: Vec<(String, String)> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["collection"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found[0],
        (
            "spatial-carriers".to_owned(),
            c["id"].as_str().unwrap().to_owned()
        ),
        "the top-most layer first"
    );
    let zones: Vec<String> = c["properties"]["park"]
        .as_str()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for z in zones {
        assert!(
            found.iter().any(|(_, id)| *id == z),
            "{z} missing from {found:?}"
        );
    }
    assert!(found.iter().any(|(col, _)| col == "new-town"));
    let nothing = get(&app, "/whats-here?lon=100&lat=10").await.json();
    assert_eq!(nothing["numberReturned"], 0);
    for q in [
        "lon=116.5",
        "lon=200&lat=39",
        "lon=x&lat=39",
        "lon=116&lat=39&tolerance=-1",
        "lon=116&lat=39&radius=5",
    ] {
        get(&app, &format!("/whats-here?{q}")).await.problem(400);
    }
}

#[tokio::test]
async fn nearest_carriers_with_geodesic_distances() {
    let app = shipped_app();
    let doc = get(
        &app,
        "/collections/spatial-carriers/nearest?lon=116.60&lat=39.80&limit=5",
    )
    .await
    .json();
    let got: Vec<(String, f64)> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["distance_m"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5);
    assert!(
        got.windows(2).all(|w| w[0].1 <= w[1].1),
        "nearest first: {got:?}"
    );
    // Independent check: the distance to the nearest vertex bounds the distance to the parcel
    // from above, and the true nearest five must include whichever carrier has the closest vertex.
    let hav = |lon: f64, lat: f64| {
        let (p1, p2) = (39.80f64.to_radians(), lat.to_radians());
        let (dp, dl) = (p2 - p1, (lon - 116.60f64).to_radians());
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6_371_008.8 * a.sqrt().asin()
    };
    let mut by_vertex: Vec<(String, f64)> = carriers()
        .iter()
        .map(|f| {
            let d = f["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| hav(c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
                .fold(f64::INFINITY, f64::min);
            (f["id"].as_str().unwrap().to_owned(), d)
        })
        .collect();
    by_vertex.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert!(got.iter().any(|(id, _)| *id == by_vertex[0].0));
    for (id, d) in &got {
        let v = by_vertex.iter().find(|(i, _)| i == id).unwrap().1;
        assert!(
            *d <= v * 1.005 + 1.0,
            "{id}: {d} m to the parcel, but {v} m to a vertex"
        );
    }
    // With a filter: only planned carriers.
    let planned = get(
        &app,
        "/collections/spatial-carriers/nearest?lon=116.60&lat=39.80&limit=3&status=planned",
    )
    .await
    .json();
    for f in planned["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["status"], "planned");
    }
    get(
        &app,
        "/collections/spatial-carriers/nearest?lon=116.6&lat=39.8&limit=0",
    )
    .await
    .problem(400);
    get(
        &app,
        "/collections/spatial-carriers/nearest?lon=116.6&lat=39.8&limit=1000",
    )
    .await
    .problem(400);
    get(&app, "/collections/spatial-carriers/nearest?lat=39.8")
        .await
        .problem(400);
}
