//! `/stats?interval=…` (issue 30): a series per period, checked against figures worked out by
//! hand for a dozen edits at known times.
//!
//! The edits are made through the API, then the change log's instants are set to the fixture's
//! (`UPDATE changes SET at = …` on the state store, in the same order), so the server sees a
//! history spread over five months of 2026. Every expected number below is written out from
//! the shipped data's values (printed in the comments) and the edits; only the median rent is
//! computed here, from the shipped file's rents.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::{app, AppState};
use serde_json::{json, Value};

use crate::common::*;

const CARRIERS: &str = "/collections/spatial-carriers";

struct Site {
    app: Router,
    token: String,
}

impl Site {
    fn send(&self, method: &str, uri: &str, body: Option<(&str, Value)>) -> Request<Body> {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "atlas.test")
            .header("authorization", format!("Bearer {}", self.token));
        match body {
            Some((ty, v)) => b
                .header("content-type", ty)
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    /// Makes an edit (with the feature's current ETag) and returns its change number.
    async fn edit(&self, method: &str, id: &str, body: Option<Value>) -> i64 {
        let url = format!("{CARRIERS}/items/{id}");
        let etag = get(&self.app, &url).await.headers["etag"].clone();
        let ty = "application/merge-patch+json";
        let mut req = self.send(method, &url, body.map(|b| (ty, b)));
        req.headers_mut().insert("if-match", etag);
        let r = request(&self.app, req).await;
        assert!(
            r.status.is_success(),
            "{method} {id}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        r.headers["atlas-data-version"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// A Beijing-time instant as the UTC text the change log keeps.
fn utc(beijing: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(beijing)
        .unwrap()
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The entry of a series whose period starts on `start`.
fn period<'a>(doc: &'a Value, start: &str) -> &'a Value {
    doc["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["start"] == start)
        .unwrap_or_else(|| panic!("no period from {start} in {doc}"))
}

fn group<'a>(entry: &'a Value, key: &str) -> &'a Value {
    entry["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key} in {entry}"))
}

fn close(a: &Value, b: f64, what: &str) {
    let a = a
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {a}"));
    assert!((a - b).abs() < 1e-6, "{what}: {a} against {b} by hand");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_series_matches_figures_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let token = editor_token(&store, "analyst");
    let site = Site {
        // Figures older than a day are stale, so this week's report has some.
        app: app(AppState::new(
            Arc::new(store),
            ServerConfig {
                stale_after_days: 1,
                ..ServerConfig::default()
            },
        )),
        token,
    };
    let patch = |available: i64| json!({"properties": {"available_floor_area_m2": available}});

    // The shipped values the fixture touches (geodata/spatial-carriers.geojson):
    // carrier-01 operating 7,300 available; carrier-02 planned 34,500; carrier-03 operating
    // 21,000; carrier-04 under_construction 159,700; carrier-05 operating 12,100 (floor area
    // 107,800); carrier-06 operating 29,200; carrier-07 operating 26,200. All 58: 3,312,700
    // available of 6,149,900 m².
    let mut log: Vec<(i64, &str)> = Vec::new();
    log.push((
        site.edit("PATCH", "carrier-01", Some(patch(5000))).await,
        "2026-01-05T10:00:00+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-02", Some(patch(30000))).await,
        "2026-01-20T10:00:00+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-01", Some(patch(6500))).await,
        "2026-01-25T10:00:00+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-03", Some(patch(25000))).await,
        "2026-02-03T10:00:00+08:00",
    ));
    log.push((
        site.edit("DELETE", "carrier-05", None).await,
        "2026-02-10T10:00:00+08:00",
    ));
    // A new planned carrier: 10,000 m², 4,000 available, rent 3.0.
    let mut new = get(&site.app, &format!("{CARRIERS}/items/carrier-01"))
        .await
        .json();
    let obj = new.as_object_mut().unwrap();
    obj.remove("id");
    obj.remove("links");
    let queryables = get(&site.app, &format!("{CARRIERS}/queryables"))
        .await
        .json();
    let props = new["properties"].as_object_mut().unwrap();
    for (name, s) in queryables["properties"].as_object().unwrap() {
        if s["readOnly"] == true {
            props.remove(name);
        }
    }
    props.insert("status".into(), json!("planned"));
    props.insert("floor_area_m2".into(), json!(10000));
    props.insert("available_floor_area_m2".into(), json!(4000));
    props.insert("rent_cny_m2_day".into(), json!(3.0));
    let created = request(
        &site.app,
        site.send(
            "POST",
            &format!("{CARRIERS}/items"),
            Some(("application/geo+json", new)),
        ),
    )
    .await;
    assert_eq!(created.status, 201);
    let new_id = created.headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let seq = |r: &Reply| -> i64 {
        r.headers["atlas-data-version"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    log.push((seq(&created), "2026-02-15T10:00:00+08:00"));
    // The last millisecond of February and the first of March, Beijing time.
    log.push((
        site.edit("PATCH", "carrier-06", Some(patch(20000))).await,
        "2026-02-28T23:59:59.999+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-07", Some(patch(30000))).await,
        "2026-03-01T00:00:00.000+08:00",
    ));
    // carrier-04 moves from under construction to operating, its available area unchanged.
    log.push((
        site.edit(
            "PATCH",
            "carrier-04",
            Some(json!({"properties": {"status": "operating"}})),
        )
        .await,
        "2026-03-10T10:00:00+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-02", Some(patch(30500))).await,
        "2026-04-02T10:00:00+08:00",
    ));
    log.push((
        site.edit("PATCH", "carrier-02", Some(patch(29700))).await,
        "2026-04-20T10:00:00+08:00",
    ));
    log.push((
        site.edit("DELETE", &new_id, None).await,
        "2026-05-05T10:00:00+08:00",
    ));
    assert_eq!(log.len(), 12);

    // The log's instants become the fixture's.
    let db = rusqlite::Connection::open(dir.path().join(etown_atlas::sqlite::DB_FILE)).unwrap();
    for (seq, at) in &log {
        let n = db
            .execute(
                "UPDATE changes SET at = ?1 WHERE seq = ?2",
                rusqlite::params![utc(at), seq],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    drop(db);

    let r = get(
        &site.app,
        &format!("{CARRIERS}/stats?interval=month&from=2026-01-01&to=2026-05-31&group-by=status"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    let doc = r.json();
    assert_eq!(doc["interval"], "month");
    assert_eq!(doc["series"].as_array().unwrap().len(), 5);
    assert_eq!(period(&doc, "2026-01-01")["end"], "2026-02-01");

    // By hand, per month (available at the end; absorption; new supply; count; floor area):
    // Jan: carrier-01 7,300 → 6,500 (net over the month: −800, not −2,300 then +1,500),
    //      carrier-02 34,500 → 30,000: absorption 5,300; 3,312,700 − 5,300 = 3,307,400.
    // Feb: carrier-03 +4,000, the new carrier +4,000 (supply 8,000); carrier-05 deleted
    //      −12,100, carrier-06 −9,200 (absorption 21,300): 3,294,100; 58 carriers; floor area
    //      6,149,900 − 107,800 + 10,000 = 6,052,100.
    // Mar: carrier-07 +3,800 (carrier-04 changed status only): 3,297,900.
    // Apr: carrier-02 30,000 → 29,700 (net of +500 and −800): absorption 300: 3,297,600.
    // May: the new carrier deleted, −4,000: 3,293,600; 57 carriers; 6,042,100 m².
    let months = [
        ("2026-01-01", 3_307_400.0, 5_300.0, 0.0, 58, 6_149_900.0),
        (
            "2026-02-01",
            3_294_100.0,
            21_300.0,
            8_000.0,
            58,
            6_052_100.0,
        ),
        ("2026-03-01", 3_297_900.0, 0.0, 3_800.0, 58, 6_052_100.0),
        ("2026-04-01", 3_297_600.0, 300.0, 0.0, 58, 6_052_100.0),
        ("2026-05-01", 3_293_600.0, 4_000.0, 0.0, 57, 6_042_100.0),
    ];
    for (start, available, absorption, supply, count, floor) in months {
        let e = period(&doc, start);
        close(
            &e["availableFloorArea"],
            available,
            &format!("{start} available"),
        );
        close(
            &e["sums"]["available_floor_area_m2"],
            available,
            &format!("{start} sum"),
        );
        close(&e["absorption"], absorption, &format!("{start} absorption"));
        close(&e["newSupply"], supply, &format!("{start} new supply"));
        assert_eq!(e["count"], count, "{start} count");
        close(&e["floorArea"], floor, &format!("{start} floor area"));
        close(
            &e["vacancyRate"],
            available / floor,
            &format!("{start} vacancy"),
        );
    }
    // Per status: March moves carrier-04's 159,700 m² from under construction to operating.
    let mar = period(&doc, "2026-03-01");
    close(
        &group(mar, "under_construction")["absorption"],
        159_700.0,
        "Mar under construction",
    );
    close(
        &group(mar, "operating")["newSupply"],
        159_700.0 + 3_800.0,
        "Mar operating",
    );
    let feb = period(&doc, "2026-02-01");
    close(
        &group(feb, "operating")["absorption"],
        21_300.0,
        "Feb operating",
    );
    close(
        &group(feb, "operating")["newSupply"],
        4_000.0,
        "Feb operating supply",
    );
    close(&group(feb, "planned")["newSupply"], 4_000.0, "Feb planned");
    close(
        &group(period(&doc, "2026-01-01"), "planned")["absorption"],
        4_500.0,
        "Jan planned",
    );
    close(
        &group(period(&doc, "2026-05-01"), "planned")["absorption"],
        4_000.0,
        "May planned",
    );

    // The median rent at the end of February: the shipped rents without carrier-05's, with 3.0.
    let shipped = file_features(&geodata_dir().join("spatial-carriers.geojson"));
    let rents = |skip: &[&str], add: &[f64]| -> f64 {
        let mut v: Vec<f64> = shipped
            .iter()
            .filter(|f| !skip.contains(&f["id"].as_str().unwrap()))
            .filter_map(|f| f["properties"]["rent_cny_m2_day"].as_f64())
            .collect();
        v.extend_from_slice(add);
        median(v)
    };
    close(
        &period(&doc, "2026-01-01")["medianRent"],
        rents(&[], &[]),
        "Jan median rent",
    );
    close(
        &feb["medianRent"],
        rents(&["carrier-05"], &[3.0]),
        "Feb median rent",
    );
    close(
        &period(&doc, "2026-05-01")["medianRent"],
        rents(&["carrier-05"], &[]),
        "May median rent",
    );

    // Days: the last millisecond of February is February's; the first of March is March's.
    let days = get(
        &site.app,
        &format!("{CARRIERS}/stats?interval=day&from=2026-02-28&to=2026-03-01"),
    )
    .await
    .json();
    close(
        &period(&days, "2026-02-28")["absorption"],
        9_200.0,
        "28 Feb",
    );
    close(
        &period(&days, "2026-02-28")["newSupply"],
        0.0,
        "28 Feb supply",
    );
    close(&period(&days, "2026-03-01")["newSupply"], 3_800.0, "1 Mar");
    close(
        &period(&days, "2026-03-01")["absorption"],
        0.0,
        "1 Mar absorption",
    );
    // Weeks start on Monday: 2026-01-19 is one, and the week holding 20 January has carrier-02's
    // 4,500.
    let weeks = get(
        &site.app,
        &format!("{CARRIERS}/stats?interval=week&from=2026-01-20&to=2026-01-20"),
    )
    .await
    .json();
    assert_eq!(weeks["series"].as_array().unwrap().len(), 1);
    close(
        &period(&weeks, "2026-01-19")["absorption"],
        4_500.0,
        "week of 19 Jan",
    );
    // A quarter: January to March, every change of the three months at once.
    let q1 = get(
        &site.app,
        &format!("{CARRIERS}/stats?interval=quarter&from=2026-01-01&to=2026-03-31"),
    )
    .await
    .json();
    let q = period(&q1, "2026-01-01");
    close(&q["availableFloorArea"], 3_297_900.0, "Q1 available");
    // Over the quarter carrier-01 −800, carrier-02 −4,500, carrier-05 −12,100, carrier-06
    // −9,200; carrier-03 +4,000, the new one +4,000, carrier-07 +3,800.
    close(
        &q["absorption"],
        800.0 + 4_500.0 + 12_100.0 + 9_200.0,
        "Q1 absorption",
    );
    close(&q["newSupply"], 4_000.0 + 4_000.0 + 3_800.0, "Q1 supply");

    // The weekly report of 2026-W06 (2 to 8 February): carrier-03 +4,000, nothing else.
    let report = |q: &str| {
        request(
            &site.app,
            site.send("GET", &format!("/reports/weekly?{q}"), None),
        )
    };
    let html = report("week=2026-W06").await;
    assert_eq!(html.status, 200);
    assert!(html.content_type().starts_with("text/html"));
    let page = String::from_utf8(html.bytes.clone()).unwrap();
    assert!(
        page.contains("2026-W06") && page.contains("2026-02-02"),
        "the week, named"
    );
    assert!(page.contains("新增供给 New supply"), "both languages");
    assert!(page.contains("carrier-03") && page.contains("analyst"));
    let csv = report("week=2026-W06&f=csv").await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.bytes.clone()).unwrap();
    let rows: Vec<Vec<String>> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let find = |section: &str, key: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == key)
            .unwrap_or_else(|| panic!("no {section} {key} in {text}"))
            .clone()
    };
    let total = find("total", "2026-W06");
    assert_eq!(
        (total[6].as_str(), total[7].as_str()),
        ("4000", "0"),
        "new supply, absorption"
    );
    // Available at the week's end: January's end plus carrier-03's 4,000.
    assert_eq!(total[5], (3_307_400 + 4_000).to_string());
    let changed = find("changed", "carrier-03");
    assert_eq!(
        (
            changed[4].as_str(),
            changed[5].as_str(),
            changed[9].as_str(),
            changed[10].as_str()
        ),
        ("21000", "25000", "1", "analyst")
    );
    assert_eq!(rows.iter().filter(|r| r[0] == "changed").count(), 1);
    // This week's: the seed's figures (as of 2026-11-01) are stale, by the seed.
    let this_week = report("f=csv").await;
    let text = String::from_utf8(this_week.bytes.clone()).unwrap();
    let stale_by = |who: &str| {
        text.lines()
            .filter(|l| l.starts_with("stale,") && l.split(',').nth(10) == Some(who))
            .count()
    };
    assert!(stale_by("seed") > 40, "{text}");
    // Refused: no token, a malformed week, a week that has not begun.
    let anonymous = get(&site.app, "/reports/weekly").await;
    assert_eq!(anonymous.status, 401);
    for (q, parameter) in [
        ("week=2026-49", "week"),
        ("week=2099-W01", "week"),
        ("f=pdf", "f"),
    ] {
        assert_eq!(report(q).await.problem(400)["parameter"], parameter, "{q}");
    }

    // Refused: an unknown interval, from after to, a series and asOf at once, from without
    // interval, too many periods, and a start in the future.
    for (q, parameter) in [
        ("interval=fortnight", "interval"),
        ("interval=month&from=2026-05-01&to=2026-01-01", "from"),
        ("interval=month&asOf=2026-03-01T00:00:00Z", "asOf"),
        ("from=2026-01-01", "from"),
        ("interval=day&from=2020-01-01&to=2026-01-01", "interval"),
        ("interval=day&from=2099-01-01&to=2099-01-02", "from"),
        ("interval=month&from=2026-13-01", "from"),
    ] {
        let r = get(&site.app, &format!("{CARRIERS}/stats?{q}")).await;
        assert_eq!(r.problem(400)["parameter"], parameter, "{q}");
    }
}
