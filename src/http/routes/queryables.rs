//! `/collections/{id}/queryables`: a JSON Schema of what filters may name (OGC API - Features
//! Part 3), with the type of every property and of the geometry.

use super::openapi::*;
use super::Contract;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::http::error::ApiError;
use crate::http::extract::InCollection;
use crate::http::links::{path_segment, BaseUrl};
use crate::http::negotiate::JsonOnly;
use crate::http::{language, AppState};
use crate::model::FieldType;
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new().route("/collections/{collection}/queryables", get(queryables))
}

/// The OGC Part 3 geometry format for the types a layer holds.
fn geometry_format(types: &[&str]) -> &'static str {
    match types {
        ["Point"] => "geometry-point",
        ["MultiPoint"] => "geometry-multipoint",
        ["LineString"] => "geometry-linestring",
        ["MultiLineString"] => "geometry-multilinestring",
        ["Polygon"] => "geometry-polygon",
        ["MultiPolygon"] => "geometry-multipolygon",
        ["MultiPolygon", "Polygon"] | ["Polygon", "MultiPolygon"] => {
            "geometry-polygon-or-multipolygon"
        }
        _ => "geometry-any",
    }
}

pub fn schema(
    c: &CollectionInfo,
    base: &BaseUrl,
    lang: &str,
    vocab_ids: impl Fn(&str) -> Option<Vec<String>>,
) -> Value {
    let mut props = Map::new();
    props.insert(
        "geometry".into(),
        json!({"title": "geometry", "format": geometry_format(&c.geometry_types), "x-ogc-role": "primary-geometry"}),
    );
    for f in c.fields.iter().filter(|f| f.ty != FieldType::Json) {
        let mut s = f.ty.json_schema();
        s["title"] = json!(f.name);
        if f.derived {
            s["readOnly"] = json!(true);
            s["description"] = json!(match f.name.as_str() {
                "geodesic_area_m2" => "derived at load: geodesic area on the WGS84 ellipsoid, m²",
                "zones" => "derived at load: ids of the zone features that contain this feature",
                _ => "derived at load",
            });
        }
        if let Some(ids) = c.meta.vocabularies.get(&f.name).and_then(|v| vocab_ids(v)) {
            if f.ty == FieldType::StringArray {
                s["items"]["enum"] = json!(ids);
            } else {
                s["enum"] = json!(ids);
            }
        }
        props.insert(f.name.clone(), s);
    }
    let title = c.meta.title.as_ref().map_or(c.id.as_str(), |t| t.get(lang));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base.at(&format!("/collections/{}/queryables", path_segment(&c.id))),
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": false,
    })
}

async fn queryables(
    base: BaseUrl,
    headers: HeaderMap,
    request: InCollection<JsonOnly>,
) -> Result<Response, ApiError> {
    let snapshot = &request.snapshot;
    let doc = schema(request.info(), &base, language(&headers), |v| {
        snapshot
            .vocabulary(v)
            .map(|x| x.terms.iter().map(|t| t.id.clone()).collect())
    });
    let mut res = doc.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/schema+json"),
    );
    Ok(res)
}

/// `/collections/{id}/queryables`.
pub const CONTRACT: Contract = Contract {
    router,
    describe: operations,
    classes: |_| CLASSES,
};

fn operations(doc: &Doc, paths: &mut Paths) {
    use crate::http::negotiate::JsonOnly;
    use serde_json::json;
    for c in doc.collections {
        let base = format!("/collections/{}", c.id);
        paths.insert(format!("{base}/queryables"), json!({"get": {"summary": format!("the queryables of {}", c.id), "operationId": format!("getQueryables_{}", c.id), "tags": ["Capabilities"],
        "parameters": parameters::<JsonOnly>(Some(c)),
        "responses": {"200": {"description": "a JSON Schema of the queryable properties", "content": {"application/schema+json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed or unknown parameter"), "404": problem("no such collection")}}}));
    }
}

/// OGC API - Features Part 3: the queryables, and filtering by them as query parameters.
const CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
];
