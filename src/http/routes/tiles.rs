//! OGC API - Tiles (Part 1: core, tileset, tilesets-list, geodata-tilesets, dataset-tilesets,
//! collections-selection, mvt) in WebMercatorQuad, and TileJSON 3.0 for MapLibre.
//!
//! | path | what |
//! | --- | --- |
//! | `/tileMatrixSets`, `/tileMatrixSets/WebMercatorQuad` | the tiling scheme |
//! | `/collections/{id}/tiles` | the collection's tilesets; POST a query to make a filtered one |
//! | `/collections/{id}/tiles/WebMercatorQuad` | its tileset (`f=tilejson` for TileJSON) |
//! | `/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}` | one tile, with the same filter parameters as items |
//! | `/tiles`, `/tiles/WebMercatorQuad`, `/tiles/WebMercatorQuad/{z}/{y}/{x}` | every collection (or `collections=a,b`) in one tile |
//!
//! A tile is 404 outside the matrix or the layer's zooms, 204 when nothing in it matches, else
//! an MVT with a strong ETag and `X-Tile-Complete` (see `tiles` for what an incomplete tile
//! holds). Tiles are kept in the tile cache, which edits invalidate tile by tile.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::http::body::require_json;
use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::links::{link, path_segment, query_string, BaseUrl, JSON};
use crate::http::negotiate::content_etag;
use crate::http::params::{always, shorten, ParamSpec, Params};
use crate::http::query_params::{feature_query_except, params_from_body, parse_feature_query};
use crate::http::tile_cache::CachedTile;
use crate::http::{language, AppState};
use crate::model::FieldType;
use crate::query::{compile_cached, FeatureQuery};
use crate::store::{CollectionInfo, Snapshot};
use crate::tiles::matrix::{TileId, Tms, HALF_WORLD, MAX_ZOOM};
use crate::tiles::{self, layer_tile, TileLimits, INFO_LAYER};

pub const MVT: &str = "application/vnd.mapbox-vector-tile";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";

/// The conformance classes of this module.
pub const CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/collections-selection",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tileMatrixSets", get(matrix_sets))
        .route("/tileMatrixSets/{tms}", get(matrix_set))
        .route(
            "/collections/{collection}/tiles",
            get(collection_tilesets).post(create_filtered_tileset),
        )
        .route(
            "/collections/{collection}/tiles/{tms}",
            get(collection_tileset),
        )
        .route(
            "/collections/{collection}/tiles/{tms}/{z}/{y}/{x}",
            get(collection_tile),
        )
        .route("/tiles", get(dataset_tilesets))
        .route("/tiles/{tms}", get(dataset_tileset))
        .route("/tiles/{tms}/{z}/{y}/{x}", get(dataset_tile))
}

// --- parameters ------------------------------------------------------------------------------

static F_TILESET: ParamSpec = ParamSpec {
    name: "f",
    description:
        "json (OGC tileset metadata, the default) or tilejson (TileJSON 3.0, for MapLibre)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["json", "tilejson"]}),
    documented_for: always,
};
static F_TILE: ParamSpec = ParamSpec {
    name: "f",
    description: "mvt (the only tile format)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["mvt"]}),
    documented_for: always,
};
static QUERY: ParamSpec = ParamSpec {
    name: "query",
    description:
        "the id of a query POSTed to /collections/{id}/tiles (a filter too large for a URL)",
    required: false,
    schema: |_| json!({"type": "string", "pattern": "^[0-9a-f]{16}$"}),
    documented_for: always,
};
static COLLECTIONS: ParamSpec = ParamSpec {
    name: "collections",
    description: "the collections in the tiles, bottom first (default: every collection)",
    required: false,
    schema: |_| json!({"type": "array", "items": {"type": "string"}}),
    documented_for: always,
};

/// What a filtered tile is asked with: the features-query parameters that mean something for
/// a tile (not paging, sorting or a box: the tile is the box).
const NOT_FOR_TILES: &[&str] = &["bbox", "bbox-crs", "limit", "offset", "sortby"];

/// The parameters of a collection's tileset or tile.
pub struct TileParams {
    f: Option<String>,
    stored: Option<String>,
    query: FeatureQuery,
}

