//! `GET /reports/weekly?week=2026-W49`: what a promotion office sends its leadership every
//! week, as a printable page in Chinese and English (`f=html`, the default) or CSV (`f=csv`):
//! new, absorbed and available floor space in total, by industry and by zone (the trend of one
//! week, see `query::trend`); the carriers that changed that week, with who changed them last;
//! and the stale ones (figures older than `stale_after_days` at the week's end), by who last
//! updated them. Weeks are ISO weeks (Monday to Sunday) in Beijing time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate, Weekday};
use serde_json::{json, Value};

use super::openapi::*;
use super::trend::{series, SeriesRequest, TrendParams};
use super::Contract;
use crate::export::{escape_markup as esc, inert_cell};
use crate::http::auth;
use crate::http::error::ApiError;
use crate::http::params::{always, ParamSpec, Params};
use crate::http::AppState;
use crate::index::{Column, Layer};
use crate::query::trend::{day_start_ms, Interval};
use crate::query::{Budget, FeatureQuery};
use crate::store::{FeatureStore, Snapshot};

pub fn router() -> Router<AppState> {
    Router::new().route("/reports/weekly", get(weekly))
}

static WEEK: ParamSpec = ParamSpec {
    name: "week",
    description: "the ISO week, e.g. 2026-W49 (default: this week, Beijing time)",
    required: false,
    schema: |_| json!({"type": "string", "pattern": "^\\d{4}-W\\d{2}$"}),
    documented_for: always,
};
static COLLECTION: ParamSpec = ParamSpec {
    name: "collection",
    description: "the collection reported on (default spatial-carriers)",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: always,
};
static F_REPORT: ParamSpec = ParamSpec {
    name: "f",
    description: "html (a printable page, the default) or csv",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["html", "csv"]}),
    documented_for: always,
};

/// The carriers a report lists by name, at most (the CSV has them all).
const LISTED: usize = 200;

struct WeeklyParams {
    monday: NaiveDate,
    collection: String,
    csv: bool,
}

fn parse(raw: Option<&str>) -> Result<WeeklyParams, ApiError> {
    let mut params = Params::parse(raw)?;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let monday = match params.take("week") {
        None => Interval::Week.start_of(today),
        Some(w) => {
            let bad = || {
                ApiError::parameter(
                    "week",
                    format!(
                        "week is an ISO week such as 2026-W49, got {:?}",
                        crate::http::params::shorten(&w)
                    ),
                )
            };
            let (y, n) = w.trim().split_once("-W").ok_or_else(bad)?;
            let (y, n) = (
                y.parse::<i32>().map_err(|_| bad())?,
                n.parse::<u32>().map_err(|_| bad())?,
            );
            NaiveDate::from_isoywd_opt(y, n, Weekday::Mon).ok_or_else(bad)?
        }
    };
    if monday > today {
        return Err(ApiError::parameter(
            "week",
            "that week has not begun: the data is known up to today",
        ));
    }
    let collection = params
        .take("collection")
        .unwrap_or_else(|| "spatial-carriers".into());
    let csv = match params.take("f").as_deref() {
        None | Some("html") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::parameter(
                "f",
                format!("f={:?}: html or csv", crate::http::params::shorten(other)),
            ))
        }
    };
    params.finish(&[&WEEK, &COLLECTION, &F_REPORT])?;
    Ok(WeeklyParams {
        monday,
        collection,
        csv,
    })
}

/// One carrier the report names.
struct Row {
    id: String,
    name_zh: String,
    name_en: String,
    available_start: Option<f64>,
    available_end: Option<f64>,
    changes: usize,
    last_by: String,
    updated_at: String,
}

/// Everything a weekly report says.
struct Report {
    monday: NaiveDate,
    collection: String,
    total: Value,
    by_industry: Value,
    by_zone: Value,
    changed: Vec<Row>,
    stale: BTreeMap<String, Vec<Row>>,
    stale_after_days: u32,
}

