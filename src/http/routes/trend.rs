//! `/collections/{id}/stats?interval=month&from=…&to=…`: a series, one entry per period, of
//! what `/stats` answers at the period's end plus what the period did (vacancy, absorption,
//! new supply, median rent; see `query::trend` for the definitions).

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::params::{always, ParamSpec, Params};
use crate::query::stats::{StatsSpec, Tally};
use crate::query::trend::{self, day_start_ms, Interval, Measures, TrendColumns, Version};
use crate::query::{compile_cached, exec, Budget, FeatureQuery, FilterCache};
use crate::store::{FeatureStore, Snapshot};

pub static INTERVAL: ParamSpec = ParamSpec {
    name: "interval",
    description: "a series instead of one answer: one entry per day, week (from Monday), month or \
                  quarter, in Beijing time (UTC+08:00)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["day", "week", "month", "quarter"]}),
    documented_for: always,
};
pub static FROM: ParamSpec = ParamSpec {
    name: "from",
    description: "with interval: the first day of the series (its period is the first; default: \
                  eleven periods before to)",
    required: false,
    schema: |_| json!({"type": "string", "format": "date"}),
    documented_for: always,
};
pub static TO: ParamSpec = ParamSpec {
    name: "to",
    description: "with interval: the last day of the series (default: today)",
    required: false,
    schema: |_| json!({"type": "string", "format": "date"}),
    documented_for: always,
};

/// A series asked for: its interval and its periods, checked.
#[derive(Debug, Clone)]
pub struct TrendParams {
    pub interval: Interval,
    pub periods: Vec<(NaiveDate, NaiveDate)>,
}

/// Today in Beijing time.
fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(i64::from(trend::OFFSET_HOURS))).date_naive()
}

fn date(params: &mut Params, name: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    params
        .take(name)
        .map(|raw| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
                ApiError::parameter(
                    name,
                    format!(
                        "{name} must be a day as YYYY-MM-DD, got {:?}",
                        crate::http::params::shorten(&raw)
                    ),
                )
            })
        })
        .transpose()
}

/// Takes `interval`, `from` and `to` out of `params` (`None`: no series asked for).
pub fn take(params: &mut Params, as_of: Option<i64>) -> Result<Option<TrendParams>, ApiError> {
    let interval = params.take("interval");
    let (from, to) = (date(params, "from")?, date(params, "to")?);
    let Some(raw) = interval else {
        if from.is_some() || to.is_some() {
            let name = if from.is_some() { "from" } else { "to" };
            return Err(ApiError::parameter(
                name,
                format!("{name} bounds a series: it goes with interval"),
            ));
        }
        return Ok(None);
    };
    let interval = Interval::parse(&raw).ok_or_else(|| {
        ApiError::parameter(
            "interval",
            format!(
                "interval must be day, week, month or quarter, got {:?}",
                crate::http::params::shorten(&raw)
            ),
        )
    })?;
    if as_of.is_some() {
        return Err(ApiError::parameter(
            "asOf",
            "a series has a moment per period: give interval with from and to, or asOf alone",
        ));
    }
    let today = today();
    let to = to.unwrap_or(today);
    let from = match from {
        Some(f) => f,
        None => {
            let mut start = interval.start_of(to);
            for _ in 0..11 {
                start = interval.start_of(start.pred_opt().unwrap_or(start));
            }
            start
        }
    };
    if from > to {
        return Err(ApiError::parameter("from", "from is after to"));
    }
    if from > today {
        return Err(ApiError::parameter(
            "from",
            "from is in the future: the data is known up to today",
        ));
    }
    let periods = interval
        .periods(from, to, trend::MAX_PERIODS)
        .ok_or_else(|| {
            ApiError::parameter(
                "interval",
                format!(
                    "a series has at most {} periods; use a longer interval or a shorter span",
                    trend::MAX_PERIODS
                ),
            )
        })?;
    Ok(Some(TrendParams { interval, periods }))
}

/// What a series is computed with.
pub struct SeriesRequest<'a> {
    pub store: &'a dyn FeatureStore,
    pub current: Arc<Snapshot>,
    pub collection: &'a str,
    pub query: &'a FeatureQuery,
    pub group_by: Option<&'a str>,
    pub sum: Option<&'a [String]>,
    pub trend: &'a TrendParams,
    pub filters: &'a FilterCache,
    pub retry_after_s: u32,
}

