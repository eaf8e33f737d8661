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

mod doc;
mod matrix_sets;
mod params;
mod tile;
mod tilesets;

use axum::routing::get;
use axum::Router;

use crate::http::AppState;

pub const MVT: &str = "application/vnd.mapbox-vector-tile";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";

/// The conformance classes of this module.
const CLASSES: &[&str] = &[
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

/// OGC API - Tiles, its tiling schemes and TileJSON.
pub const CONTRACT: super::Contract = super::Contract {
    router,
    describe: doc::operations,
    classes: |_| CLASSES,
};

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

use matrix_sets::*;
pub use params::*;
use tile::*;
use tilesets::*;
