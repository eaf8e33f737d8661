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

/// OGC API - Features Part 4 (draft 1.0.0-draft.2), claimed when the server keeps edits (a
/// state store); exercised by tests/it/edit.rs and the OWSLib test.
pub const EDIT_CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-timestamps",
];

pub fn router() -> Router<AppState> {
    Router::new().route("/conformance", get(conformance))
}

async fn conformance(
    axum::extract::State(state): axum::extract::State<AppState>,
    Query(JsonOnly): Query<JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    let edits: &[&str] = if state.store.editor().is_some() {
        EDIT_CLASSES
    } else {
        &[]
    };
    let classes: Vec<&str> = CLASSES
        .iter()
        .chain(super::tiles::CLASSES)
        .chain(edits)
        .copied()
        .collect();
    Ok(Json(json!({ "conformsTo": classes })))
}
