//! Tilesets: a collection's and the dataset's, their lists, TileJSON, and tilesets made from a
//! posted query.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::http::body::require_json;
use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::links::{link, path_segment, query_string, BaseUrl, JSON};
use crate::http::params::{shorten, Params};
use crate::http::query_params::params_from_body;
use crate::http::{language, AppState};
use crate::model::FieldType;
use crate::query::FeatureQuery;
use crate::store::{CollectionInfo, Snapshot};
use crate::tiles::matrix::{TileId, Tms, MAX_ZOOM};
use crate::tiles::INFO_LAYER;

use super::*;

/// A collection's tile zooms.
pub(super) fn zooms(c: &CollectionInfo) -> (u8, u8) {
    let t = c.meta.tiles;
    (
        t.minzoom.min(MAX_ZOOM),
        t.maxzoom.clamp(t.minzoom, MAX_ZOOM),
    )
}

/// The JSON Schema type name TileJSON uses for a field.
pub(super) fn tilejson_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer | FieldType::Number => "Number",
        FieldType::Boolean => "Boolean",
        _ => "String",
    }
}

/// The MVT layers of a collection, as TileJSON lists them.
pub(super) fn vector_layers(c: &CollectionInfo) -> Vec<Value> {
    let (minzoom, maxzoom) = zooms(c);
    let mut fields = Map::new();
    fields.insert("fid".into(), json!("the feature id"));
    for f in &c.fields {
        fields.insert(f.name.clone(), json!(tilejson_type(f.ty)));
    }
    let mut cells = Map::new();
    cells.insert("count".into(), json!("Number"));
    for f in c
        .fields
        .iter()
        .filter(|f| f.ty.is_numeric() && f.name.contains("area") && f.name.ends_with("_m2"))
    {
        cells.insert(f.name.clone(), json!("Number"));
    }
    vec![
        json!({"id": c.id, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom,
               "description": "the features, generalised for the zoom"}),
        json!({"id": format!("{}_cells", c.id), "fields": cells, "minzoom": minzoom, "maxzoom": maxzoom,
               "description": "where a tile holds too many features: counts and area sums per cell"}),
    ]
}

/// The `tile_info` layer, in TileJSON.
pub(super) fn info_vector_layer() -> Value {
    json!({"id": INFO_LAYER, "fields": {"collection": "String", "matched": "Number", "drawn": "Number",
           "too_small": "Number", "aggregated": "Boolean", "complete": "Boolean"},
           "description": "what each tile holds: matches, features drawn, those under a tile unit left out, whether complete"})
}

/// A tileset's query string for its tile links: the request's own parameters but `f`.
pub(super) fn kept_query(raw: Option<&str>) -> String {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "f")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let q = query_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// The limits of a tileset: at each zoom, the tiles that cover `extent`.
pub(super) fn limits(tms: Tms, extent: Option<[f64; 4]>, minzoom: u8, maxzoom: u8) -> Vec<Value> {
    let Some([w, s, e, n]) = extent else {
        return Vec::new();
    };
    (minzoom..=maxzoom)
        .map(|z| {
            let (cols, rows) = TileId::range_in(tms, z, geo::Rect::new((w, s), (e, n)));
            json!({"tileMatrix": z.to_string(), "minTileRow": rows.start(), "maxTileRow": rows.end(),
                   "minTileCol": cols.start(), "maxTileCol": cols.end()})
        })
        .collect()
}

/// The union of some collections' extents.
pub(super) fn union_extent<'a>(cs: impl Iterator<Item = &'a CollectionInfo>) -> Option<[f64; 4]> {
    cs.filter_map(|c| c.extent).reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

/// A tileset in OGC's tileset-metadata JSON, or in TileJSON 3.0.
pub(super) struct Tileset<'a> {
    tms: Tms,
    title: String,
    path: String,
    query: String,
    collections: Vec<&'a CollectionInfo>,
}