/// The series: for each period, the versions at its start and end (rebuilt from the change
/// log; the next period starts from this one's end) and the features changed in between.
pub fn series(r: &SeriesRequest<'_>, budget: &Budget) -> Result<Value, ApiError> {
    let now = chrono::Utc::now().timestamp_millis();
    // The data as it was just before `ms` (every change made before it, none at or after).
    let before = |ms: i64| -> Result<Arc<Snapshot>, ApiError> {
        if ms > now {
            return Ok(Arc::clone(&r.current));
        }
        crate::http::as_of::past(
            r.store,
            Arc::clone(&r.current),
            Some(ms - 1),
            budget,
            r.retry_after_s,
        )
    };
    let layer_of = |s: &Snapshot| {
        s.layer(r.collection)
            .cloned()
            .ok_or_else(|| ApiError::no_such_collection(r.collection))
    };
    let current_layer = layer_of(&r.current)?;
    let spec = StatsSpec::resolve(&current_layer, r.group_by, r.sum, r.current.vocabularies())?;
    let columns = TrendColumns::of(&current_layer);
    let Some(&(first, _)) = r.trend.periods.first() else {
        return Ok(json!([]));
    };
    let mut start = before(day_start_ms(first))?;
    let mut entries = Vec::with_capacity(r.trend.periods.len());
    for &(from, to) in &r.trend.periods {
        let end = before(day_start_ms(to))?;
        let (start_layer, end_layer) = (layer_of(&start)?, layer_of(&end)?);
        let start_plan = compile_cached(&start_layer, r.query, r.filters)?;
        let end_plan = compile_cached(&end_layer, r.query, r.filters)?;
        let slots = exec::matching(&end_layer, &end_plan, budget)?;
        let changed = match r.store.editor() {
            Some(e) if end.change() > start.change() => e
                .changed_between(r.collection, start.change(), end.change(), budget)
                .map_err(|e| crate::http::as_of::history_error(e, r.retry_after_s))?,
            _ => Vec::new(),
        };
        let p = trend::period(
            &spec,
            &columns,
            &Version {
                layer: &start_layer,
                plan: &start_plan,
            },
            &Version {
                layer: &end_layer,
                plan: &end_plan,
            },
            &slots,
            &changed,
            budget,
        )?;
        let groups: Vec<Value> = if spec.group_by.is_some() {
            let mut out: Vec<Value> = p
                .stats
                .groups
                .iter()
                .map(|g| {
                    let m = p
                        .groups
                        .get(&g.key.to_string())
                        .cloned()
                        .unwrap_or_default();
                    entry(json!({"key": g.key}), &g.tally, &m)
                })
                .collect();
            // Groups the period emptied: what they lost, with nothing left at the end.
            for (key, m) in &p.groups {
                if !p.stats.groups.iter().any(|g| &g.key.to_string() == key) {
                    let key: Value = serde_json::from_str(key).unwrap_or(Value::Null);
                    out.push(entry(json!({"key": key}), &Tally::default(), m));
                }
            }
            out
        } else {
            Vec::new()
        };
        let mut e = entry(
            json!({"start": from.to_string(), "end": to.to_string()}),
            &p.stats.total,
            &p.total,
        );
        if spec.group_by.is_some() {
            e["groups"] = Value::Array(groups);
        }
        entries.push(e);
        start = end;
    }
    Ok(Value::Array(entries))
}

/// One entry (a period, or a group in it): `head` plus the figures.
fn entry(mut head: Value, tally: &Tally, m: &Measures) -> Value {
    let figures = json!({
        "count": tally.count,
        "sums": tally.sums,
        "availableFloorArea": m.available,
        "floorArea": m.total,
        "vacancyRate": m.vacancy_rate(),
        "absorption": m.absorption,
        "newSupply": m.new_supply,
        "medianRent": m.median_rent,
    });
    if let (Some(h), Value::Object(f)) = (head.as_object_mut(), figures) {
        h.extend(f);
    }
    head
}
