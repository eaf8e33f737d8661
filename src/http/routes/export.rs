//! Downloads: `/collections/{id}/export` (a whole query result in any format) and `POST /export`
//! (several layers within an area, whole or clipped, as one GeoJSON or one GeoPackage).

use super::openapi::*;
use super::Contract;
use crate::http::problem::Problem;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Version};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::json;

use crate::export::clip::clip_source;
use crate::export::{self, ExportError, ExportOptions, ExportSource, Format};
use crate::http::body::{require_json, strict_json};
use crate::http::download::{self, Download};
use crate::http::error::ApiError;
use crate::http::extract::{InCollection, RouteParams};
use crate::http::negotiate::AcceptList;
use crate::http::params::{always, shorten, ParamSpec, Params};
use crate::http::query_params::{output_crs, parse_feature_query, CRS, FEATURE_QUERY};
use crate::http::state::ClientAddr;
use crate::http::AppState;
use crate::ingest::area_polygon;
use crate::model::Crs;
use crate::query::Area;
use crate::query::{
    compile_cached, exec, Budget, FeatureQuery, FilterCache, FilterLang, FilterSpec,
};
use crate::store::{CollectionInfo, Snapshot};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/export", get(export_collection))
        .route("/export", post(export_area))
}

static F_FILE: ParamSpec = ParamSpec {
    name: "f",
    description: "the file format (or an Accept header); default GeoJSON",
    required: false,
    schema: |_| json!({"type": "string", "enum": Format::ALL.iter().map(|f| f.name()).collect::<Vec<_>>()}),
    documented_for: always,
};
static BOM: ParamSpec = ParamSpec {
    name: "bom",
    description: "CSV only: start with a UTF-8 byte-order mark (Excel)",
    required: false,
    schema: |_| json!({"type": "boolean"}),
    documented_for: always,
};

/// `f=`, else the first format the `Accept` header names (a `q=0` is a refusal), else GeoJSON.
fn choose_format(f: Option<&str>, accept: &AcceptList) -> Result<Format, ApiError> {
    if let Some(f) = f {
        return Format::parse(f).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            ApiError::parameter(
                "f",
                format!(
                    "f must be one of {}, got {:?}",
                    names.join(", "),
                    shorten(f)
                ),
            )
        });
    }
    accept
        .best(Format::ALL.iter().map(|f| f.media_type()))
        .map(|i| Format::ALL[i])
        .or_else(|| {
            // GeoJSON is JSON: a client that takes any JSON takes it.
            let json = accept.quality("application/json") > 0.0;
            (accept.allows_anything() || json).then_some(Format::GeoJson)
        })
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_ACCEPTABLE,
                Problem::NotAcceptable,
                "no download format matches the Accept header; use f= to choose one",
            )
        })
}

pub(super) static LANG: ParamSpec = ParamSpec {
    name: "lang",
    description:
        "the language of a workbook's column titles (zh or en; default from Accept-Language)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["zh", "en"]}),
    documented_for: crate::http::params::always,
};

pub struct ExportParams {
    as_of: Option<i64>,
    f: Option<String>,
    /// A workbook's titles: `zh` or `en` (default: from `Accept-Language`).
    lang: Option<&'static str>,
    options: ExportOptions,
    query: FeatureQuery,
}

