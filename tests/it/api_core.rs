//! OGC API - Features Part 1 behaviour, in-process (tower oneshot) on small named fixtures.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"].as_array()?.iter().find(|l| l["rel"] == rel)?["href"].as_str()
}

/// The path and query of an absolute link, for calling the app in-process.
fn local(href: &str) -> String {
    href.strip_prefix("http://atlas.test").unwrap().to_owned()
}

#[tokio::test]
async fn landing_page_is_json_for_clients_and_the_web_app_for_browsers() {
    let app = fixture_app("basic");
    let r = get(&app, "/?f=json").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(link(&doc, rel).is_some(), "landing page lacks rel={rel}");
    }
    assert!(link(&doc, "data")
        .unwrap()
        .starts_with("http://atlas.test/"));
    let plain = get(&app, "/").await;
    assert!(plain.content_type().starts_with("application/json"));

    let html = request(
        &app,
        Request::get("/")
            .header("accept", "text/html,application/xhtml+xml,*/*")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(html.status, 200);
    assert!(html.content_type().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&html.bytes).contains("maplibre-gl"));
}

#[tokio::test]
async fn conformance_declares_core_geojson_and_oas30() {
    let doc = get(&fixture_app("basic"), "/conformance").await.json();
    let classes: Vec<&str> = doc["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in ["core", "geojson", "oas30"] {
        assert!(
            classes.contains(
                &format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{c}").as_str()
            ),
            "{c} missing from {classes:?}"
        );
    }
}

/// The API document states which names `sortby`, `properties`, `sum` and `group-by` take, and
/// clients that build requests from it (form generators, schemathesis) rely on it. For each
/// value below, the documented schema must accept it exactly when the server does.
#[tokio::test]
async fn list_parameters_are_documented_as_exactly_what_is_accepted() {
    let app = shipped_app();
    let doc = get(&app, "/api").await.json();
    let schema_of = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} documents {name}"))["schema"]
            .clone()
    };
    let documented_ok = |schema: &Value, value: &str| match (&schema["pattern"], &schema["enum"]) {
        (Value::String(p), _) => regex::Regex::new(p).unwrap().is_match(value),
        (_, Value::Array(values)) => values.iter().any(|v| v == value),
        _ => panic!("no pattern or enum in {schema}"),
    };
    let items = "/collections/spatial-carriers/items";
    let stats = "/collections/spatial-carriers/stats";
    let cases: &[(&str, &str, &[&str])] = &[
        (
            items,
            "sortby",
            &[
                "-available_floor_area_m2,name_en",
                "+name_zh",
                " name_en , -industry ",
                "name_en,",
                "nope",
                "\tname_en",
                "zones",
                "name_en,,industry",
            ],
        ),
        (
            items,
            "properties",
            &[
                "name_en,industry",
                "",
                " name_en ,, status",
                "nope",
                "name_en,\tstatus",
                "name_en.x",
            ],
        ),
        (
            stats,
            "sum",
            &[
                "floor_area_m2, available_floor_area_m2",
                "",
                "clear_height_m,,power_kva",
                "name_en",
                "nope",
                "\u{a0}floor_area_m2",
            ],
        ),
        (
            stats,
            "group-by",
            &["industry", "status", "zones", "nope", " industry", ""],
        ),
    ];
    let mut accepted = 0;
    for (path, name, values) in cases {
        let schema = schema_of(path, name);
        for value in *values {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(name, value)
                .finish();
            let r = get(&app, &format!("{path}?{query}")).await;
            assert!(
                r.status == 200 || r.status == 400,
                "{name}={value:?}: {}",
                r.status
            );
            assert_eq!(
                documented_ok(&schema, value),
                r.status == 200,
                "{name}={value:?}: the document and the server disagree ({})",
                r.status
            );
            accepted += usize::from(r.status == 200);
        }
    }
    assert!(accepted >= 10, "the cases include accepted values");
}

