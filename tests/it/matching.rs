//! `POST /collections/{id}/match`: scores, order, near misses and refusals computed by hand on a
//! small fixture (sites on the equator, so a haversine distance is R·Δλ), and, on the shipped and
//! synthetic data, random requirements checked against CQL2 items queries built from them here.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::common::*;

/// The haversine sphere of README § Matching, in metres.
const R: f64 = 6_371_008.8;

/// Metres between two points of the equator `deg` degrees of longitude apart.
fn along_equator(deg: f64) -> f64 {
    R * deg * std::f64::consts::PI / 180.0
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

async fn answer(app: &axum::Router, collection: &str, body: Value) -> Reply {
    request(
        app,
        post_json(
            &format!("/collections/{collection}/match"),
            body.to_string(),
        ),
    )
    .await
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["id"]
                .as_str()
                .map_or_else(|| m["id"].to_string(), str::to_owned)
        })
        .collect()
}

fn scores(list: &Value) -> Vec<f64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["score"].as_f64().unwrap())
        .collect()
}

/// The requirement the hand computations below are for.
fn lab_requirement() -> Value {
    json!({
        "criteria": {
            "area_m2": {"min": 1000, "max": 2000},
            "height_m": {"min": 8},
            "use": {"in": ["lab"]},
            "ready": {"max": "2027-06-30"}
        },
        "preferences": [
            {"near": [0.0, 0.0], "within_m": 5000, "weight": 2},
            {"close_to": {"area_m2": 1500}},
            {"sooner": "ready", "from": "2026-01-01", "to": "2027-12-31"}
        ]
    })
}

