use axum::extract::RawQuery;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::negotiate::json_only;
use crate::http::params::Params;
use crate::http::AppState;

/// The conformance classes this server implements and tests. Each route module that adds a class
/// lists it here; nothing is declared that the test suite does not exercise.
pub const CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

pub fn router() -> Router<AppState> {
    Router::new().route("/conformance", get(conformance))
}

async fn conformance(RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let mut params = Params::parse(q.as_deref())?;
    json_only(params.take("f").as_deref(), &["json"])?;
    params.finish(&["f"])?;
    Ok(Json(json!({ "conformsTo": CLASSES })))
}
