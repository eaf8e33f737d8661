//! `/collections/{id}/stats`: counts and sums of the features a query matches, per group.
//! "Available floor space in the FTZ cluster by industry" is
//! `?group-by=industry&zones=ftz-etown-cluster`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::items::require_json;
use crate::http::error::ApiError;
use crate::http::links::{link, path_segment, BaseUrl, JSON};
use crate::http::negotiate::json_only;
use crate::http::params::Params;
use crate::http::query_params::{params_from_body, parse_feature_query};
use crate::http::AppState;
use crate::store::StatsResult;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/collections/{collection}/stats",
        get(stats_get).post(stats_post),
    )
}

/// Parameters of a features query that mean nothing for statistics.
const NOT_FOR_STATS: &[&str] = &["limit", "offset", "sortby", "properties"];

async fn run(
    state: &AppState,
    base: &BaseUrl,
    collection: &str,
    mut params: Params,
) -> Result<Json<Value>, ApiError> {
    let info = state.collection(collection)?;
    json_only(params.take("f").as_deref(), &["json"])?;
    for p in NOT_FOR_STATS {
        if params.take(p).is_some() {
            return Err(ApiError::parameter(
                p,
                format!("{p} does not apply to statistics"),
            ));
        }
    }
    let group_by = params.take("group-by");
    let sum: Option<Vec<String>> = params
        .take("sum")
        .map(|s| crate::http::query_params::names_in(&s));
    let q = parse_feature_query(&mut params, &info, &["f", "group-by", "sum"])?;
    let _permit = state.heavy_permit().await?;
    let c = collection.to_owned();
    let result = state
        .run_store(move |store| store.stats(&c, &q, group_by.as_deref(), sum.as_deref()))
        .await?;
    Ok(Json(document(&result, collection, base)))
}

fn sums_json(sums: &std::collections::BTreeMap<String, f64>) -> Value {
    Value::Object(
        sums.iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

fn document(r: &StatsResult, collection: &str, base: &BaseUrl) -> Value {
    let groups: Vec<Value> = r
        .stats
        .groups
        .iter()
        .zip(&r.terms)
        .map(|(g, term)| {
            let mut v =
                json!({"key": g.key, "count": g.tally.count, "sums": sums_json(&g.tally.sums)});
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
        "groupBy": r.group_by,
        "numberMatched": r.stats.total.count,
        "total": {"count": r.stats.total.count, "sums": sums_json(&r.stats.total.sums)},
        "groups": groups,
        "links": [link(base.at(&format!("/collections/{}", path_segment(collection))), "collection", JSON, "the collection")],
    })
}

async fn stats_get(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    run(&state, &base, &collection, Params::parse(raw.as_deref())?).await
}

async fn stats_post(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require_json(&headers)?;
    let info = state.collection(&collection)?;
    run(&state, &base, &collection, params_from_body(&body, &info)?).await
}
