//! What the web map reads to draw and filter any data: each collection's `presentation` (its
//! fields in display order with titles, units and filters; its style; its notice), checked at
//! load against the layer it describes; close-spelling name search; problems in Chinese.

use std::collections::BTreeSet;

use etown_atlas::ingest::{self, LoadOptions};
use serde_json::{json, Value};

use crate::common::*;

/// A directory holding one layer of three polygons, with `meta` as its sidecar if given.
fn one_layer_dir(meta: Option<Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let square = |x: f64| json!({"type": "Polygon", "coordinates": [[[x, 39.0], [x + 0.01, 39.0], [x + 0.01, 39.01], [x, 39.01], [x, 39.0]]]});
    let features: Vec<Value> = (0..3)
        .map(|i| json!({"type": "Feature", "id": i + 1, "geometry": square(116.0 + f64::from(i) * 0.02),
            "properties": {"name": format!("Plot {}", i + 1), "area_ha": 1.5 * f64::from(i + 1), "owner": "city", "opened": "2020-01-0".to_owned() + &(i + 1).to_string(), "tags": ["a", "b"], "open": i % 2 == 0}}))
        .collect();
    std::fs::write(
        dir.path().join("plots.geojson"),
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    if let Some(m) = meta {
        std::fs::write(dir.path().join("plots.meta.json"), m.to_string()).unwrap();
    }
    dir
}

fn load_error(meta: Value) -> String {
    let dir = one_layer_dir(Some(meta));
    match ingest::load(
        ingest::read_dir(dir.path()).unwrap(),
        "test",
        LoadOptions::default(),
    ) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn presentation_metadata_that_does_not_fit_the_layer_is_refused_naming_file_and_field() {
    for (meta, expected) in [
        (
            json!({"fields": {"nope": {"title": "x"}}}),
            "\"nope\", which no feature has",
        ),
        (
            json!({"fields": {"owner": {"filter": "min"}}}),
            "field \"owner\" is string",
        ),
        (
            json!({"fields": {"area_ha": {"filter": "in"}}}),
            "field \"area_ha\" is number",
        ),
        (
            json!({"fields": {"tags": {"filter": "text"}}}),
            "field \"tags\"",
        ),
        (
            json!({"fields": {"open": {"filter": "range"}}}),
            "field \"open\"",
        ),
        (json!({"fields": {"name": {"lang": "fr"}}}), "lang \"fr\""),
        (
            json!({"fields": {"owner": {"references": "parks"}}}),
            "collection \"parks\", which does not exist",
        ),
        (
            json!({"fields": {"owner": {"filter": "sometimes"}}}),
            "field \"owner\"",
        ),
        (json!({"style": {"color": "red"}}), "not a #rrggbb colour"),
        (
            json!({"style": {"color_by": "owner"}}),
            "not bound to a vocabulary",
        ),
        (json!({"style": {"fill_opacity": 2}}), "between 0 and 1"),
        (json!({"style": {"dash": []}}), "dash"),
    ] {
        let e = load_error(meta.clone());
        assert!(
            e.contains("plots.meta.json") && e.contains(expected),
            "{meta}: {e}"
        );
    }
}

#[tokio::test]
async fn a_layer_without_a_sidecar_presents_every_field_with_its_type() {
    let dir = one_layer_dir(None);
    let app = etown_atlas::http::app(state_for(dir.path(), LoadOptions::default()));
    let c = get(&app, "/collections/plots").await.json();
    let p = &c["presentation"];
    assert_eq!(p["primary"], false);
    assert!(
        p.get("notice").is_none(),
        "no notice unless the data says so"
    );
    let fields: Vec<(String, String)> = p["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Every property of the file (in file order) and the derived area; no title, no filter.
    assert_eq!(
        fields,
        [
            ("name", "string"),
            ("area_ha", "number"),
            ("owner", "string"),
            ("opened", "date"),
            ("tags", "string array"),
            ("open", "boolean"),
            ("geodesic_area_m2", "number")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(p["fields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f.get("filter").is_none()));
}

#[tokio::test]
async fn the_shipped_carriers_present_their_fields_in_the_sidecars_order() {
    let app = shipped_app();
    let c = get(&app, "/collections/spatial-carriers").await.json();
    let p = &c["presentation"];
    assert_eq!(p["primary"], true);
    assert_eq!(p["style"]["color_by"], "industry");
    assert!(p["notice"]["zh"].as_str().unwrap().contains("示意"));
    let fields = p["fields"].as_array().unwrap();
    // The sidecar, read independently: its order, then any field it does not name.
    let sidecar: Value = serde_json::from_str(
        &std::fs::read_to_string(geodata_dir().join("spatial-carriers.meta.json")).unwrap(),
    )
    .unwrap();
    let named: Vec<&str> = sidecar["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let served: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(&served[..named.len()], &named[..]);
    // Every property of every carrier is there once.
    let props: BTreeSet<String> = file_features(&geodata_dir().join("spatial-carriers.geojson"))
        .iter()
        .flat_map(|f| {
            f["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    let served_set: BTreeSet<String> = served.iter().map(|s| s.to_string()).collect();
    assert!(props.is_subset(&served_set), "{props:?} vs {served_set:?}");
    assert_eq!(served.len(), served_set.len());
    let industry = fields.iter().find(|f| f["name"] == "industry").unwrap();
    assert_eq!(
        (industry["filter"].as_str(), industry["vocabulary"].as_str()),
        (Some("in"), Some("industries"))
    );
    let area = fields
        .iter()
        .find(|f| f["name"] == "available_floor_area_m2")
        .unwrap();
    assert_eq!(
        (
            area["unit"].as_str(),
            area["filter"].as_str(),
            area["list"].as_bool()
        ),
        (Some("m²"), Some("min"), Some(true))
    );
    // An array bound to a vocabulary: its items are the terms.
    let q = get(&app, "/collections/parks/queryables").await.json();
    assert_eq!(
        q["properties"]["industries"]["items"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[test]
fn synthetic_data_is_the_shipped_data_with_other_carriers() {
    let dir = synth_dir(500);
    let catalog = catalog_for(dir.path(), LoadOptions::default());
    let ids: Vec<&str> = catalog.layers().iter().map(|l| l.id.as_str()).collect();
    let shipped = shipped_catalog();
    let shipped_ids: Vec<&str> = shipped.layers().iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, shipped_ids);
    assert_eq!(catalog.layer("spatial-carriers").unwrap().len(), 500);
    assert_eq!(
        catalog.layer("parks").unwrap().len(),
        shipped.layer("parks").unwrap().len()
    );
}

#[tokio::test]
async fn close_spellings_are_found_after_better_matches_and_counted() {
    let app = shipped_app();
    let search = |q: &'static str| {
        let app = app.clone();
        async move { get(&app, &format!("/search?q={q}&limit=50")).await.json() }
    };
    let doc = search("Robto").await;
    let first = &doc["features"][0];
    assert_eq!(first["id"], "robot-industrial-park");
    assert_eq!(first["match"]["kind"], "close");
    // "helth": every carrier or park whose English name has the word Health.
    let doc = search("helth").await;
    let expected = ["spatial-carriers.geojson", "parks.geojson"]
        .iter()
        .flat_map(|f| file_features(&geodata_dir().join(f)))
        .filter(|f| {
            f["properties"]["name_en"]
                .as_str()
                .unwrap()
                .split(' ')
                .any(|w| w.eq_ignore_ascii_case("health"))
        })
        .count();
    assert!(expected > 5);
    assert_eq!(doc["numberMatched"], expected);
    assert!(doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["match"]["kind"] == "close"));
    // The limit cuts what is returned, not what is counted.
    let cut = get(&app, "/search?q=helth&limit=3").await.json();
    assert_eq!(
        (
            cut["numberReturned"].as_u64(),
            cut["numberMatched"].as_u64()
        ),
        (Some(3), Some(expected as u64))
    );
    // Short words are not guessed at.
    assert_eq!(get(&app, "/search?q=rbt").await.json()["numberMatched"], 0);
}

#[tokio::test]
async fn problems_speak_the_readers_language() {
    let app = shipped_app();
    for (path, code) in [
        (
            "/collections/spatial-carriers/items?bbox=1,2,3",
            "invalid_parameter",
        ),
        (
            "/collections/spatial-carriers/items?nope=1",
            "unknown_parameter",
        ),
        ("/collections/nope", "collection_not_found"),
        (
            "/collections/spatial-carriers/items?filter=industry%20%3D",
            "filter_syntax",
        ),
    ] {
        let zh = request(
            &app,
            get_with(path, &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")]),
        )
        .await;
        assert_eq!(zh.headers["content-language"], "zh-CN", "{path}");
        assert!(zh
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("accept-language")));
        let p = zh.problem(zh.status.as_u16());
        assert_eq!(p["code"], code);
        let is_chinese = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(
            is_chinese(p["title"].as_str().unwrap()) && is_chinese(p["detail"].as_str().unwrap()),
            "{p}"
        );
        assert!(p["detail_en"].as_str().is_some_and(|d| !d.is_empty()));
        let en = request(&app, get_with(path, &[("accept-language", "en-GB")])).await;
        assert_eq!(en.headers["content-language"], "en");
        let p = en.problem(en.status.as_u16());
        assert!(
            p["detail"].as_str().unwrap().is_ascii() || code == "filter_syntax",
            "{p}"
        );
        assert!(p.get("detail_en").is_none());
    }
    // A parameter problem names the parameter in Chinese too.
    let zh = request(
        &app,
        get_with(
            "/collections/spatial-carriers/items?limit=abc",
            &[("accept-language", "zh")],
        ),
    )
    .await;
    assert!(zh.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains("“limit”"));
}
