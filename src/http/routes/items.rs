use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::export::{Crs, Format};
use crate::http::error::ApiError;
use crate::http::geojson::{feature_json, page_body, PageBody};
use crate::http::links::{link, path_segment, query_string, BaseUrl, GEOJSON, JSON};
use crate::http::params::Params;
use crate::http::query_params::{params_from_body, parse_feature_query};
use crate::http::AppState;
use crate::query::FeatureQuery;
use crate::store::PageJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/items", get(items))
        .route("/collections/{collection}/items/{feature}", get(item))
        .route("/collections/{collection}/search", post(search))
}

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

/// The request's own parameters with `offset` and `limit` (and, if given, `f`) replaced: the
/// self, next, prev and alternate links.
/// The request's own query string, encoded once for all of a page's links: without `limit` and
/// `offset` (which each link sets), and also without `f` (for links that name another format).
struct KeptQuery {
    all: String,
    without_f: String,
}

impl KeptQuery {
    fn new(raw: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .filter(|(k, _)| k != "offset" && k != "limit")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let encode = |keep_f: bool| {
            query_string(
                pairs
                    .iter()
                    .filter(|(k, _)| keep_f || k != "f")
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
        };
        KeptQuery {
            all: encode(true),
            without_f: encode(false),
        }
    }

    /// `path?` plus the kept pairs and then `rest` (already encoded), joined by `&`.
    fn url(path: &str, kept: &str, rest: &str) -> String {
        let sep = if kept.is_empty() { "" } else { "&" };
        format!("{path}?{kept}{sep}{rest}")
    }

    fn page(&self, path: &str, offset: usize, limit: usize) -> String {
        Self::url(path, &self.all, &format!("limit={limit}&offset={offset}"))
    }

    fn page_as(&self, path: &str, offset: usize, limit: usize, f: &str) -> String {
        let rest = format!("limit={limit}&offset={offset}&{}", query_string([("f", f)]));
        Self::url(path, &self.without_f, &rest)
    }
}

/// How the paging links of a response are written: as GET URLs, or as POST bodies for a search
/// whose filter may be too large for a URL.
enum Paging<'a> {
    Get { raw: Option<&'a str> },
    Post { body: &'a Value },
}

fn feature_collection(
    page: PageJson,
    q: &FeatureQuery,
    path: &str,
    media_type: &'static str,
    paging: Paging,
    collection_link: Value,
) -> PageBody {
    let returned = page.number_returned;
    let more = q.offset + returned < page.number_matched;
    let mut links = vec![collection_link];
    match paging {
        Paging::Get { raw } => {
            let kept = KeptQuery::new(raw);
            let page_link = |offset: usize, rel: &str, title: &str| {
                link(kept.page(path, offset, q.limit), rel, media_type, title)
            };
            links.push(page_link(q.offset, "self", "this page"));
            let (other_f, other_type) = if media_type == GEOJSON {
                ("json", JSON)
            } else {
                ("geojson", GEOJSON)
            };
            links.push(link(
                kept.page_as(path, q.offset, q.limit, other_f),
                "alternate",
                other_type,
                "this page in another media type",
            ));
            if more {
                links.push(page_link(q.offset + q.limit, "next", "next page"));
            }
            if q.offset > 0 {
                links.push(page_link(
                    q.offset.saturating_sub(q.limit),
                    "prev",
                    "previous page",
                ));
            }
            // Every match (not one page) in every download format.
            let export_path = format!("{}/export", path.trim_end_matches("/items"));
            for format in Format::ALL {
                let f = query_string([("f", format.name())]);
                links.push(link(
                    KeptQuery::url(&export_path, &kept.without_f, &f),
                    "alternate",
                    format.media_type(),
                    &format!("every match as {}", format.name()),
                ));
            }
        }
        Paging::Post { body } => {
            let page_link = |offset: usize, rel: &str| {
                let mut b = body.clone();
                b["offset"] = json!(offset);
                b["limit"] = json!(q.limit);
                json!({"href": path, "rel": rel, "type": media_type, "method": "POST", "body": b})
            };
            if more {
                links.push(page_link(q.offset + q.limit, "next"));
            }
            if q.offset > 0 {
                links.push(page_link(q.offset.saturating_sub(q.limit), "prev"));
            }
        }
    }
    page_body(page, &links)
}

/// The page of `q` as GeoJSON in `crs`, computed off the async workers.
async fn query_blocking(
    state: &AppState,
    collection: &str,
    q: &crate::query::FeatureQuery,
    crs: Crs,
) -> Result<PageJson, ApiError> {
    let (collection, q) = (collection.to_owned(), q.clone());
    state
        .run_store(move |store| store.page_json(&collection, &q, crs))
        .await
}

async fn items(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let info = state.collection(&collection)?;
    let mut params = Params::parse(raw.as_deref())?;
    let media_type = items_media_type(params.take("f").as_deref())?;
    let crs = output_crs(&mut params)?;
    let q = parse_feature_query(&mut params, &info, &["f", "crs"])?;
    let page = query_blocking(&state, &collection, &q, crs).await?;
    let cpath = format!("/collections/{}", path_segment(&collection));
    let body = feature_collection(
        page,
        &q,
        &base.at(&format!("{cpath}/items")),
        media_type,
        Paging::Get {
            raw: raw.as_deref(),
        },
        link(base.at(&cpath), "collection", JSON, "the collection"),
    );
    Ok(geo_response(body, media_type, crs))
}

/// `POST /collections/{id}/search`: the same query as `/items`, with the parameters in a JSON
/// body, so that a drawn polygon of thousands of vertices does not need a giant URL. `filter`
/// may be CQL2 JSON (an object) or CQL2 text (a string).
async fn search(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let info = state.collection(&collection)?;
    let mut params = params_from_body(&body, &info)?;
    let media_type = items_media_type(params.take("f").as_deref())?;
    let crs = output_crs(&mut params)?;
    let q = parse_feature_query(&mut params, &info, &["f", "crs"])?;
    let page = query_blocking(&state, &collection, &q, crs).await?;
    let original: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let cpath = format!("/collections/{}", path_segment(&collection));
    let doc = feature_collection(
        page,
        &q,
        &base.at(&format!("{cpath}/search")),
        media_type,
        Paging::Post { body: &original },
        link(base.at(&cpath), "collection", JSON, "the collection"),
    );
    // An ETag names what a GET of the request URI returns; a POST answer has none.
    Ok(geo_response(doc.bytes, media_type, crs))
}

/// A POST body must say it is JSON.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("application/json") || ct.starts_with("application/query-cql-json") {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be application/json, not {ct:?}"),
        ))
    }
}