impl RouteParams for ExportParams {
    fn specs() -> Vec<&'static ParamSpec> {
        [&F_FILE, &CRS, &BOM, &LANG, &crate::http::as_of::AS_OF]
            .into_iter()
            .chain(FEATURE_QUERY)
            .collect()
    }
    fn takes_queryables() -> bool {
        true
    }
    fn as_of(&self) -> Option<i64> {
        self.as_of
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let f = params.take("f");
        let lang = match params.take("lang").as_deref() {
            None => None,
            Some(l) if l.starts_with("zh") => Some("zh"),
            Some(l) if l.starts_with("en") => Some("en"),
            Some(other) => {
                return Err(ApiError::parameter(
                    "lang",
                    format!(
                        "lang must be zh or en, got {:?}",
                        crate::http::params::shorten(other)
                    ),
                ))
            }
        };
        let crs = output_crs(params)?;
        let as_of = crate::http::as_of::take_as_of(params)?;
        let csv_bom = params.take_bool("bom")?.unwrap_or(false);
        let explicit_limit = params.has("limit");
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let mut query = parse_feature_query(params, c, &Self::specs())?;
        if !explicit_limit {
            query.limit = usize::MAX;
        }
        Ok(ExportParams {
            as_of,
            f,
            lang,
            options: ExportOptions { crs, csv_bom },
            query,
        })
    }
}

/// Whether the client can tell a cut download from a complete one without a length: HTTP/1.1
/// and later end a chunked body with a last chunk, HTTP/1.0 only by closing.
fn needs_length(version: Version) -> bool {
    version < Version::HTTP_11
}

