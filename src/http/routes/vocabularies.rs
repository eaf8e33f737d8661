use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::links::{link, BaseUrl, JSON};
use crate::http::negotiate::json_only;
use crate::http::params::Params;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vocabularies", get(list))
        .route("/vocabularies/{id}", get(one))
}

fn no_params(q: Option<String>) -> Result<(), ApiError> {
    let mut params = Params::parse(q.as_deref())?;
    json_only(params.take("f").as_deref(), &["json"])?;
    params.finish(&["f"])
}

/// The controlled vocabularies (industries and their colours) that layers are checked against.
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    no_params(q)?;
    let vocabularies: Vec<Value> = state
        .store
        .vocabularies()
        .into_iter()
        .map(|v| {
            json!({
                "id": v.id,
                "title": v.title,
                "links": [link(base.at(&format!("/vocabularies/{}", v.id)), "item", JSON, "terms")],
            })
        })
        .collect();
    Ok(Json(json!({
        "vocabularies": vocabularies,
        "links": [link(base.at("/vocabularies"), "self", JSON, "this document")],
    })))
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    no_params(q)?;
    state
        .store
        .vocabularies()
        .into_iter()
        .find(|v| v.id == id)
        .map(|v| Json(json!(v)))
        .ok_or_else(|| {
            ApiError::not_found(format!("there is no vocabulary {id:?}; see /vocabularies"))
        })
}
