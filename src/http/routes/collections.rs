use super::openapi::*;
use super::Contract;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::{InCollection, Query};
use crate::http::links::{link, path_segment, BaseUrl, CRS84, GEOJSON, JSON};
use crate::http::negotiate::JsonOnly;
use crate::http::{language, AppState};
use crate::model::Crs;
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list))
        .route("/collections/{collection}", get(one))
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let lang = language(&headers);
    let collections: Vec<Value> = state
        .snapshot()
        .collections()
        .iter()
        .map(|c| describe(c, &base, lang, state.config.tiles_above))
        .collect();
    Ok(Json(json!({
        "links": [link(base.at("/collections"), "self", JSON, "the collections")],
        "collections": collections,
        "crs": Crs::SUPPORTED,
    })))
}

async fn one(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    request: InCollection<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(describe(
        request.info(),
        &base,
        language(&headers),
        state.config.tiles_above,
    )))
}

/// How a map presents the collection, from its sidecar (see `model::LayerMeta`): every field a
/// form or a panel may show, in display order (those the sidecar names first, then the rest),
/// with title, unit, filter and vocabulary; the style; the notice; whether it is the primary layer.
fn presentation(c: &CollectionInfo) -> Value {
    let meta = &c.meta;
    let named = meta.fields.iter().map(|(n, f)| (n.as_str(), Some(f)));
    let rest = c
        .fields
        .iter()
        .filter(|f| meta.field(&f.name).is_none())
        .map(|f| (f.name.as_str(), None));
    let fields: Vec<Value> = named
        .chain(rest)
        .filter_map(|(name, f)| {
            let field = c.fields.iter().find(|x| x.name == name)?;
            let mut out = match f {
                Some(f) => serde_json::to_value(f).unwrap_or_else(|_| json!({})),
                None => json!({}),
            };
            out["name"] = json!(name);
            out["type"] = json!(field.ty.name());
            if field.derived {
                out["derived"] = json!(true);
                if let Some(role) = crate::ingest::role(&field.name) {
                    out["role"] = json!(role);
                }
            }
            if let Some(v) = meta.vocabularies.get(name) {
                out["vocabulary"] = json!(v);
            }
            Some(out)
        })
        .collect();
    let mut out = json!({
        "primary": meta.primary,
        "style": meta.style,
        "fields": fields,
    });
    if let Some(n) = &meta.notice {
        out["notice"] = json!(n);
    }
    if let Some(t) = &meta.temporal_property {
        out["temporalProperty"] = json!(t);
    }
    // Whether the data may take edits; the server says in /map-config whether it keeps them.
    if meta.editable {
        out["editable"] = json!(true);
    }
    if let Some(d) = &meta.as_of {
        out["asOf"] = json!(d);
    }
    out
}

/// A collection as OGC API - Features Part 1 (7.14) describes it, extent computed from the data;
/// with its vector tiles, and how a map should draw it: `mapRendering.mode` is `tiles` above
/// `tiles_above` features (sending them all as GeoJSON would freeze a browser), else `geojson`.
pub fn describe(c: &CollectionInfo, base: &BaseUrl, lang: &str, tiles_above: usize) -> Value {
    let path = format!("/collections/{}", path_segment(&c.id));
    let title = c.meta.title.as_ref().map_or(c.id.as_str(), |t| t.get(lang));
    let mut out = json!({
        "id": c.id,
        "title": title,
        "itemType": "feature",
        "crs": Crs::SUPPORTED,
        "storageCrs": CRS84,
        "links": [
            link(base.at(&path), "self", JSON, "this collection"),
            link(base.at(&format!("{path}/items")), "items", GEOJSON, "the features"),
            link(base.at(&format!("{path}/tiles")), super::tiles::REL_TILESETS_VECTOR, JSON, "vector tiles"),
        ],
        "numberOfFeatures": c.count,
        "mapRendering": {
            "mode": if c.count > tiles_above { "tiles" } else { "geojson" },
            "tilesAbove": tiles_above,
            "tileJson": base.at(&format!("{path}/tiles/WebMercatorQuad?f=tilejson")),
        },
        "geometryTypes": c.geometry_types,
    });
    if let Some(d) = &c.meta.description {
        out["description"] = json!(d.get(lang));
    }
    if !c.meta.keywords.is_empty() {
        out["keywords"] = json!(c.meta.keywords);
    }
    if let Some(t) = &c.meta.title {
        out["titles"] = json!(t);
    }
    if let Some(d) = &c.meta.display_property {
        out["displayProperty"] = json!(d);
    }
    if c.meta.zone {
        out["zone"] = json!(true);
    }
    out["presentation"] = presentation(c);
    let mut extent = json!({});
    if let Some(b) = c.extent {
        extent["spatial"] = json!({"bbox": [b], "crs": CRS84});
    }
    if let Some([first, last]) = &c.temporal_extent {
        extent["temporal"] = json!({
            "interval": [[first, last]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        });
    }
    out["extent"] = extent;
    out
}

/// `/collections` and each `/collections/{id}`.
pub const CONTRACT: Contract = Contract::new(router, operations);

fn operations(doc: &Doc, paths: &mut Paths) {
    let any_object = serde_json::json!({"type": "object"});
    paths.insert("/collections".into(), serde_json::json!({"get": {"summary": "the collections", "operationId": "getCollections", "tags": ["Capabilities"],
        "parameters": parameters::<crate::http::negotiate::JsonOnly>(None),
        "responses": json_ok("the collections", serde_json::json!({"type": "object", "required": ["links", "collections"],
            "properties": {"links": {"type": "array", "items": link_schema()}, "collections": {"type": "array", "items": any_object}}}))}}));
    for c in doc.collections {
        paths.insert(format!("/collections/{}", c.id), serde_json::json!({"get": {"summary": format!("the collection {}", c.id), "operationId": format!("describeCollection_{}", c.id), "tags": ["Capabilities"],
            "parameters": parameters::<crate::http::negotiate::JsonOnly>(None),
            "responses": json_ok("the collection", serde_json::json!({"type": "object", "required": ["id", "links"], "properties": {"id": {"type": "string"}, "links": {"type": "array", "items": link_schema()}}}))}}));
    }
}
