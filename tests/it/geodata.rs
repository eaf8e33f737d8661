//! The shipped geodata honours every "must hold" figure of DATA.md.
//!
//! Everything here is computed from the committed files with code of its own: areas with the
//! ellipsoidal cylindrical equal-area projection (the server uses geographiclib through `geo`),
//! containment and overlap with plain ray casting and segment tests (the server uses `geo`).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use serde_json::Value;

type Ring = Vec<(f64, f64)>;

// --- independent geometry ------------------------------------------------------------------

/// Ellipsoidal area of a lon/lat ring (the cylindrical equal-area shoelace in tests/common).
fn area_m2(ring: &Ring) -> f64 {
    cea_area_m2(ring)
}

fn signed_area(ring: &Ring) -> f64 {
    ring.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum::<f64>()
        / 2.0
}

fn inside(p: (f64, f64), ring: &Ring) -> bool {
    let mut c = false;
    for w in ring.windows(2) {
        let ((x1, y1), (x2, y2)) = (w[0], w[1]);
        if (y1 > p.1) != (y2 > p.1) && p.0 < x1 + (p.1 - y1) * (x2 - x1) / (y2 - y1) {
            c = !c;
        }
    }
    c
}

fn cross(o: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// Whether two segments properly cross (touching at an end is not counted).
fn segments_cross(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let (d1, d2) = (cross(c, d, a), cross(c, d, b));
    let (d3, d4) = (cross(a, b, c), cross(a, b, d));
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

fn edges(r: &Ring) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + '_ {
    r.windows(2).map(|w| (w[0], w[1]))
}

/// `inner` lies within `outer`: every vertex inside and no edges crossing.
fn ring_within(inner: &Ring, outer: &Ring) -> bool {
    inner.iter().all(|p| inside(*p, outer))
        && edges(inner).all(|(a, b)| edges(outer).all(|(c, d)| !segments_cross(a, b, c, d)))
}

fn rings_overlap(a: &Ring, b: &Ring) -> bool {
    a.iter().any(|p| inside(*p, b))
        || b.iter().any(|p| inside(*p, a))
        || edges(a).any(|(p, q)| edges(b).any(|(r, s)| segments_cross(p, q, r, s)))
}

fn is_simple(r: &Ring) -> bool {
    let e: Vec<_> = edges(r).collect();
    for i in 0..e.len() {
        for j in i + 2..e.len() {
            if i == 0 && j == e.len() - 1 {
                continue; // adjacent through the closing vertex
            }
            if segments_cross(e[i].0, e[i].1, e[j].0, e[j].1) {
                return false;
            }
        }
    }
    true
}

fn centroid(r: &Ring) -> (f64, f64) {
    let n = (r.len() - 1) as f64;
    let (sx, sy) = r[..r.len() - 1]
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
    (sx / n, sy / n)
}

// --- reading the committed files -----------------------------------------------------------

fn layer(name: &str) -> Vec<Value> {
    file_features(&geodata_dir().join(format!("{name}.geojson")))
}

fn exterior(f: &Value) -> Ring {
    assert_eq!(f["geometry"]["type"], "Polygon", "feature {}", f["id"]);
    f["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect()
}

fn only(name: &str) -> Ring {
    let f = layer(name);
    assert_eq!(f.len(), 1, "{name} holds one feature");
    exterior(&f[0])
}

fn num(f: &Value, k: &str) -> f64 {
    f["properties"][k]
        .as_f64()
        .unwrap_or_else(|| panic!("{} lacks number {k}", f["id"]))
}

fn text<'a>(f: &'a Value, k: &str) -> &'a str {
    f["properties"][k]
        .as_str()
        .unwrap_or_else(|| panic!("{} lacks text {k}", f["id"]))
}

fn within_pct(actual: f64, expected: f64, pct: f64) -> bool {
    ((actual - expected) / expected).abs() * 100.0 <= pct
}

const AS_OF: &str = "2026-11-01";
const CORE: (f64, f64, f64, f64) = (116.47, 39.74, 116.64, 39.83);

// --- the figures -----------------------------------------------------------------------------

#[test]
fn zone_areas_match_the_published_figures() {
    for (name, km2, pct) in [
        ("ftz-etown-cluster", 27.83, 0.5),
        ("data-pilot-zone", 32.0, 0.5),
        ("bonded-zone", 0.61, 1.0),
        ("new-town", 225.0, 1.0),
    ] {
        let a = area_m2(&only(name)) / 1e6;
        assert!(
            within_pct(a, km2, pct),
            "{name}: {a:.4} km² is not {km2} ± {pct} %"
        );
    }
}

