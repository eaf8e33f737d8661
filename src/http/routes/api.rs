//! `/api`: the OpenAPI 3.0 definition, generated from the loaded collections so that each items
//! path lists its own queryable properties. Every schema is inline: no outside host is named.
//!
//! Each operation's parameters come from the route's own [`RouteParams`] declaration, the list
//! the route parses with and names in its 400s, so the document cannot drift from the server.

use crate::http::problem::TABLE;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::discover::{NearestParams, SearchParams, WhatsHereParams};
use super::export::ExportParams;
use super::items::{ItemParams, ItemsParams};
use super::stats::StatsParams;
use super::tiles::{
    CollectionTileParams, DatasetTileParams, DatasetTilesetParams, TilesetParams, MVT,
};
use crate::export::Format;
use crate::http::error::ApiError;
use crate::http::extract::{NoParams, Query, RouteParams};
use crate::http::links::OPENAPI_JSON;
use crate::http::negotiate::{JsonOnly, JsonOrHtml};
use crate::http::schema;
use crate::http::AppState;
use crate::model::{Crs, FieldType};
use crate::store::CollectionInfo;
use crate::tiles::matrix::Tms;

pub fn router() -> Router<AppState> {
    Router::new().route("/api", get(api))
}

async fn api(
    State(state): State<AppState>,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Response, ApiError> {
    let doc = definition(
        state.snapshot().collections(),
        state.store.editor().is_some(),
    );
    let mut res = doc.to_string().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_JSON));
    Ok(res)
}

/// The problem body, with the whole problem contract: every code (an enum), and in
/// `x-problems` each one's usual status and its English and Chinese titles.
fn problem_schema() -> Value {
    let codes: Vec<&str> = TABLE.iter().map(|e| e.code).collect();
    let problems: Vec<Value> = TABLE
        .iter()
        .map(|e| json!({"code": e.code, "status": e.status.as_u16(), "title": e.title_en, "title_zh": e.title_zh}))
        .collect();
    json!({
        "type": "object",
        "x-problems": problems,
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "enum": codes, "description": "stable, for machines; the type URN ends with it"},
            "parameter": {"type": "string"},
            "position": {"type": "integer", "minimum": 0, "description": "for a filter, the 0-based character where the problem is"}
        }
    })
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn link_schema() -> Value {
    json!({
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"}, "rel": {"type": "string"},
            "type": {"type": "string"}, "title": {"type": "string"}
        }
    })
}

fn json_ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": problem("a malformed or unknown parameter")
    })
}

fn geometry_schema() -> Value {
    json!({"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}, "nullable": true})
}

fn feature_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": geometry_schema(),
            "properties": {"type": "object", "nullable": true},
            "links": {"type": "array", "items": link_schema()}
        }
    })
}

/// The query parameters of the route `P`: its own list, then (if it takes them) `property=value`
/// on each queryable of `c` that no parameter shadows.
fn parameters<P: RouteParams>(c: Option<&CollectionInfo>) -> Vec<Value> {
    let specs = P::specs();
    let mut out: Vec<Value> = specs
        .iter()
        .filter(|s| (s.documented_for)(c))
        .map(|s| s.doc(c))
        .collect();
    if let (true, Some(c)) = (P::takes_queryables(), c) {
        out.extend(
            c.fields
                .iter()
                .filter(|f| f.ty != FieldType::Json && !specs.iter().any(|s| s.name == f.name))
                .map(|f| property_param(&f.name, f.ty)),
        );
    }
    out
}

/// The schema of a property filter parameter, from the column type.
fn property_param(name: &str, ty: FieldType) -> Value {
    let description = if ty == FieldType::StringArray {
        format!("features whose {name} contains this value")
    } else {
        format!("features whose {name} equals this value")
    };
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": schema::property_value(ty), "style": "form", "explode": false})
}

/// The JSON body of a query sent by POST (`…/search`, `…/stats`): the route's parameters as
/// members with their types, each queryable property for equality, nothing else.
fn query_body<P: RouteParams>(c: &CollectionInfo) -> Value {
    let mut members = Map::new();
    for spec in P::specs().iter().filter(|s| (s.documented_for)(Some(c))) {
        let schema = match spec.name {
            "bbox" => schema::bbox_member(),
            "filter" => {
                json!({"oneOf": [schema::non_blank(), {"type": "object"}, {"type": "boolean"}]})
            }
            _ => (spec.schema)(Some(c)),
        };
        members.insert(spec.name.to_owned(), schema);
    }
    for f in c.fields.iter().filter(|f| f.ty != FieldType::Json) {
        members
            .entry(f.name.clone())
            .or_insert_with(|| schema::property_value(f.ty));
    }
    json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "properties": members, "additionalProperties": false,
        "description": "the query parameters as members; filter may be a CQL2 JSON object"}}}})
}

