//! CQL2 filtering, sorting and selection over HTTP on the shipped data, with expected values
//! computed from the committed GeoJSON.

use crate::common::*;
use etown_atlas::ingest::LoadOptions;
use serde_json::{json, Value};

fn carriers() -> Vec<Value> {
    file_features(&geodata_dir().join("spatial-carriers.geojson"))
}

fn p<'a>(f: &'a Value, k: &str) -> &'a Value {
    &f["properties"][k]
}

/// A feature's string id.
fn id_of(f: &Value) -> String {
    f["id"].as_str().unwrap().to_owned()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn ids(app: &axum::Router, query: &str) -> Vec<String> {
    let limit = if query.contains("limit=") {
        ""
    } else {
        "limit=1000&"
    };
    let r = get(
        app,
        &format!("/collections/spatial-carriers/items?{limit}{query}"),
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "{query}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
    r.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

async fn filter_ids(app: &axum::Router, cql: &str) -> Vec<String> {
    ids(app, &format!("filter={}", enc(cql))).await
}

/// The zones the API derived for each carrier (checked against an independent computation in
/// tests/geodata.rs).
async fn zones_of(app: &axum::Router) -> std::collections::HashMap<String, Vec<String>> {
    let doc = get(
        app,
        "/collections/spatial-carriers/items?limit=100&properties=zones",
    )
    .await
    .json();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let z = f["properties"]["zones"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| z.as_str().unwrap().to_owned())
                .collect();
            (f["id"].as_str().unwrap().to_owned(), z)
        })
        .collect()
}

#[tokio::test]
async fn the_space_seekers_question_is_one_filter() {
    let app = shipped_app();
    let zones = zones_of(&app).await;
    let cql = "industry = 'future_health' AND available_floor_area_m2 >= 3000 AND clear_height_m >= 8 \
               AND delivery_date <= DATE('2027-12-31') AND A_CONTAINS(zones, ('ftz-etown-cluster'))";
    let got = filter_ids(&app, cql).await;
    let expected: Vec<String> = carriers()
        .iter()
        .filter(|f| {
            p(f, "industry") == "future_health"
                && p(f, "available_floor_area_m2").as_f64().unwrap() >= 3000.0
                && p(f, "clear_height_m").as_f64().unwrap() >= 8.0
                && p(f, "delivery_date").as_str().unwrap() <= "2027-12-31"
                && zones[f["id"].as_str().unwrap()].contains(&"ftz-etown-cluster".to_owned())
        })
        .map(id_of)
        .collect();
    assert!(
        !expected.is_empty(),
        "the shipped data should answer the headline question"
    );
    assert_eq!(got, expected);

    // The same zone condition as a spatial predicate against the FTZ polygon itself.
    let ftz = &file_features(&geodata_dir().join("ftz-etown-cluster.geojson"))[0]["geometry"];
    let body = json!({
        "filter": {"op": "and", "args": [
            {"op": "=", "args": [{"property": "industry"}, "future_health"]},
            {"op": ">=", "args": [{"property": "available_floor_area_m2"}, 3000]},
            {"op": ">=", "args": [{"property": "clear_height_m"}, 8]},
            {"op": "<=", "args": [{"property": "delivery_date"}, {"date": "2027-12-31"}]},
            {"op": "s_within", "args": [{"property": "geometry"}, ftz]}
        ]},
        "limit": 100
    });
    let r = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/search")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let posted: Vec<String> = r.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(posted, expected);
}

#[tokio::test]
async fn property_to_property_comparison() {
    let app = shipped_app();
    let got = filter_ids(&app, "available_floor_area_m2 = floor_area_m2").await;
    let expected: Vec<String> = carriers()
        .iter()
        .filter(|f| p(f, "available_floor_area_m2") == p(f, "floor_area_m2"))
        .map(id_of)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[tokio::test]
async fn case_insensitive_comparison() {
    let app = shipped_app();
    let got = filter_ids(&app, "CASEI(name_en) LIKE CASEI('future HEALTH%')").await;
    let expected: Vec<String> = carriers()
        .iter()
        .filter(|f| {
            p(f, "name_en")
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with("future health")
        })
        .map(id_of)
        .collect();
    assert!(expected.len() > 3);
    assert_eq!(got, expected);
    assert!(
        filter_ids(&app, "name_en LIKE 'future HEALTH%'")
            .await
            .is_empty(),
        "without CASEI the case matters"
    );
}

#[tokio::test]
async fn accent_insensitive_comparison() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cql2");
    let app = etown_atlas::app(state_for(
        &dir,
        LoadOptions {
            accept_invalid_geometry: true,
        },
    ));
    let count = |cql: &str| {
        let app = app.clone();
        let uri = format!(
            "/collections/ne_110m_populated_places_simple/items?limit=1&filter={}",
            enc(cql)
        );
        async move {
            get(&app, &uri).await.json()["numberMatched"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(count("ACCENTI(name) = ACCENTI('Kobenhavn')").await, 1);
    assert_eq!(count("name = 'Kobenhavn'").await, 0);
    assert_eq!(count("CASEI(ACCENTI(name)) = 'kobenhavn'").await, 1);
    assert_eq!(count("ACCENTI(name) LIKE 'K%benhavn'").await, 1);
}

#[tokio::test]
async fn array_functions_on_zones() {
    let app = shipped_app();
    let zones = zones_of(&app).await;
    let ids_where = |pred: &dyn Fn(&Vec<String>) -> bool| -> Vec<String> {
        let mut v: Vec<String> = zones
            .iter()
            .filter(|(_, z)| pred(z))
            .map(|(id, _)| id.clone())
            .collect();
        v.sort();
        v
    };
    let has = |z: &Vec<String>, s: &str| z.iter().any(|x| x == s);
    assert_eq!(
        filter_ids(&app, "A_CONTAINS(zones, ('data-pilot-zone'))").await,
        ids_where(&|z| has(z, "data-pilot-zone"))
    );
    assert_eq!(
        filter_ids(&app, "A_OVERLAPS(zones, ('bonded-zone', 'rocket-street'))").await,
        ids_where(&|z| has(z, "bonded-zone") || has(z, "rocket-street"))
    );
    assert_eq!(
        filter_ids(&app, "A_CONTAINEDBY(zones, ('new-town'))").await,
        ids_where(&|z| z.iter().all(|x| x == "new-town"))
    );
    assert_eq!(
        filter_ids(&app, "A_EQUALS(zones, ('new-town', 'bonded-zone'))").await,
        ids_where(&|z| z == &vec!["new-town".to_owned(), "bonded-zone".to_owned()])
    );
    // The equality shortcut on an array property means "contains".
    assert_eq!(
        ids(&app, "zones=data-pilot-zone").await,
        ids_where(&|z| has(z, "data-pilot-zone"))
    );
}

#[tokio::test]
async fn sortby_orders_stably_and_pages_consistently() {
    let app = shipped_app();
    let all = ids(&app, "sortby=-available_floor_area_m2,name_en").await;
    let mut expected: Vec<(f64, String, String)> = carriers()
        .iter()
        .map(|f| {
            (
                p(f, "available_floor_area_m2").as_f64().unwrap(),
                p(f, "name_en").as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    expected.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(
        all,
        expected.iter().map(|e| e.2.clone()).collect::<Vec<_>>()
    );
    let mut paged = Vec::new();
    for offset in (0..58).step_by(7) {
        paged.extend(
            ids(
                &app,
                &format!("sortby=-available_floor_area_m2,name_en&limit=7&offset={offset}"),
            )
            .await
            .into_iter()
            .take(7),
        );
    }
    assert_eq!(paged, all);
    let asc = ids(&app, "sortby=%2Bdelivery_date").await;
    let dates: Vec<String> = asc
        .iter()
        .map(|id| {
            carriers().iter().find(|f| f["id"] == id.as_str()).unwrap()["properties"]
                ["delivery_date"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn properties_selects_what_is_returned() {
    let app = shipped_app();
    let doc = get(
        &app,
        "/collections/spatial-carriers/items?limit=3&properties=name_zh,available_floor_area_m2",
    )
    .await
    .json();
    for f in doc["features"].as_array().unwrap() {
        let keys: Vec<&String> = f["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name_zh", "available_floor_area_m2"]);
        assert!(f["geometry"].is_object());
    }
    let p = get(
        &app,
        "/collections/spatial-carriers/items?properties=name_zh,colour",
    )
    .await
    .problem(400);
    assert_eq!(p["parameter"], "properties");
    let p = get(&app, "/collections/spatial-carriers/items?sortby=colour")
        .await
        .problem(400);
    assert_eq!(p["parameter"], "sortby");
    get(&app, "/collections/spatial-carriers/items?sortby=zones")
        .await
        .problem(400);
}

#[tokio::test]
async fn queryables_describe_every_property_and_the_geometry() {
    let r = get(&shipped_app(), "/collections/spatial-carriers/queryables").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/schema+json");
    let q = r.json();
    let props = &q["properties"];
    assert_eq!(props["geometry"]["format"], "geometry-polygon");
    assert_eq!(props["floor_area_m2"]["type"], "integer");
    assert_eq!(props["clear_height_m"]["type"], "number");
    assert_eq!(props["delivery_date"]["format"], "date");
    assert_eq!(props["schematic"]["type"], "boolean");
    assert_eq!(props["zones"]["type"], "array");
    assert_eq!(props["geodesic_area_m2"]["readOnly"], true);
    let industries: Vec<&str> = props["industry"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(industries.len(), 6);
    // Every property of the file is a queryable.
    for k in carriers()[0]["properties"].as_object().unwrap().keys() {
        assert!(props.get(k).is_some(), "{k} is not queryable");
    }
    get(&shipped_app(), "/collections/nope/queryables")
        .await
        .problem(404);
}

#[tokio::test]
async fn bad_filters_are_400s_that_say_what_and_where() {
    let app = shipped_app();
    let problem = |q: String| {
        let app = app.clone();
        async move {
            get(&app, &format!("/collections/spatial-carriers/items?{q}"))
                .await
                .problem(400)
        }
    };
    let p = problem(format!("filter={}", enc("industry = "))).await;
    assert_eq!(p["code"], "filter_syntax");
    assert_eq!(p["position"], 11);
    assert!(p["detail"].as_str().unwrap().contains("character 12"));

    let p = problem(format!(
        "filter={}",
        enc("floor_area_m2 > 5 AND colour = 'red'")
    ))
    .await;
    assert_eq!(p["code"], "unknown_property");
    assert_eq!(p["position"], 22);
    assert_eq!(p["parameter"], "filter");

    let p = problem(format!("filter={}", enc("industry > 5"))).await;
    assert_eq!(p["code"], "filter_type_mismatch");
    assert_eq!(p["position"], 0);

    // Each malformed filter, and the code (or parameter) that names what is wrong.
    let nested = format!("{}floor_area_m2 > 1{}", "(".repeat(40), ")".repeat(40));
    let cases: [(String, &str, &str, &str); 8] = [
        (
            enc("floor_area_m2 + 1 > 5"),
            "",
            "code",
            "filter_unsupported",
        ),
        (
            enc("MYFUNC(floor_area_m2)"),
            "",
            "code",
            "filter_unsupported",
        ),
        (
            enc("S_INTERSECTS(floor_area_m2, POINT(116.5 39.8))"),
            "",
            "code",
            "filter_type_mismatch",
        ),
        (
            enc("delivery_date > DATE('2027-02-30')"),
            "",
            "code",
            "filter_type_mismatch",
        ),
        (enc(&nested), "", "code", "filter_too_complex"),
        (
            enc("{\"op\": \"=\", \"args\": ["),
            "&filter-lang=cql2-json",
            "code",
            "filter_syntax",
        ),
        (
            enc("floor_area_m2 > 1"),
            "&filter-lang=cql3",
            "parameter",
            "filter-lang",
        ),
        (
            enc("floor_area_m2 > 1"),
            "&filter-crs=EPSG:3857",
            "parameter",
            "filter-crs",
        ),
    ];
    for (filter, extra, key, expected) in cases {
        let p = problem(format!("filter={filter}{extra}")).await;
        assert_eq!(p[key], expected, "{filter}{extra}");
    }
    problem("filter=".into()).await;
    // The CRS84 identifier is accepted explicitly.
    let ok = get(
        &app,
        &format!(
            "/collections/spatial-carriers/items?filter={}&filter-crs={}",
            enc("floor_area_m2 > 1"),
            enc("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
        ),
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn a_drawn_polygon_of_thousands_of_vertices_goes_by_post() {
    let app = shipped_app();
    // A 5,000-vertex circle of radius ~0.3° around the centre of E-Town holds every carrier.
    let n = 5_000;
    let ring: Vec<[f64; 2]> = (0..=n)
        .map(|i| {
            let t = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            [116.56 + 0.3 * t.cos(), 39.78 + 0.3 * t.sin()]
        })
        .collect();
    let body = json!({"filter": {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [ring]}]}, "limit": 10});
    let r = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/search")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["numberMatched"], 58);
    assert_eq!(doc["numberReturned"], 10);
    let next = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert_eq!(next["method"], "POST");
    assert_eq!(next["body"]["offset"], 10);

    // Past the vertex limit: a clear 400.
    // Coordinates rounded to 3 decimals keep the body under the 4 MiB limit.
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let big: Vec<[f64; 2]> = (0..=100_001)
        .map(|i| {
            let t = std::f64::consts::TAU * (i % 100_001) as f64 / 100_001.0;
            [round(116.56 + 0.3 * t.cos()), round(39.78 + 0.3 * t.sin())]
        })
        .collect();
    let body = json!({"filter": {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [big]}]}});
    let r = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/search")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.problem(400)["code"], "filter_too_complex");

    let wrong_type = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/search")
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("{}"))
            .unwrap(),
    )
    .await;
    wrong_type.problem(415);
    let not_json = request(
        &app,
        axum::http::Request::post("/collections/spatial-carriers/search")
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{"))
            .unwrap(),
    )
    .await;
    not_json.problem(400);
}