fn text(layer: &Layer, slot: usize, name: &str) -> String {
    layer
        .field_index(name)
        .map(|i| layer.columns[i].json_at(slot))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn available(layer: &Layer, id: &str) -> Option<f64> {
    let slot = layer.slot_of(id)?;
    let i = layer.field_index(crate::query::trend::AVAILABLE)?;
    layer.columns[i].number_at(slot)
}

fn compute(
    store: &dyn FeatureStore,
    current: Arc<Snapshot>,
    p: &WeeklyParams,
    filters: &crate::query::FilterCache,
    stale_after_days: u32,
    retry: u32,
    budget: &Budget,
) -> Result<Report, ApiError> {
    let next = p.monday + chrono::Duration::days(7);
    let trend = TrendParams {
        interval: Interval::Week,
        periods: vec![(p.monday, next)],
    };
    let query = FeatureQuery::default();
    let run = |group_by: Option<&str>| -> Result<Value, ApiError> {
        let s = series(
            &SeriesRequest {
                store,
                current: Arc::clone(&current),
                collection: &p.collection,
                query: &query,
                group_by,
                sum: None,
                trend: &trend,
                filters,
                retry_after_s: retry,
            },
            budget,
        )?;
        Ok(s.get(0).cloned().unwrap_or(Value::Null))
    };
    let total = run(None)?;
    let by_industry = run(Some("industry"))?;
    let by_zone = run(Some("zones"))?;
    let now = chrono::Utc::now().timestamp_millis();
    let at = |ms: i64| {
        crate::http::as_of::past(
            store,
            Arc::clone(&current),
            (ms <= now).then_some(ms - 1),
            budget,
            retry,
        )
    };
    let (start, end) = (at(day_start_ms(p.monday))?, at(day_start_ms(next))?);
    let layer_of = |s: &Snapshot| {
        s.layer(&p.collection)
            .cloned()
            .ok_or_else(|| ApiError::no_such_collection(&p.collection))
    };
    let (start_layer, end_layer) = (layer_of(&start)?, layer_of(&end)?);
    let log = |from: i64, to: i64| match store.editor() {
        Some(e) => e
            .changes_in(from, to, budget)
            .map_err(|e| crate::http::as_of::history_error(e, retry)),
        None => Ok(Vec::new()),
    };
    // Who last changed each feature, up to the week's end.
    let mut last_by: BTreeMap<String, String> = BTreeMap::new();
    let mut week: BTreeMap<String, usize> = BTreeMap::new();
    for c in log(0, end.change())? {
        if c.collection != p.collection {
            continue;
        }
        if c.seq > start.change() {
            *week.entry(c.feature_id.clone()).or_default() += 1;
        }
        last_by.insert(c.feature_id, c.principal);
    }
    let row = |id: &str, changes: usize| -> Row {
        let (layer, slot) = match end_layer.slot_of(id) {
            Some(s) => (&end_layer, s),
            None => match start_layer.slot_of(id) {
                Some(s) => (&start_layer, s),
                None => (&end_layer, usize::MAX),
            },
        };
        let has = slot != usize::MAX;
        Row {
            id: id.to_owned(),
            name_zh: if has {
                text(layer, slot, "name_zh")
            } else {
                String::new()
            },
            name_en: if has {
                text(layer, slot, "name_en")
            } else {
                String::new()
            },
            available_start: available(&start_layer, id),
            available_end: available(&end_layer, id),
            changes,
            last_by: last_by.get(id).cloned().unwrap_or_else(|| "seed".into()),
            updated_at: if has {
                text(layer, slot, crate::ingest::UPDATED_FIELD)
            } else {
                String::new()
            },
        }
    };
    let changed = week.iter().map(|(id, n)| row(id, *n)).collect();
    let mut stale: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let limit_ms = day_start_ms(next) - i64::from(stale_after_days) * 86_400_000;
    if let Some(i) = end_layer.field_index(crate::ingest::UPDATED_FIELD) {
        if let Column::Timestamp(col) = &end_layer.columns[i] {
            for (n, slot) in end_layer.live_slots().enumerate() {
                budget.check_every(n)?;
                if col[slot].as_ref().is_some_and(|(t, _)| *t < limit_ms) {
                    let r = row(&end_layer.ids[slot].to_string(), 0);
                    stale.entry(r.last_by.clone()).or_default().push(r);
                }
            }
        }
    }
    Ok(Report {
        monday: p.monday,
        collection: p.collection.clone(),
        total,
        by_industry,
        by_zone,
        changed,
        stale,
        stale_after_days,
    })
}

async fn weekly(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    // It names who changed what: for holders of a token, as the change feed is.
    auth::required(&state, &headers).await?;
    let p = parse(raw.as_deref()).map_err(IntoResponse::into_response)?;
    let current = state.snapshot();
    AppState::collection(&current, &p.collection).map_err(IntoResponse::into_response)?;
    let store = Arc::clone(&state.store);
    let filters = Arc::clone(&state.filters);
    let (stale_days, retry) = (state.config.stale_after_days, state.retry_after());
    let permit = state
        .heavy_permit()
        .await
        .map_err(IntoResponse::into_response)?;
    let csv = p.csv;
    let report = state
        .compute(move |budget| compute(&*store, current, &p, &filters, stale_days, retry, budget))
        .await
        .map_err(IntoResponse::into_response)?;
    drop(permit);
    let week = iso_week(report.monday);
    let (body, ty, name) = if csv {
        (
            csv_body(&report),
            "text/csv; charset=utf-8",
            format!("weekly-{week}.csv"),
        )
    } else {
        (
            html(&report).into_bytes(),
            "text/html; charset=utf-8",
            String::new(),
        )
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !name.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(res)
}

fn iso_week(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 => format_thousands(x as i64),
        Some(x) => format!("{x:.2}"),
        None => "—".into(),
    }
}

fn format_thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or("—".into(), |x| format!("{:.1} %", x * 100.0))
}