fn feature_collection_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": feature_schema()},
            "links": {"type": "array", "items": {"type": "object"}},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string"}
        }
    })
}

/// GeoJSON, or with `f=json` the same document as plain JSON.
fn geojson_or_json_ok(description: &str) -> Value {
    json!({"description": description, "content": {
        "application/geo+json": {"schema": feature_collection_schema()},
        "application/json": {"schema": feature_collection_schema()}}})
}

fn geojson_ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/geo+json": {"schema": feature_collection_schema()}}})
}

/// A binary body in each of `formats`.
fn file_content(formats: &[Format]) -> Value {
    let mut content = Map::new();
    for f in formats {
        let schema = match f {
            Format::GeoJson => feature_collection_schema(),
            _ => json!({"type": "string", "format": "binary"}),
        };
        content.insert(f.media_type().to_owned(), json!({ "schema": schema }));
    }
    Value::Object(content)
}

fn busy() -> Value {
    problem("too many expensive requests at once (see Retry-After), or the request took too long")
}

/// The paths that each collection has besides items: queryables, stats, nearest, POST search.
fn collection_extras(c: &CollectionInfo, paths: &mut Map<String, Value>) {
    let base = format!("/collections/{}", c.id);
    paths.insert(format!("{base}/queryables"), json!({"get": {"summary": format!("the queryables of {}", c.id), "operationId": format!("getQueryables_{}", c.id), "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(Some(c)),
        "responses": {"200": {"description": "a JSON Schema of the queryable properties", "content": {"application/schema+json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}}}));
    let stats_ok = json!({"description": "counts and sums per group and in total", "content": {"application/json": {"schema": {"type": "object", "required": ["total", "groups"]}}}});
    paths.insert(format!("{base}/stats"), json!({
        "get": {"summary": format!("statistics of {}", c.id), "operationId": format!("getStats_{}", c.id), "tags": ["Data"], "parameters": parameters::<StatsParams>(Some(c)),
                "responses": {"200": stats_ok.clone(), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection"), "503": busy()}},
        "post": {"summary": format!("statistics of {} (parameters in the body)", c.id), "operationId": format!("postStats_{}", c.id), "tags": ["Data"], "requestBody": query_body::<StatsParams>(c),
                "responses": {"200": stats_ok, "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}
    }));
    let match_body = json!({"type": "object", "additionalProperties": false, "properties": {
        "criteria": {"type": "object", "description": "per property: {min, max, margin} for numbers and dates, {in: [...]} for text and lists, {equals} for booleans",
                     "additionalProperties": {"type": "object"}},
        "area": {"type": "object", "description": "a GeoJSON Polygon or MultiPolygon the feature must intersect"},
        "preferences": {"type": "array", "items": {"type": "object", "description": "one of near, near_feature, close_to, sooner, in; and weight"}},
        "margin": {"type": "number", "minimum": 0, "maximum": 1, "description": "near misses: the fraction of a violated bound allowed (default 0.1)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "nearMissLimit": {"type": "integer", "minimum": 1, "maximum": 1000}}});
    paths.insert(format!("{base}/match"), json!({"post": {"summary": format!("features of {} that meet a requirement, ranked, and the near misses (README § Matching)", c.id), "operationId": format!("postMatch_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": match_body}}},
        "responses": {"200": {"description": "ranked matches and near misses with their reasons", "content": {"application/json": {"schema": {"type": "object", "required": ["numberMatched", "numberNearMisses", "matches", "nearMisses"]}}}},
                      "400": problem("a malformed requirement: the member at fault is in `parameter`"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
    paths.insert(format!("{base}/match/scores"), json!({"post": {"summary": format!("every match and near miss of {} for a requirement, as [id, score] pairs, for a map that colours them all (README § Matching)", c.id), "operationId": format!("postMatchScores_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": match_body}}},
        "responses": {"200": {"description": "[id, score] of every match and near miss (the best 250,000 of each; `complete` says whether that was all)", "content": {"application/json": {"schema": {"type": "object", "required": ["numberMatched", "numberNearMisses", "complete", "matches", "nearMisses"]}}}},
                      "400": problem("a malformed requirement: the member at fault is in `parameter`"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
    paths.insert(format!("{base}/compare"), json!({"post": {"summary": format!("two to four features of {} side by side, with a requirement's criteria met or not", c.id), "operationId": format!("postCompare_{}", c.id), "tags": ["Data"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["ids"], "additionalProperties": false, "properties": {
            "ids": {"type": "array", "minItems": 2, "maxItems": 4, "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
            "requirement": {"type": "object", "description": "as for match"}}}}}},
        "responses": {"200": {"description": "per property its values and whether they differ; per criterion, met and by per feature", "content": {"application/json": {"schema": {"type": "object", "required": ["ids", "properties"]}}}},
                      "400": problem("a malformed body, or an id the collection lacks"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
    paths.insert(format!("{base}/nearest"), json!({"get": {"summary": format!("the features of {} nearest to a point, with geodesic distances", c.id), "operationId": format!("getNearest_{}", c.id), "tags": ["Data"],
        "parameters": parameters::<NearestParams>(Some(c)),
        "responses": {"200": geojson_ok("the nearest features, nearest first"), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection"), "503": busy()}}}));
    paths.insert(format!("{base}/search"), json!({"post": {"summary": format!("query {} with the parameters in a JSON body (large geometries)", c.id), "operationId": format!("postSearch_{}", c.id), "tags": ["Data"],
        "requestBody": query_body::<ItemsParams>(c),
        "responses": {"200": geojson_or_json_ok("a page of features (f=json: the same document as plain JSON)"), "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
}

/// The path parameters of a tile.
fn tile_path_parameters() -> Vec<Value> {
    ["tileMatrix", "tileRow", "tileCol"]
        .iter()
        .map(|n| {
            json!({"name": n, "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0},
                   "description": match *n { "tileMatrix" => "the zoom (0 to 24)", "tileRow" => "the row, from the north", _ => "the column, from the west" }})
        })
        .collect()
}

fn tile_responses() -> Value {
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

fn tileset_ok() -> Value {
    json!({"description": "the tileset: OGC tileset metadata, or TileJSON 3.0 with f=tilejson",
           "content": {"application/json": {"schema": {"type": "object"}}}})
}

/// The vector tile paths of one collection.
fn collection_tiles(c: &CollectionInfo, paths: &mut Map<String, Value>) {
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
fn dataset_tiles(paths: &mut Map<String, Value>) {
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

fn items_path(c: &CollectionInfo) -> Value {
    let parameters = parameters::<ItemsParams>(Some(c));
    let collection = feature_collection_schema();
    json!({"get": {
        "summary": format!("the features of {}", c.id),
        "operationId": format!("getItems_{}", c.id),
        "tags": ["Data"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "a page of features",
                    "content": {"application/geo+json": {"schema": collection.clone()}, "application/json": {"schema": collection}}},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such collection"),
            "503": busy()
        }
    }})
}

fn item_path(c: &CollectionInfo) -> Value {
    json!({"get": {
        "summary": format!("one feature of {}", c.id),
        "operationId": format!("getItem_{}", c.id),
        "tags": ["Data"],
        "parameters": std::iter::once(json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id}))
            .chain(parameters::<ItemParams>(Some(c)))
            .collect::<Vec<_>>(),
        "responses": {
            "200": {"description": "the feature",
                    "content": {"application/geo+json": {"schema": feature_schema()}, "application/json": {"schema": feature_schema()}}},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such feature")
        }
    }})
}

/// The answers every edit may get besides its success.
fn edit_errors() -> Value {
    json!({
        "400": problem("a body that is not a valid feature of this collection (a type, a vocabulary term, a geometry, a derived or unknown property), or a malformed header"),
        "401": problem("no API token, or one that is not valid (see WWW-Authenticate)"),
        "403": problem("a token whose role may not edit this collection"),
        "404": problem("no such collection or feature"),
        "405": problem("the collection is read-only, or the server keeps no edits (no --state)"),
        "409": problem("a feature with the body's id exists"),
        "412": problem("the feature changed since the version in If-Match or If-Unmodified-Since"),
        "413": problem("body too large"),
        "415": problem("a body that is not GeoJSON (or a merge patch)"),
        "428": problem("an edit of an existing feature without If-Match or If-Unmodified-Since"),
        "503": problem("the edit could not be stored; nothing changed")
    })
}

/// Part 4 on a collection's items and one item, and the history of an item.
fn edit_operations(c: &CollectionInfo, items: &mut Value, item: &mut Value) -> Value {
    let feature_body = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        json!({"required": true, "content": content})
    };
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}});
    let id = json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id});
    let crs = header(
        "Content-Crs",
        "the CRS of the body's geometry, as <URI> (default CRS84)",
    );
    let preconditions = [
        header("If-Match", "the feature's ETag, from GET"),
        header("If-Unmodified-Since", "an HTTP date"),
    ];
    let with = |base: Value, extra: Value| {
        let mut r = edit_errors();
        if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        let mut op = base;
        op["responses"] = r;
        op["tags"] = json!(["Edit"]);
        op["security"] = json!([{"bearer": []}]);
        op
    };
    let feature_ok = json!({"description": "the feature as stored", "headers": {"ETag": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}});
    items["post"] = with(
        json!({"summary": format!("add a feature to {}", c.id), "operationId": format!("createItem_{}", c.id), "parameters": [crs.clone(), header("Idempotency-Key", "a key of the client's choosing (a UUID): a retry with the same key and body answers the first result instead of creating a second feature")], "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"201": {"description": "created (or, for a repeated Idempotency-Key, created before)", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}},
               "409": problem("a feature with that id exists, or a request with this Idempotency-Key is in progress"),
               "422": problem("this Idempotency-Key was used for a different body")}),
    );
    items["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItems_{}", c.id), "tags": ["Edit"], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such collection")}});
    let with_id = |mut extra: Vec<Value>| {
        let mut v = vec![id.clone()];
        v.append(&mut extra);
        v
    };
    item["put"] = with(
        json!({"summary": format!("replace a feature of {}", c.id), "operationId": format!("replaceItem_{}", c.id), "parameters": with_id(vec![crs.clone(), preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"200": feature_ok.clone()}),
    );
    item["patch"] = with(
        json!({"summary": format!("change part of a feature of {} (JSON Merge Patch)", c.id), "operationId": format!("updateItem_{}", c.id), "parameters": with_id(vec![crs, preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/merge-patch+json", "application/json", "application/geo+json"])}),
        json!({"200": feature_ok}),
    );
    item["delete"] = with(
        json!({"summary": format!("delete a feature of {}", c.id), "operationId": format!("deleteItem_{}", c.id), "parameters": with_id(vec![preconditions[0].clone(), preconditions[1].clone()])}),
        json!({"204": {"description": "deleted"}}),
    );
    item["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItem_{}", c.id), "tags": ["Edit"], "parameters": [id.clone()], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such feature")}});
    json!({"get": {"summary": format!("every change of a feature of {}, oldest first", c.id), "operationId": format!("itemHistory_{}", c.id), "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": std::iter::once(id).chain(parameters::<super::edit::ChangesParams>(None)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "the changes", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token"), "404": problem("no such feature, now or ever")}}})
}

/// Builds the whole OpenAPI document for the loaded collections.
pub fn definition(collections: &[CollectionInfo], edits: bool) -> Value {
    let any_object = json!({"type": "object"});
    let mut paths = Map::new();
    paths.insert("/".into(), json!({"get": {"summary": "landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOrHtml>(None),
        "responses": {
            "200": {"description": "the landing page", "content": {
                "application/json": {"schema": {"type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": link_schema()}}}},
                "text/html": {"schema": {"type": "string"}}}},
            "400": problem("a malformed or unknown parameter")}}}));
    paths.insert("/conformance".into(), json!({"get": {"summary": "conformance classes", "operationId": "getConformance", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the conformance classes", json!({"type": "object", "required": ["conformsTo"], "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}}))}}));
    paths.insert("/api".into(), json!({"get": {"summary": "this API definition", "operationId": "getApi", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": {"200": {"description": "the OpenAPI document", "content": {OPENAPI_JSON: {"schema": any_object}}},
                      "400": problem("a malformed or unknown parameter")}}}));
    paths.insert("/collections".into(), json!({"get": {"summary": "the collections", "operationId": "getCollections", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the collections", json!({"type": "object", "required": ["links", "collections"],
            "properties": {"links": {"type": "array", "items": link_schema()}, "collections": {"type": "array", "items": any_object}}}))}}));
    paths.insert("/health".into(), json!({"get": {"summary": "liveness and counts", "operationId": "getHealth", "tags": ["Operations"],
        "parameters": parameters::<NoParams>(None),
        "responses": {"200": {"description": "the server is up", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}, "collections": {"type": "integer"}, "features": {"type": "integer"}}}}}}}}}));
    paths.insert("/metrics".into(), json!({"get": {"summary": "metrics for Prometheus (OpenMetrics text)", "operationId": "getMetrics", "tags": ["Operations"],
        "parameters": parameters::<NoParams>(None),
        "responses": {"200": {"description": "requests, latency, data version, replica lag, store and cache figures", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}}}}));
    paths.insert("/vocabularies".into(), json!({"get": {"summary": "controlled vocabularies", "operationId": "getVocabularies", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the vocabularies", any_object.clone())}}));
    for c in collections {
        let base = format!("/collections/{}", c.id);
        paths.insert(base.clone(), json!({"get": {"summary": format!("the collection {}", c.id), "operationId": format!("describeCollection_{}", c.id), "tags": ["Capabilities"],
            "parameters": parameters::<JsonOnly>(None),
            "responses": json_ok("the collection", json!({"type": "object", "required": ["id", "links"], "properties": {"id": {"type": "string"}, "links": {"type": "array", "items": link_schema()}}}))}}));
        let (mut items, mut item) = (items_path(c), item_path(c));
        // Edits are documented where they can happen: an editable collection of a server that
        // keeps a state store.
        if edits && c.meta.editable {
            let history = edit_operations(c, &mut items, &mut item);
            paths.insert(format!("{base}/items/{{featureId}}/history"), history);
        }
        paths.insert(format!("{base}/items"), items);
        paths.insert(format!("{base}/items/{{featureId}}"), item);
        paths.insert(format!("{base}/export"), export_path(c));
        collection_extras(c, &mut paths);
        collection_tiles(c, &mut paths);
    }
    dataset_tiles(&mut paths);
    paths.insert("/export".into(), area_export_path(collections));
    paths.insert("/search".into(), json!({"get": {"summary": "features by name (Chinese or English), exact before prefix before substring before close spellings; numberMatched counts every match", "operationId": "searchNames", "tags": ["Data"],
        "parameters": parameters::<SearchParams>(None),
        "responses": {"200": geojson_ok("matching features with their collection and match kind"), "400": problem("a malformed parameter"), "404": problem("no such collection"), "503": busy()}}}));
    paths.insert("/whats-here".into(), json!({"get": {"summary": "every feature of every layer at a point", "operationId": "whatsHere", "tags": ["Data"],
        "parameters": parameters::<WhatsHereParams>(None),
        "responses": {"200": geojson_ok("the features at the point, top-most layer first"), "400": problem("a malformed parameter"), "503": busy()}}}));
    let basemap_params: Vec<Value> = ["basemapId", "z", "x", "y"]
        .iter()
        .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
        .chain(parameters::<NoParams>(None))
        .collect();
    if edits {
        paths.insert("/changes".into(), json!({"get": {"summary": "the change feed: every change after `since`, oldest first", "operationId": "getChanges", "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": parameters::<super::edit::ChangesParams>(None),
        "responses": {"200": {"description": "the changes and a next link", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token")}}}));
    }
    paths.insert("/map-config".into(), json!({"get": {"summary": "what the web map shows besides the data: basemaps, review number, attribution", "operationId": "getMapConfig", "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(None),
        "responses": json_ok("the map settings", any_object.clone())}}));
    paths.insert("/basemaps/{basemapId}/{z}/{x}/{y}".into(), json!({"get": {"summary": "a tile of a local basemap file (MBTiles) the operator configured", "operationId": "getBasemapTile", "tags": ["Tiles"],
        "parameters": basemap_params,
        "responses": {"200": {"description": "the tile (an image, or a vector tile)", "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/vnd.mapbox-vector-tile": {}}},
                      "204": {"description": "the file has no tile here"}, "304": {"description": "not modified"},
                      "400": problem("a malformed parameter"), "404": problem("no such basemap or tile position")}}}));
    paths.insert("/vocabularies/{vocabularyId}".into(), json!({"get": {"summary": "one vocabulary", "operationId": "getVocabulary", "tags": ["Capabilities"],
        "parameters": std::iter::once(json!({"name": "vocabularyId", "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(parameters::<JsonOnly>(None))
            .collect::<Vec<_>>(),
        "responses": {"200": {"description": "the terms", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": problem("a malformed parameter"), "404": problem("no such vocabulary")}}}));

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "etown-atlas",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API - Features for Beijing E-Town's industrial space (schematic data). Limits: limit ≤ 10000 per page.",
            "license": {"name": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Tiles"}, {"name": "Edit"}, {"name": "Operations"}],
        "paths": paths,
        "components": {"schemas": {"Problem": problem_schema()}, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an API token made with `etown-atlas token create`"}}},
    })
}
