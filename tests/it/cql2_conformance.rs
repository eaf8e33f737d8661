//! The OGC CQL2 abstract test suite (../shared/conformance/cql2/ats.tsv), every row, over HTTP,
//! in CQL2 text, in the equivalent CQL2 JSON (GET) and in CQL2 JSON by POST.

use std::path::PathBuf;

use crate::common::*;
use etown_atlas::ingest::LoadOptions;
use serde_json::Value;

fn suite_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cql2");
    assert!(
        dir.join("ats.tsv").exists(),
        "the CQL2 suite is missing at {}",
        dir.display()
    );
    dir
}

struct Row {
    class: String,
    collection: String,
    filter: String,
    expected: u64,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(suite_dir().join("ats.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                class: c[0].into(),
                collection: c[1].into(),
                filter: c[2].into(),
                expected: c[3].trim().parse().unwrap(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_row_of_the_ats_passes_in_text_and_json() {
    // Natural Earth's Sudan has a self-touching ring; the suite's data is served as published.
    let state = state_for(
        &suite_dir(),
        LoadOptions {
            accept_invalid_geometry: true,
        },
    );
    let addr = serve(etown_atlas::app(state)).await;
    let client = reqwest::Client::new();
    let conformance: Value = client
        .get(format!("http://{addr}/conformance"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let declared: Vec<String> = conformance["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    let rows = rows();
    assert_eq!(rows.len(), 139);
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in &rows {
        let class_uri = format!("http://www.opengis.net/spec/cql2/1.0/conf/{}", row.class);
        assert!(
            declared.contains(&class_uri),
            "the suite has rows for {} but the server does not declare it",
            row.class
        );
        let items = format!("http://{addr}/collections/{}/items", row.collection);
        let json_filter = cql2::parse_text(&row.filter).unwrap().to_json().unwrap();
        let count = |res: Value| res["numberMatched"].as_u64();

        let text = get_filtered(&client, &items, &row.filter, "cql2-text").await;
        let json = get_filtered(&client, &items, &json_filter, "cql2-json").await;
        let body = format!(r#"{{"filter": {json_filter}, "limit": 1}}"#);
        let posted: Value = client
            .post(format!(
                "http://{addr}/collections/{}/search",
                row.collection
            ))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (encoding, res) in [("text", text), ("json", json), ("json POST", posted)] {
            checked += 1;
            if count(res.clone()) != Some(row.expected) {
                failures.push(format!(
                    "[{}] {} ({encoding}): expected {}, got {}",
                    row.class,
                    row.filter,
                    row.expected,
                    count(res.clone()).map_or_else(|| res.to_string(), |n| n.to_string())
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The items answer for one filter in one encoding, by GET.
async fn get_filtered(client: &reqwest::Client, items: &str, filter: &str, lang: &str) -> Value {
    client
        .get(items)
        .query(&[("filter", filter), ("filter-lang", lang), ("limit", "1")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
