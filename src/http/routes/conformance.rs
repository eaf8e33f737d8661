use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::negotiate::JsonOnly;
use crate::http::AppState;

/// The conformance classes this server implements and tests. Each route module that adds a class
/// lists it here; nothing is declared that the test suite does not exercise.
pub const CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    // OGC API - Features Part 2: Coordinate Reference Systems by Reference (crs, bbox-crs).
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    // OGC API - Features Part 3: Filtering.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    // CQL2: each class is exercised by tests/cql2_conformance.rs (the OGC suite) or tests/filter.rs.
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
];

pub fn router() -> Router<AppState> {
    Router::new().route("/conformance", get(conformance))
}

async fn conformance(Query(JsonOnly): Query<JsonOnly>) -> Result<Json<Value>, ApiError> {
    let classes: Vec<&str> = CLASSES
        .iter()
        .chain(super::tiles::CLASSES)
        .copied()
        .collect();
    Ok(Json(json!({ "conformsTo": classes })))
}