fn opt(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| num(&json!(x)))
}

/// The rows of a by-group table: key, available at the end, new supply, absorption, vacancy.
fn group_rows(entry: &Value) -> Vec<[String; 5]> {
    entry["groups"]
        .as_array()
        .map(|gs| {
            gs.iter()
                .map(|g| {
                    let key = match &g["key"] {
                        Value::String(s) => s.clone(),
                        Value::Null => "—".into(),
                        other => other.to_string(),
                    };
                    [
                        key,
                        num(&g["availableFloorArea"]),
                        num(&g["newSupply"]),
                        num(&g["absorption"]),
                        percent(&g["vacancyRate"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default()
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:2rem;color:#1a1a1a}\
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #bbb;padding:0.25rem 0.5rem;text-align:right}\
th:first-child,td:first-child{text-align:left}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}\
.note{color:#555;font-size:0.9rem}@media print{body{margin:0.5cm}a{color:inherit}}";

fn html(r: &Report) -> String {
    let week = iso_week(r.monday);
    let sunday = r.monday + chrono::Duration::days(6);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>周报 Weekly report {week}</title><style>{STYLE}</style></head><body>\
         <h1>空间载体周报 · Weekly report on floor space — {week}</h1>\
         <p class=\"note\">{} – {}（北京时间 Beijing time）· {} · 生成于 generated {}</p>",
        r.monday,
        sunday,
        esc(&r.collection),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let t = &r.total;
    let _ = write!(
        s,
        "<h2>本周概况 · The week</h2><table><tr><th>指标 Figure</th><th>数值 Value</th></tr>\
         <tr><td>期末可用面积 Available at the end (m²)</td><td>{}</td></tr>\
         <tr><td>新增供给 New supply (m²)</td><td>{}</td></tr>\
         <tr><td>去化面积 Absorption (m²)</td><td>{}</td></tr>\
         <tr><td>空置率 Vacancy rate</td><td>{}</td></tr>\
         <tr><td>载体数 Carriers</td><td>{}</td></tr></table>",
        num(&t["availableFloorArea"]),
        num(&t["newSupply"]),
        num(&t["absorption"]),
        percent(&t["vacancyRate"]),
        num(&t["count"])
    );
    for (title, entry) in [
        ("按产业 · By industry", &r.by_industry),
        ("按区域 · By zone", &r.by_zone),
    ] {
        let _ = write!(
            s,
            "<h2>{title}</h2><table><tr><th>分组 Group</th><th>可用 Available (m²)</th><th>新增 New (m²)</th><th>去化 Absorbed (m²)</th><th>空置率 Vacancy</th></tr>"
        );
        for row in group_rows(entry) {
            let _ = write!(s, "<tr>");
            for cell in row {
                let _ = write!(s, "<td>{}</td>", esc(&cell));
            }
            let _ = write!(s, "</tr>");
        }
        s.push_str("</table>");
    }
    let _ = write!(
        s,
        "<h2>本周变更的载体 · Carriers changed this week ({})</h2><table><tr><th>载体 Carrier</th><th>周初可用 Available at the start</th><th>周末可用 at the end</th><th>修改次数 Changes</th><th>最后修改人 Last by</th></tr>",
        r.changed.len()
    );
    for c in r.changed.iter().take(LISTED) {
        let _ = write!(
            s,
            "<tr><td>{} {} <span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name_zh),
            esc(&c.name_en),
            esc(&c.id),
            opt(c.available_start),
            opt(c.available_end),
            c.changes,
            esc(&c.last_by)
        );
    }
    s.push_str("</table>");
    let stale: usize = r.stale.values().map(Vec::len).sum();
    let _ = write!(
        s,
        "<h2>待更新的载体 · Stale carriers ({stale}; figures older than {} days)</h2><table><tr><th>最后更新人 Last updated by</th><th>数量 Carriers</th><th>例如 For example</th></tr>",
        r.stale_after_days
    );
    for (who, rows) in &r.stale {
        let who = if who == "seed" {
            "初始数据 the seed".to_owned()
        } else {
            who.clone()
        };
        let names: Vec<String> = rows
            .iter()
            .take(10)
            .map(|c| format!("{} ({})", c.name_zh, c.updated_at))
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&who),
            rows.len(),
            esc(&names.join("; "))
        );
    }
    s.push_str("</table><p class=\"note\">新增供给与去化按每个载体本周的净变化计算 · New supply and absorption count each carrier's net change over the week (see docs/api.md).</p></body></html>");
    s
}

const CSV_COLUMNS: [&str; 12] = [
    "section",
    "key",
    "name_zh",
    "name_en",
    "available_start_m2",
    "available_end_m2",
    "new_supply_m2",
    "absorption_m2",
    "vacancy_rate",
    "changes",
    "last_by",
    "updated_at",
];

fn csv_body(r: &Report) -> Vec<u8> {
    let mut rows: Vec<[String; 12]> = Vec::new();
    let f = |v: &Value| v.as_f64().map(|x| x.to_string()).unwrap_or_default();
    let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let t = &r.total;
    rows.push([
        "total".into(),
        iso_week(r.monday),
        String::new(),
        String::new(),
        String::new(),
        f(&t["availableFloorArea"]),
        f(&t["newSupply"]),
        f(&t["absorption"]),
        f(&t["vacancyRate"]),
        String::new(),
        String::new(),
        String::new(),
    ]);
    for (section, entry) in [("industry", &r.by_industry), ("zone", &r.by_zone)] {
        for g in entry["groups"].as_array().into_iter().flatten() {
            rows.push([
                section.into(),
                g["key"].as_str().unwrap_or_default().to_owned(),
                String::new(),
                String::new(),
                String::new(),
                f(&g["availableFloorArea"]),
                f(&g["newSupply"]),
                f(&g["absorption"]),
                f(&g["vacancyRate"]),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    let carrier = |section: &str, c: &Row| -> [String; 12] {
        [
            section.into(),
            c.id.clone(),
            c.name_zh.clone(),
            c.name_en.clone(),
            o(c.available_start),
            o(c.available_end),
            String::new(),
            String::new(),
            String::new(),
            c.changes.to_string(),
            c.last_by.clone(),
            c.updated_at.clone(),
        ]
    };
    rows.extend(r.changed.iter().map(|c| carrier("changed", c)));
    rows.extend(r.stale.values().flatten().map(|c| carrier("stale", c)));
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_COLUMNS);
    for row in rows {
        let _ = w.write_record(row.map(inert_cell));
    }
    // A byte-order mark, so Excel opens the Chinese names as UTF-8.
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(w.into_inner().unwrap_or_default());
    body
}

/// `/reports/weekly`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(_: &Doc, paths: &mut Paths) {
    let params: Vec<Value> = [&WEEK, &COLLECTION, &F_REPORT]
        .iter()
        .map(|p| p.doc(None))
        .collect();
    paths.insert(
        "/reports/weekly".into(),
        json!({"get": {
            "summary": "the weekly report: new, absorbed and available space by industry and zone, the carriers changed, the stale ones",
            "operationId": "getWeeklyReport", "tags": ["Data"], "security": [{"bearer": []}],
            "parameters": params,
            "responses": {
                "200": {"description": "the report", "content": {"text/html": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}},
                "400": problem("a malformed week or parameter"),
                "401": problem("no token, or one that is not valid"),
                "404": problem("no such collection"),
                "503": busy()
            }
        }}),
    );
}
