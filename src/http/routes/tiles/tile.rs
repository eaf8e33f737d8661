//! One tile: of a collection, or of several collections in one tile.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::negotiate::content_etag;
use crate::http::params::Params;
use crate::http::tile_cache::CachedTile;
use crate::http::AppState;
use crate::query::{compile_cached, FeatureQuery};
use crate::store::Snapshot;
use crate::tiles::matrix::TileId;
use crate::tiles::{self, layer_tile, TileLimits};

use super::*;

pub(super) fn tile_id(tms: &str, z: &str, y: &str, x: &str) -> Result<TileId, ApiError> {
    let tms = tms_of(tms)?;
    let n = |s: &str| s.parse::<u32>().ok();
    n(z).zip(n(y))
        .zip(n(x))
        .and_then(|((z, y), x)| TileId::in_set(tms, z, x, y))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no such tile in {} (zoom 0 to 24, column and row within the matrix)",
                tms.id()
            ))
        })
}

/// The query's identity in the tile cache.
pub(super) fn query_key(q: &FeatureQuery) -> String {
    let mut equals = q.equals.clone();
    equals.sort();
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        q.filter, q.datetime, equals, q.properties
    )
}

/// Builds (or finds in the cache) the tile of `layers` with their queries.
pub(super) async fn tile(
    state: &AppState,
    snapshot: Arc<Snapshot>,
    layers: Vec<(String, FeatureQuery)>,
    tile: TileId,
    if_none_match: Option<HeaderValue>,
) -> Result<Response, ApiError> {
    let key = (
        layers
            .iter()
            .map(|(id, q)| format!("{id}:{}", query_key(q)))
            .collect::<Vec<_>>()
            .join(";"),
        tile,
    );
    let version = snapshot.version();
    let ids: Vec<String> = layers.iter().map(|(id, _)| id.clone()).collect();
    // A past version's tiles are built for the asking and not kept: the cache follows the
    // current version, area by area.
    let past = snapshot.is_past();
    let cached = if past {
        None
    } else {
        state.tiles.get(&key, version, |since, t| {
            ids.iter().any(|id| {
                snapshot.changed_since(id, since, t.lonlat_bounds(crate::tiles::matrix::BUFFER))
            })
        })
    };
    let built = match cached {
        Some(hit) => hit,
        None => {
            let filters = Arc::clone(&state.filters);
            let snap = Arc::clone(&snapshot);
            let encoded = state
                .compute(move |budget| {
                    let mut parts = Vec::with_capacity(layers.len());
                    for (id, q) in &layers {
                        let layer = snap
                            .layer(id)
                            .ok_or_else(|| ApiError::no_such_collection(id))?;
                        let plan = compile_cached(layer, q, &filters)?;
                        parts.push((
                            id.clone(),
                            layer_tile(layer, &plan, tile, &TileLimits::default(), budget)?,
                        ));
                    }
                    Ok(tiles::encode(parts))
                })
                .await?;
            let built = CachedTile {
                etag: content_etag(&encoded.bytes),
                bytes: Bytes::from(encoded.bytes),
                matched: encoded.matched,
                complete: encoded.complete,
                version,
            };
            if !past {
                state.tiles.insert(key, built.clone());
            }
            built
        }
    };
    if built.matched == 0 {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let fresh = crate::http::negotiate::if_none_match(if_none_match.as_ref(), &built.etag);
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        built.bytes.into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    if let Ok(v) = HeaderValue::from_str(&built.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        "x-tile-complete",
        HeaderValue::from_static(if built.complete { "true" } else { "false" }),
    );
    // The tile cache keeps tiles; the response cache need not keep them again.
    res.extensions_mut()
        .insert(crate::http::response_cache::NotKept);
    Ok(res)
}

pub(super) async fn collection_tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((collection, tms, z, y, x)): Path<(String, String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let t = tile_id(&tms, &z, &y, &x)?;
    let snapshot = state.snapshot();
    let info = AppState::collection(&snapshot, &collection)?;
    let (lo, hi) = zooms(info);
    if t.z < lo || t.z > hi {
        return Err(ApiError::not_found(format!(
            "{collection} has tiles at zooms {lo} to {hi}; clients draw deeper zooms from zoom {hi}"
        )));
    }
    let CollectionTileParams(p, as_of) =
        CollectionTileParams::from_params(Params::parse(raw.as_deref())?, Some(info))?;
    if p.f.as_deref().is_some_and(|f| f != "mvt") {
        return Err(ApiError::parameter("f", "tiles are mvt"));
    }
    let q = resolve_query(&state, &collection, p.stored.as_deref(), &p.query)?;
    let inm = headers.get(header::IF_NONE_MATCH).cloned();
    let snapshot = crate::http::as_of::snapshot_at(&state, snapshot, as_of).await?;
    tile(&state, snapshot, vec![(collection, q)], t, inm).await
}

pub(super) async fn dataset_tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tms, z, y, x)): Path<(String, String, String, String)>,
    crate::http::extract::Query(DatasetTileParams(p, as_of)): crate::http::extract::Query<
        DatasetTileParams,
    >,
) -> Result<Response, ApiError> {
    if p.f.as_deref().is_some_and(|f| f != "mvt") {
        return Err(ApiError::parameter("f", "tiles are mvt"));
    }
    let t = tile_id(&tms, &z, &y, &x)?;
    let snapshot = state.snapshot();
    let layers: Vec<(String, FeatureQuery)> = dataset_collections(&snapshot, &p.collections)?
        .into_iter()
        .filter(|c| {
            let (lo, hi) = zooms(c);
            (lo..=hi).contains(&t.z)
        })
        .map(|c| (c.id.clone(), FeatureQuery::default()))
        .collect();
    if layers.is_empty() {
        return Err(ApiError::not_found(
            "none of these collections has tiles at this zoom",
        ));
    }
    let inm = headers.get(header::IF_NONE_MATCH).cloned();
    let snapshot = crate::http::as_of::snapshot_at(&state, snapshot, as_of).await?;
    tile(&state, snapshot, layers, t, inm).await
}
