//! Scoped rights (issue 29): a park operator's token may change only its park's carriers, only
//! some properties, only within an area. A table of tokens × operations (POST, PUT, PATCH,
//! DELETE, change sets) over a real socket, each refused edit checked to have changed nothing
//! and each allowed one to be recorded under the token's name. The expected outcomes come from
//! the seed file (which carriers are in which park, their outlines), never from the server.

use std::sync::Arc;

use etown_atlas::http::{app, AppState};
use etown_atlas::record::tokens;
use etown_atlas::record::{NewToken, Scope, Scopes};
use etown_atlas::sqlite::Journal;
use serde_json::{json, Value};

use crate::common::*;

const CARRIERS: &str = "/collections/spatial-carriers/items";
const PARK: &str = "biomedicine-park";
const FIELDS: [&str; 4] = [
    "available_floor_area_m2",
    "status",
    "delivery_date",
    "rent_cny_m2_day",
];

fn token(dir: &std::path::Path, name: &str, role: &str, scope: Option<Scope>) -> String {
    let mut scopes = Scopes::new();
    let collections = scope.map(|s| {
        scopes.insert("spatial-carriers".into(), s);
        vec!["spatial-carriers".to_owned()]
    });
    let mut j = Journal::open(dir).unwrap();
    tokens::create(
        &mut j,
        &NewToken {
            name: name.into(),
            role: role.into(),
            collections,
            scopes,
            expires_at: None,
        },
        "2026-12-07T00:00:00Z",
    )
    .unwrap()
    .0
}

/// The seed's carriers: (id, park, feature).
fn seed() -> Vec<(String, Option<String>, Value)> {
    file_features(&geodata_dir().join("spatial-carriers.geojson"))
        .into_iter()
        .map(|f| {
            let id = f["id"].as_str().unwrap().to_owned();
            let park = f["properties"]["park"].as_str().map(str::to_owned);
            (id, park, f)
        })
        .collect()
}

/// Every position of a GeoJSON geometry.
fn positions(g: &Value) -> Vec<(f64, f64)> {
    match g {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() => {
            vec![(a[0].as_f64().unwrap(), a[1].as_f64().unwrap())]
        }
        Value::Array(a) => a.iter().flat_map(positions).collect(),
        Value::Object(o) => positions(&o["coordinates"]),
        _ => Vec::new(),
    }
}

/// `g` moved by `dx` degrees of longitude.
fn shifted(g: &Value, dx: f64) -> Value {
    match g {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() => {
            json!([a[0].as_f64().unwrap() + dx, a[1].as_f64().unwrap()])
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| shifted(x, dx)).collect()),
        Value::Object(o) => {
            let mut o = o.clone();
            o["coordinates"] = shifted(&o["coordinates"], dx);
            Value::Object(o)
        }
        other => other.clone(),
    }
}

struct Site {
    http: reqwest::Client,
    base: String,
}

struct Answer {
    status: u16,
    etag: Option<String>,
    body: Value,
}

