//! `POST /collections/{id}/match`: a company's requirement (hard criteria, soft preferences)
//! answered with ranked matches and near misses, each with its reasons (see `query::matching`
//! for the rule, README § Matching for people).

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
use crate::query::{compile_cached, FeatureQuery, FilterCache, FilterLang, FilterSpec, Plan};
use crate::store::Snapshot;

pub fn router() -> Router<AppState> {
    Router::new().route("/collections/{collection}/match", post(match_post))
}

/// What a requirement names outside its layer, looked up in the snapshot being matched.
struct InSnapshot<'a> {
    snapshot: &'a Snapshot,
    filters: &'a FilterCache,
}

impl Resolve for InSnapshot<'_> {
    fn feature_geometry(&self, collection: &str, id: &str) -> Option<geo::Geometry<f64>> {
        let layer = self.snapshot.layer(collection)?;
        let slot = layer.slot_of(id)?;
        Some(layer.geometries[slot].clone())
    }

    fn area(&self, layer: &Layer, geometry: &Value) -> Result<Plan, String> {
        // The drawn area is a CQL2 S_INTERSECTS: the filters' checks, limits and fast polygon
        // tests apply to it as to a drawn area in the find panel.
        let filter = json!({"op": "s_intersects", "args": [{"property": "geometry"}, geometry]});
        let q = FeatureQuery {
            filter: Some(FilterSpec {
                text: filter.to_string(),
                lang: FilterLang::Cql2Json,
            }),
            ..FeatureQuery::default()
        };
        compile_cached(layer, &q, self.filters).map_err(|e| e.to_string())
    }
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

async fn match_post(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, &collection)?;
    NoParams::from_params(Params::parse(raw.as_deref())?, None)?;
    require_json(&headers)?;
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
            let outcome = matching::run(&req, layer, budget)?;
            let names = crate::query::names::name_columns(layer);
            let list = |v: &[Ranked]| -> Vec<Value> {
                v.iter()
                    .map(|r| ranked_json(&req, layer, r, &names, &base, &collection))
                    .collect()
            };
            Ok(json!({
                "collection": collection,
                "numberMatched": outcome.matched,
                "numberNearMisses": outcome.near_missed,
                "requirement": req.describe(),
                "matches": list(&outcome.matches),
                "nearMisses": list(&outcome.near_misses),
                "links": [link(base.at(&format!("/collections/{}", path_segment(&collection))), "collection", JSON, "the collection")],
            }))
        })
        .await?;
    Ok(Json(doc))
}