impl Tileset<'_> {
    fn zooms(&self) -> (u8, u8) {
        let z = self.collections.iter().map(|c| zooms(c));
        let min = z.clone().map(|(a, _)| a).min().unwrap_or(0);
        let max = z.map(|(_, b)| b).max().unwrap_or(16);
        (min, max)
    }

    fn tile_template(&self, base: &BaseUrl, order: &str) -> String {
        base.at(&format!(
            "{}/{}/{order}{}",
            self.path,
            self.tms.id(),
            self.query
        ))
    }

    fn ogc(&self, base: &BaseUrl) -> Value {
        let (minzoom, maxzoom) = self.zooms();
        let layers: Vec<Value> = self
            .collections
            .iter()
            .map(|c| {
                let (lo, hi) = zooms(c);
                let props: Map<String, Value> = c
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.json_schema()))
                    .collect();
                json!({"id": c.id, "dataType": "vector", "geometryDimension": 2,
                       "minTileMatrix": lo.to_string(), "maxTileMatrix": hi.to_string(),
                       "propertiesSchema": {"type": "object", "properties": props}})
            })
            .collect();
        json!({
            "title": self.title,
            "dataType": "vector",
            "crs": self.tms.crs(),
            "tileMatrixSetURI": self.tms.uri(),
            "tileMatrixSetLimits": limits(self.tms, union_extent(self.collections.iter().copied()), minzoom, maxzoom),
            "layers": layers,
            "links": [
                link(base.at(&format!("{}/{}{}", self.path, self.tms.id(), self.query)), "self", JSON, "this tileset"),
                link(base.at(&format!("/tileMatrixSets/{}", self.tms.id())), REL_TILING_SCHEME, JSON, self.tms.id()),
                {"href": self.tile_template(base, "{tileMatrix}/{tileRow}/{tileCol}"), "rel": "item", "type": MVT,
                 "templated": true, "title": "the tiles, as Mapbox Vector Tiles"},
            ],
        })
    }

    fn tilejson(&self, base: &BaseUrl) -> Value {
        let (minzoom, maxzoom) = self.zooms();
        let mut vector_layers: Vec<Value> = self
            .collections
            .iter()
            .flat_map(|c| vector_layers(c))
            .collect();
        vector_layers.push(info_vector_layer());
        let mut doc = json!({
            "tilejson": "3.0.0",
            "name": self.title,
            "scheme": "xyz",
            "tiles": [self.tile_template(base, "{z}/{y}/{x}")],
            "vector_layers": vector_layers,
            "minzoom": minzoom,
            "maxzoom": maxzoom,
        });
        if let Some([w, s, e, n]) = union_extent(self.collections.iter().copied()) {
            doc["bounds"] = json!([w, s, e, n]);
            doc["center"] = json!([(w + e) / 2.0, (s + n) / 2.0, minzoom.max(10)]);
        }
        doc
    }
}

/// A tileset as the `f` parameter asks (TileJSON is for WebMercatorQuad: it knows no other).
pub(super) fn tileset_response(
    t: &Tileset,
    base: &BaseUrl,
    f: Option<&str>,
) -> Result<Response, ApiError> {
    match f {
        None | Some("json") => {
            let mut doc = t.ogc(base);
            if t.tms == Tms::WebMercatorQuad {
                let sep = if t.query.is_empty() { "?" } else { "&" };
                let href = base.at(&format!(
                    "{}/{}{}{sep}f=tilejson",
                    t.path,
                    t.tms.id(),
                    t.query
                ));
                if let Some(links) = doc["links"].as_array_mut() {
                    links.push(link(
                        href,
                        "alternate",
                        JSON,
                        "this tileset as TileJSON 3.0",
                    ));
                }
            }
            Ok(Json(doc).into_response())
        }
        Some("tilejson") if t.tms == Tms::WebMercatorQuad => {
            Ok(Json(t.tilejson(base)).into_response())
        }
        Some("tilejson") => Err(ApiError::parameter(
            "f",
            "TileJSON describes WebMercatorQuad tilesets only",
        )),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!("f must be json or tilejson, got {:?}", shorten(other)),
        )),
    }
}

/// The tilesets of a list: vector, one per tile matrix set.
pub(super) fn tilesets_list(base: &BaseUrl, path: &str, title: &str) -> Value {
    let sets: Vec<Value> = Tms::ALL
        .iter()
        .map(|t| {
            json!({
                "title": format!("{title} ({})", t.id()),
                "dataType": "vector",
                "crs": t.crs(),
                "tileMatrixSetURI": t.uri(),
                "links": [
                    link(base.at(&format!("{path}/{}", t.id())), "self", JSON, "the tileset"),
                    link(base.at(&format!("/tileMatrixSets/{}", t.id())), REL_TILING_SCHEME, JSON, t.id()),
                    {"href": base.at(&format!("{path}/{}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", t.id())), "rel": "item",
                     "type": MVT, "templated": true},
                ],
            })
        })
        .collect();
    json!({
        "links": [link(base.at(path), "self", JSON, "the tilesets")],
        "tilesets": sets,
    })
}

pub(super) fn collection_title(c: &CollectionInfo, lang: &str) -> String {
    c.meta
        .title
        .as_ref()
        .map_or(c.id.clone(), |t| t.get(lang).to_owned())
}

pub(super) async fn collection_tilesets(
    base: BaseUrl,
    headers: HeaderMap,
    request: crate::http::extract::InCollection<crate::http::negotiate::JsonOnly>,
) -> Json<Value> {
    let path = format!("/collections/{}/tiles", path_segment(&request.id));
    Json(tilesets_list(
        &base,
        &path,
        &collection_title(request.info(), language(&headers)),
    ))
}

