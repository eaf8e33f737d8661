use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::domain::{Bbox, FieldType};
use crate::http::error::ApiError;
use crate::http::geojson::feature_json;
use crate::http::links::{link, path_segment, query_string, BaseUrl, CRS84, GEOJSON, JSON};
use crate::http::params::Params;
use crate::http::AppState;
use crate::query::{DateTimeFilter, FeatureQuery, MAX_LIMIT};
use crate::store::CollectionInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/items", get(items))
        .route("/collections/{collection}/items/{feature}", get(item))
}

/// The parameters `/items` understands besides `property=value` equality on queryables.
const ITEMS_PARAMS: &[&str] = &["f", "bbox", "bbox-crs", "limit", "offset", "datetime"];

/// The media type asked for with `f`: GeoJSON by default, or the same document as plain JSON for
/// clients that do not know `application/geo+json`.
fn items_media_type(f: Option<&str>) -> Result<&'static str, ApiError> {
    match f {
        None | Some("geojson") => Ok(GEOJSON),
        Some("json") => Ok(JSON),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!("f must be geojson or json, got {other:?}"),
        )),
    }
}

/// Parses the items query string against the collection's schema.
fn parse_items_query(params: &mut Params, c: &CollectionInfo) -> Result<FeatureQuery, ApiError> {
    let mut q = FeatureQuery::default();
    if let Some(raw) = params.take("bbox") {
        q.bbox = Some(Bbox::parse(&raw).map_err(|e| ApiError::parameter("bbox", e.to_string()))?);
    }
    if let Some(crs) = params.take("bbox-crs") {
        if crs != CRS84 {
            return Err(ApiError::parameter(
                "bbox-crs",
                format!("bbox-crs must be {CRS84}, got {crs:?}"),
            ));
        }
    }
    if let Some(limit) = params.take_usize("limit")? {
        if limit == 0 {
            return Err(ApiError::parameter("limit", "limit must be at least 1"));
        }
        // Above the maximum, the page is the maximum: OGC API - Features allows it, and the
        // `next` link lets a client continue.
        q.limit = limit.min(MAX_LIMIT);
    }
    q.offset = params.take_usize("offset")?.unwrap_or(0);
    if let Some(raw) = params.take("datetime") {
        q.datetime = Some(
            DateTimeFilter::parse(&raw)
                .map_err(|e| ApiError::parameter("datetime", e.to_string()))?,
        );
    }
    for (name, value) in params.drain() {
        match c.fields.iter().find(|f| f.name == name) {
            Some(f) if f.ty != FieldType::Json => q.equals.push((name, value)),
            _ => {
                let queryables: Vec<&str> = c
                    .fields
                    .iter()
                    .filter(|f| f.ty != FieldType::Json)
                    .map(|f| f.name.as_str())
                    .collect();
                let known = format!(
                    "{}, or a queryable property ({})",
                    ITEMS_PARAMS.join(", "),
                    queryables.join(", ")
                );
                return Err(ApiError::unknown_parameter(&name, &known));
            }
        }
    }
    Ok(q)
}

/// The request's own parameters with `offset` and `limit` (and, if given, `f`) replaced: the
/// self, next, prev and alternate links.
fn page_query(raw: Option<&str>, offset: usize, limit: usize, f: Option<&str>) -> String {
    let replaced = |k: &str| k == "offset" || k == "limit" || (f.is_some() && k == "f");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| !replaced(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (offset, limit) = (offset.to_string(), limit.to_string());
    query_string(
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("limit", limit.as_str()), ("offset", offset.as_str())])
            .chain(f.map(|f| ("f", f))),
    )
}

async fn items(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let info = state
        .store
        .collection(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection))?;
    let mut params = Params::parse(raw.as_deref())?;
    let media_type = items_media_type(params.take("f").as_deref())?;
    let q = parse_items_query(&mut params, &info)?;
    let page = state.store.query(&collection, &q)?;

    let path = base.at(&format!("/collections/{}/items", path_segment(&collection)));
    let returned = page.features.len();
    let page_link = |offset: usize, rel: &str, title: &str| {
        link(
            format!(
                "{path}?{}",
                page_query(raw.as_deref(), offset, q.limit, None)
            ),
            rel,
            media_type,
            title,
        )
    };
    let mut links = vec![
        page_link(q.offset, "self", "this page"),
        link(
            base.at(&format!("/collections/{}", path_segment(&collection))),
            "collection",
            JSON,
            "the collection",
        ),
    ];
    let (other_f, other_type) = if media_type == GEOJSON {
        ("json", JSON)
    } else {
        ("geojson", GEOJSON)
    };
    links.push(link(
        format!(
            "{path}?{}",
            page_query(raw.as_deref(), q.offset, q.limit, Some(other_f))
        ),
        "alternate",
        other_type,
        "this page in another media type",
    ));
    if q.offset + returned < page.number_matched {
        links.push(page_link(q.offset + q.limit, "next", "next page"));
    }
    if q.offset > 0 {
        links.push(page_link(
            q.offset.saturating_sub(q.limit),
            "prev",
            "previous page",
        ));
    }
    let features: Vec<Value> = page
        .features
        .iter()
        .map(|f| feature_json(f, None))
        .collect();
    let body = json!({
        "type": "FeatureCollection",
        "features": features,
        "links": links,
        "numberMatched": page.number_matched,
        "numberReturned": returned,
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    Ok(geo_response(body, media_type))
}

async fn item(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut params = Params::parse(raw.as_deref())?;
    let media_type = items_media_type(params.take("f").as_deref())?;
    params.finish(&["f"])?;
    let feature = state.store.get(&collection, &id)?.ok_or_else(|| {
        ApiError::not_found(format!("collection {collection:?} has no feature {id:?}"))
    })?;
    let cpath = format!("/collections/{}", path_segment(&collection));
    let links = vec![
        link(
            base.at(&format!("{cpath}/items/{}", path_segment(&id))),
            "self",
            media_type,
            "this feature",
        ),
        link(base.at(&cpath), "collection", JSON, "the collection"),
    ];
    Ok(geo_response(
        feature_json(&feature, Some(links)),
        media_type,
    ))
}

/// A GeoJSON document with its media type and the CRS header of OGC API - Features Part 2.
fn geo_response(body: Value, media_type: &'static str) -> Response {
    let mut res = body.to_string().into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(
        "content-crs",
        HeaderValue::from_static("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"),
    );
    res
}
