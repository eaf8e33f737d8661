//! `/collections/{id}/items` (a page of a query), `/items/{featureId}` (one feature) and
//! `POST /collections/{id}/search` (the same query with its parameters in a JSON body).

use super::openapi::*;
use super::Contract;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::encode::{self, write_feature, PageBody, Properties};
use crate::export::Format;
use crate::http::as_of::{take_as_of, AS_OF};
use crate::http::body::require_json;
use crate::http::error::ApiError;
use crate::http::extract::{InCollection, RouteParams};
use crate::http::links::{link, path_segment, query_string, BaseUrl, GEOJSON, JSON};
use crate::http::negotiate::content_etag;
use crate::http::params::{always, ParamSpec, Params};
use crate::http::query_params::{
    output_crs, params_from_body, parse_feature_query, CRS, FEATURE_QUERY,
};
use crate::http::AppState;
use crate::model::Crs;
use crate::query::{compile_cached, exec, CountKey, FeatureQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections/{collection}/items", get(items))
        .route("/collections/{collection}/items/{feature}", get(item))
        .route("/collections/{collection}/search", post(search))
}

static F_FEATURES: ParamSpec = ParamSpec {
    name: "f",
    description: "the representation: GeoJSON (default), or the same document as plain JSON",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["geojson", "json", "xlsx"]}),
    documented_for: always,
};

static F_FEATURE: ParamSpec = ParamSpec {
    name: "f",
    description: "the representation: GeoJSON (default), or the same document as plain JSON",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["geojson", "json"]}),
    documented_for: always,
};

/// The media type of one feature: GeoJSON or plain JSON (a workbook is for many features).
fn feature_media_type(params: &mut Params) -> Result<&'static str, ApiError> {
    plain_media_type(
        params.take("f").as_deref(),
        "geojson or json for one feature",
    )
}

/// The media type asked for with `f`: GeoJSON by default, or the same document as plain JSON for
/// clients that do not know `application/geo+json`.
fn media_type(params: &mut Params) -> Result<&'static str, ApiError> {
    match params.take("f").as_deref() {
        // A workbook is every match, not a page: answered by the collection's export.
        Some("xlsx") => Ok(crate::changeset::upload::XLSX_MEDIA_TYPE),
        other => plain_media_type(other, "geojson, json or xlsx"),
    }
}

/// GeoJSON (the default) or plain JSON; anything else is a 400 saying what `allowed` is.
fn plain_media_type(f: Option<&str>, allowed: &str) -> Result<&'static str, ApiError> {
    match f {
        None | Some("geojson") => Ok(GEOJSON),
        Some("json") => Ok(JSON),
        Some(other) => Err(ApiError::parameter(
            "f",
            format!(
                "f must be {allowed}, got {:?}",
                crate::http::params::shorten(other)
            ),
        )),
    }
}

/// The parameters of `/items` and of `POST …/search`.
pub struct ItemsParams {
    pub media_type: &'static str,
    pub crs: Crs,
    pub query: FeatureQuery,
    pub as_of: Option<i64>,
}

impl RouteParams for ItemsParams {
    fn specs() -> Vec<&'static ParamSpec> {
        [&F_FEATURES, &CRS, &super::export::LANG, &AS_OF]
            .into_iter()
            .chain(FEATURE_QUERY)
            .collect()
    }
    fn takes_queryables() -> bool {
        true
    }
    fn as_of(&self) -> Option<i64> {
        self.as_of
    }
    fn parse(
        params: &mut Params,
        c: Option<&crate::store::CollectionInfo>,
    ) -> Result<Self, ApiError> {
        let media_type = media_type(params)?;
        // The workbook's language travels to the export with the rest of the query.
        if params.take("lang").is_some() && media_type != crate::changeset::upload::XLSX_MEDIA_TYPE
        {
            return Err(ApiError::parameter(
                "lang",
                "lang names the language of a workbook's titles: it goes with f=xlsx",
            ));
        }
        let crs = output_crs(params)?;
        let as_of = take_as_of(params)?;
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let query = parse_feature_query(params, c, &Self::specs())?;
        Ok(ItemsParams {
            media_type,
            crs,
            query,
            as_of,
        })
    }
}

/// The parameters of one feature.
pub struct ItemParams {
    pub media_type: &'static str,
    pub crs: Crs,
    pub as_of: Option<i64>,
}

impl RouteParams for ItemParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_FEATURE, &CRS, &AS_OF]
    }
    fn as_of(&self) -> Option<i64> {
        self.as_of
    }
    fn parse(
        params: &mut Params,
        _: Option<&crate::store::CollectionInfo>,
    ) -> Result<Self, ApiError> {
        Ok(ItemParams {
            media_type: feature_media_type(params)?,
            crs: output_crs(params)?,
            as_of: take_as_of(params)?,
        })
    }
}

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
enum Paging {
    Get { raw: Option<String> },
    Post { body: Value },
}

