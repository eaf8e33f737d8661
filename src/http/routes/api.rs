//! `/api`: the OpenAPI 3.0 definition, generated from the loaded collections so that each items
//! path lists its own queryable properties. Every schema is inline: no outside host is named.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::domain::FieldType;
use crate::export::{Crs, Format};
use crate::http::error::ApiError;
use crate::http::links::OPENAPI_JSON;
use crate::http::negotiate::json_resource;
use crate::http::AppState;
use crate::query::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new().route("/api", get(api))
}

async fn api(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    json_resource(q.as_deref())?;
    let doc = definition(&state.store.collections());
    let mut res = doc.to_string().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENAPI_JSON));
    Ok(res)
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "parameter": {"type": "string"}
        }
    })
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": problem_schema()}}})
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

fn f_param(values: &[&str]) -> Value {
    json!({"name": "f", "in": "query", "required": false, "description": "the representation",
           "schema": {"type": "string", "enum": values}, "style": "form", "explode": false})
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

/// The schema of a property filter parameter, from the column type.
fn property_param(name: &str, ty: FieldType) -> Value {
    let schema = match ty {
        FieldType::StringArray => json!({"type": "string"}),
        other => other.json_schema(),
    };
    let description = if ty == FieldType::StringArray {
        format!("features whose {name} contains this value")
    } else {
        format!("features whose {name} equals this value")
    };
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

const DATETIME_DESCRIPTION: &str =
    "an RFC 3339 date or timestamp, or an interval start/end with '..' for an open end";

/// A string with something besides white space in it (an empty filter or search is refused).
fn non_blank() -> Value {
    json!({"type": "string", "minLength": 1, "pattern": "\\S"})
}

/// The shape of `datetime`: an RFC 3339 date or UTC-offset timestamp, or an interval of them.
fn datetime_schema() -> Value {
    let date = "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])";
    let time = "T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)";
    let instant = format!("{date}({time})?");
    json!({"type": "string", "pattern": format!("^({instant}|({instant}|\\.\\.)/({instant}|\\.\\.))$")})
}

/// A JSON request body that carries query parameters as members (`POST .../search`, `.../stats`):
/// each known parameter with its type, each queryable property for equality, nothing else.
fn query_body(c: &CollectionInfo, paged: bool, extras: &[(&str, Value)]) -> Value {
    let mut members = Map::new();
    let bbox = json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}});
    let number = "\\s*-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?\\s*";
    let bbox_text = format!("^{number}(,{number}){{3}}((,{number}){{2}})?$");
    members.insert(
        "bbox".into(),
        json!({"oneOf": [bbox, {"type": "string", "pattern": bbox_text}]}),
    );
    members.insert(
        "bbox-crs".into(),
        json!({"type": "string", "enum": Crs::SUPPORTED}),
    );
    if paged {
        members.insert(
            "crs".into(),
            json!({"type": "string", "enum": Crs::SUPPORTED}),
        );
        members.insert("limit".into(), json!({"type": "integer", "minimum": 1}));
        members.insert("offset".into(), json!({"type": "integer", "minimum": 0}));
        members.insert("sortby".into(), sortby_schema(c));
        members.insert("properties".into(), properties_schema(c));
    }
    if c.meta.temporal_property.is_some() {
        members.insert("datetime".into(), datetime_schema());
    }
    members.insert(
        "filter".into(),
        json!({"oneOf": [non_blank(), {"type": "object"}, {"type": "boolean"}]}),
    );
    members.insert(
        "filter-lang".into(),
        json!({"type": "string", "enum": ["cql2-text", "cql2-json"]}),
    );
    members.insert(
        "filter-crs".into(),
        json!({"type": "string", "enum": [super::super::links::CRS84]}),
    );
    for f in c.fields.iter().filter(|f| f.ty != FieldType::Json) {
        members
            .entry(f.name.clone())
            .or_insert_with(|| property_param(&f.name, f.ty)["schema"].clone());
    }
    for (name, schema) in extras {
        members.insert((*name).to_owned(), schema.clone());
    }
    json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "properties": members, "additionalProperties": false,
        "description": "the query parameters of /items as members; filter may be a CQL2 JSON object"}}}})
}

