//! `/collections/{id}/stats`: counts and sums of the features a query matches, per group.
//! "Available floor space in the FTZ cluster by industry" is
//! `?group-by=industry&zones=ftz-etown-cluster`.

use super::openapi::*;
use super::Contract;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::http::as_of::{take_as_of, AS_OF};
use crate::http::body::require_json;
use crate::http::error::ApiError;
use crate::http::extract::{InCollection, RouteParams};
use crate::http::links::{link, path_segment, BaseUrl, JSON};
use crate::http::negotiate::{json_only, F_JSON};
use crate::http::params::{always, ParamSpec, Params};
use crate::http::query_params::{
    feature_query_except, names_in, params_from_body, parse_feature_query,
};
use crate::http::schema;
use crate::http::AppState;
use crate::query::stats::{Stats, StatsSpec};
use crate::query::{compile_cached, exec, FeatureQuery};
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/collections/{collection}/stats",
        get(stats_get).post(stats_post),
    )
}

/// Parameters of a features query that mean nothing for statistics.
const NOT_FOR_STATS: &[&str] = &["limit", "offset", "sortby", "properties"];

static GROUP_BY: ParamSpec = ParamSpec {
    name: "group-by",
    description: "the property to group by",
    required: false,
    schema: schema::group_by,
    documented_for: always,
};
static SUM: ParamSpec = ParamSpec {
    name: "sum",
    description: "comma-separated numeric properties to sum (default: the *area*_m2 properties)",
    required: false,
    schema: schema::sum,
    documented_for: always,
};

pub struct StatsParams {
    group_by: Option<String>,
    sum: Option<Vec<String>>,
    query: FeatureQuery,
    as_of: Option<i64>,
    /// A series per period instead of one answer.
    trend: Option<super::trend::TrendParams>,
}

impl RouteParams for StatsParams {
    fn specs() -> Vec<&'static ParamSpec> {
        [
            &F_JSON,
            &GROUP_BY,
            &SUM,
            &AS_OF,
            &super::trend::INTERVAL,
            &super::trend::FROM,
            &super::trend::TO,
        ]
        .into_iter()
        .chain(feature_query_except(NOT_FOR_STATS))
        .collect()
    }
    fn takes_queryables() -> bool {
        true
    }
    fn as_of(&self) -> Option<i64> {
        self.as_of
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        json_only(params.take("f").as_deref(), &["json"])?;
        for p in NOT_FOR_STATS {
            if params.take(p).is_some() {
                return Err(ApiError::parameter(
                    p,
                    format!("{p} does not apply to statistics"),
                ));
            }
        }
        let as_of = take_as_of(params)?;
        let trend = super::trend::take(params, as_of)?;
        let group_by = params.take("group-by");
        let sum = params.take("sum").map(|s| names_in(&s));
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let query = parse_feature_query(params, c, &Self::specs())?;
        Ok(StatsParams {
            group_by,
            sum,
            query,
            as_of,
            trend,
        })
    }
}

/// Statistics asked with parsed GET parameters, or with a POST body still to be read.
enum StatsRequest {
    Get(Box<InCollection<StatsParams>>),
    Post {
        snapshot: std::sync::Arc<crate::store::Snapshot>,
        id: String,
        body: Bytes,
    },
}

