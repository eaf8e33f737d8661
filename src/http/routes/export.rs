//! Downloads: `/collections/{id}/export` (a whole query result in any format) and `POST /export`
//! (several layers within an area, whole or clipped, as one GeoJSON or one GeoPackage).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::items::require_json;
use crate::export::clip::clip_source;
use crate::export::{self, Crs, ExportOptions, Format};
use crate::http::download::stream;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::query_params::parse_feature_query;
use crate::http::AppState;
use crate::ingest::parse_geometry;
use crate::query::{FilterLang, FilterSpec};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/export", get(export_collection))
        .route("/export", post(export_area))
}

/// `f=`, else the first format the `Accept` header names, else GeoJSON.
fn choose_format(f: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    if let Some(f) = f {
        return Format::parse(f).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            ApiError::parameter(
                "f",
                format!("f must be one of {}, got {f:?}", names.join(", ")),
            )
        });
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(accept
        .split(',')
        .filter_map(|m| Format::from_media_type(m.split(';').next().unwrap_or_default().trim()))
        .next()
        .unwrap_or(Format::GeoJson))
}

fn options(params: &mut Params) -> Result<ExportOptions, ApiError> {
    let crs = match params.take("crs") {
        Some(c) => Crs::parse(&c).map_err(|e| ApiError::parameter("crs", e.to_string()))?,
        None => Crs::Crs84,
    };
    let csv_bom = match params.take("bom").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::parameter(
                "bom",
                format!("bom must be true or false, got {other:?}"),
            ))
        }
    };
    Ok(ExportOptions { crs, csv_bom })
}

/// `GET /collections/{id}/export?f=gpkg&filter=...`: every feature the query matches (not one
/// page: `limit` and `offset` apply only when given), streamed as it is written.
async fn export_collection(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let info = state.collection(&collection)?;
    let mut params = Params::parse(raw.as_deref())?;
    let format = choose_format(params.take("f").as_deref(), &headers)?;
    let opts = options(&mut params)?;
    if format == Format::Kml && opts.crs != Crs::Crs84 {
        return Err(ApiError::parameter(
            "crs",
            "KML is always WGS84 longitude/latitude",
        ));
    }
    let explicit_limit = params.has("limit");
    let mut q = parse_feature_query(&mut params, &info, &["f", "crs", "bom"])?;
    if !explicit_limit {
        q.limit = usize::MAX;
    }
    let permit = state.heavy_permit().await?;
    let source = state.store.export(&collection, &q)?;
    let name = export::file_name(&collection, format);
    Ok(stream(format, name, Some(opts.crs.uri()), move |out| {
        let _permit = permit;
        export::write(format, source, opts, out)
    }))
}

/// The body of `POST /export`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaExport {
    /// The collections to export (default: all).
    layers: Option<Vec<String>>,
    /// A GeoJSON Polygon or MultiPolygon in CRS84...
    area: Option<serde_json::Value>,
    /// ...or the id of a zone feature (`ftz-etown-cluster`, a park id).
    zone: Option<String>,
    /// Cut geometries to the area (default false: whole features that intersect it).
    #[serde(default)]
    clip: bool,
    /// `geojson` (default) or `gpkg`.
    f: Option<String>,
    crs: Option<String>,
}

async fn export_area(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let req: AreaExport = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body is not a valid export request: {e}"),
        )
    })?;
    let format = match req.f.as_deref() {
        None => Format::GeoJson,
        Some(f) => match Format::parse(f) {
            Some(fmt @ (Format::GeoJson | Format::GeoPackage)) => fmt,
            _ => return Err(ApiError::parameter("f", "an area export is geojson (one collection, a layer property per feature) or gpkg (a table per layer)")),
        },
    };
    let crs = match &req.crs {
        Some(c) => Crs::parse(c).map_err(|e| ApiError::parameter("crs", e.to_string()))?,
        None => Crs::Crs84,
    };
    let area_json = match (req.area, req.zone) {
        (Some(a), None) => a,
        (None, Some(zone)) => find_zone(&state, &zone)?,
        _ => {
            return Err(ApiError::parameter(
                "area",
                "give either area (a GeoJSON polygon) or zone (a zone feature id)",
            ))
        }
    };
    let (geometry, invalid) =
        parse_geometry(&area_json).map_err(|e| ApiError::parameter("area", e))?;
    if let Some(reason) = invalid {
        return Err(ApiError::parameter(
            "area",
            format!("invalid polygon: {reason}"),
        ));
    }
    let area = match geometry {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        _ => {
            return Err(ApiError::parameter(
                "area",
                "the area must be a Polygon or MultiPolygon",
            ))
        }
    };
    let layers = req.layers.unwrap_or_else(|| {
        state
            .store
            .collections()
            .into_iter()
            .map(|c| c.id)
            .collect()
    });
    if layers.is_empty() {
        return Err(ApiError::parameter(
            "layers",
            "name at least one collection",
        ));
    }
    let filter = FilterSpec {
        text:
            serde_json::json!({"op": "s_intersects", "args": [{"property": "geometry"}, area_json]})
                .to_string(),
        lang: FilterLang::Cql2Json,
    };
    let permit = state.heavy_permit().await?;
    let mut sources = Vec::with_capacity(layers.len());
    for id in &layers {
        let q = crate::query::FeatureQuery {
            filter: Some(filter.clone()),
            limit: usize::MAX,
            ..Default::default()
        };
        let source = state.store.export(id, &q)?;
        sources.push(if req.clip {
            clip_source(source, area.clone())
        } else {
            source
        });
    }
    let opts = ExportOptions {
        crs,
        csv_bom: false,
    };
    let name = export::file_name("etown-atlas-area", format);
    Ok(stream(format, name, Some(crs.uri()), move |out| {
        let _permit = permit;
        export::write_layers(format, sources, opts, out)
    }))
}

/// The geometry of a zone feature, looked up in every zone layer.
fn find_zone(state: &AppState, zone: &str) -> Result<serde_json::Value, ApiError> {
    for c in state
        .store
        .collections()
        .into_iter()
        .filter(|c| c.meta.zone)
    {
        if let Some(f) = state.store.get(&c.id, zone)? {
            return Ok(
                serde_json::to_value(geojson::Geometry::from(&f.geometry)).unwrap_or_default()
            );
        }
    }
    Err(ApiError::parameter(
        "zone",
        format!("no zone feature has the id {zone:?}"),
    ))
}