#[tokio::test]
async fn scores_order_and_near_misses_are_as_computed_by_hand() {
    let app = fixture_app("matching");
    let r = answer(&app, "sites", lab_requirement()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let doc = r.json();
    // s1, s2, s3 and s10 (s2's twin) meet all four criteria; s5 is an office, s7 is 2 m too
    // low (its margin is 0.8 m), s8 has no height.
    assert_eq!(doc["numberMatched"], 4);
    // "sooner" runs over the 729 days from 2026-01-01 to 2027-12-31.
    let sooner = |days_before_end: f64| days_before_end / 729.0;
    let near = |deg: f64| (1.0 - along_equator(deg) / 5000.0).max(0.0);
    let close = |area: f64| (1.0 - (area - 1500.0f64).abs() / 1500.0).max(0.0);
    let score = |deg: f64, area: f64, days: f64| {
        one_decimal(100.0 * (2.0 * near(deg) + close(area) + sooner(days)) / 4.0)
    };
    // s1: at the point, 1,500 m², ready 2026-06-30 (549 days before the end).
    let s1 = score(0.0, 1500.0, 549.0);
    // s2 and s10: 0.01° away, 1,200 m², ready 2027-06-30 (184 days before the end).
    let s2 = score(0.01, 1200.0, 184.0);
    // s3: 0.02° away, 2,000 m², ready on the first day.
    let s3 = score(0.02, 2000.0, 729.0);
    assert_eq!((s1, s2, s3), (93.8, 65.2, 69.4));
    // Highest first; s2 and s10 tie and go by id as text ("s10" before "s2").
    assert_eq!(ids(&doc["matches"]), ["s1", "s3", "s10", "s2"]);
    assert_eq!(scores(&doc["matches"]), [s1, s3, s2, s2]);
    // s1's reasons: the slack to the nearest bound, in the property's unit (days for dates).
    let s1c = &doc["matches"][0]["criteria"];
    assert_eq!(s1c[0]["by"], 500.0);
    assert_eq!(s1c[1]["by"], 0.0);
    assert_eq!(s1c[3]["by"], 365.0);
    assert!(s1c.as_array().unwrap().iter().all(|c| c["met"] == true));
    let s1p = &doc["matches"][0]["preferences"];
    assert_eq!(s1p[0]["value"], 0.0);
    assert_eq!(
        s1p[2]["score"],
        (549.0f64 / 729.0 * 1000.0).round() / 1000.0
    );
    // Near misses: s4 (50 m² and 0.5 m short; margins 100 m² and 0.8 m: 0.5 + 0.625 = 1.125),
    // then s6 (150 m² over 2,000 with margin 200, 20 days late with margin 30: 1.417).
    assert_eq!(doc["numberNearMisses"], 2);
    assert_eq!(ids(&doc["nearMisses"]), ["s4", "s6"]);
    let s4 = &doc["nearMisses"][0];
    assert_eq!(s4["failed"], json!(["area_m2", "height_m"]));
    assert_eq!(s4["miss"], 1.125);
    assert_eq!(s4["criteria"][0]["by"], -50.0);
    assert_eq!(s4["criteria"][0]["margin"], 100.0);
    assert_eq!(s4["criteria"][1]["by"], -0.5);
    assert_eq!(s4["criteria"][1]["margin"], 0.8);
    // s4 is 0.03° away with 950 m², ready 2026-03-01 (670 days before the end).
    assert_eq!(s4["score"], score(0.03, 950.0, 670.0));
    let s6 = &doc["nearMisses"][1];
    assert_eq!(s6["failed"], json!(["area_m2", "ready"]));
    assert_eq!(s6["criteria"][3]["by"], -20.0);
    assert_eq!(s6["criteria"][3]["margin"], 30.0);
    assert_eq!(
        s6["miss"],
        ((0.75 + 20.0 / 30.0) * 1000.0f64).round() / 1000.0
    );
    // A margin of the criterion's own replaces the default: 0.4 m leaves s4 out.
    let mut tight = lab_requirement();
    tight["criteria"]["height_m"]["margin"] = json!(0.4);
    let doc = answer(&app, "sites", tight).await.json();
    assert_eq!(ids(&doc["nearMisses"]), ["s6"]);
    // No margin at all: no near misses.
    let mut none = lab_requirement();
    none["margin"] = json!(0);
    let doc = answer(&app, "sites", none).await.json();
    assert_eq!(doc["numberNearMisses"], 0);
    assert_eq!(doc["numberMatched"], 4);
}

#[tokio::test]
async fn near_a_feature_is_the_distance_to_its_edge_and_no_preference_scores_100() {
    let app = fixture_app("matching");
    // The lake is 0.01° wide around 0.1° east: its west edge is at 0.095°.
    let req = json!({
        "criteria": {"use": {"in": ["lab"]}},
        "preferences": [{"near_feature": {"collection": "landmarks", "id": "lake"}, "within_m": 10000}]
    });
    let doc = answer(&app, "sites", req).await.json();
    let s = |lon: f64| one_decimal(100.0 * (1.0 - along_equator(0.095 - lon) / 10_000.0).max(0.0));
    assert_eq!(
        ids(&doc["matches"]),
        ["s8", "s7", "s6", "s4", "s3", "s10", "s2", "s1"]
    );
    assert_eq!(
        scores(&doc["matches"]),
        [
            s(0.07),
            s(0.06),
            s(0.05),
            s(0.03),
            s(0.02),
            s(0.01),
            s(0.01),
            s(0.0)
        ]
    );
    assert_eq!(doc["matches"][7]["score"], 0.0, "s1 is beyond 10 km");
    // Without preferences every match scores 100 and the order is the ids'.
    let doc = answer(
        &app,
        "sites",
        json!({"criteria": {"tags": {"in": ["river"]}}}),
    )
    .await
    .json();
    assert_eq!(ids(&doc["matches"]), ["s10", "s2", "s4"]);
    assert_eq!(scores(&doc["matches"]), [100.0, 100.0, 100.0]);
    // A drawn area around s1 and s2 only.
    let area = json!({"type": "Polygon", "coordinates": [[[-0.005, -0.005], [0.0105, -0.005], [0.0105, 0.005], [-0.005, 0.005], [-0.005, -0.005]]]});
    let doc = answer(
        &app,
        "sites",
        json!({"criteria": {"use": {"in": ["lab"]}}, "area": area}),
    )
    .await
    .json();
    assert_eq!(ids(&doc["matches"]), ["s1", "s10", "s2"]);
}

#[tokio::test]
async fn a_bad_requirement_is_a_400_naming_the_member_and_changes_nothing() {
    let app = fixture_app("matching");
    let cases = [
        (
            json!({"criteria": {"colour": {"in": ["red"]}}}),
            "criteria.colour",
        ),
        (
            json!({"criteria": {"area_m2": {"min": 3000, "max": 2000}}}),
            "criteria.area_m2.min",
        ),
        (
            json!({"criteria": {"height_m": {"min": "8 m"}}}),
            "criteria.height_m.min",
        ),
        (
            json!({"criteria": {"height_m": {"minimum": 8}}}),
            "criteria.height_m.minimum",
        ),
        (json!({"criteria": {"height_m": {}}}), "criteria.height_m"),
        (
            json!({"criteria": {"ready": {"max": "mid-2027"}}}),
            "criteria.ready.max",
        ),
        (json!({"criteria": {"use": {"in": []}}}), "criteria.use.in"),
        (
            json!({"criteria": {"area_m2": {"min": 1, "margin": -1}}}),
            "criteria.area_m2.margin",
        ),
        (json!({"prefs": []}), "prefs"),
        (
            json!({"preferences": [{"near": [0, 0], "close_to": {"area_m2": 1}}]}),
            "preferences[0]",
        ),
        (
            json!({"preferences": [{"near": [0, 91]}]}),
            "preferences[0].near",
        ),
        (
            json!({"preferences": [{"near": [0, 0], "weight": 0}]}),
            "preferences[0].weight",
        ),
        (
            json!({"preferences": [{"close_to": {"use": 3}}]}),
            "preferences[0].close_to.use",
        ),
        (
            json!({"preferences": [{"sooner": "ready", "from": "2027-01-01", "to": "2026-01-01"}]}),
            "preferences[0].to",
        ),
        (
            json!({"preferences": [{"near_feature": {"collection": "landmarks", "id": "sea"}}]}),
            "preferences[0].near_feature",
        ),
        (
            json!({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1e200, 0], [0, 1], [0, 0]]]}}),
            "area",
        ),
        (json!({"area": null}), "area"),
        (json!({"margin": 2}), "margin"),
        (json!({"limit": 0}), "limit"),
        (json!({"nearMissLimit": 5000}), "nearMissLimit"),
        (json!([1, 2]), "requirement"),
    ];
    for (body, member) in cases {
        let p = answer(&app, "sites", body.clone()).await.problem(400);
        assert_eq!(p["parameter"], member, "{body}: {p}");
        // The scores of every match read the same requirement, and refuse it the same way.
        let p = request(
            &app,
            post_json("/collections/sites/match/scores", body.to_string()),
        )
        .await
        .problem(400);
        assert_eq!(p["parameter"], member, "scores: {body}: {p}");
    }
    // Not JSON, not declared JSON, an unknown collection, a query parameter.
    let r = request(&app, post_json("/collections/sites/match", "{".into())).await;
    r.problem(400);
    let r = request(
        &app,
        axum::http::Request::post("/collections/sites/match")
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("{}"))
            .unwrap(),
    )
    .await;
    r.problem(415);
    answer(&app, "nowhere", json!({})).await.problem(404);
    request(&app, post_json("/collections/sites/match?x=1", "{}".into()))
        .await
        .problem(400);
}