pub(super) async fn collection_tileset(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, tms)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let tms = tms_of(&tms)?;
    let snapshot = state.snapshot();
    let info = AppState::collection(&snapshot, &collection)?;
    let TilesetParams(p) = TilesetParams::from_params(Params::parse(raw.as_deref())?, Some(info))?;
    // A stored query must exist; an inline one must compile (a bad value is a 400 here).
    let q = resolve_query(&state, &collection, p.stored.as_deref(), &p.query)?;
    if let Some(layer) = snapshot.layer(&collection).cloned() {
        let filters = Arc::clone(&state.filters);
        state
            .compute(move |_| {
                crate::query::compile_cached(&layer, &q, &filters)?;
                Ok(())
            })
            .await?;
    }
    let t = Tileset {
        tms,
        title: collection_title(info, language(&headers)),
        path: format!("/collections/{}/tiles", path_segment(&collection)),
        query: kept_query(raw.as_deref()),
        collections: vec![info],
    };
    tileset_response(&t, &base, p.f.as_deref())
}

/// Which collections a dataset request names (all, by default), each once and each known.
pub(super) fn dataset_collections<'s>(
    snapshot: &'s Snapshot,
    asked: &Option<Vec<String>>,
) -> Result<Vec<&'s CollectionInfo>, ApiError> {
    match asked {
        None => Ok(snapshot.collections().iter().collect()),
        Some(ids) if ids.is_empty() => Err(ApiError::parameter(
            "collections",
            "name at least one collection",
        )),
        Some(ids) => {
            let mut out: Vec<&CollectionInfo> = Vec::with_capacity(ids.len());
            for id in ids {
                let c = AppState::collection(snapshot, id)?;
                if out.iter().any(|x| x.id == c.id) {
                    return Err(ApiError::parameter(
                        "collections",
                        format!("{:?} is named twice", shorten(id)),
                    ));
                }
                out.push(c);
            }
            Ok(out)
        }
    }
}

pub(super) async fn dataset_tilesets(
    base: BaseUrl,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Json<Value> {
    Json(tilesets_list(&base, "/tiles", "every collection"))
}

pub(super) async fn dataset_tileset(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(tms): Path<String>,
    RawQuery(raw): RawQuery,
    crate::http::extract::Query(DatasetTilesetParams(p)): crate::http::extract::Query<
        DatasetTilesetParams,
    >,
) -> Result<Response, ApiError> {
    let tms = tms_of(&tms)?;
    let snapshot = state.snapshot();
    let collections = dataset_collections(&snapshot, &p.collections)?;
    let t = Tileset {
        tms,
        title: collections
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        path: "/tiles".into(),
        query: kept_query(raw.as_deref()),
        collections,
    };
    tileset_response(&t, &base, p.f.as_deref())
}

// --- filtered tilesets from a POSTed query ---------------------------------------------------

/// `POST /collections/{id}/tiles`: a query in a JSON body (the members of a features query that
/// apply to tiles: `filter`, `datetime`, `properties`, `property=value`), kept by the server
/// under an id; the answer is its TileJSON (201, with the tileset's URL in `Location`).
pub(super) async fn create_filtered_tileset(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, &collection)?;
    let (query, title) = {
        let (snapshot, collection) = (Arc::clone(&snapshot), collection.clone());
        let filters = Arc::clone(&state.filters);
        let lang = language(&headers);
        state
            .compute(move |_| {
                let info = AppState::collection(&snapshot, &collection)?;
                let (params, _) = params_from_body(&body, info)?;
                let TilesetParams(p) = TilesetParams::from_params(params, Some(info))?;
                if p.f.is_some() || p.stored.is_some() {
                    return Err(ApiError::parameter(
                        "f",
                        "a posted query takes neither f nor query",
                    ));
                }
                // Compiled now, so a query that cannot run is a 400 here, not at every tile.
                let layer = snapshot
                    .layer(&collection)
                    .ok_or_else(|| ApiError::no_such_collection(&collection))?;
                crate::query::compile_cached(layer, &p.query, &filters)?;
                Ok((p.query, collection_title(info, lang)))
            })
            .await?
    };
    resolve_query(&state, &collection, None, &query)?;
    let id = state.tile_queries.store(&collection, query);
    let info = AppState::collection(&snapshot, &collection)?;
    let t = Tileset {
        tms: Tms::WebMercatorQuad,
        title,
        path: format!("/collections/{}/tiles", path_segment(&collection)),
        query: format!("?{}", query_string([("query", id.as_str())])),
        collections: vec![info],
    };
    let location = base.at(&format!("{}/{}{}", t.path, t.tms.id(), t.query));
    let mut res = (StatusCode::CREATED, Json(t.tilejson(&base))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// The query a tile request stands for: a stored one (which must exist, and belong to this
/// collection) or the one in its parameters.
pub(super) fn resolve_query(
    state: &AppState,
    collection: &str,
    stored: Option<&str>,
    inline: &FeatureQuery,
) -> Result<FeatureQuery, ApiError> {
    match stored {
        None => Ok(inline.clone()),
        Some(id) => {
            if *inline != FeatureQuery::default() {
                return Err(ApiError::parameter(
                    "query",
                    "give either query or filter parameters, not both",
                ));
            }
            state.tile_queries.get(collection, id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "no query {:?} is kept for this collection (the server keeps the latest few thousand): POST it again",
                    shorten(id)
                ))
            })
        }
    }
}

// --- tiles -----------------------------------------------------------------------------------
