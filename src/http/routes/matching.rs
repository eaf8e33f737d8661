//! `POST /collections/{id}/match`: a company's requirement (hard criteria, soft preferences)
//! answered with ranked matches and near misses, each with its reasons (see `query::matching`
//! for the rule, README § Matching for people).

use super::openapi::*;
use super::Contract;
use crate::ingest::parse_geometry;
use crate::query::Area;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::http::body::{require_json, strict_json};
use crate::http::error::ApiError;
use crate::http::extract::{NoParams, RouteParams};
use crate::http::links::{link, path_segment, BaseUrl, GEOJSON, JSON};
use crate::http::params::Params;
use crate::http::AppState;
use crate::index::Layer;
use crate::query::matching::{self, Ranked, Requirement, RequirementError, Resolve};
use crate::query::{compile_cached, Budget, FeatureQuery, FilterCache, Plan};
use crate::store::Snapshot;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/match", post(match_post))
        .route("/collections/{collection}/match/scores", post(scores_post))
        .route("/collections/{collection}/compare", post(compare_post))
}

/// Features compared side by side at once.
const COMPARE_MIN: usize = 2;
const COMPARE_MAX: usize = 4;

/// What a requirement names outside its layer, looked up in the snapshot being matched.
struct InSnapshot<'a> {
    snapshot: &'a Snapshot,
    filters: &'a FilterCache,
}

impl Resolve for InSnapshot<'_> {
    fn feature_geometry(&self, collection: &str, id: &str) -> Option<geo::Geometry<f64>> {
        let layer = self.snapshot.layer(collection)?;
        let slot = layer.slot_of(id)?;
        Some((*layer.geometries[slot]).clone())
    }

    fn area(&self, layer: &Layer, geometry: &Value) -> Result<Plan, String> {
        // The drawn area is a typed area of the query: a filter's checks, limits and fast
        // polygon tests apply to it as to a drawn area in the find panel.
        let (geometry, _) = parse_geometry(geometry)?;
        let q = FeatureQuery {
            area: Some(Area::new(geometry).map_err(|e| e.to_string())?),
            ..FeatureQuery::default()
        };
        compile_cached(layer, &q, self.filters).map_err(|e| e.to_string())
    }
}

/// What both routes check before reading a body: the collection exists, the URL has no query,
/// the body says it is JSON. The snapshot they then work on.
fn json_post(
    state: &AppState,
    collection: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<Snapshot>, ApiError> {
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, collection)?;
    NoParams::from_params(Params::parse(raw)?, None)?;
    require_json(headers)?;
    Ok(snapshot)
}

fn refused(e: RequirementError) -> ApiError {
    ApiError::parameter(&e.member, e.to_string())
}

/// One match or near miss as answered.
fn ranked_json(
    req: &Requirement,
    layer: &Layer,
    r: &Ranked,
    names: &[usize],
    base: &BaseUrl,
    collection: &str,
) -> Value {
    let (criteria, preferences) = req.reasons(layer, r);
    let id = &layer.ids[r.slot];
    let named: Map<String, Value> = names
        .iter()
        .map(|&i| {
            (
                layer.fields[i].name.clone(),
                layer.columns[i].json_at(r.slot),
            )
        })
        .collect();
    let mut out = json!({
        "id": id.to_json(),
        "score": r.score,
        "names": named,
        "criteria": criteria,
        "preferences": preferences,
        "links": [link(
            base.at(&format!("/collections/{}/items/{}", path_segment(collection), path_segment(&id.to_string()))),
            "item", GEOJSON, "the feature")],
    });
    if r.verdicts.iter().any(|v| !v.met) {
        out["failed"] = json!(criteria_failed(req, r));
        out["miss"] = json!((r.miss * 1000.0).round() / 1000.0);
    }
    out
}

fn criteria_failed(req: &Requirement, r: &Ranked) -> Vec<String> {
    req.criteria
        .iter()
        .zip(&r.verdicts)
        .filter(|(_, v)| !v.met)
        .map(|(c, _)| c.property.clone())
        .collect()
}