#[test]
fn zones_are_simple_and_in_their_real_neighbourhood() {
    for name in [
        "ftz-etown-cluster",
        "data-pilot-zone",
        "bonded-zone",
        "new-town",
    ] {
        let r = only(name);
        assert!(is_simple(&r), "{name} self-intersects");
        assert!(
            signed_area(&r) > 0.0,
            "{name}: exterior ring is not counter-clockwise"
        );
    }
    let (w, s, e, n) = CORE;
    let core_centre = ((w + e) / 2.0, (s + n) / 2.0);
    assert!(
        only("ftz-etown-cluster")
            .iter()
            .all(|&(x, y)| (w..=e).contains(&x) && (s..=n).contains(&y)),
        "FTZ cluster leaves the BDA core"
    );
    let dpz = centroid(&only("data-pilot-zone"));
    let km = |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0) * 85.5).hypot((a.1 - b.1) * 111.0);
    assert!(
        km(dpz, (116.61, 39.82)) < 2.0,
        "data pilot zone is not centred on Taihu: {dpz:?}"
    );
    assert!(
        dpz.0 > core_centre.0 && dpz.1 > core_centre.1,
        "data pilot zone is not north-east of the core"
    );
    let bonded = centroid(&only("bonded-zone"));
    assert!(
        bonded.0 > core_centre.0 && bonded.1 < s,
        "bonded zone is not south-east of the core: {bonded:?}"
    );
    let new_town = only("new-town");
    for name in ["ftz-etown-cluster", "data-pilot-zone", "bonded-zone"] {
        assert!(
            ring_within(&only(name), &new_town),
            "{name} is not inside the New Town"
        );
    }
}

#[test]
fn there_are_exactly_58_carriers_with_more_than_6_million_m2() {
    let c = layer("spatial-carriers");
    assert_eq!(c.len(), 58);
    let total: f64 = c.iter().map(|f| num(f, "floor_area_m2")).sum();
    assert!(total > 6_000_000.0, "total floor area {total}");
    for f in &c {
        let (floor, avail) = (num(f, "floor_area_m2"), num(f, "available_floor_area_m2"));
        assert!(
            avail >= 0.0 && avail <= floor,
            "{}: available {avail} > total {floor}",
            f["id"]
        );
    }
}

#[test]
fn carriers_stay_inside_the_new_town_and_never_overlap() {
    let new_town = only("new-town");
    let rings: Vec<(String, Ring)> = layer("spatial-carriers")
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_owned(), exterior(f)))
        .collect();
    for (id, r) in &rings {
        assert!(ring_within(r, &new_town), "{id} is outside the New Town");
        assert!(
            is_simple(r) && signed_area(r) > 0.0,
            "{id}: not a simple counter-clockwise ring"
        );
    }
    for (i, (a, ra)) in rings.iter().enumerate() {
        for (b, rb) in &rings[i + 1..] {
            assert!(!rings_overlap(ra, rb), "{a} overlaps {b}");
        }
    }
}

#[test]
fn parcels_are_realistic_for_their_floor_area() {
    for f in layer("spatial-carriers") {
        let ratio = num(&f, "floor_area_m2") / area_m2(&exterior(&f));
        assert!(
            (0.8..=4.0).contains(&ratio),
            "{}: plot ratio {ratio:.2}",
            f["id"]
        );
    }
}

#[test]
fn shares_of_carriers_lie_in_each_zone() {
    let count_in = |zone: &str| {
        let z = only(zone);
        layer("spatial-carriers")
            .iter()
            .filter(|f| ring_within(&exterior(f), &z))
            .count()
    };
    let (ftz, dpz, bonded) = (
        count_in("ftz-etown-cluster"),
        count_in("data-pilot-zone"),
        count_in("bonded-zone"),
    );
    assert!(ftz >= 8, "only {ftz} carriers in the FTZ cluster");
    assert!(dpz >= 8, "only {dpz} carriers in the data pilot zone");
    assert!(
        (1..=5).contains(&bonded),
        "{bonded} carriers in the bonded zone (a few expected)"
    );
}