impl TileParams {
    fn specs_with(f: &'static ParamSpec) -> Vec<&'static ParamSpec> {
        [f, &QUERY]
            .into_iter()
            .chain(feature_query_except(NOT_FOR_TILES))
            .collect()
    }

    fn parse_with(
        params: &mut Params,
        c: Option<&CollectionInfo>,
        specs: &[&ParamSpec],
    ) -> Result<Self, ApiError> {
        let f = params.take("f");
        let stored = params.take("query");
        for p in NOT_FOR_TILES {
            if params.take(p).is_some() {
                return Err(ApiError::parameter(
                    p,
                    format!("{p} does not apply to tiles (the tile is the box)"),
                ));
            }
        }
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let query = parse_feature_query(params, c, specs)?;
        Ok(TileParams { f, stored, query })
    }
}

/// A collection's tileset metadata.
pub struct TilesetParams(TileParams);

impl RouteParams for TilesetParams {
    fn specs() -> Vec<&'static ParamSpec> {
        TileParams::specs_with(&F_TILESET)
    }
    fn takes_queryables() -> bool {
        true
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        TileParams::parse_with(params, c, &Self::specs()).map(TilesetParams)
    }
}

/// A collection's tile.
pub struct CollectionTileParams(TileParams);

impl RouteParams for CollectionTileParams {
    fn specs() -> Vec<&'static ParamSpec> {
        TileParams::specs_with(&F_TILE)
    }
    fn takes_queryables() -> bool {
        true
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        TileParams::parse_with(params, c, &Self::specs()).map(CollectionTileParams)
    }
}

/// The dataset's tileset or tile: which collections.
pub struct DatasetParams {
    f: Option<String>,
    collections: Option<Vec<String>>,
}

impl DatasetParams {
    fn parse_with(params: &mut Params) -> Self {
        let f = params.take("f");
        let collections = params.take("collections").map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        DatasetParams { f, collections }
    }
}

pub struct DatasetTilesetParams(DatasetParams);

impl RouteParams for DatasetTilesetParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_TILESET, &COLLECTIONS]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        Ok(DatasetTilesetParams(DatasetParams::parse_with(params)))
    }
}

pub struct DatasetTileParams(DatasetParams);

impl RouteParams for DatasetTileParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_TILE, &COLLECTIONS]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        Ok(DatasetTileParams(DatasetParams::parse_with(params)))
    }
}

/// The tile matrix set a path names.
fn tms_of(id: &str) -> Result<Tms, ApiError> {
    Tms::parse(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "there is no tile matrix set {:?}; tiles are in WebMercatorQuad and WorldCRS84Quad",
            shorten(id)
        ))
    })
}

// --- the tiling scheme -----------------------------------------------------------------------

/// A tile matrix set in TMS 2.0 JSON, with the TMS 1.0 members beside it (`type`,
/// `identifier`, `supportedCRS`, `boundingBox`, `tileMatrix`): GDAL 3.6 (Debian 12's) reads only
/// 1.0, and without them cannot open a collection that has tiles at all.
fn matrix_set_json(tms: Tms) -> Value {
    // Scale denominators and cell sizes at zoom 0 (OGC 17-083r4, annexes D.1 and D.2), the
    // origin, and the world's corners.
    let (scale0, cell0, origin, lower, upper, title, scale_set) = match tms {
        Tms::WebMercatorQuad => (
            559_082_264.028_717_8,
            156_543.033_928_040_97,
            [-HALF_WORLD, HALF_WORLD],
            [-HALF_WORLD, -HALF_WORLD],
            [HALF_WORLD, HALF_WORLD],
            "Google Maps Compatible for the World",
            "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        ),
        Tms::WorldCrs84Quad => (
            279_541_132.014_358_76,
            0.703_125,
            [-180.0, 90.0],
            [-180.0, -90.0],
            [180.0, 90.0],
            "CRS84 for the World",
            "http://www.opengis.net/def/wkss/OGC/1.0/GoogleCRS84Quad",
        ),
    };
    let each = |z: u8, v1: bool| {
        let n = f64::from(1u32 << z);
        let mut m = json!({
            "scaleDenominator": scale0 / n,
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": tms.columns(z),
            "matrixHeight": tms.rows(z),
        });
        if v1 {
            m["type"] = json!("TileMatrixType");
            m["identifier"] = json!(z.to_string());
            m["topLeftCorner"] = json!(origin);
        } else {
            m["id"] = json!(z.to_string());
            m["cellSize"] = json!(cell0 / n);
            m["cornerOfOrigin"] = json!("topLeft");
            m["pointOfOrigin"] = json!(origin);
        }
        m
    };
    let axes = match tms {
        Tms::WebMercatorQuad => json!(["X", "Y"]),
        Tms::WorldCrs84Quad => json!(["Lon", "Lat"]),
    };
    json!({
        "id": tms.id(),
        "title": title,
        "uri": tms.uri(),
        "crs": tms.crs(),
        "orderedAxes": axes,
        "wellKnownScaleSet": scale_set,
        "tileMatrices": (0..=MAX_ZOOM).map(|z| each(z, false)).collect::<Vec<_>>(),
        "type": "TileMatrixSetType",
        "identifier": tms.id(),
        "supportedCRS": tms.crs(),
        "boundingBox": {"type": "BoundingBoxType", "crs": tms.crs(), "lowerCorner": lower, "upperCorner": upper},
        "tileMatrix": (0..=MAX_ZOOM).map(|z| each(z, true)).collect::<Vec<_>>(),
    })
}

async fn matrix_sets(
    base: BaseUrl,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Json<Value> {
    let sets: Vec<Value> = Tms::ALL
        .iter()
        .map(|t| {
            json!({"id": t.id(), "uri": t.uri(),
                   "links": [link(base.at(&format!("/tileMatrixSets/{}", t.id())), "self", JSON, t.id())]})
        })
        .collect();
    Json(json!({
        "tileMatrixSets": sets,
        "links": [link(base.at("/tileMatrixSets"), "self", JSON, "the tiling schemes")],
    }))
}

async fn matrix_set(
    Path(tms): Path<String>,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(matrix_set_json(tms_of(&tms)?)))
}

// --- tilesets --------------------------------------------------------------------------------

/// A collection's tile zooms.
fn zooms(c: &CollectionInfo) -> (u8, u8) {
    let t = c.meta.tiles;
    (
        t.minzoom.min(MAX_ZOOM),
        t.maxzoom.clamp(t.minzoom, MAX_ZOOM),
    )
}

/// The JSON Schema type name TileJSON uses for a field.
fn tilejson_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer | FieldType::Number => "Number",
        FieldType::Boolean => "Boolean",
        _ => "String",
    }
}