/// `GET /collections/{id}/export?f=gpkg&filter=...`: every feature the query matches (not one
/// page: `limit` and `offset` apply only when given), streamed as it is written.
async fn export_collection(
    State(state): State<AppState>,
    version: Version,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    request: InCollection<ExportParams>,
) -> Result<Response, ApiError> {
    let format = choose_format(request.params.f.as_deref(), &AcceptList::of(&headers))?;
    let opts = request.params.options;
    if format == Format::Kml && opts.crs != Crs::Crs84 {
        return Err(ApiError::parameter(
            "crs",
            "KML is always WGS84 longitude/latitude",
        ));
    }
    let permit = state.download_permit(client.map(|c| c.0 .0)).await?;
    let filters = Arc::clone(&state.filters);
    let name = export::file_name(&request.id, format);
    let lang = request
        .params
        .lang
        .unwrap_or_else(|| crate::http::language(&headers));
    let source = state
        .compute(move |budget| {
            let layer = request.layer();
            let q = &request.params.query;
            let plan = compile_cached(&layer, q, &filters)?;
            let slots: Vec<usize> = exec::matching(&layer, &plan, budget)?
                .into_iter()
                .skip(q.offset)
                .take(q.limit)
                .collect();
            let workbook = (format == Format::Xlsx).then(|| {
                let snapshot = &request.snapshot;
                export::xlsx::Workbook::for_layer(
                    &layer,
                    |v| {
                        snapshot
                            .vocabulary(v)
                            .map(|v| v.terms.iter().map(|t| t.id.clone()).collect())
                    },
                    lang,
                )
            });
            let source = ExportSource::from_slots(layer, slots, plan.properties.clone());
            Ok(match workbook {
                Some(w) => source.with_workbook(w),
                None => source,
            })
        })
        .await?
        .within(Budget::within(state.config.download_timeout));
    let download = Download {
        format,
        file_name: name,
        content_crs: Some(opts.crs.uri()),
        known_length: needs_length(version),
    };
    download::send(download, permit, move |out| {
        export::write(format, source, opts, out)
    })
    .await
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
    /// A CQL2 JSON filter per collection, applied with the area (the web map's find filters,
    /// so the file holds what the map shows).
    #[serde(default)]
    filters: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The layers of an area export: each named once, each a collection of the snapshot. Asking for
/// one twice is a mistake worth saying, not a reason to write it twice.
fn area_layers(snapshot: &Snapshot, asked: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let Some(asked) = asked else {
        return Ok(snapshot
            .collections()
            .iter()
            .map(|c| c.id.clone())
            .collect());
    };
    if asked.is_empty() {
        return Err(ApiError::parameter(
            "layers",
            "name at least one collection",
        ));
    }
    let mut layers: Vec<String> = Vec::with_capacity(asked.len().min(snapshot.collections().len()));
    for id in asked {
        if layers.contains(&id) {
            return Err(ApiError::parameter(
                "layers",
                format!("{:?} is named twice", shorten(&id)),
            ));
        }
        AppState::collection(snapshot, &id)?;
        layers.push(id);
    }
    Ok(layers)
}

async fn export_area(
    State(state): State<AppState>,
    version: Version,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    // Up to 4 MiB of JSON: read on the compute boundary.
    let req: AreaExport = state
        .compute(move |_| {
            serde_json::from_value(strict_json(&body)?).map_err(|e| {
                ApiError::invalid_body(format!("the body is not a valid export request: {e}"))
            })
        })
        .await?;
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
    let snapshot = state.snapshot();
    let layers = area_layers(&snapshot, req.layers)?;
    let area_json = match (req.area, req.zone) {
        (Some(a), None) => a,
        (None, Some(zone)) => find_zone(&snapshot, &zone)?,
        _ => {
            return Err(ApiError::parameter(
                "area",
                "give either area (a GeoJSON polygon) or zone (a zone feature id)",
            ))
        }
    };
    // The area is checked (its validity, and as a filter: too many vertices, say) before the
    // download starts, so that a refusal is a 400 and not a file that breaks at its first
    // layer; the check is CPU work, so it runs on the compute boundary.
    for id in req.filters.keys() {
        if !layers.contains(id) {
            return Err(ApiError::parameter(
                "filters",
                format!(
                    "{:?} has a filter but is not one of the layers exported",
                    shorten(id)
                ),
            ));
        }
    }
    let filters = Arc::clone(&state.filters);
    let (area, layer_filters) = {
        let (snapshot, layers) = (Arc::clone(&snapshot), layers.clone());
        let (filters, extra) = (Arc::clone(&filters), req.filters);
        state
            .compute(move |_| {
                let area = area_polygon(&area_json).map_err(|e| ApiError::parameter("area", e))?;
                let within = Area::new(area.clone().into()).map_err(|e| {
                    let mut err = ApiError::from(crate::query::QueryError::from(e));
                    err.parameter = Some("area".into());
                    err
                })?;
                // Each layer's query: the area, and the layer's own filter if it has one;
                // each compiled now so a bad one is a 400 before the download starts.
                let mut per_layer = Vec::with_capacity(layers.len());
                for id in &layers {
                    let q = FeatureQuery {
                        area: Some(within.clone()),
                        filter: extra.get(id).map(|f| FilterSpec {
                            text: f.to_string(),
                            lang: FilterLang::Cql2Json,
                        }),
                        limit: usize::MAX,
                        ..FeatureQuery::default()
                    };
                    let layer = snapshot.layer(id).expect("checked above");
                    compile_cached(layer, &q, &filters).map_err(|e| {
                        let mut err = ApiError::from(e);
                        if extra.contains_key(id) {
                            err.parameter = Some("filters".into());
                            err.detail = format!("{id}: {}", err.detail);
                        }
                        err
                    })?;
                    per_layer.push(q);
                }
                Ok((area, per_layer))
            })
            .await?
    };
    let permit = state.download_permit(client.map(|c| c.0 .0)).await?;
    let limit = state.config.request_timeout;
    let download_limit = state.config.download_timeout;
    // Each layer's matches are found when the writer reaches it, each within the request's
    // time limit, and only one layer's are held at a time.
    let sources: Vec<ExportSource> = layers
        .into_iter()
        .zip(layer_filters)
        .map(|(id, query)| {
            let layer = Arc::clone(snapshot.layer(&id).expect("checked above"));
            let (filters, area) = (Arc::clone(&filters), area.clone());
            let source = ExportSource::deferred(id, layer.fields.clone(), move || {
                area_source(layer, &query, &filters, Budget::within(limit))
            });
            let source = source.within(Budget::within(download_limit));
            if req.clip {
                clip_source(source, area)
            } else {
                source
            }
        })
        .collect();
    let opts = ExportOptions {
        crs,
        csv_bom: false,
    };
    let download = Download {
        format,
        file_name: export::file_name("etown-atlas-area", format),
        content_crs: Some(crs.uri()),
        known_length: needs_length(version),
    };
    download::send(download, permit, move |out| {
        export::write_layers(format, sources, opts, out)
    })
    .await
}

/// The features of one layer that meet the area (and the layer's own filter).
fn area_source(
    layer: Arc<crate::index::Layer>,
    q: &FeatureQuery,
    filters: &FilterCache,
    budget: Budget,
) -> Result<ExportSource, ExportError> {
    let plan = compile_cached(&layer, q, filters).map_err(|e| ExportError::Format {
        format: "area",
        reason: e.to_string(),
    })?;
    let slots = exec::matching(&layer, &plan, &budget)?;
    Ok(ExportSource::from_slots(layer, slots, None))
}

/// The geometry of a zone feature, looked up in every zone layer.
fn find_zone(snapshot: &Snapshot, zone: &str) -> Result<serde_json::Value, ApiError> {
    for c in snapshot.collections().iter().filter(|c| c.meta.zone) {
        let Some(layer) = snapshot.layer(&c.id) else {
            continue;
        };
        if let Some(slot) = layer.slot_of(zone) {
            return Ok(
                serde_json::to_value(geojson::Geometry::from(&*layer.geometries[slot]))
                    .unwrap_or_default(),
            );
        }
    }
    Err(ApiError::parameter(
        "zone",
        format!("no zone feature has the id {:?}", shorten(zone)),
    ))
}

/// `/collections/{id}/export` and `POST /export` (an area).
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(doc: &Doc, paths: &mut Paths) {
    for c in doc.collections {
        paths.insert(format!("/collections/{}/export", c.id), export_path(c));
    }
    paths.insert("/export".into(), area_export_path(doc.collections));
}

/// `GET /collections/{id}/export`: the whole result of a query as a file.
fn export_path(c: &CollectionInfo) -> Value {
    json!({"get": {
        "summary": format!("download every feature of {} that the query selects", c.id),
        "operationId": format!("export_{}", c.id),
        "tags": ["Data"],
        "parameters": parameters::<ExportParams>(Some(c)),
        "responses": {
            "200": {"description": "the file (streamed; a failure midway cuts the connection)", "content": file_content(&Format::ALL)},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such collection"),
            "406": problem("no format for the Accept header"),
            "500": problem("the file could not be written (nothing was sent)"),
            "503": busy()
        }
    }})
}

/// `POST /export`: several layers within an area, whole or clipped.
fn area_export_path(collections: &[CollectionInfo]) -> Value {
    let ids: Vec<&str> = collections.iter().map(|c| c.id.as_str()).collect();
    let body = json!({"type": "object", "additionalProperties": false,
        "oneOf": [{"required": ["area"]}, {"required": ["zone"]}], "properties": {
        "layers": {"type": "array", "items": {"type": "string", "enum": ids}, "minItems": 1, "description": "the collections (default: all)"},
        "area": {"type": "object", "description": "a GeoJSON Polygon or MultiPolygon in CRS84"},
        "zone": {"type": "string", "description": "or the id of a zone feature (a zone layer's or a park's)"},
        "clip": {"type": "boolean", "default": false, "description": "cut geometries to the area"},
        "f": {"type": "string", "enum": ["geojson", "gpkg"]},
        "crs": {"type": "string", "enum": Crs::SUPPORTED}
    }});
    json!({"post": {
        "summary": "download several layers within an area (GeoJSON with a layer property, or a GeoPackage table per layer)",
        "operationId": "exportArea",
        "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "the file", "content": file_content(&[Format::GeoJson, Format::GeoPackage])},
            "400": problem("a malformed body, area or zone"),
            "404": problem("no such collection or zone"),
            "413": problem("body too large"),
            "415": problem("not JSON"),
            "500": problem("the file could not be written (nothing was sent)"),
            "503": busy()
        }
    }})
}