#[tokio::test]
async fn compare_puts_features_side_by_side_with_each_criterion_met_or_not() {
    let app = fixture_app("matching");
    let body = json!({"ids": ["s1", "s4"], "requirement": lab_requirement()});
    let r = request(
        &app,
        post_json("/collections/sites/compare", body.to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let doc = r.json();
    assert_eq!(doc["ids"], json!(["s1", "s4"]));
    let prop = |name: &str| {
        doc["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["property"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(prop("area_m2")["values"], json!([1500, 950]));
    assert_eq!(prop("area_m2")["differs"], true);
    assert_eq!(prop("use")["differs"], false);
    // s1 meets the area with 500 m² to spare; s4 is 50 m² short. Both are labs.
    let area = &doc["criteria"][0];
    assert_eq!(area["property"], "area_m2");
    assert_eq!(
        area["features"],
        json!([{"met": true, "by": 500.0}, {"met": false, "by": -50.0}])
    );
    assert_eq!(
        doc["criteria"][2]["features"],
        json!([{"met": true, "by": null}, {"met": true, "by": null}])
    );
    for (body, member) in [
        (json!({"ids": ["s1"]}), "ids"),
        (json!({"ids": ["s1", "s2", "s3", "s4", "s5"]}), "ids"),
        (json!({"ids": ["s1", "nowhere"]}), "ids"),
        (json!({"ids": ["s1", "s2"], "extra": 1}), "extra"),
        (
            json!({"ids": ["s1", "s2"], "requirement": {"criteria": {"colour": {"in": ["x"]}}}}),
            "requirement.criteria.colour",
        ),
    ] {
        let p = request(
            &app,
            post_json("/collections/sites/compare", body.to_string()),
        )
        .await
        .problem(400);
        assert_eq!(p["parameter"], member, "{body}");
    }
}

/// A random requirement on the carriers' typed properties: (requirement, CQL2 text of its hard
/// criteria, CQL2 text of the same widened by the margins), both CQL2 written here.
fn requirement() -> impl Strategy<Value = (Value, String, String)> {
    let area = (0u32..8, 1u32..8).prop_map(|(a, w)| (a * 2000, (a + w) * 2000));
    let height = prop::option::of(5u32..14);
    let power = prop::option::of(1u32..12);
    // The industries as the shipped vocabulary lists them.
    let vocab: Value = serde_json::from_slice(
        &std::fs::read(geodata_dir().join("industries.vocab.json")).unwrap(),
    )
    .unwrap();
    let terms: Vec<String> = vocab["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let industries = prop::option::of(prop::sample::subsequence(terms, 1..4));
    let ready = prop::option::of(0i32..10);
    let margin = prop::sample::select(vec![0.0, 0.05, 0.1, 0.3]);
    (area, height, power, industries, ready, margin).prop_map(|(area, height, power, ind, ready, margin)| {
        let mut criteria = serde_json::Map::new();
        let mut strict = vec![];
        let mut wide = vec![];
        // The widened bound as a person writes it (9 − 30 % is 6.3, not 6.300000000000001).
        let widen = |v: f64| v.abs() * margin;
        let bound = |v: f64| format!("{:.6}", v);
        criteria.insert("available_floor_area_m2".into(), json!({"min": area.0, "max": area.1}));
        strict.push(format!("available_floor_area_m2 >= {} AND available_floor_area_m2 <= {}", area.0, area.1));
        wide.push(format!(
            "available_floor_area_m2 >= {} AND available_floor_area_m2 <= {}",
            bound(area.0 as f64 - widen(area.0 as f64)),
            bound(area.1 as f64 + widen(area.1 as f64))
        ));
        if let Some(h) = height {
            criteria.insert("clear_height_m".into(), json!({"min": h}));
            strict.push(format!("clear_height_m >= {h}"));
            wide.push(format!("clear_height_m >= {}", bound(h as f64 - widen(h as f64))));
        }
        if let Some(p) = power {
            let kva = p * 1000;
            criteria.insert("power_kva".into(), json!({"min": kva}));
            strict.push(format!("power_kva >= {kva}"));
            wide.push(format!("power_kva >= {}", bound(kva as f64 - widen(kva as f64))));
        }
        if let Some(ind) = ind {
            criteria.insert("industry".into(), json!({"in": ind}));
            let list = ind.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",");
            strict.push(format!("industry IN ({list})"));
            wide.push(format!("industry IN ({list})"));
        }
        if let Some(q) = ready {
            // Half-years from 2024: the last day of June or of December. 30 days later is the
            // margin (a date criterion's default), written out here.
            let year = 2024 + q / 2;
            let (day, late) = if q % 2 == 0 {
                (format!("{year}-06-30"), format!("{year}-07-30"))
            } else {
                (format!("{year}-12-31"), format!("{}-01-30", year + 1))
            };
            criteria.insert("delivery_date".into(), json!({"max": day}));
            strict.push(format!("delivery_date <= DATE('{day}')"));
            wide.push(format!("delivery_date <= DATE('{late}')"));
        }
        let req = json!({"criteria": criteria, "margin": margin, "limit": 1000, "nearMissLimit": 1000,
            "preferences": [{"near": [116.5, 39.8]}]});
        (req, strict.join(" AND "), wide.join(" AND "))
    })
}

async fn items_matching(app: &axum::Router, cql: &str) -> std::collections::BTreeSet<String> {
    let uri = format!(
        "/collections/spatial-carriers/items?limit=10000&properties=industry&filter={}",
        urlencode(cql)
    );
    let r = get(app, &uri).await;
    assert_eq!(
        r.status,
        200,
        "{cql}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
    let doc = r.json();
    assert!(doc["numberMatched"].as_u64().unwrap() <= 10_000);
    ids(&doc["features"]).into_iter().collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn random_requirements_agree_with_cql2_on_shipped_and_synthetic_data() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (synth, _dir) = synth_app(900, Default::default(), None);
    // The cases must exercise both lists, or agreement would prove little.
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let seen_near = std::sync::atomic::AtomicUsize::new(0);
    for app in [shipped_app(), synth] {
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&requirement(), |(req, strict, wide)| {
                rt.block_on(async {
                    let doc = answer(&app, "spatial-carriers", req.clone()).await.json();
                    let matched: std::collections::BTreeSet<String> =
                        ids(&doc["matches"]).into_iter().collect();
                    let near: std::collections::BTreeSet<String> =
                        ids(&doc["nearMisses"]).into_iter().collect();
                    seen.fetch_add(matched.len(), std::sync::atomic::Ordering::Relaxed);
                    seen_near.fetch_add(near.len(), std::sync::atomic::Ordering::Relaxed);
                    assert_eq!(
                        doc["numberMatched"].as_u64().unwrap() as usize,
                        matched.len(),
                        "the limit holds them all"
                    );
                    // Every match meets every criterion, and nothing CQL2 finds is missing.
                    let by_cql = items_matching(&app, &strict).await;
                    assert_eq!(matched, by_cql, "{req}");
                    // The near misses are exactly what the widened criteria add.
                    let widened = items_matching(&app, &wide).await;
                    let added: std::collections::BTreeSet<String> =
                        widened.difference(&by_cql).cloned().collect();
                    assert_eq!(near, added, "{req}");
                    // And each says which criteria fail, each within its margin.
                    for m in doc["nearMisses"].as_array().unwrap() {
                        let failed: Vec<&Value> = m["criteria"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|c| c["met"] == false)
                            .collect();
                        assert!(!failed.is_empty());
                        for c in failed {
                            let (by, margin) =
                                (c["by"].as_f64().unwrap(), c["margin"].as_f64().unwrap());
                            assert!(by < 0.0 && -by <= margin + 1e-6, "{c}");
                        }
                    }
                    // Scores are in order, ties by id.
                    let s = scores(&doc["matches"]);
                    assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
                    // /match/scores lists the same matches and near misses, with the same scores.
                    let all = request(
                        &app,
                        post_json(
                            "/collections/spatial-carriers/match/scores",
                            req.to_string(),
                        ),
                    )
                    .await;
                    assert_eq!(all.status, 200, "{}", String::from_utf8_lossy(&all.bytes));
                    let all = all.json();
                    assert_eq!(all["complete"], true);
                    for (list, pairs) in [
                        (&doc["matches"], &all["matches"]),
                        (&doc["nearMisses"], &all["nearMisses"]),
                    ] {
                        let expected: std::collections::BTreeMap<String, f64> =
                            ids(list).into_iter().zip(scores(list)).collect();
                        let got: std::collections::BTreeMap<String, f64> = pairs
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| {
                                (
                                    p[0].as_str()
                                        .map_or_else(|| p[0].to_string(), str::to_owned),
                                    p[1].as_f64().unwrap(),
                                )
                            })
                            .collect();
                        assert_eq!(got, expected, "{req}");
                    }
                });
                Ok(())
            })
            .unwrap();
    }
    let (seen, seen_near) = (seen.into_inner(), seen_near.into_inner());
    assert!(
        seen > 100 && seen_near > 20,
        "{seen} matches, {seen_near} near misses"
    );
}