async fn item(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut params = Params::parse(raw.as_deref())?;
    let media_type = items_media_type(params.take("f").as_deref())?;
    let crs = output_crs(&mut params)?;
    params.finish(&["f", "crs"])?;
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
        feature_json(&feature, Some(links), crs),
        media_type,
        crs,
    ))
}

/// A GeoJSON document with its media type and the CRS header of OGC API - Features Part 2.
pub fn geo_response(body: impl Into<GeoBody>, media_type: &'static str, crs: Crs) -> Response {
    let GeoBody { bytes, etag } = body.into();
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Some(v) = etag.and_then(|tag| HeaderValue::from_str(&tag).ok()) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        h.insert("content-crs", v);
    }
    res
}

/// A response body: serialised bytes, from a JSON value or already written, and the ETag when
/// the writer knows a better one than a hash of the bytes (see `PageBody`).
pub struct GeoBody {
    bytes: Vec<u8>,
    etag: Option<String>,
}

impl From<Value> for GeoBody {
    fn from(v: Value) -> Self {
        GeoBody {
            bytes: v.to_string().into_bytes(),
            etag: None,
        }
    }
}

impl From<Vec<u8>> for GeoBody {
    fn from(bytes: Vec<u8>) -> Self {
        GeoBody { bytes, etag: None }
    }
}

impl From<PageBody> for GeoBody {
    fn from(page: PageBody) -> Self {
        GeoBody {
            bytes: page.bytes,
            etag: Some(page.etag),
        }
    }
}

/// The `crs` parameter (OGC API - Features Part 2): the CRS of the returned geometries.
pub fn output_crs(params: &mut Params) -> Result<Crs, ApiError> {
    match params.take("crs") {
        None => Ok(Crs::Crs84),
        Some(c) => Crs::parse(&c).map_err(|e| ApiError::parameter("crs", e.to_string())),
    }
}
