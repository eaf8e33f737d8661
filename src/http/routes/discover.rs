//! Finding features by place and by name: "what's here", the nearest features, name search.
//! Each answers a GeoJSON FeatureCollection whose features carry their `collection`.

use super::openapi::*;
use super::Contract;
use std::io::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use geo::Point;
use serde_json::json;

use super::items::geo_response;
use crate::encode::{write_feature, Properties};
use crate::http::error::ApiError;
use crate::http::extract::{InCollection, Query, RouteParams};
use crate::http::links::GEOJSON;
use crate::http::params::{always, shorten, ParamSpec, Params};
use crate::http::query_params::{feature_query_except, parse_feature_query};
use crate::http::AppState;
use crate::index::Layer;
use crate::model::Crs;
use crate::query::names::{search_layers, NameMatch};
use crate::query::nearest::nearest as nearest_slots;
use crate::query::whats_here::features_at;
use crate::query::{compile_cached, FeatureQuery};
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/whats-here", get(whats_here))
        .route("/search", get(search))
        .route("/collections/{collection}/nearest", get(nearest))
}

/// Largest "what's here" tolerance, in metres.
pub const MAX_TOLERANCE_M: f64 = 5_000.0;
/// Most nearest features one request returns.
pub const MAX_NEAREST: usize = 100;
/// Most name-search results one request returns.
pub const MAX_SEARCH: usize = 100;

static LON: ParamSpec = ParamSpec {
    name: "lon",
    description: "longitude (CRS84)",
    required: true,
    schema: |_| json!({"type": "number", "minimum": -180, "maximum": 180}),
    documented_for: always,
};
static LAT: ParamSpec = ParamSpec {
    name: "lat",
    description: "latitude (CRS84)",
    required: true,
    schema: |_| json!({"type": "number", "minimum": -90, "maximum": 90}),
    documented_for: always,
};
static TOLERANCE: ParamSpec = ParamSpec {
    name: "tolerance",
    description: "metres around the point (default 0: features that contain or touch it)",
    required: false,
    schema: |_| json!({"type": "number", "minimum": 0, "maximum": MAX_TOLERANCE_M, "default": 0}),
    documented_for: always,
};
static NEAREST_LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description: "how many features",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1, "maximum": MAX_NEAREST, "default": 5}),
    documented_for: always,
};
static Q: ParamSpec = ParamSpec {
    name: "q",
    description: "the text to find in the names (Chinese or English; case, accents, width ignored)",
    required: true,
    schema: |_| crate::http::schema::non_blank(),
    documented_for: always,
};
static COLLECTIONS: ParamSpec = ParamSpec {
    name: "collections",
    description: "comma-separated collections to search (default: all)",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: always,
};
static SEARCH_LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description: "how many results",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1, "maximum": MAX_SEARCH, "default": 20}),
    documented_for: always,
};

fn coordinate(params: &mut Params, name: &str, range: f64) -> Result<f64, ApiError> {
    let raw = params
        .take(name)
        .ok_or_else(|| ApiError::parameter(name, format!("{name} is required")))?;
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() <= range)
        .ok_or_else(|| {
            ApiError::parameter(
                name,
                format!(
                    "{name} must be a number within ±{range}, got {:?}",
                    shorten(&raw)
                ),
            )
        })
}

fn bounded(params: &mut Params, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    let v = params.take_usize(name)?.unwrap_or(default);
    if v == 0 || v > max {
        return Err(ApiError::parameter(
            name,
            format!("{name} must be between 1 and {max}"),
        ));
    }
    Ok(v)
}

/// One feature of an answer, with what is known about how it was found.
struct Found<'a> {
    layer: &'a Layer,
    slot: usize,
    only: Option<&'a [usize]>,
    distance_m: Option<f64>,
    name_match: Option<NameMatch>,
}