/// The MVT layers of a collection, as TileJSON lists them.
fn vector_layers(c: &CollectionInfo) -> Vec<Value> {
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
fn info_vector_layer() -> Value {
    json!({"id": INFO_LAYER, "fields": {"collection": "String", "matched": "Number", "drawn": "Number",
           "too_small": "Number", "aggregated": "Boolean", "complete": "Boolean"},
           "description": "what each tile holds: matches, features drawn, those under a tile unit left out, whether complete"})
}

/// A tileset's query string for its tile links: the request's own parameters but `f`.
fn kept_query(raw: Option<&str>) -> String {
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
fn limits(tms: Tms, extent: Option<[f64; 4]>, minzoom: u8, maxzoom: u8) -> Vec<Value> {
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
fn union_extent<'a>(cs: impl Iterator<Item = &'a CollectionInfo>) -> Option<[f64; 4]> {
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
struct Tileset<'a> {
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
fn tileset_response(t: &Tileset, base: &BaseUrl, f: Option<&str>) -> Result<Response, ApiError> {
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
fn tilesets_list(base: &BaseUrl, path: &str, title: &str) -> Value {
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

fn collection_title(c: &CollectionInfo, lang: &str) -> String {
    c.meta
        .title
        .as_ref()
        .map_or(c.id.clone(), |t| t.get(lang).to_owned())
}

async fn collection_tilesets(
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

async fn collection_tileset(
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
fn dataset_collections<'s>(
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

async fn dataset_tilesets(
    base: BaseUrl,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Json<Value> {
    Json(tilesets_list(&base, "/tiles", "every collection"))
}

async fn dataset_tileset(
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
async fn create_filtered_tileset(
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
fn resolve_query(
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

fn tile_id(tms: &str, z: &str, y: &str, x: &str) -> Result<TileId, ApiError> {
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
fn query_key(q: &FeatureQuery) -> String {
    let mut equals = q.equals.clone();
    equals.sort();
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        q.filter, q.datetime, equals, q.properties
    )
}

/// Builds (or finds in the cache) the tile of `layers` with their queries.
async fn tile(
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
    let cached = state.tiles.get(&key, version, |since, t| {
        ids.iter().any(|id| {
            snapshot.changed_since(id, since, t.lonlat_bounds(crate::tiles::matrix::BUFFER))
        })
    });
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
            state.tiles.insert(key, built.clone());
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

async fn collection_tile(
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
    let CollectionTileParams(p) =
        CollectionTileParams::from_params(Params::parse(raw.as_deref())?, Some(info))?;
    if p.f.as_deref().is_some_and(|f| f != "mvt") {
        return Err(ApiError::parameter("f", "tiles are mvt"));
    }
    let q = resolve_query(&state, &collection, p.stored.as_deref(), &p.query)?;
    let inm = headers.get(header::IF_NONE_MATCH).cloned();
    tile(&state, snapshot, vec![(collection, q)], t, inm).await
}

async fn dataset_tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tms, z, y, x)): Path<(String, String, String, String)>,
    crate::http::extract::Query(DatasetTileParams(p)): crate::http::extract::Query<
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
    tile(&state, snapshot, layers, t, inm).await
}
