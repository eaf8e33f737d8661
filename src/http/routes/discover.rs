//! Finding features by place and by name: "what's here", the nearest features, name search.
//! Each answers a GeoJSON FeatureCollection whose features carry their `collection`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::items::geo_response;
use crate::export::Crs;
use crate::http::error::ApiError;
use crate::http::geojson::feature_json;
use crate::http::links::GEOJSON;
use crate::http::params::Params;
use crate::http::query_params::parse_feature_query;
use crate::http::AppState;
use crate::store::Found;

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
                format!("{name} must be a number within ±{range}, got {raw:?}"),
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

fn collection_of(found: Vec<Found>) -> Value {
    let features: Vec<Value> = found
        .iter()
        .map(|f| {
            let mut v = feature_json(&f.feature, None, Crs::Crs84);
            v["collection"] = json!(f.collection);
            if let Some(d) = f.distance_m {
                v["distance_m"] = json!((d * 100.0).round() / 100.0);
            }
            if let Some(m) = &f.name_match {
                v["match"] =
                    json!({"kind": m.kind.as_str(), "property": m.property, "name": m.name});
            }
            v
        })
        .collect();
    json!({"type": "FeatureCollection", "numberReturned": features.len(), "features": features})
}

/// `GET /whats-here?lon=&lat=[&tolerance=metres]`: every feature of every layer at a point.
async fn whats_here(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut params = Params::parse(raw.as_deref())?;
    let lon = coordinate(&mut params, "lon", 180.0)?;
    let lat = coordinate(&mut params, "lat", 90.0)?;
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
    params.finish(&["lon", "lat", "tolerance"])?;
    Ok(geo_response(
        collection_of(state.store.features_at(lon, lat, tolerance)),
        GEOJSON,
        Crs::Crs84,
    ))
}

/// `GET /search?q=&collections=a,b&limit=`: features by name, exact before prefix before substring.
async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut params = Params::parse(raw.as_deref())?;
    let q = params
        .take("q")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::parameter("q", "q (the text to search for) is required"))?;
    let collections: Option<Vec<String>> = params.take("collections").map(|c| {
        c.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let limit = bounded(&mut params, "limit", 20, MAX_SEARCH)?;
    params.finish(&["q", "collections", "limit"])?;
    let found = state
        .store
        .search_names(&q, collections.as_deref(), limit)?;
    Ok(geo_response(collection_of(found), GEOJSON, Crs::Crs84))
}

/// `GET /collections/{id}/nearest?lon=&lat=&limit=`: the nearest features (with the same filter
/// parameters as `/items`), nearest first, with their geodesic distance in metres.
async fn nearest(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let info = state.collection(&collection)?;
    let mut params = Params::parse(raw.as_deref())?;
    let lon = coordinate(&mut params, "lon", 180.0)?;
    let lat = coordinate(&mut params, "lat", 90.0)?;
    let k = bounded(&mut params, "limit", 5, MAX_NEAREST)?;
    for p in ["offset", "sortby"] {
        if params.take(p).is_some() {
            return Err(ApiError::parameter(
                p,
                format!("{p} does not apply to nearest (results are ordered by distance)"),
            ));
        }
    }
    let q = parse_feature_query(&mut params, &info, &["lon", "lat"])?;
    let found = state.store.nearest(&collection, &q, lon, lat, k)?;
    Ok(geo_response(collection_of(found), GEOJSON, Crs::Crs84))
}
