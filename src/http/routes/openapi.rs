//! The building blocks of the OpenAPI document: the shared schemas and answers each route
//! module uses to describe its own operations (see [`super::Contract`]), and the problem
//! contract's schema.

// What every module's description uses, brought in with `use super::openapi::*`.
pub(super) use crate::export::Format;
pub(super) use crate::store::CollectionInfo;
pub(super) use serde_json::{json, Map, Value};

use crate::http::extract::RouteParams;
use crate::http::problem::TABLE;
use crate::http::schema;
use crate::model::FieldType;

/// What the document is written for: the loaded collections, and whether this server takes
/// edits (the edit operations are documented only where they can happen).
pub struct Doc<'a> {
    pub collections: &'a [CollectionInfo],
    pub edits: bool,
}

/// The paths of the document, in the order the route modules add them.
pub type Paths = Map<String, Value>;

/// The problem body, with the whole problem contract: every code (an enum), and in
/// `x-problems` each one's usual status and its English and Chinese titles.
pub(super) fn problem_schema() -> Value {
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
            "rule": {"type": "string", "enum": ["where", "fields", "area"], "description": "for out_of_scope, the rule of the token's scope the request broke"},
            "position": {"type": "integer", "minimum": 0, "description": "for a filter, the 0-based character where the problem is"}
        }
    })
}

pub(super) fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

pub(super) fn link_schema() -> Value {
    json!({
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": {"type": "string"}, "rel": {"type": "string"},
            "type": {"type": "string"}, "title": {"type": "string"}
        }
    })
}

pub(super) fn json_ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": problem("a malformed or unknown parameter")
    })
}

pub(super) fn geometry_schema() -> Value {
    json!({"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}, "nullable": true})
}

pub(super) fn feature_schema() -> Value {
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
pub(super) fn parameters<P: RouteParams>(c: Option<&CollectionInfo>) -> Vec<Value> {
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
pub(super) fn property_param(name: &str, ty: FieldType) -> Value {
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
pub(super) fn query_body<P: RouteParams>(c: &CollectionInfo) -> Value {
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

pub(super) fn feature_collection_schema() -> Value {
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
pub(super) fn geojson_or_json_ok(description: &str) -> Value {
    json!({"description": description, "content": {
        "application/geo+json": {"schema": feature_collection_schema()},
        "application/json": {"schema": feature_collection_schema()}}})
}

pub(super) fn geojson_ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/geo+json": {"schema": feature_collection_schema()}}})
}

/// A binary body in each of `formats`.
pub(super) fn file_content(formats: &[Format]) -> Value {
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

pub(super) fn busy() -> Value {
    problem("too many expensive requests at once (see Retry-After), or the request took too long")
}