#[tokio::test]
async fn api_document_is_openapi_3_with_no_outside_host() {
    let r = get(&fixture_app("basic"), "/api").await;
    assert_eq!(r.status, 200);
    assert!(r
        .content_type()
        .starts_with("application/vnd.oai.openapi+json"));
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    assert!(doc["paths"]["/collections/points/items"]["get"].is_object());
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(!text.contains("$ref\":\"http"), "schemas must be inline");
    // The only absolute URLs allowed are OGC CRS identifiers, which are names, not fetched.
    for url in text
        .split('"')
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
    {
        assert!(
            url.starts_with("http://www.opengis.net/def/"),
            "outside host in /api: {url}"
        );
    }
    let limit = doc["paths"]["/collections/points/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    // A larger limit is served as 10,000 (OGC permission), not refused: the document says so
    // in words and sets no maximum that a validating client would enforce.
    assert!(limit["schema"]["maximum"].is_null());
    assert!(limit["description"].as_str().unwrap().contains("10000"));
}

#[tokio::test]
async fn collections_list_every_layer_with_an_extent_from_the_data() {
    let doc = get(&fixture_app("basic"), "/collections").await.json();
    let ids: Vec<&str> = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // areas has order 1 in its sidecar, points the default 0.
    assert_eq!(ids, ["points", "areas"]);

    // Independent extent of points.geojson.
    let feats = file_features(&fixture_dir("basic").join("points.geojson"));
    let xs: Vec<f64> = feats
        .iter()
        .map(|f| f["geometry"]["coordinates"][0].as_f64().unwrap())
        .collect();
    let ys: Vec<f64> = feats
        .iter()
        .map(|f| f["geometry"]["coordinates"][1].as_f64().unwrap())
        .collect();
    let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let c = get(&fixture_app("basic"), "/collections/points")
        .await
        .json();
    let bbox = &c["extent"]["spatial"]["bbox"][0];
    assert_eq!(
        bbox.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>(),
        vec![min(&xs), min(&ys), max(&xs), max(&ys)]
    );
    assert_eq!(c["itemType"], "feature");
    assert!(link(&c, "items")
        .unwrap()
        .ends_with("/collections/points/items"));

    let areas = get(&fixture_app("basic"), "/collections/areas")
        .await
        .json();
    assert_eq!(areas["title"], "Test areas");
    let zh = request(
        &fixture_app("basic"),
        Request::get("/collections/areas")
            .header("accept-language", "zh-CN,zh;q=0.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(zh["title"], "测试面");
}

#[tokio::test]
async fn items_are_geojson_with_counts_links_and_crs() {
    let app = fixture_app("basic");
    let r = get(&app, "/collections/points/items").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/geo+json");
    assert_eq!(
        r.headers["content-crs"],
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let doc = r.json();
    assert_eq!(doc["type"], "FeatureCollection");
    assert_eq!(doc["numberMatched"], 250);
    assert_eq!(doc["numberReturned"], 100, "default limit is 100");
    assert_eq!(doc["features"].as_array().unwrap().len(), 100);
    for rel in ["self", "next", "collection", "alternate"] {
        assert!(link(&doc, rel).is_some(), "items lack rel={rel}");
    }
    assert!(link(&doc, "prev").is_none());
    // Every property of the file survives, with its type.
    let first = &doc["features"][0];
    let source = &file_features(&fixture_dir("basic").join("points.geojson"))[0];
    assert_eq!(first["id"], source["id"]);
    assert_eq!(first["geometry"], source["geometry"]);
    for (k, v) in source["properties"].as_object().unwrap() {
        assert_eq!(&first["properties"][k], v, "property {k}");
    }
}

#[tokio::test]
async fn next_links_walk_every_feature_exactly_once() {
    let app = fixture_app("basic");
    let mut url = "/collections/points/items?limit=60&kind=a".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let doc = get(&app, &url).await.json();
        pages += 1;
        assert_eq!(doc["numberMatched"], 84);
        seen.extend(
            doc["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned()),
        );
        if pages > 1 {
            assert!(link(&doc, "prev").is_some());
        }
        match link(&doc, "next") {
            Some(next) => {
                assert!(next.contains("kind=a"), "next keeps the filter: {next}");
                url = local(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    let expected: Vec<String> = (0..250)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("p{i:03}"))
        .collect();
    assert_eq!(seen, expected);
}

/// Pages with no condition at all (served as slices of the file, without a scan) walk the file
/// in order, and an offset past the end is an empty page that still counts every feature.
#[tokio::test]
async fn unfiltered_pages_are_slices_of_the_file() {
    let app = fixture_app("basic");
    let file = file_features(&fixture_dir("basic").join("points.geojson"));
    let ids: Vec<Value> = file.iter().map(|f| f["id"].clone()).collect();
    for (offset, limit) in [(0, 7), (5, 60), (240, 60), (249, 1), (250, 5), (1000, 5)] {
        let doc = get(
            &app,
            &format!("/collections/points/items?offset={offset}&limit={limit}"),
        )
        .await
        .json();
        assert_eq!(doc["numberMatched"], ids.len(), "offset {offset}");
        let got: Vec<Value> = doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].clone())
            .collect();
        let end = (offset + limit).min(ids.len());
        let expected = &ids[offset.min(end)..end];
        assert_eq!(got, expected, "offset {offset}, limit {limit}");
        assert_eq!(doc["numberReturned"], expected.len());
        assert_eq!(link(&doc, "next").is_some(), end < ids.len());
    }
}

#[tokio::test]
async fn limit_above_the_maximum_is_served_as_the_maximum() {
    let doc = get(
        &fixture_app("basic"),
        "/collections/points/items?limit=20000",
    )
    .await
    .json();
    assert_eq!(doc["numberReturned"], 250);
    assert!(link(&doc, "self").unwrap().contains("limit=10000"));
}

#[tokio::test]
async fn bbox_selects_exactly_the_features_that_intersect_it() {
    let app = fixture_app("basic");
    let (w, s, e, n) = (116.455, 39.715, 116.535, 39.765);
    let doc = get(
        &app,
        &format!("/collections/points/items?limit=1000&bbox={w},{s},{e},{n}"),
    )
    .await
    .json();
    let got: Vec<&str> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = file_features(&fixture_dir("basic").join("points.geojson"))
        .iter()
        .filter(|f| {
            let c = &f["geometry"]["coordinates"];
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            (w..=e).contains(&x) && (s..=n).contains(&y)
        })
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert_eq!(doc["numberMatched"], expected.len());

    // The line from (116.40, 39.90) to (116.70, 39.60) passes through this box's envelope but
    // a box in the north-east corner of its envelope does not touch it: exact test, not envelope.
    let ne = get(
        &app,
        "/collections/areas/items?bbox=116.65,39.85,116.69,39.89",
    )
    .await
    .json();
    assert_eq!(ne["numberMatched"], 0);
    let hit = get(
        &app,
        "/collections/areas/items?bbox=116.54,39.75,116.56,39.77",
    )
    .await
    .json();
    let ids: Vec<i64> = hit["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4]);
    // A box inside the hole of feature 2 does not intersect it.
    let hole = get(
        &app,
        "/collections/areas/items?bbox=116.615,39.815,116.625,39.825",
    )
    .await
    .json();
    assert_eq!(hole["numberMatched"], 0);
}

#[tokio::test]
async fn property_equality_uses_each_column_type() {
    let app = fixture_app("basic");
    let count = |q: &str| {
        let app = app.clone();
        let q = q.to_owned();
        async move {
            get(&app, &format!("/collections/points/items?limit=1000&{q}"))
                .await
                .json()["numberMatched"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(count("kind=b").await, 83);
    assert_eq!(count("even=true").await, 125);
    assert_eq!(count("rank=7").await, 1);
    assert_eq!(count("score=3.5").await, 1);
    assert_eq!(
        count("opened=2012-03-15").await,
        (0..250).filter(|i| i % 15 == 2 && i % 9 == 2).count() as u64
    );
    assert_eq!(
        count("tags=x").await,
        50,
        "array properties match when they contain the value"
    );
    assert_eq!(count("name=point%20042").await, 1);
    assert_eq!(
        count("kind=b&even=true").await,
        (0..250).filter(|i| i % 3 == 1 && i % 2 == 0).count() as u64
    );
}

#[tokio::test]
async fn datetime_filters_on_the_temporal_property() {
    let app = fixture_app("basic");
    let doc = get(
        &app,
        "/collections/points/items?limit=1000&datetime=2012-01-01/2012-12-31",
    )
    .await
    .json();
    let expected = (0..250).filter(|i| 10 + i % 15 == 12).count();
    assert_eq!(doc["numberMatched"], expected);
    let open = get(
        &app,
        "/collections/points/items?limit=1000&datetime=../2010-12-31",
    )
    .await
    .json();
    assert_eq!(
        open["numberMatched"],
        (0..250).filter(|i| i % 15 == 0).count()
    );
}

#[tokio::test]
async fn one_feature_by_id_with_links() {
    let app = fixture_app("basic");
    let r = get(&app, "/collections/points/items/p042").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/geo+json");
    let f = r.json();
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], "p042");
    assert_eq!(f["properties"]["rank"], 42);
    assert!(link(&f, "collection").is_some());
    let numeric = get(&app, "/collections/areas/items/2").await.json();
    assert_eq!(numeric["id"], 2);
    assert_eq!(
        numeric["geometry"]["coordinates"].as_array().unwrap().len(),
        2,
        "the hole is kept"
    );
}

#[tokio::test]
async fn polygons_are_served_with_the_right_hand_rule() {
    // feature 2's exterior ring is clockwise in the file; it must come out counter-clockwise,
    // and its hole clockwise.
    let f = get(&fixture_app("basic"), "/collections/areas/items/2")
        .await
        .json();
    let signed = |ring: &Value| {
        let p: Vec<(f64, f64)> = ring
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        p.windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum::<f64>()
    };
    assert!(signed(&f["geometry"]["coordinates"][0]) > 0.0);
    assert!(signed(&f["geometry"]["coordinates"][1]) < 0.0);
}

#[tokio::test]
async fn layers_without_ids_get_their_1_based_position() {
    let doc = get(&fixture_app("no-ids"), "/collections/anonymous/items")
        .await
        .json();
    let ids: Vec<i64> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    let f = get(&fixture_app("no-ids"), "/collections/anonymous/items/2")
        .await
        .json();
    assert_eq!(f["properties"]["n"], 1);
}

#[tokio::test]
async fn unknown_collection_feature_and_path_are_404_problems() {
    let app = fixture_app("basic");
    let p = get(&app, "/collections/nope").await.problem(404);
    assert_eq!(p["code"], "collection_not_found");
    get(&app, "/collections/nope/items").await.problem(404);
    let p = get(&app, "/collections/points/items/p999")
        .await
        .problem(404);
    assert_eq!(p["code"], "not_found");
    get(&app, "/no/such/path").await.problem(404);
}

#[tokio::test]
async fn malformed_bbox_is_a_400_naming_bbox() {
    let app = fixture_app("basic");
    for bad in [
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "116,NaN,117,40",
        "116,39,inf,40",
        "116,40,117,39",
        "200,39,201,40",
        "116,-95,117,40",
        "116,39,117,40,",
    ] {
        let p = get(&app, &format!("/collections/points/items?bbox={bad}"))
            .await
            .problem(400);
        assert_eq!(p["parameter"], "bbox", "{bad}");
        assert_eq!(p["code"], "invalid_parameter");
    }
}

#[tokio::test]
async fn malformed_limit_and_offset_are_400s_naming_them() {
    let app = fixture_app("basic");
    for (q, param) in [
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-5", "offset"),
        ("offset=x", "offset"),
    ] {
        let p = get(&app, &format!("/collections/points/items?{q}"))
            .await
            .problem(400);
        assert_eq!(p["parameter"], param, "{q}");
    }
}

#[tokio::test]
async fn unknown_parameters_and_bad_values_are_400s() {
    let app = fixture_app("basic");
    let p = get(&app, "/collections/points/items?colour=red")
        .await
        .problem(400);
    assert_eq!(p["code"], "unknown_parameter");
    assert_eq!(p["parameter"], "colour");
    assert!(
        p["detail"].as_str().unwrap().contains("kind"),
        "the detail lists the queryables"
    );
    let p = get(&app, "/collections/points/items?rank=high")
        .await
        .problem(400);
    assert_eq!(p["parameter"], "rank");
    get(&app, "/collections/points/items?even=maybe")
        .await
        .problem(400);
    get(&app, "/collections/points/items?opened=yesterday")
        .await
        .problem(400);
    get(&app, "/collections/points/items?datetime=soon")
        .await
        .problem(400);
    get(&app, "/collections/areas/items?datetime=2020-01-01")
        .await
        .problem(400);
    get(&app, "/collections/points/items?kind=a&kind=b")
        .await
        .problem(400);
    get(&app, "/collections/points/items?f=xml")
        .await
        .problem(400);
    get(&app, "/collections/points/items?bbox-crs=EPSG:9999")
        .await
        .problem(400);
    // A workbook is a download of many features, not a representation of one.
    let p = get(&app, "/collections/points/items/p001?f=xlsx")
        .await
        .problem(400);
    assert_eq!(p["parameter"], "f");
    // Checked before the workbook's redirect, as for a page.
    get(&app, "/collections/points/items?rank=high&f=xlsx")
        .await
        .problem(400);
    get(&app, "/collections?foo=1").await.problem(400);
    get(&app, "/conformance?f=html").await.problem(400);
    get(&app, "/collections/points/items/p001?limit=1")
        .await
        .problem(400);
    // rank is an integer column: a fraction is a mistake, not a value that matches nothing.
    let p = get(&app, "/collections/points/items?rank=0.5")
        .await
        .problem(400);
    assert_eq!(p["parameter"], "rank");
    // In a JSON body, a property's member has the property's JSON type.
    for body in [
        r#"{"kind": 5}"#,
        r#"{"rank": "high"}"#,
        r#"{"rank": 1.5}"#,
        r#"{"even": "yes"}"#,
        // A filter is CQL2 text or CQL2 JSON, never a list joined into text.
        r#"{"filter": [false]}"#,
        r#"{"filter": 1}"#,
    ] {
        let req = axum::http::Request::post("/collections/points/search")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        let p = request(&app, req).await.problem(400);
        assert_eq!(p["code"], "invalid_parameter", "{body}");
    }
}

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let r = request(
        &fixture_app("basic"),
        Request::post("/collections").body(Body::empty()).unwrap(),
    )
    .await;
    r.problem(405);
}

#[tokio::test]
async fn data_responses_carry_an_etag_and_answer_304() {
    let app = fixture_app("basic");
    let r = get(&app, "/collections/points/items?limit=5").await;
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-cache"));
    let again = request(
        &app,
        Request::get("/collections/points/items?limit=5")
            .header("host", "atlas.test")
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());
    let other = get(&app, "/collections/points/items?limit=6").await;
    assert_ne!(other.headers["etag"], etag.as_str());
}

#[tokio::test]
async fn static_assets_have_validators_and_long_cache_for_vendored_code() {
    let app = fixture_app("basic");
    let r = get(&app, "/vendor/maplibre-gl/maplibre-gl.mjs").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().contains("javascript"));
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let again = request(
        &app,
        Request::get("/vendor/maplibre-gl/maplibre-gl.mjs")
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, 304);
}

/// The web app's files are compressed for size (once per encoding, then served from the
/// response cache), not at the fast level used for computed pages.
#[tokio::test]
async fn static_files_are_compressed_for_size() {
    let path = "vendor/maplibre-gl/maplibre-gl.mjs";
    let file = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("web")
            .join(path),
    )
    .unwrap();
    let uri = format!("/{path}");
    let r = request(
        &fixture_app("basic"),
        get_with(&uri, &[("accept-encoding", "gzip")]),
    )
    .await;
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert!(
        gunzip(&r.bytes) == file,
        "decodes to the file, byte for byte"
    );
    let mut fastest = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut fastest, &file).unwrap();
    let fastest = fastest.finish().unwrap().len();
    assert!(
        r.bytes.len() * 100 < fastest * 90,
        "{} bytes, against {fastest} at gzip's fastest level",
        r.bytes.len()
    );
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = fixture_app("basic");
    let page = "/collections/points/items?limit=250";
    let asking = |encoding: &'static str| get_with(page, &[("accept-encoding", encoding)]);
    let r = request(&app, asking("gzip")).await;
    assert_eq!(r.headers["content-encoding"], "gzip");
    let doc: Value = serde_json::from_slice(&gunzip(&r.bytes)).unwrap();
    assert_eq!(doc["numberReturned"], 250);
    let br = request(&app, asking("br")).await;
    assert_eq!(br.headers["content-encoding"], "br");
    // What current browsers send: zstd, the fastest of the three, is chosen, and decodes to the
    // same page.
    let zstd = request(&app, asking("gzip, deflate, br, zstd")).await;
    assert_eq!(zstd.headers["content-encoding"], "zstd");
    let decoded: Value =
        serde_json::from_slice(&zstd::decode_all(&zstd.bytes[..]).unwrap()).unwrap();
    assert_eq!(decoded["features"], doc["features"]);
}

#[tokio::test]
async fn health_reports_counts() {
    let doc = get(&fixture_app("basic"), "/health").await.json();
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["collections"], 2);
    assert_eq!(doc["features"], 254);
}

/// Pages are written straight from the columns, single features through a JSON map: both must
/// say the same, and both what the file says, for every feature of every shipped layer.
#[tokio::test]
async fn pages_and_single_features_agree_with_the_files() {
    let app = shipped_app();
    let collections = get(&app, "/collections").await.json();
    for c in collections["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let page = get(&app, &format!("/collections/{id}/items?limit=10000"))
            .await
            .json();
        let file = file_features(&geodata_dir().join(format!("{id}.geojson")));
        let served = page["features"].as_array().unwrap();
        assert_eq!(served.len(), file.len(), "{id}");
        for (f, source) in served.iter().zip(&file) {
            assert_eq!(f["id"], source["id"], "{id}");
            for (k, v) in source["properties"].as_object().unwrap() {
                assert_eq!(&f["properties"][k], v, "{id} {} {k}", f["id"]);
            }
            let fid = f["id"].to_string().trim_matches('"').to_owned();
            let mut single = get(&app, &format!("/collections/{id}/items/{fid}"))
                .await
                .json();
            single.as_object_mut().unwrap().remove("links");
            assert_eq!(&single, f, "{id} {fid}: page and single feature differ");
        }
    }
}

/// A derived field says what it is by role, so a client that works on any data never has to
/// recognise `zones` or `updated_at` by name; a field of the data has no role.
#[tokio::test]
async fn derived_fields_carry_their_role() {
    let app = shipped_app();
    let c = get(&app, "/collections/spatial-carriers").await.json();
    let fields = c["presentation"]["fields"].as_array().expect("fields");
    let role_of = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}"))["role"]
            .clone()
    };
    assert_eq!(role_of("zones"), "zones");
    assert_eq!(role_of("geodesic_area_m2"), "area");
    // The shipped carriers' sidecar marks them editable, so they have `updated_at`.
    assert_eq!(role_of("updated_at"), "updated");
    for f in fields.iter().filter(|f| f["derived"] != true) {
        assert!(f.get("role").is_none(), "{f}");
    }
    // Every field with a role is derived.
    assert!(fields
        .iter()
        .filter(|f| f.get("role").is_some())
        .all(|f| f["derived"] == true));
}