/// `datetime`, for a collection with a temporal property (elsewhere it is refused).
fn datetime_param(c: &CollectionInfo) -> Option<Value> {
    c.meta.temporal_property.as_ref().map(|_| {
        json!({"name": "datetime", "in": "query", "required": false, "description": DATETIME_DESCRIPTION, "schema": datetime_schema()})
    })
}

/// A regular expression (ECMA-262) that matches exactly one of `names`, or nothing at all.
fn one_of_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let escaped: Vec<String> = names
        .map(|n| {
            n.chars()
                .flat_map(|c| {
                    let meta = "\\^$.|?*+()[]{}/".contains(c);
                    meta.then_some('\\').into_iter().chain(std::iter::once(c))
                })
                .collect()
        })
        .collect();
    if escaped.is_empty() {
        // An empty class: matches no character, in every regex dialect a client may use.
        "[^\\s\\S]".to_owned()
    } else {
        format!("({})", escaped.join("|"))
    }
}

/// The pattern of a comma-separated list (see `query::comma_list`): items of `item`, each with
/// spaces around it, empty items allowed or not.
fn comma_list_pattern(item: &str, allow_empty: bool) -> String {
    let item = if allow_empty {
        format!(" *(?:{item})? *")
    } else {
        format!(" *{item} *")
    };
    format!("^{item}(,{item})*$")
}

/// `sortby`: comma-separated queryables, each optionally prefixed with + or -.
fn sortby_schema(c: &CollectionInfo) -> Value {
    let names = c
        .fields
        .iter()
        .filter(|f| !matches!(f.ty, FieldType::Json | FieldType::StringArray))
        .map(|f| f.name.as_str());
    let key = format!("[+-]?{}", one_of_names(names));
    json!({"type": "string", "pattern": comma_list_pattern(&key, false)})
}

/// `properties`: the properties to return, by name, comma-separated.
fn properties_schema(c: &CollectionInfo) -> Value {
    let names = one_of_names(c.fields.iter().map(|f| f.name.as_str()));
    json!({"type": "string", "pattern": comma_list_pattern(&names, true)})
}

/// `group-by`: one property that is not an object.
fn group_by_schema(c: &CollectionInfo) -> Value {
    let names: Vec<&str> = c
        .fields
        .iter()
        .filter(|f| f.ty != FieldType::Json)
        .map(|f| f.name.as_str())
        .collect();
    json!({"type": "string", "enum": names})
}

/// `sum`: numeric properties, comma-separated.
fn sum_schema(c: &CollectionInfo) -> Value {
    let names = c
        .fields
        .iter()
        .filter(|f| f.ty.is_numeric())
        .map(|f| f.name.as_str());
    json!({"type": "string", "pattern": comma_list_pattern(&one_of_names(names), true)})
}

fn busy() -> Value {
    problem("too many expensive requests at once (see Retry-After), or the request took too long")
}