#[test]
fn parks_contain_the_carriers_that_name_them() {
    let parks: BTreeMap<String, Ring> = layer("parks")
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_owned(), exterior(f)))
        .collect();
    assert!(parks.contains_key("rocket-street") && parks.contains_key("robot-industrial-park"));
    let mut named = 0;
    for f in layer("spatial-carriers") {
        if let Some(park) = f["properties"]["park"].as_str() {
            let ring = parks
                .get(park)
                .unwrap_or_else(|| panic!("{} names unknown park {park}", f["id"]));
            assert!(
                ring_within(&exterior(&f), ring),
                "{} is outside its park {park}",
                f["id"]
            );
            named += 1;
        }
    }
    assert!(
        named >= 29,
        "carriers should be clustered in parks: only {named} of 58 are"
    );
    let pl: Vec<Ring> = parks.values().cloned().collect();
    for (i, a) in pl.iter().enumerate() {
        for b in &pl[i + 1..] {
            assert!(!rings_overlap(a, b), "two parks overlap");
        }
    }
}

#[test]
fn named_places_honour_their_published_figures() {
    let rocket: f64 = layer("spatial-carriers")
        .iter()
        .filter(|f| f["properties"]["park"] == "rocket-street")
        .map(|f| num(f, "floor_area_m2"))
        .sum();
    assert!(
        within_pct(rocket, 145_000.0, 1.0),
        "Rocket Street floor space {rocket}"
    );
    let robot = layer("parks")
        .into_iter()
        .find(|f| f["id"] == "robot-industrial-park")
        .unwrap();
    let site = area_m2(&exterior(&robot));
    assert!(
        within_pct(site, 250_000.0, 1.0),
        "Robot Industrial Park site {site}"
    );
    // Real names only where the public record has them.
    for f in layer("spatial-carriers") {
        let (zh, en) = (text(&f, "name_zh"), text(&f, "name_en"));
        match f["properties"]["park"].as_str() {
            Some("rocket-street") => {
                assert!(zh.contains("火箭大街") && en.contains("Rocket Street"))
            }
            Some("robot-industrial-park") => {
                assert!(zh.contains("北京机器人产业园") && en.contains("Robot Industrial Park"))
            }
            _ => {
                assert!(
                    zh.contains("产业载体") && en.contains("Carrier"),
                    "{zh} / {en}"
                );
            }
        }
    }
}

#[test]
fn all_six_industries_and_the_named_clusters_are_covered() {
    let vocab: Value = serde_json::from_slice(
        &std::fs::read(geodata_dir().join("industries.vocab.json")).unwrap(),
    )
    .unwrap();
    let ids: BTreeSet<&str> = vocab["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let six: BTreeSet<&str> = [
        "future_information",
        "future_health",
        "future_manufacturing",
        "future_energy",
        "future_materials",
        "future_space",
    ]
    .into();
    assert_eq!(ids, six);
    for t in vocab["terms"].as_array().unwrap() {
        assert!(!t["zh"].as_str().unwrap().is_empty() && !t["en"].as_str().unwrap().is_empty());
        let c = t["color"].as_str().unwrap();
        assert!(c.len() == 7 && c.starts_with('#'), "{c}");
    }
    let carriers = layer("spatial-carriers");
    let used: BTreeSet<&str> = carriers.iter().map(|f| text(f, "industry")).collect();
    assert_eq!(used, six);
    let clusters: BTreeSet<&str> = carriers
        .iter()
        .filter_map(|f| f["properties"]["cluster"].as_str())
        .collect();
    for c in [
        "integrated_circuits",
        "autonomous_driving",
        "xinchuang",
        "data_ai",
        "robotics",
        "commercial_aerospace",
        "biomedicine",
    ] {
        assert!(clusters.contains(c), "no carrier of cluster {c}");
    }
    // The robotics cluster is where the robot park is; aerospace where Rocket Street is.
    for f in &carriers {
        match f["properties"]["park"].as_str() {
            Some("robot-industrial-park") => assert_eq!(f["properties"]["cluster"], "robotics"),
            Some("rocket-street") => assert_eq!(f["properties"]["cluster"], "commercial_aerospace"),
            _ => {}
        }
    }
}

#[test]
fn statuses_and_dates_are_consistent() {
    for f in layer("spatial-carriers") {
        let date = text(&f, "delivery_date");
        assert_eq!(date.len(), 10);
        match text(&f, "status") {
            "operating" => assert!(date < AS_OF, "{}: operating but delivered {date}", f["id"]),
            "under_construction" | "planned" => {
                assert!(date > AS_OF, "{}: not yet built but dated {date}", f["id"])
            }
            other => panic!("unknown status {other}"),
        }
        if text(&f, "status") == "planned" {
            assert_eq!(
                num(&f, "available_floor_area_m2"),
                num(&f, "floor_area_m2"),
                "a planned carrier is all available"
            );
        }
    }
}