/// The answer: `{"type":"FeatureCollection","numberReturned":n,"features":[…]}`, each feature
/// with its `collection`, and its `distance_m` or `match` where there is one.
fn collection_of(found: &[Found], matched: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(found.len() * 2048 + 64);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",");
    if let Some(m) = matched {
        let _ = write!(out, "\"numberMatched\":{m},");
    }
    let _ = write!(out, "\"numberReturned\":{},\"features\":[", found.len());
    for (i, f) in found.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let collection = f.layer.id.as_str();
        let distance = f.distance_m.map(|d| (d * 100.0).round() / 100.0);
        let matched = f
            .name_match
            .as_ref()
            .map(|m| json!({"kind": m.kind.as_str(), "property": m.property, "name": m.name}));
        let mut extra: Vec<(&str, &dyn crate::encode::Member)> = vec![("collection", &collection)];
        if let Some(d) = &distance {
            extra.push(("distance_m", d));
        }
        if let Some(m) = &matched {
            extra.push(("match", m));
        }
        let properties = Properties::Slot {
            layer: f.layer,
            slot: f.slot,
            only: f.only,
        };
        write_feature(
            &mut out,
            &f.layer.ids[f.slot],
            &f.layer.geometries[f.slot],
            properties,
            Crs::Crs84,
            &extra,
        );
    }
    out.extend_from_slice(b"]}");
    out
}

pub struct WhatsHereParams {
    lon: f64,
    lat: f64,
    tolerance: f64,
}

impl RouteParams for WhatsHereParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&LON, &LAT, &TOLERANCE]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let lon = coordinate(params, "lon", 180.0)?;
        let lat = coordinate(params, "lat", 90.0)?;
        let tolerance = match params.take("tolerance") {
            None => 0.0,
            Some(t) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && (0.0..=MAX_TOLERANCE_M).contains(v))
                .ok_or_else(|| {
                    ApiError::parameter(
                        "tolerance",
                        format!("tolerance must be 0 to {MAX_TOLERANCE_M} metres"),
                    )
                })?,
        };
        Ok(WhatsHereParams {
            lon,
            lat,
            tolerance,
        })
    }
}

/// `GET /whats-here?lon=&lat=[&tolerance=metres]`: every feature of every layer at a point.
async fn whats_here(
    State(state): State<AppState>,
    Query(p): Query<WhatsHereParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let body = state
        .compute(move |budget| {
            let catalog = snapshot.catalog();
            let here = features_at(catalog, p.lon, p.lat, p.tolerance, budget)?;
            let found: Vec<Found> = here
                .iter()
                .map(|h| Found {
                    layer: &catalog.layers()[h.layer],
                    slot: h.slot,
                    only: None,
                    distance_m: Some(h.distance_m),
                    name_match: None,
                })
                .collect();
            Ok(collection_of(&found, None))
        })
        .await?;
    Ok(geo_response(body, GEOJSON, Crs::Crs84))
}

pub struct SearchParams {
    q: String,
    collections: Option<Vec<String>>,
    limit: usize,
}

impl RouteParams for SearchParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&Q, &COLLECTIONS, &SEARCH_LIMIT]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let q = params
            .take("q")
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| ApiError::parameter("q", "q (the text to search for) is required"))?;
        let collections = params.take("collections").map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        let limit = bounded(params, "limit", 20, MAX_SEARCH)?;
        Ok(SearchParams {
            q,
            collections,
            limit,
        })
    }
}

/// `GET /search?q=&collections=a,b&limit=`: features by name, exact before prefix before substring.
async fn search(
    State(state): State<AppState>,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let layers: Vec<Arc<Layer>> = match &p.collections {
        Some(ids) => ids
            .iter()
            .map(|id| {
                snapshot
                    .layer(id)
                    .cloned()
                    .ok_or_else(|| ApiError::no_such_collection(id))
            })
            .collect::<Result<_, _>>()?,
        None => snapshot.catalog().layers().to_vec(),
    };
    let body = state
        .compute(move |budget| {
            let refs: Vec<&Layer> = layers.iter().map(|l| l.as_ref()).collect();
            let hits = search_layers(&refs, &p.q, p.limit, budget)?.ok_or_else(|| {
                ApiError::parameter(
                    "q",
                    "q has nothing to search for once case, accents and marks are folded away",
                )
            })?;
            let matched = hits.matched;
            let found: Vec<Found> = hits
                .hits
                .into_iter()
                .map(|(order, m)| Found {
                    layer: refs[order],
                    slot: m.slot,
                    only: None,
                    distance_m: None,
                    name_match: Some(m),
                })
                .collect();
            Ok(collection_of(&found, Some(matched)))
        })
        .await?;
    Ok(geo_response(body, GEOJSON, Crs::Crs84))
}