/// What both matching routes do with a requirement: check the request, wait for a heavy-work
/// permit, then parse the body against the collection's layer and hand the requirement to
/// `answer` on the compute pool, within its budget.
async fn with_requirement(
    state: &AppState,
    collection: String,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
    answer: impl FnOnce(&Requirement, &Layer, &Budget) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let snapshot = json_post(state, &collection, raw, headers)?;
    let _permit = state.heavy_permit().await?;
    let filters = std::sync::Arc::clone(&state.filters);
    let doc = state
        .compute(move |budget| {
            let doc = strict_json(&body)?;
            let layer = snapshot
                .layer(&collection)
                .ok_or_else(|| ApiError::no_such_collection(&collection))?;
            let resolve = InSnapshot {
                snapshot: &snapshot,
                filters: &filters,
            };
            let req = Requirement::parse(layer, &doc, &resolve).map_err(refused)?;
            answer(&req, layer, budget)
        })
        .await?;
    Ok(Json(doc))
}

async fn match_post(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = collection.clone();
    with_requirement(&state, collection, raw.as_deref(), &headers, body, move |req, layer, budget| {
        let outcome = matching::run(req, layer, budget)?;
        let names = crate::query::names::name_columns(layer);
        let list = |v: &[Ranked]| -> Vec<Value> {
            v.iter()
                .map(|r| ranked_json(req, layer, r, &names, &base, &id))
                .collect()
        };
        Ok(json!({
            "collection": id,
            "numberMatched": outcome.matched,
            "numberNearMisses": outcome.near_missed,
            "requirement": req.describe(),
            "matches": list(&outcome.matches),
            "nearMisses": list(&outcome.near_misses),
            "links": [link(base.at(&format!("/collections/{}", path_segment(&id))), "collection", JSON, "the collection")],
        }))
    })
    .await
}

/// `POST /collections/{id}/match/scores`: the same requirement answered with every match's and
/// near miss's id and score (no reasons), so a map colours each of them by score whatever their
/// number; `limit` and `nearMissLimit` do not apply (`matching::MAX_SCORES` does).
async fn scores_post(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = collection.clone();
    with_requirement(
        &state,
        collection,
        raw.as_deref(),
        &headers,
        body,
        move |req, layer, budget| {
            let scores = matching::scores(req, layer, budget)?;
            let pairs = |v: &[(usize, f64)]| -> Vec<Value> {
                v.iter()
                    .map(|&(slot, score)| json!([layer.ids[slot].to_json(), score]))
                    .collect()
            };
            Ok(json!({
                "collection": id,
                "numberMatched": scores.matched,
                "numberNearMisses": scores.near_missed,
                "complete": scores.complete(),
                "matches": pairs(&scores.matches),
                "nearMisses": pairs(&scores.near_misses),
            }))
        },
    )
    .await
}

