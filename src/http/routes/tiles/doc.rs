//! The OpenAPI operations of the tile routes.

use serde_json::{json, Value};

use super::{CollectionTileParams, DatasetTileParams, DatasetTilesetParams, TilesetParams, MVT};
use crate::http::negotiate::JsonOnly;
use crate::http::routes::openapi::*;
use crate::store::CollectionInfo;
use crate::tiles::matrix::Tms;

/// Every collection's tile paths, the tiling schemes and the dataset's tiles.
pub(super) fn operations(doc: &Doc, paths: &mut Paths) {
    for c in doc.collections {
        collection_tiles(c, paths);
    }
    dataset_tiles(paths);
}

/// The path parameters of a tile.
pub(super) fn tile_path_parameters() -> Vec<Value> {
    ["tileMatrix", "tileRow", "tileCol"]
        .iter()
        .map(|n| {
            json!({"name": n, "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0},
                   "description": match *n { "tileMatrix" => "the zoom (0 to 24)", "tileRow" => "the row, from the north", _ => "the column, from the west" }})
        })
        .collect()
}

pub(super) fn tile_responses() -> Value {
    json!({
        "200": {"description": "the tile (`X-Tile-Complete: false` and its tile_info layer say when it holds cells or dropped small features)",
                "content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
        "204": {"description": "nothing in this tile matches"},
        "304": {"description": "the tile is unchanged (If-None-Match)"},
        "400": problem("a malformed or unknown parameter"),
        "404": problem("no such collection, tile, or zoom of this collection"),
        "503": busy()
    })
}

pub(super) fn tileset_ok() -> Value {
    json!({"description": "the tileset: OGC tileset metadata, or TileJSON 3.0 with f=tilejson",
           "content": {"application/json": {"schema": {"type": "object"}}}})
}

/// The vector tile paths of one collection.
pub(super) fn collection_tiles(c: &CollectionInfo, paths: &mut Paths) {
    let base = format!("/collections/{}/tiles", c.id);
    paths.insert(base.clone(), json!({
        "get": {"summary": format!("the tilesets of {}", c.id), "operationId": format!("getTilesets_{}", c.id), "tags": ["Tiles"],
                "parameters": parameters::<JsonOnly>(Some(c)),
                "responses": {"200": {"description": "the tilesets", "content": {"application/json": {"schema": {"type": "object"}}}},
                              "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}},
        "post": {"summary": format!("a filtered tileset of {}: the query kept by the server, its TileJSON answered", c.id),
                 "operationId": format!("postTileset_{}", c.id), "tags": ["Tiles"], "requestBody": query_body::<TilesetParams>(c),
                 "responses": {"201": {"description": "the TileJSON of the filtered tileset (Location: its URL)", "content": {"application/json": {"schema": {"type": "object"}}}},
                               "400": problem("a malformed parameter"), "404": problem("no such collection"),
                               "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}
    }));
    for tms in Tms::ALL {
        let t = tms.id();
        paths.insert(format!("{base}/{t}"), json!({"get": {
            "summary": format!("the {t} tileset of {}", c.id), "operationId": format!("getTileset_{t}_{}", c.id), "tags": ["Tiles"],
            "parameters": parameters::<TilesetParams>(Some(c)),
            "responses": {"200": tileset_ok(), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection or kept query")}}}));
        let mut params = tile_path_parameters();
        params.extend(parameters::<CollectionTileParams>(Some(c)));
        paths.insert(format!("{base}/{t}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"), json!({"get": {
            "summary": format!("a vector tile of {} in {t}", c.id), "operationId": format!("getTile_{t}_{}", c.id), "tags": ["Tiles"],
            "parameters": params, "responses": tile_responses()}}));
    }
}

/// The tiling scheme and the dataset's tiles.
pub(super) fn dataset_tiles(paths: &mut Paths) {
    let any = json!({"description": "the document", "content": {"application/json": {"schema": {"type": "object"}}}});
    paths.insert("/tileMatrixSets".into(), json!({"get": {"summary": "the tiling schemes", "operationId": "getTileMatrixSets", "tags": ["Tiles"],
        "parameters": parameters::<JsonOnly>(None), "responses": {"200": any.clone(), "400": problem("a malformed or unknown parameter")}}}));
    for tms in Tms::ALL {
        let t = tms.id();
        paths.insert(format!("/tileMatrixSets/{t}"), json!({"get": {"summary": format!("the {t} tile matrix set"), "operationId": format!("getTileMatrixSet_{t}"), "tags": ["Tiles"],
            "parameters": parameters::<JsonOnly>(None), "responses": {"200": any.clone(), "400": problem("a malformed or unknown parameter")}}}));
    }
    paths.insert("/tiles".into(), json!({"get": {"summary": "the tilesets of every collection together", "operationId": "getDatasetTilesets", "tags": ["Tiles"],
        "parameters": parameters::<JsonOnly>(None), "responses": {"200": any, "400": problem("a malformed or unknown parameter")}}}));
    for tms in Tms::ALL {
        let t = tms.id();
        paths.insert(format!("/tiles/{t}"), json!({"get": {"summary": format!("the {t} tileset of several collections"), "operationId": format!("getDatasetTileset_{t}"), "tags": ["Tiles"],
            "parameters": parameters::<DatasetTilesetParams>(None),
            "responses": {"200": tileset_ok(), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}}}));
        let mut params = tile_path_parameters();
        params.extend(parameters::<DatasetTileParams>(None));
        paths.insert(format!("/tiles/{t}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"), json!({"get": {
            "summary": format!("a vector tile of several collections (a layer each) in {t}"), "operationId": format!("getDatasetTile_{t}"), "tags": ["Tiles"],
            "parameters": params, "responses": tile_responses()}}));
    }
}