/// The links of a page: the collection, then self, alternate, next, prev and the downloads (for
/// GET), or next and prev as POST bodies.
fn page_links(
    q: &FeatureQuery,
    number_matched: usize,
    returned: usize,
    path: &str,
    media_type: &'static str,
    paging: &Paging,
    collection_link: Value,
) -> Vec<Value> {
    let more = q.offset + returned < number_matched;
    let mut links = vec![collection_link];
    match paging {
        Paging::Get { raw } => {
            let kept = KeptQuery::new(raw.as_deref());
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
    links
}

/// What a page is asked with: parsed GET parameters, or a POST body still to be read (reading
/// 4 MiB of JSON is CPU work, done on the compute boundary with the rest).
enum PageRequest {
    Get {
        request: Box<InCollection<ItemsParams>>,
        raw: Option<String>,
    },
    Post {
        snapshot: std::sync::Arc<crate::store::Snapshot>,
        id: String,
        body: Bytes,
    },
}

/// Finds, writes and wraps one page, on the compute boundary; with the page's media type and
/// CRS.
async fn page(
    state: &AppState,
    asked: PageRequest,
    base: BaseUrl,
    route: &'static str,
) -> Result<(PageBody, &'static str, Crs), ApiError> {
    let filters = std::sync::Arc::clone(&state.filters);
    let counts = std::sync::Arc::clone(&state.counts);
    let (store, retry) = (std::sync::Arc::clone(&state.store), state.retry_after());
    state
        .compute(move |budget| {
            let (request, paging) = match asked {
                PageRequest::Get { request, raw } => (*request, Paging::Get { raw }),
                PageRequest::Post { snapshot, id, body } => {
                    let info = AppState::collection(&snapshot, &id)?;
                    let (params, original) = params_from_body(&body, info)?;
                    let params = ItemsParams::from_params(params, Some(info))?;
                    let request = InCollection {
                        snapshot,
                        id,
                        params,
                    }
                    .at_its_moment(&*store, budget, retry)?;
                    (request, Paging::Post { body: original })
                }
            };
            if request.params.media_type == crate::changeset::upload::XLSX_MEDIA_TYPE {
                return Err(ApiError::parameter(
                    "f",
                    "f=xlsx is a download of every match: GET …/items?f=xlsx or …/export?f=xlsx",
                ));
            }
            let layer = request.layer();
            let ItemsParams {
                media_type,
                crs,
                query: q,
                ..
            } = &request.params;
            let plan = compile_cached(&layer, q, &filters)?;
            let key = CountKey::new(&request.id, request.snapshot.version(), q);
            let known = counts.get(&key);
            let found = exec::page_counted(&layer, &plan, q.offset, q.limit, known, budget)?;
            if known.is_none() {
                counts.insert(key, found.number_matched);
            }
            let mut features = Vec::new();
            encode::write_slots(
                &mut features,
                &layer,
                &found.slots,
                plan.properties.as_deref(),
                *crs,
            );
            let cpath = format!("/collections/{}", path_segment(&request.id));
            let links = page_links(
                q,
                found.number_matched,
                found.slots.len(),
                &base.at(&format!("{cpath}/{route}")),
                media_type,
                &paging,
                link(base.at(&cpath), "collection", JSON, "the collection"),
            );
            let body = encode::page_body(
                &features,
                &links,
                found.number_matched,
                found.slots.len(),
                content_etag,
            );
            Ok((body, *media_type, *crs))
        })
        .await
}

async fn items(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    request: InCollection<ItemsParams>,
) -> Result<Response, ApiError> {
    if request.params.media_type == crate::changeset::upload::XLSX_MEDIA_TYPE {
        // The workbook to fill in is a download of every match: the export has it. A query
        // that cannot run is refused here, not redirected to be refused there.
        compile_cached(&request.layer(), &request.params.query, &state.filters)?;
        let to = format!(
            "{}?{}",
            base.at(&format!(
                "/collections/{}/export",
                path_segment(&request.id)
            )),
            raw.as_deref().unwrap_or("f=xlsx")
        );
        return Ok(axum::response::Redirect::to(&to).into_response());
    }
    let (body, media_type, crs) = page(
        &state,
        PageRequest::Get {
            request: Box::new(request),
            raw,
        },
        base,
        "items",
    )
    .await?;
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
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, &collection)?;
    let asked = PageRequest::Post {
        snapshot,
        id: collection,
        body,
    };
    let (doc, media_type, crs) = page(&state, asked, base, "search").await?;
    // An ETag names what a GET of the request URI returns; a POST answer has none.
    Ok(geo_response(doc.bytes, media_type, crs))
}

async fn item(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    snapshot
        .layer(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection))?;
    let ItemParams {
        media_type,
        crs,
        as_of,
    } = ItemParams::from_params(Params::parse(raw.as_deref())?, None)?;
    let snapshot = crate::http::as_of::snapshot_at(&state, snapshot, as_of).await?;
    let layer = snapshot
        .layer(&collection)
        .ok_or_else(|| ApiError::no_such_collection(&collection))?;
    let slot = layer.slot_of(&id).ok_or_else(|| {
        ApiError::not_found(format!(
            "collection {collection:?} has no feature {:?}",
            crate::http::params::shorten(&id)
        ))
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
    let mut out = Vec::with_capacity(2048);
    let properties = Properties::Slot {
        layer,
        slot,
        only: None,
    };
    write_feature(
        &mut out,
        &layer.ids[slot],
        &layer.geometries[slot],
        properties,
        crs,
        &[("links", &links)],
    );
    // The feature's own strong ETag (Part 4 compares it in If-Match), one per CRS; and when it
    // last changed.
    let tag = crate::encode::feature_etag(layer, slot);
    let tag = if crs == Crs::Crs84 {
        tag
    } else {
        format!("{}-{}\"", tag.trim_end_matches('"'), crs.epsg())
    };
    let mut res = geo_response(
        GeoBody {
            bytes: out,
            etag: Some(tag),
        },
        media_type,
        crs,
    );
    let modified = layer
        .field_index(crate::ingest::UPDATED_FIELD)
        .and_then(|i| match &layer.columns[i] {
            crate::index::Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| t.div_euclid(1000)),
            _ => None,
        });
    if let Some(v) = modified
        .and_then(super::edit::http_date)
        .and_then(|d| HeaderValue::from_str(&d).ok())
    {
        res.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(res)
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

/// A response body: serialised bytes, and the ETag when the writer knows a better one than a
/// hash of the bytes (see `PageBody`).
pub struct GeoBody {
    bytes: Vec<u8>,
    etag: Option<String>,
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

/// `/collections/{id}/items`, one item, and `POST /collections/{id}/search` (edits add their
/// methods to these paths: see `edit`).
pub const CONTRACT: Contract = Contract {
    router,
    describe: operations,
    classes: |_| CLASSES,
};

/// OGC API - Features Part 1 (core, GeoJSON), Part 2 (CRS by reference) and Part 3
/// (filtering), with the CQL2 classes: each is exercised by the tests, the CQL2 ones by the OGC
/// suite (`tests/it/cql2_conformance.rs`) or `tests/it/filter.rs`.
const CLASSES: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
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

fn operations(doc: &Doc, paths: &mut Paths) {
    for c in doc.collections {
        let base = format!("/collections/{}", c.id);
        paths.insert(format!("{base}/items"), items_path(c));
        paths.insert(format!("{base}/items/{{featureId}}"), item_path(c));
        paths.insert(format!("{base}/search"), json!({"post": {"summary": format!("query {} with the parameters in a JSON body (large geometries)", c.id), "operationId": format!("postSearch_{}", c.id), "tags": ["Data"],
        "requestBody": query_body::<ItemsParams>(c),
        "responses": {"200": geojson_or_json_ok("a page of features (f=json: the same document as plain JSON)"), "400": problem("a malformed parameter"), "404": problem("no such collection"), "413": problem("body too large"), "415": problem("not JSON"), "503": busy()}}}));
    }
}

fn items_path(c: &CollectionInfo) -> Value {
    let parameters = parameters::<ItemsParams>(Some(c));
    let collection = feature_collection_schema();
    json!({"get": {
        "summary": format!("the features of {}", c.id),
        "operationId": format!("getItems_{}", c.id),
        "tags": ["Data"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "a page of features (with f=xlsx, after the redirect, the workbook of every match)",
                    "content": {"application/geo+json": {"schema": collection.clone()}, "application/json": {"schema": collection},
                                crate::changeset::upload::XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
            "303": {"description": "f=xlsx: the workbook to fill in is a download of every match, at the collection's export with the same query",
                    "headers": {"Location": {"schema": {"type": "string"}}}},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such collection"),
            "503": busy()
        }
    }})
}

fn item_path(c: &CollectionInfo) -> Value {
    json!({"get": {
        "summary": format!("one feature of {}", c.id),
        "operationId": format!("getItem_{}", c.id),
        "tags": ["Data"],
        "parameters": std::iter::once(json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id}))
            .chain(parameters::<ItemParams>(Some(c)))
            .collect::<Vec<_>>(),
        "responses": {
            "200": {"description": "the feature",
                    "content": {"application/geo+json": {"schema": feature_schema()}, "application/json": {"schema": feature_schema()}}},
            "400": problem("a malformed or unknown parameter"),
            "404": problem("no such feature")
        }
    }})
}