impl Site {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/geo+json")
                .body(b.to_string());
        }
        if let Some(t) = if_match {
            req = req.header("if-match", t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        Answer {
            status,
            etag,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// The feature as served, with its ETag.
    async fn feature(&self, id: &str, token: &str) -> (Value, String) {
        let a = self
            .send(
                reqwest::Method::GET,
                &format!("{CARRIERS}/{id}"),
                token,
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{id}");
        (a.body, a.etag.unwrap())
    }
}

/// One edit of the table, on one carrier: what it sends and what comes back.
enum Op {
    Patch(Value),
    /// PUT of the carrier with its geometry moved by this many degrees of longitude.
    PutShifted(f64),
    /// POST of a copy of the carrier with these properties set and its geometry moved.
    Post(Value, f64),
    Delete,
}

/// (token, its name, carrier, operation, expected status, rule, property).
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Op,
    u16,
    Option<&'a str>,
    Option<&'a str>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_edit_only_inside_their_scope_by_every_method_and_by_change_set() {
    let features = seed();
    let in_park: Vec<&(String, Option<String>, Value)> = features
        .iter()
        .filter(|(_, p, _)| p.as_deref() == Some(PARK))
        .collect();
    let other = features
        .iter()
        .find(|(_, p, _)| p.is_some() && p.as_deref() != Some(PARK))
        .unwrap();
    assert!(in_park.len() >= 5, "the seed has the park's carriers");
    // The area: the park's carriers' bounding box, 0.002° wider on every side.
    let pts: Vec<(f64, f64)> = in_park
        .iter()
        .flat_map(|(_, _, f)| positions(&f["geometry"]))
        .collect();
    let (x0, y0, x1, y1) = pts.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
    );
    let m = 0.002;
    let area = json!({"type": "Polygon", "coordinates": [[[x0-m, y0-m], [x1+m, y0-m], [x1+m, y1+m], [x0-m, y1+m], [x0-m, y0-m]]]});
    let outside = (x1 - x0) + 0.05;

    let dir = tempfile::tempdir().unwrap();
    let park7 = token(
        dir.path(),
        "park7",
        "editor",
        Some(Scope {
            write_where: Some(format!("park = '{PARK}'")),
            fields: Some(FIELDS.iter().map(|s| s.to_string()).collect()),
            ..Scope::default()
        }),
    );
    let mover = token(
        dir.path(),
        "mover",
        "editor",
        Some(Scope {
            write_where: Some(format!("park = '{PARK}'")),
            area: Some(area.clone()),
            ..Scope::default()
        }),
    );
    let anyone = token(dir.path(), "office", "editor", None);
    let reader = token(dir.path(), "rita", "reader", None);
    let (store, _) = etown_atlas::sqlite::open_store(shipped_catalog(), dir.path(), &[]).unwrap();
    let addr = serve(app(AppState::new(
        Arc::new(store),
        etown_atlas::config::ServerConfig::default(),
    )))
    .await;
    let site = Site {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
    };

    let a = &in_park[0].0;
    let b = &in_park[1].0;
    let c = &in_park[2].0;
    let d = &in_park[3].0;
    let o = &other.0;
    // (token, name, carrier, operation, status, rule, property)
    let table: Vec<Row> = vec![
        // park7: its park, its fields.
        (
            &park7,
            "park7",
            a,
            Op::Patch(json!({"properties": {"available_floor_area_m2": 1234}})),
            200,
            None,
            None,
        ),
        (
            &park7,
            "park7",
            a,
            Op::Patch(json!({"properties": {"status": "planned", "rent_cny_m2_day": 3.5}})),
            200,
            None,
            None,
        ),
        (
            &park7,
            "park7",
            o,
            Op::Patch(json!({"properties": {"available_floor_area_m2": 1}})),
            403,
            Some("where"),
            None,
        ),
        (
            &park7,
            "park7",
            a,
            Op::Patch(json!({"properties": {"floor_area_m2": 1}})),
            403,
            Some("fields"),
            Some("floor_area_m2"),
        ),
        (
            &park7,
            "park7",
            a,
            Op::Patch(json!({"properties": {"park": "ic-park"}})),
            403,
            Some("fields"),
            Some("park"),
        ),
        (
            &park7,
            "park7",
            a,
            Op::PutShifted(0.0005),
            403,
            Some("fields"),
            Some("geometry"),
        ),
        (
            &park7,
            "park7",
            a,
            Op::Post(json!({"name_en": "New lab"}), 0.0),
            403,
            Some("fields"),
            None,
        ),
        (&park7, "park7", a, Op::Delete, 403, Some("fields"), None),
        // mover: its park, any property, within the area.
        (
            &mover,
            "mover",
            b,
            Op::Patch(json!({"properties": {"park": "ic-park"}})),
            403,
            Some("where"),
            None,
        ),
        (
            &mover,
            "mover",
            o,
            Op::Patch(json!({"properties": {"name_en": "x"}})),
            403,
            Some("where"),
            None,
        ),
        (
            &mover,
            "mover",
            b,
            Op::PutShifted(outside),
            403,
            Some("area"),
            None,
        ),
        (&mover, "mover", b, Op::PutShifted(0.0005), 200, None, None),
        (
            &mover,
            "mover",
            b,
            Op::Patch(json!({"properties": {"floor_area_m2": 50000}})),
            200,
            None,
            None,
        ),
        (
            &mover,
            "mover",
            c,
            Op::Post(json!({"name_en": "New lab"}), 0.0003),
            201,
            None,
            None,
        ),
        (
            &mover,
            "mover",
            c,
            Op::Post(json!({"name_en": "Far lab"}), outside),
            403,
            Some("area"),
            None,
        ),
        (
            &mover,
            "mover",
            c,
            Op::Post(json!({"park": "ic-park"}), 0.0003),
            403,
            Some("where"),
            None,
        ),
        (&mover, "mover", o, Op::Delete, 403, Some("where"), None),
        (&mover, "mover", d, Op::Delete, 204, None, None),
        // Without a scope: everything its role allows; a reader nothing.
        (
            &anyone,
            "office",
            o,
            Op::Patch(json!({"properties": {"available_floor_area_m2": 2}})),
            200,
            None,
            None,
        ),
        (
            &reader,
            "rita",
            a,
            Op::Patch(json!({"properties": {"available_floor_area_m2": 3}})),
            403,
            None,
            None,
        ),
    ];
    // The seed's property names: a body sends only these (the others are the server's).
    let own: Vec<String> = features
        .iter()
        .flat_map(|(_, _, f)| f["properties"].as_object().unwrap().keys().cloned())
        .collect();
    let body_of = |served: &Value| {
        let mut f = served.clone();
        f["properties"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| own.contains(k));
        f
    };
    for (i, (tok, name, id, op, status, rule, property)) in table.into_iter().enumerate() {
        let (before, etag) = site.feature(id, &anyone).await;
        let (method, path, body, cond) = match &op {
            Op::Patch(p) => (
                reqwest::Method::PATCH,
                format!("{CARRIERS}/{id}"),
                Some(p.clone()),
                Some(etag.as_str()),
            ),
            Op::PutShifted(dx) => {
                let mut f = body_of(&before);
                f["geometry"] = shifted(&before["geometry"], *dx);
                (
                    reqwest::Method::PUT,
                    format!("{CARRIERS}/{id}"),
                    Some(f),
                    Some(etag.as_str()),
                )
            }
            Op::Post(props, dx) => {
                let mut f = body_of(&before);
                f.as_object_mut().unwrap().remove("id");
                for (k, v) in props.as_object().unwrap() {
                    f["properties"][k] = v.clone();
                }
                f["geometry"] = shifted(&before["geometry"], *dx);
                (reqwest::Method::POST, CARRIERS.to_owned(), Some(f), None)
            }
            Op::Delete => (
                reqwest::Method::DELETE,
                format!("{CARRIERS}/{id}"),
                None,
                Some(etag.as_str()),
            ),
        };
        let count_before = site
            .send(
                reqwest::Method::GET,
                &format!("{CARRIERS}?limit=1000"),
                &anyone,
                None,
                None,
            )
            .await
            .body["numberMatched"]
            .clone();
        let answer = site.send(method.clone(), &path, tok, body, cond).await;
        let what = format!("row {i}: {name} {method} {id}");
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        if status == 403 {
            assert_eq!(
                answer.body["rule"].as_str(),
                rule,
                "{what}: {}",
                answer.body
            );
            if let Some(p) = property {
                assert_eq!(answer.body["parameter"], p, "{what}: {}", answer.body);
                assert!(
                    answer.body["detail"].as_str().unwrap().contains(p),
                    "{what}"
                );
            }
            // Refused: the carrier and the collection are as they were.
            assert_eq!(
                site.feature(id, &anyone).await.0,
                before,
                "{what} changed it"
            );
            let count_after = site
                .send(
                    reqwest::Method::GET,
                    &format!("{CARRIERS}?limit=1000"),
                    &anyone,
                    None,
                    None,
                )
                .await
                .body["numberMatched"]
                .clone();
            assert_eq!(count_after, count_before, "{what} changed the collection");
        } else {
            let changed = match status {
                201 => answer.body["id"].as_str().unwrap().to_owned(),
                _ => id.to_owned(),
            };
            let history = site
                .send(
                    reqwest::Method::GET,
                    &format!("{CARRIERS}/{changed}/history"),
                    &anyone,
                    None,
                    None,
                )
                .await;
            let last = history.body["changes"]
                .as_array()
                .and_then(|c| c.last())
                .cloned();
            assert_eq!(
                last.as_ref().map(|c| c["principal"].clone()),
                Some(json!(name)),
                "{what}: {}",
                history.body
            );
        }
    }

    // The refusal in Chinese names the rule and the property.
    let (_, etag) = site.feature(a, &anyone).await;
    let r = site
        .http
        .patch(format!("{}{CARRIERS}/{a}", site.base))
        .bearer_auth(&park7)
        .header("accept-language", "zh-CN")
        .header("if-match", etag)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"properties": {"floor_area_m2": 9}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let zh: Value = r.json().await.unwrap();
    assert_eq!(zh["title"], "超出权限范围");
    assert!(
        zh["detail"].as_str().unwrap().contains("fields")
            && zh["detail"].as_str().unwrap().contains("floor_area_m2"),
        "{zh}"
    );

    // Change sets obey the same rules row by row. Previewed by a scoped token, the rows outside
    // its rights are errors at once (so the set cannot apply); previewed by anyone and applied
    // by a scoped token, one row outside refuses the whole set at apply.
    let preview_by = |token: String, csv: String| {
        let site = &site;
        async move {
            let r = site
                .http
                .post(format!(
                    "{}/collections/spatial-carriers/changesets",
                    site.base
                ))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    let apply_by = |token: String, set: String| {
        let site = &site;
        async move {
            let r = site
                .http
                .post(format!(
                    "{}/collections/spatial-carriers/changesets/{set}/apply",
                    site.base
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let post = |csv: String| {
        let park7 = park7.clone();
        async move {
            let preview = preview_by(park7.clone(), csv).await;
            apply_by(park7, preview["id"].as_str().unwrap().to_owned()).await
        }
    };
    let snapshot = |ids: Vec<String>| {
        let site = &site;
        let anyone = &anyone;
        async move {
            let mut out = Vec::new();
            for id in ids {
                out.push(site.feature(&id, anyone).await.0);
            }
            out
        }
    };
    let ids = vec![b.clone(), c.clone(), o.clone()];
    let before = snapshot(ids.clone()).await;
    let csv = format!("id,available_floor_area_m2\n{b},111\n{c},222\n{o},333\n");
    let preview = preview_by(park7.clone(), csv.clone()).await;
    let outcomes: Vec<(&str, &str)> = preview["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{preview}"))
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (b.as_str(), "changed"),
            (c.as_str(), "changed"),
            (o.as_str(), "error")
        ],
        "{preview}"
    );
    let text = preview.to_string();
    assert!(
        text.contains("outside what this token may edit") && text.contains("超出令牌的权限范围"),
        "{preview}"
    );
    let (status, problem) =
        apply_by(park7.clone(), preview["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("changeset_has_errors")),
        "{problem}"
    );
    assert_eq!(
        snapshot(ids.clone()).await,
        before,
        "a refused set changed something"
    );
    let by_office = preview_by(anyone.clone(), csv).await;
    let (status, problem) =
        apply_by(park7.clone(), by_office["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["code"], "out_of_scope");
    assert_eq!(problem["rule"], "where");
    let refused: Vec<&str> = problem["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(refused, vec![o.as_str()], "{problem}");
    assert_eq!(
        snapshot(ids.clone()).await,
        before,
        "a refused set changed something"
    );
    let (status, problem) = post(format!("id,floor_area_m2\n{b},1\n")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("changeset_has_errors")),
        "{problem}"
    );
    let (status, applied) = post(format!("id,available_floor_area_m2\n{b},111\n{c},222\n")).await;
    assert_eq!(status, 200, "{applied}");
    let after = snapshot(vec![b.clone(), c.clone()]).await;
    assert_eq!(after[0]["properties"]["available_floor_area_m2"], 111);
    assert_eq!(after[1]["properties"]["available_floor_area_m2"], 222);
}