/// The OGC API - Features Part 3 parameters, plus sorting and selection.
fn filter_params(c: &CollectionInfo) -> Vec<Value> {
    vec![
        json!({"name": "filter", "in": "query", "required": false, "description": "a CQL2 filter (text or JSON, see filter-lang)", "schema": non_blank()}),
        json!({"name": "filter-lang", "in": "query", "required": false, "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}}),
        json!({"name": "filter-crs", "in": "query", "required": false, "schema": {"type": "string", "enum": [super::super::links::CRS84]}}),
        json!({"name": "sortby", "in": "query", "required": false, "description": "comma-separated queryables, '-' for descending", "schema": sortby_schema(c)}),
        json!({"name": "properties", "in": "query", "required": false, "description": "comma-separated properties to return", "schema": properties_schema(c)}),
    ]
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

fn geojson_ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/geo+json": {"schema": feature_collection_schema()}}})
}

fn number_param(name: &str, description: &str, required: bool, min: f64, max: f64) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": {"type": "number", "minimum": min, "maximum": max}})
}

/// The paths that each collection has besides items: queryables, stats, nearest, POST search.
fn collection_extras(c: &CollectionInfo, paths: &mut Map<String, Value>) {
    let base = format!("/collections/{}", c.id);
    let search_body = query_body(c, true, &[]);
    let stats_body = query_body(
        c,
        false,
        &[("group-by", group_by_schema(c)), ("sum", sum_schema(c))],
    );
    paths.insert(format!("{base}/queryables"), json!({"get": {"summary": format!("the queryables of {}", c.id), "operationId": format!("getQueryables_{}", c.id), "tags": ["Capabilities"],
        "parameters": [f_param(&["json"])],
        "responses": {"200": {"description": "a JSON Schema of the queryable properties", "content": {"application/schema+json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}}}));
    let mut stats_params = vec![
        json!({"name": "group-by", "in": "query", "required": false, "description": "the property to group by", "schema": group_by_schema(c)}),
        json!({"name": "sum", "in": "query", "required": false, "description": "comma-separated numeric properties to sum (default: the *area*_m2 properties)", "schema": sum_schema(c)}),
        json!({"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false, "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}}),
        f_param(&["json"]),
    ];
    stats_params.extend(datetime_param(c));
    stats_params.extend(
        filter_params(c)
            .into_iter()
            .filter(|p| p["name"] != "sortby" && p["name"] != "properties"),
    );
    let stats_ok = json!({"description": "counts and sums per group and in total", "content": {"application/json": {"schema": {"type": "object", "required": ["total", "groups"]}}}});
    paths.insert(format!("{base}/stats"), json!({
        "get": {"summary": format!("statistics of {}", c.id), "operationId": format!("getStats_{}", c.id), "tags": ["Data"], "parameters": stats_params,
                "responses": {"200": stats_ok.clone(), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection"), "503": busy()}},
        "post": {"summary": format!("statistics of {} (parameters in the body)", c.id), "operationId": format!("postStats_{}", c.id), "tags": ["Data"], "requestBody": stats_body,
                "responses": {"200": stats_ok, "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}
    }));
    let mut nearest_params = vec![
        number_param("lon", "longitude (CRS84)", true, -180.0, 180.0),
        number_param("lat", "latitude (CRS84)", true, -90.0, 90.0),
        json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": super::discover::MAX_NEAREST, "default": 5}}),
    ];
    nearest_params.extend(
        filter_params(c)
            .into_iter()
            .filter(|p| p["name"] != "sortby"),
    );
    paths.insert(format!("{base}/nearest"), json!({"get": {"summary": format!("the features of {} nearest to a point, with geodesic distances", c.id), "operationId": format!("getNearest_{}", c.id), "tags": ["Data"],
        "parameters": nearest_params,
        "responses": {"200": geojson_ok("the nearest features, nearest first"), "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}}}));
    paths.insert(format!("{base}/search"), json!({"post": {"summary": format!("query {} with the parameters in a JSON body (large geometries)", c.id), "operationId": format!("postSearch_{}", c.id), "tags": ["Data"],
        "requestBody": search_body,
        "responses": {"200": geojson_ok("a page of features"), "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON")}}}));
}

/// The parameters of `/items` (and, but for paging and `f`, of `/export`).
fn items_parameters(c: &CollectionInfo) -> Vec<Value> {
    let mut parameters = vec![
        json!({"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
               "description": "west,south,east,north (or with heights, 6 numbers) in CRS84; west > east crosses the antimeridian",
               "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}}),
        json!({"name": "bbox-crs", "in": "query", "required": false, "description": "the CRS of bbox (EPSG:4326 and 4490: latitude first)", "schema": {"type": "string", "enum": Crs::SUPPORTED}}),
        json!({"name": "crs", "in": "query", "required": false, "description": "the CRS of the returned geometries (OGC API - Features Part 2); gcj02 is a non-standard option for AMap", "schema": {"type": "string", "enum": Crs::SUPPORTED}}),
        json!({"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
               "description": format!("page size; default {DEFAULT_LIMIT}, a larger value is served as {MAX_LIMIT}"),
               "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}}),
        json!({"name": "offset", "in": "query", "required": false, "description": "number of matching features to skip",
               "schema": {"type": "integer", "minimum": 0, "default": 0}}),
        f_param(&["geojson", "json"]),
    ];
    parameters.extend(datetime_param(c));
    parameters.extend(filter_params(c));
    parameters.extend(
        c.fields
            .iter()
            .filter(|f| {
                f.ty != FieldType::Json
                    && !["bbox", "limit", "offset", "datetime", "f", "bbox-crs"]
                        .contains(&f.name.as_str())
            })
            .map(|f| property_param(&f.name, f.ty)),
    );
    parameters
}

/// `GET /collections/{id}/export`: the whole result of a query as a file.
fn export_path(c: &CollectionInfo) -> Value {
    let mut parameters: Vec<Value> = items_parameters(c)
        .into_iter()
        .filter(|p| !["f", "limit", "offset"].contains(&p["name"].as_str().unwrap_or("")))
        .collect();
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    parameters.push(json!({"name": "f", "in": "query", "required": false, "description": "the file format (or an Accept header); default GeoJSON", "schema": {"type": "string", "enum": names}}));
    parameters.push(json!({"name": "bom", "in": "query", "required": false, "description": "CSV only: start with a UTF-8 byte-order mark (Excel)", "schema": {"type": "boolean"}}));
    json!({"get": {
        "summary": format!("download every feature of {} that the query selects", c.id),
        "operationId": format!("export_{}", c.id),
        "tags": ["Data"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "the file (streamed; a failure midway cuts the connection)", "content": file_content(&Format::ALL)},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such collection"),
            "406": problem("no format for the Accept header"),
            "503": busy()
        }
    }})
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
            "503": busy()
        }
    }})
}

fn items_path(c: &CollectionInfo) -> Value {
    let parameters = items_parameters(c);
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
            "404": problem("no such collection")
        }
    }})
}

fn item_path(c: &CollectionInfo) -> Value {
    json!({"get": {
        "summary": format!("one feature of {}", c.id),
        "operationId": format!("getItem_{}", c.id),
        "tags": ["Data"],
        "parameters": [
            {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id},
            {"name": "crs", "in": "query", "required": false, "schema": {"type": "string", "enum": Crs::SUPPORTED}},
            f_param(&["geojson", "json"])
        ],
        "responses": {
            "200": {"description": "the feature",
                    "content": {"application/geo+json": {"schema": feature_schema()}, "application/json": {"schema": feature_schema()}}},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such feature")
        }
    }})
}

/// Builds the whole OpenAPI document for the loaded collections.
pub fn definition(collections: &[CollectionInfo]) -> Value {
    let any_object = json!({"type": "object"});
    let mut paths = Map::new();
    paths.insert("/".into(), json!({"get": {"summary": "landing page", "operationId": "getLandingPage", "tags": ["Capabilities"],
        "parameters": [f_param(&["json", "html"])],
        "responses": {
            "200": {"description": "the landing page", "content": {
                "application/json": {"schema": {"type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": link_schema()}}}},
                "text/html": {"schema": {"type": "string"}}}},
            "400": problem("a malformed or unknown parameter")}}}));
    paths.insert("/conformance".into(), json!({"get": {"summary": "conformance classes", "operationId": "getConformance", "tags": ["Capabilities"],
        "parameters": [f_param(&["json"])],
        "responses": json_ok("the conformance classes", json!({"type": "object", "required": ["conformsTo"], "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}}))}}));
    paths.insert("/api".into(), json!({"get": {"summary": "this API definition", "operationId": "getApi", "tags": ["Capabilities"],
        "parameters": [f_param(&["json"])],
        "responses": {"200": {"description": "the OpenAPI document", "content": {OPENAPI_JSON: {"schema": any_object}}},
                      "400": problem("a malformed or unknown parameter")}}}));
    paths.insert("/collections".into(), json!({"get": {"summary": "the collections", "operationId": "getCollections", "tags": ["Capabilities"],
        "parameters": [f_param(&["json"])],
        "responses": json_ok("the collections", json!({"type": "object", "required": ["links", "collections"],
            "properties": {"links": {"type": "array", "items": link_schema()}, "collections": {"type": "array", "items": any_object}}}))}}));
    paths.insert("/health".into(), json!({"get": {"summary": "liveness and counts", "operationId": "getHealth", "tags": ["Operations"],
        "responses": {"200": {"description": "the server is up", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}, "collections": {"type": "integer"}, "features": {"type": "integer"}}}}}}}}}));
    paths.insert("/vocabularies".into(), json!({"get": {"summary": "controlled vocabularies", "operationId": "getVocabularies", "tags": ["Capabilities"],
        "parameters": [f_param(&["json"])],
        "responses": json_ok("the vocabularies", any_object.clone())}}));
    for c in collections {
        let base = format!("/collections/{}", c.id);
        paths.insert(base.clone(), json!({"get": {"summary": format!("the collection {}", c.id), "operationId": format!("describeCollection_{}", c.id), "tags": ["Capabilities"],
            "parameters": [f_param(&["json"])],
            "responses": json_ok("the collection", json!({"type": "object", "required": ["id", "links"], "properties": {"id": {"type": "string"}, "links": {"type": "array", "items": link_schema()}}}))}}));
        paths.insert(format!("{base}/items"), items_path(c));
        paths.insert(format!("{base}/items/{{featureId}}"), item_path(c));
        paths.insert(format!("{base}/export"), export_path(c));
        collection_extras(c, &mut paths);
    }
    paths.insert("/export".into(), area_export_path(collections));
    paths.insert("/search".into(), json!({"get": {"summary": "features by name (Chinese or English), exact before prefix before substring", "operationId": "searchNames", "tags": ["Data"],
        "parameters": [
            {"name": "q", "in": "query", "required": true, "schema": non_blank()},
            {"name": "collections", "in": "query", "required": false, "description": "comma-separated collection ids", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": super::discover::MAX_SEARCH, "default": 20}}
        ],
        "responses": {"200": geojson_ok("matching features with their collection and match kind"), "400": problem("a malformed parameter"), "404": problem("no such collection")}}}));
    paths.insert("/whats-here".into(), json!({"get": {"summary": "every feature of every layer at a point", "operationId": "whatsHere", "tags": ["Data"],
        "parameters": [
            number_param("lon", "longitude (CRS84)", true, -180.0, 180.0),
            number_param("lat", "latitude (CRS84)", true, -90.0, 90.0),
            number_param("tolerance", "metres around the point", false, 0.0, super::discover::MAX_TOLERANCE_M)
        ],
        "responses": {"200": geojson_ok("the features at the point, top-most layer first"), "400": problem("a malformed parameter")}}}));
    paths.insert("/vocabularies/{vocabularyId}".into(), json!({"get": {"summary": "one vocabulary", "operationId": "getVocabulary", "tags": ["Capabilities"],
        "parameters": [{"name": "vocabularyId", "in": "path", "required": true, "schema": {"type": "string"}}, f_param(&["json"])],
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
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Operations"}],
        "paths": paths,
    })
}