pub struct NearestParams {
    lon: f64,
    lat: f64,
    k: usize,
    query: FeatureQuery,
}

impl RouteParams for NearestParams {
    fn specs() -> Vec<&'static ParamSpec> {
        [&LON, &LAT, &NEAREST_LIMIT]
            .into_iter()
            .chain(feature_query_except(&["limit", "offset", "sortby"]))
            .collect()
    }
    fn takes_queryables() -> bool {
        true
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let lon = coordinate(params, "lon", 180.0)?;
        let lat = coordinate(params, "lat", 90.0)?;
        let k = bounded(params, "limit", 5, MAX_NEAREST)?;
        for p in ["offset", "sortby"] {
            if params.take(p).is_some() {
                return Err(ApiError::parameter(
                    p,
                    format!("{p} does not apply to nearest (results are ordered by distance)"),
                ));
            }
        }
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let query = parse_feature_query(params, c, &Self::specs())?;
        Ok(NearestParams { lon, lat, k, query })
    }
}

/// `GET /collections/{id}/nearest?lon=&lat=&limit=`: the nearest features (with the same filter
/// parameters as `/items`), nearest first, with their geodesic distance in metres.
async fn nearest(
    State(state): State<AppState>,
    request: InCollection<NearestParams>,
) -> Result<Response, ApiError> {
    let filters = Arc::clone(&state.filters);
    let body = state
        .compute(move |budget| {
            let layer = request.layer();
            let p = &request.params;
            let plan = compile_cached(&layer, &p.query, &filters)?;
            let point = Point::new(p.lon, p.lat);
            let near = nearest_slots(&layer, point, p.k, |s| plan.matches(&layer, s), budget)?;
            let found: Vec<Found> = near
                .into_iter()
                .map(|(slot, d)| Found {
                    layer: &layer,
                    slot,
                    only: plan.properties.as_deref(),
                    distance_m: Some(d),
                    name_match: None,
                })
                .collect();
            Ok(collection_of(&found, None))
        })
        .await?;
    Ok(geo_response(body, GEOJSON, Crs::Crs84))
}

/// `/collections/{id}/nearest`, `/search` and `/whats-here`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(doc: &Doc, paths: &mut Paths) {
    for c in doc.collections {
        let base = format!("/collections/{}", c.id);
        paths.insert(format!("{base}/nearest"), json!({"get": {"summary": format!("the features of {} nearest to a point, with geodesic distances", c.id), "operationId": format!("getNearest_{}", c.id), "tags": ["Data"],
        "parameters": parameters::<NearestParams>(Some(c)),
        "responses": {"200": geojson_ok("the nearest features, nearest first"), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection"), "503": busy()}}}));
    }
    paths.insert("/search".into(), json!({"get": {"summary": "features by name (Chinese or English), exact before prefix before substring before close spellings; numberMatched counts every match", "operationId": "searchNames", "tags": ["Data"],
        "parameters": parameters::<SearchParams>(None),
        "responses": {"200": geojson_ok("matching features with their collection and match kind"), "400": problem("a malformed parameter"), "404": problem("no such collection"), "503": busy()}}}));
    paths.insert("/whats-here".into(), json!({"get": {"summary": "every feature of every layer at a point", "operationId": "whatsHere", "tags": ["Data"],
        "parameters": parameters::<WhatsHereParams>(None),
        "responses": {"200": geojson_ok("the features at the point, top-most layer first"), "400": problem("a malformed parameter"), "503": busy()}}}));
}