async fn run(
    state: &AppState,
    base: &BaseUrl,
    asked: StatsRequest,
) -> Result<Json<Value>, ApiError> {
    // A body is read (CPU work) before a slot is taken, so a malformed one is a 400 at once.
    let request = match asked {
        StatsRequest::Get(request) => *request,
        StatsRequest::Post { snapshot, id, body } => {
            let (store, retry) = (std::sync::Arc::clone(&state.store), state.retry_after());
            state
                .compute(move |budget| {
                    let info = AppState::collection(&snapshot, &id)?;
                    let params =
                        StatsParams::from_params(params_from_body(&body, info)?.0, Some(info))?;
                    InCollection {
                        snapshot,
                        id,
                        params,
                    }
                    .at_its_moment(&*store, budget, retry)
                })
                .await?
        }
    };
    let _permit = state.heavy_permit().await?;
    let filters = std::sync::Arc::clone(&state.filters);
    let base = base.clone();
    let (store, retry) = (std::sync::Arc::clone(&state.store), state.retry_after());
    let doc = state
        .compute(move |budget| {
            let layer = request.layer();
            let p = &request.params;
            if let Some(trend) = &p.trend {
                let series = super::trend::series(
                    &super::trend::SeriesRequest {
                        store: &*store,
                        current: std::sync::Arc::clone(&request.snapshot),
                        collection: &request.id,
                        query: &p.query,
                        group_by: p.group_by.as_deref(),
                        sum: p.sum.as_deref(),
                        trend,
                        filters: &filters,
                        retry_after_s: retry,
                    },
                    budget,
                )?;
                let (first, last) = (
                    trend.periods.first().map(|p| p.0.to_string()),
                    trend.periods.last().map(|p| p.1.to_string()),
                );
                return Ok(json!({
                    "collection": request.id,
                    "groupBy": p.group_by,
                    "interval": trend.interval.as_str(),
                    "from": first,
                    "to": last,
                    "timeZone": "+08:00",
                    "series": series,
                    "links": [link(base.at(&format!("/collections/{}", path_segment(&request.id))), "collection", JSON, "the collection")],
                }));
            }
            let spec = StatsSpec::resolve(
                &layer,
                p.group_by.as_deref(),
                p.sum.as_deref(),
                request.snapshot.vocabularies(),
            )?;
            let plan = compile_cached(&layer, &p.query, &filters)?;
            // Grouped over every feature: from the totals the index keeps, without a pass.
            let kept = plan
                .matches_everything()
                .then(|| spec.tally_everything(&layer, budget))
                .flatten();
            let (stats, bbox) = match kept {
                Some(stats) => (stats?, crate::query::stats::extent_of_live(&layer)),
                None => {
                    let slots = exec::matching(&layer, &plan, budget)?;
                    let stats = spec.tally(&layer, &slots, budget)?;
                    (stats, crate::query::stats::extent(&layer, &slots, budget)?)
                }
            };
            Ok(document(
                &stats,
                bbox,
                &spec,
                p.group_by.as_deref(),
                &request.id,
                &base,
            ))
        })
        .await?;
    Ok(Json(doc))
}

fn sums_json(sums: &std::collections::BTreeMap<String, f64>) -> Value {
    Value::Object(
        sums.iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

fn document(
    r: &Stats,
    bbox: Option<[f64; 4]>,
    spec: &StatsSpec,
    group_by: Option<&str>,
    collection: &str,
    base: &BaseUrl,
) -> Value {
    let groups: Vec<Value> = r
        .groups
        .iter()
        .map(|g| {
            let mut v =
                json!({"key": g.key, "count": g.tally.count, "sums": sums_json(&g.tally.sums)});
            let term = spec
                .vocabulary
                .as_ref()
                .and_then(|voc| g.key.as_str().and_then(|k| voc.term(k)));
            if let Some(t) = term {
                v["label"] = json!({"zh": t.zh, "en": t.en});
                if let Some(c) = &t.color {
                    v["color"] = json!(c);
                }
            }
            v
        })
        .collect();
    json!({
        "collection": collection,
        "groupBy": group_by,
        "numberMatched": r.total.count,
        "total": {"count": r.total.count, "sums": sums_json(&r.total.sums), "bbox": bbox},
        "groups": groups,
        "links": [link(base.at(&format!("/collections/{}", path_segment(collection))), "collection", JSON, "the collection")],
    })
}

async fn stats_get(
    State(state): State<AppState>,
    base: BaseUrl,
    request: InCollection<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    run(&state, &base, StatsRequest::Get(Box::new(request))).await
}

async fn stats_post(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require_json(&headers)?;
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, &collection)?;
    let asked = StatsRequest::Post {
        snapshot,
        id: collection,
        body,
    };
    run(&state, &base, asked).await
}

/// `/collections/{id}/stats`, by GET and by POST.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(doc: &Doc, paths: &mut Paths) {
    use serde_json::json;
    for c in doc.collections {
        let base = format!("/collections/{}", c.id);
        let stats_ok = json!({"description": "counts and sums per group and in total; with interval, a series of them per period", "content": {"application/json": {"schema": {"type": "object", "anyOf": [{"required": ["total", "groups"]}, {"required": ["series", "interval"]}]}}}});
        paths.insert(format!("{base}/stats"), json!({
        "get": {"summary": format!("statistics of {}", c.id), "operationId": format!("getStats_{}", c.id), "tags": ["Data"], "parameters": parameters::<StatsParams>(Some(c)),
                "responses": {"200": stats_ok.clone(), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection"), "503": busy()}},
        "post": {"summary": format!("statistics of {} (parameters in the body)", c.id), "operationId": format!("postStats_{}", c.id), "tags": ["Data"], "requestBody": query_body::<StatsParams>(c),
                "responses": {"200": stats_ok, "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}
    }));
    }
}