#[test]
fn technical_attributes_are_plausible_for_the_building_type() {
    for f in layer("spatial-carriers") {
        let (load, height, power) = (
            num(&f, "floor_load_kn_m2"),
            num(&f, "clear_height_m"),
            num(&f, "power_kva"),
        );
        let (l, h) = match text(&f, "building_type") {
            "standard_factory" => ((8.0, 40.0), (6.0, 15.0)),
            "laboratory" => ((4.0, 12.0), (3.5, 7.0)),
            "rnd_office" => ((2.0, 6.0), (3.0, 6.0)),
            "warehouse_logistics" => ((20.0, 60.0), (8.0, 15.0)),
            "mixed" => ((4.0, 20.0), (4.0, 10.0)),
            other => panic!("unknown building type {other}"),
        };
        assert!((l.0..=l.1).contains(&load), "{}: load {load}", f["id"]);
        assert!(
            (h.0..=h.1).contains(&height),
            "{}: clear height {height}",
            f["id"]
        );
        assert!(
            (100.0..=50_000.0).contains(&power),
            "{}: power {power}",
            f["id"]
        );
    }
}

#[test]
fn every_feature_is_labelled_schematic_with_a_source_and_a_stable_id() {
    for name in [
        "ftz-etown-cluster",
        "data-pilot-zone",
        "bonded-zone",
        "spatial-carriers",
        "parks",
        "new-town",
    ] {
        let mut ids = BTreeSet::new();
        for f in layer(name) {
            assert!(
                ids.insert(f["id"].as_str().unwrap().to_owned()),
                "{name}: duplicate id"
            );
            assert_eq!(f["properties"]["schematic"], true, "{name} {}", f["id"]);
            assert!(!text(&f, "source").is_empty());
            assert!(!text(&f, "name_zh").is_empty() && !text(&f, "name_en").is_empty());
        }
    }
}

/// The server's derived properties agree with the independent computations above.
#[tokio::test]
async fn derived_area_and_zones_agree_with_independent_computation() {
    let app = shipped_app();
    let doc = get(&app, "/collections/spatial-carriers/items?limit=100")
        .await
        .json();
    let served = doc["features"].as_array().unwrap();
    assert_eq!(served.len(), 58);
    let zone_rings: Vec<(String, Ring)> = [
        "new-town",
        "ftz-etown-cluster",
        "data-pilot-zone",
        "bonded-zone",
        "parks",
    ]
    .iter()
    .flat_map(|l| layer(l))
    .map(|f| (f["id"].as_str().unwrap().to_owned(), exterior(&f)))
    .collect();
    for (file, api) in layer("spatial-carriers").iter().zip(served) {
        assert_eq!(file["id"], api["id"]);
        let expected = area_m2(&exterior(file));
        let derived = api["properties"]["geodesic_area_m2"].as_f64().unwrap();
        assert!(
            within_pct(derived, expected, 0.05),
            "{}: {derived} vs {expected}",
            file["id"]
        );
        let mut zones: Vec<String> = api["properties"]["zones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z.as_str().unwrap().to_owned())
            .collect();
        zones.sort();
        let mut independent: Vec<String> = zone_rings
            .iter()
            .filter(|(_, r)| ring_within(&exterior(file), r))
            .map(|(id, _)| id.clone())
            .collect();
        independent.sort();
        assert_eq!(zones, independent, "{}", file["id"]);
    }
    // "Available floor space in the FTZ cluster" as one request.
    let ftz = get(
        &app,
        "/collections/spatial-carriers/items?zones=ftz-etown-cluster&limit=100",
    )
    .await
    .json();
    let n = layer("spatial-carriers")
        .iter()
        .filter(|f| ring_within(&exterior(f), &only("ftz-etown-cluster")))
        .count();
    assert_eq!(ftz["numberMatched"], n);
}

#[test]
fn the_zone_features_report_their_official_area() {
    for (name, km2) in [
        ("ftz-etown-cluster", 27.83),
        ("data-pilot-zone", 32.0),
        ("bonded-zone", 0.61),
        ("new-town", 225.0),
    ] {
        assert_eq!(num(&layer(name)[0], "official_area_km2"), km2);
    }
}