/// `POST /collections/{id}/compare` with `{"ids": [...], "requirement": {...}}`: two to four
/// features side by side, every property with its values and whether they differ, and, when a
/// requirement is given, each criterion met or not (with `by`) per feature.
async fn compare_post(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let snapshot = json_post(&state, &collection, raw.as_deref(), &headers)?;
    let filters = std::sync::Arc::clone(&state.filters);
    let doc = state
        .compute(move |_| {
            let doc = strict_json(&body)?;
            let layer = snapshot
                .layer(&collection)
                .ok_or_else(|| ApiError::no_such_collection(&collection))?;
            let obj = doc.as_object().ok_or_else(|| {
                ApiError::parameter(
                    "ids",
                    "the body must be {\"ids\": [...], \"requirement\": {...}}",
                )
            })?;
            if let Some(k) = obj.keys().find(|k| *k != "ids" && *k != "requirement") {
                return Err(ApiError::parameter(
                    k,
                    "unknown member; expected ids and requirement",
                ));
            }
            let ids: Vec<String> = obj
                .get("ids")
                .and_then(Value::as_array)
                .filter(|a| (COMPARE_MIN..=COMPARE_MAX).contains(&a.len()))
                .ok_or_else(|| {
                    ApiError::parameter(
                        "ids",
                        format!("give {COMPARE_MIN} to {COMPARE_MAX} feature ids"),
                    )
                })?
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(ApiError::parameter("ids", "ids are strings or numbers")),
                })
                .collect::<Result<_, _>>()?;
            let slots: Vec<usize> = ids
                .iter()
                .map(|id| {
                    layer.slot_of(id).ok_or_else(|| {
                        ApiError::parameter(
                            "ids",
                            format!(
                                "collection {collection:?} has no feature {:?}",
                                crate::http::params::shorten(id)
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            let fields: Vec<Value> = layer
                .fields
                .iter()
                .zip(&layer.columns)
                .map(|(f, col)| {
                    let values: Vec<Value> = slots.iter().map(|&s| col.json_at(s)).collect();
                    let differs = values.windows(2).any(|w| w[0] != w[1]);
                    json!({"property": f.name, "values": values, "differs": differs})
                })
                .collect();
            let mut out = json!({
                "collection": collection,
                "ids": slots.iter().map(|&s| layer.ids[s].to_json()).collect::<Vec<_>>(),
                "properties": fields,
            });
            if let Some(r) = obj.get("requirement") {
                let resolve = InSnapshot {
                    snapshot: &snapshot,
                    filters: &filters,
                };
                let req = Requirement::parse(layer, r, &resolve).map_err(|e| {
                    ApiError::parameter(&format!("requirement.{}", e.member), e.to_string())
                })?;
                out["criteria"] = json!(req
                    .criteria
                    .iter()
                    .map(|c| {
                        let per: Vec<Value> = slots
                            .iter()
                            .map(|&s| {
                                let v = c.judge(layer, s, req.margin);
                                json!({"met": v.met, "by": v.by})
                            })
                            .collect();
                        json!({"property": c.property, "features": per})
                    })
                    .collect::<Vec<_>>());
            }
            Ok(out)
        })
        .await?;
    Ok(Json(doc))
}

/// `/collections/{id}/match`, `…/match/scores` and `…/compare`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(doc: &Doc, paths: &mut Paths) {
    for c in doc.collections {
        let base = format!("/collections/{}", c.id);
        let match_body = json!({"type": "object", "additionalProperties": false, "properties": {
        "criteria": {"type": "object", "description": "per property: {min, max, margin} for numbers and dates, {in: [...]} for text and lists, {equals} for booleans",
                     "additionalProperties": {"type": "object"}},
        "area": {"type": "object", "description": "a GeoJSON Polygon or MultiPolygon the feature must intersect"},
        "preferences": {"type": "array", "items": {"type": "object", "description": "one of near, near_feature, close_to, sooner, in; and weight"}},
        "margin": {"type": "number", "minimum": 0, "maximum": 1, "description": "near misses: the fraction of a violated bound allowed (default 0.1)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "nearMissLimit": {"type": "integer", "minimum": 1, "maximum": 1000}}});
        paths.insert(format!("{base}/match"), json!({"post": {"summary": format!("features of {} that meet a requirement, ranked, and the near misses (README § Matching)", c.id), "operationId": format!("postMatch_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": match_body}}},
        "responses": {"200": {"description": "ranked matches and near misses with their reasons", "content": {"application/json": {"schema": {"type": "object", "required": ["numberMatched", "numberNearMisses", "matches", "nearMisses"]}}}},
                      "400": problem("a malformed requirement: the member at fault is in `parameter`"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
        paths.insert(format!("{base}/match/scores"), json!({"post": {"summary": format!("every match and near miss of {} for a requirement, as [id, score] pairs, for a map that colours them all (README § Matching)", c.id), "operationId": format!("postMatchScores_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": match_body}}},
        "responses": {"200": {"description": "[id, score] of every match and near miss (the best 250,000 of each; `complete` says whether that was all)", "content": {"application/json": {"schema": {"type": "object", "required": ["numberMatched", "numberNearMisses", "complete", "matches", "nearMisses"]}}}},
                      "400": problem("a malformed requirement: the member at fault is in `parameter`"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
        paths.insert(format!("{base}/compare"), json!({"post": {"summary": format!("two to four features of {} side by side, with a requirement's criteria met or not", c.id), "operationId": format!("postCompare_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["ids"], "additionalProperties": false, "properties": {
            "ids": {"type": "array", "minItems": 2, "maxItems": 4, "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
            "requirement": {"type": "object", "description": "as for match"}}}}}},
        "responses": {"200": {"description": "per property its values and whether they differ; per criterion, met and by per feature", "content": {"application/json": {"schema": {"type": "object", "required": ["ids", "properties"]}}}},
                      "400": problem("a malformed body, or an id the collection lacks"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
    }
}
