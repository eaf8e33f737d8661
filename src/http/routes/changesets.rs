//! Change sets: a whole inventory updated from one file, reviewed before it applies, applied
//! all or nothing, and undone (see `crate::changeset`).
//!
//! - `POST /collections/{id}/changesets` (editor): an XLSX, CSV or GeoJSON FeatureCollection
//!   body; answers 201 with the preview. Nothing is applied.
//! - `GET /collections/{id}/changesets`, `…/{cid}` (any valid token): the list, and one set.
//! - `POST …/{cid}/apply` (editor): one transaction and one version of the data; 422 while any
//!   row or column is in error, 409 naming the features edited since the preview.
//! - `POST …/{cid}/revert` (editor): makes and applies the set that restores every feature it
//!   changed; 409 naming the features changed since.

use super::openapi::*;
use super::Contract;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::changeset::{self, Source};
use crate::http::auth;
use crate::http::error::ApiError;
use crate::http::extract::{Query, RouteParams};
use crate::http::links::{link, path_segment, BaseUrl, JSON};
use crate::http::params::{ParamSpec, Params};
use crate::http::problem::Problem;
use crate::http::AppState;
use crate::record::{ChangesetRecord, ChangesetStatus};
use crate::store::{EditError, JournaledStore, SetError};

pub const CONTRACT: Contract = Contract::new(router, operations);

pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route(
            "/collections/{collection}/changesets",
            get(list).post(create),
        )
        .route("/collections/{collection}/changesets/{set}", get(show))
        .route(
            "/collections/{collection}/changesets/{set}/apply",
            post(apply),
        )
        .route(
            "/collections/{collection}/changesets/{set}/revert",
            post(revert),
        )
}

static DELETE_MISSING: ParamSpec = ParamSpec {
    name: "delete_missing",
    description: "delete the collection's features the file leaves out (default false: they are listed as missing and left alone)",
    required: false,
    schema: |_| json!({"type": "boolean", "default": false}),
    documented_for: crate::http::params::always,
};

static LIST_LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description: "most change sets listed, newest first (1 to 1000, default 50)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1, "maximum": 1000}),
    documented_for: crate::http::params::always,
};

pub struct CreateParams {
    delete_missing: bool,
}

impl RouteParams for CreateParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&DELETE_MISSING]
    }
    fn parse(
        params: &mut Params,
        _: Option<&crate::store::CollectionInfo>,
    ) -> Result<Self, ApiError> {
        Ok(CreateParams {
            delete_missing: params.take_bool("delete_missing")?.unwrap_or(false),
        })
    }
}

pub struct ListParams {
    limit: usize,
}

impl RouteParams for ListParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&LIST_LIMIT]
    }
    fn parse(
        params: &mut Params,
        _: Option<&crate::store::CollectionInfo>,
    ) -> Result<Self, ApiError> {
        let limit = params.take_usize("limit")?.unwrap_or(50);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::parameter(
                "limit",
                "limit must be between 1 and 1000",
            ));
        }
        Ok(ListParams { limit })
    }
}

fn internal() -> Response {
    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

/// Refuses a collection that cannot be edited here (as the edit routes do).
fn editing(state: &AppState, collection: &str) -> Result<(), ApiError> {
    super::edit::editable(state, collection)
}

/// Runs `work` with the editing store on the blocking pool.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&JournaledStore) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, Response> {
    let store = std::sync::Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || match store.editor() {
        Some(e) => work(e),
        None => Err(ApiError::from(EditError::Storage("no state store".into()))),
    })
    .await
    .map_err(|_| internal())?
    .map_err(IntoResponse::into_response)
}

/// A change set as the API shows it: who and when, its status, its counts, and (for one set)
/// its preview.
fn set_json(base: &BaseUrl, r: &ChangesetRecord, s: &ChangesetStatus) -> Value {
    let path = format!(
        "/collections/{}/changesets/{}",
        path_segment(&r.collection),
        path_segment(&r.id)
    );
    let mut v = json!({
        "id": r.id,
        "collection": r.collection,
        "status": s.name(),
        "createdBy": r.principal,
        "createdAt": r.created_at,
        "summary": r.summary,
    });
    if let Some(of) = &r.reverts {
        v["reverts"] = json!(of);
    }
    if let Some(a) = &s.applied {
        v["applied"] = json!({
            "at": a.at, "by": a.principal, "changes": a.changes,
            "firstSeq": a.first_seq, "lastSeq": a.last_seq,
        });
    }
    if let Some(by) = &s.reverted_by {
        v["revertedBy"] = json!(by);
    }
    if let Value::Object(doc) = &r.document {
        for (k, val) in doc {
            if !["collection", "summary"].contains(&k.as_str()) {
                v[k] = val.clone();
            }
        }
    }
    v["links"] = json!([
        link(base.at(&path), "self", JSON, "this change set"),
        json!({"href": base.at(&format!("{path}/apply")), "rel": "apply", "method": "POST", "title": "apply it"}),
        json!({"href": base.at(&format!("{path}/revert")), "rel": "revert", "method": "POST", "title": "undo it"}),
        link(
            base.at(&format!("/collections/{}", path_segment(&r.collection))),
            "collection",
            JSON,
            "the collection"
        ),
    ]);
    v
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The kind of file a body is: by its `Content-Type` (exact, not content-encoded).
fn body_source(headers: &HeaderMap) -> Result<Source, ApiError> {
    crate::http::body::require_media_type(
        headers,
        &[
            changeset::upload::XLSX_MEDIA_TYPE,
            "text/csv",
            "application/geo+json",
            "application/json",
        ],
    )?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Source::from_media_type(ct).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::UnsupportedMediaType,
            format!(
                "a change set is an Excel workbook ({}), CSV (text/csv) or a GeoJSON FeatureCollection (application/geo+json); the Content-Type was {:?}",
                changeset::upload::XLSX_MEDIA_TYPE,
                crate::http::params::shorten(ct)
            ),
        )
    })
}

async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Query(p): Query<CreateParams>,
    body: Bytes,
) -> Result<Response, Response> {
    editing(&state, &collection).map_err(IntoResponse::into_response)?;
    let principal = auth::editor_of(&state, &headers, &collection).await?;
    let source = body_source(&headers).map_err(IntoResponse::into_response)?;
    let snapshot = state.snapshot();
    let made = with_store(&state, move |store| {
        let layer = snapshot
            .layer(&collection)
            .ok_or_else(|| ApiError::no_such_collection(&collection))?;
        let upload = changeset::read_upload(source, &body, layer).map_err(|e| {
            let r = e.reason();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem::InvalidBody,
                format!("{} / {}", r.en, r.zh),
            )
        })?;
        let mut preview =
            changeset::preview(layer, |v| snapshot.vocabulary(v), &upload, p.delete_missing);
        // A scoped token sees the rows outside its rights now, as errors, not at apply.
        if let Some(scope) = principal
            .scope_of(&collection)
            .filter(|s| s.limits_writes())
        {
            let document = serde_json::to_value(&preview).unwrap_or(Value::Null);
            if let Ok(requests) = changeset::apply_requests(&document, &principal.name, "preview") {
                let refused: Vec<(usize, Option<String>, changeset::Reason)> = store
                    .dry_run(&scoped(requests, Some(scope)))
                    .into_iter()
                    .filter_map(|(i, e)| match e {
                        EditError::OutOfScope(o) => {
                            Some((i, o.property.clone(), out_of_scope_reason(&o)))
                        }
                        _ => None,
                    })
                    .collect();
                preview.mark_refused(&refused);
            }
        }
        let record = ChangesetRecord {
            id: crate::record::changesets::new_id()
                .map_err(|e| ApiError::from(EditError::Storage(e.to_string())))?,
            collection: collection.clone(),
            principal: principal.name.clone(),
            created_at: crate::store::now().1,
            reverts: None,
            summary: serde_json::to_value(&preview.summary).unwrap_or(Value::Null),
            document: serde_json::to_value(&preview).unwrap_or(Value::Null),
        };
        store
            .save_changeset(record.clone())
            .map_err(|e| ApiError::store_read(&e, "the change set", 5))?;
        Ok(record)
    })
    .await?;
    tracing::info!(set = %made.id, collection = %made.collection, principal = %made.principal, "change set previewed");
    let body = set_json(&base, &made, &ChangesetStatus::default());
    let mut res = json_response(StatusCode::CREATED, &body);
    if let Ok(loc) = HeaderValue::from_str(&base.at(&format!(
        "/collections/{}/changesets/{}",
        path_segment(&made.collection),
        made.id
    ))) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Response, Response> {
    editing(&state, &collection).map_err(IntoResponse::into_response)?;
    auth::required(&state, &headers).await?;
    let retry = state.retry_after();
    let c2 = collection.clone();
    let sets = with_store(&state, move |store| {
        store
            .changesets(&c2, p.limit)
            .map_err(|e| ApiError::store_read(&e, "the change sets", retry))
    })
    .await?;
    let items: Vec<Value> = sets.iter().map(|(r, s)| set_json(&base, r, s)).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "changesets": items,
            "links": [link(base.at(&format!("/collections/{}/changesets", path_segment(&collection))), "self", JSON, "this list")],
        }),
    ))
}

/// A change set of `collection`, or 404.
fn found(
    store: &JournaledStore,
    collection: &str,
    set: &str,
    retry: u32,
) -> Result<(ChangesetRecord, ChangesetStatus), ApiError> {
    match store.changeset(set) {
        Ok(Some((r, s))) if r.collection == collection => Ok((r, s)),
        Ok(_) => Err(ApiError::not_found(format!(
            "there is no change set {set:?} of {collection:?}"
        ))),
        Err(e) => Err(ApiError::store_read(&e, "the change set", retry)),
    }
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, set)): Path<(String, String)>,
    Query(crate::http::negotiate::JsonOnly): Query<crate::http::negotiate::JsonOnly>,
) -> Result<Response, Response> {
    editing(&state, &collection).map_err(IntoResponse::into_response)?;
    auth::required(&state, &headers).await?;
    let retry = state.retry_after();
    let (r, s) = with_store(&state, move |store| found(store, &collection, &set, retry)).await?;
    Ok(json_response(StatusCode::OK, &set_json(&base, &r, &s)))
}

/// Why a row is outside the uploader's rights, in both languages.
fn out_of_scope_reason(o: &crate::store::OutOfScope) -> changeset::Reason {
    let what = crate::http::problem_language::scope_rule_zh(o.rule.name());
    let property = o
        .property
        .as_ref()
        .map(|p| format!("：不可修改属性 “{p}”"))
        .unwrap_or_default();
    changeset::Reason::new(
        o.detail.clone(),
        format!(
            "超出令牌的权限范围（规则 {}：{what}）{property}",
            o.rule.name()
        ),
    )
}

/// `requests` made under `scope` (one shared copy: the writer readies it once).
fn scoped(
    mut requests: Vec<crate::store::EditRequest>,
    scope: Option<std::sync::Arc<crate::record::Scope>>,
) -> Vec<crate::store::EditRequest> {
    for r in &mut requests {
        r.scope.clone_from(&scope);
    }
    requests
}

/// A refused set as the problem it is: conflicts (features changed since) are 409, anything
/// else about the features 422; each feature named with its reason.
fn refusal(e: SetError) -> ApiError {
    match e {
        SetError::Store(e) => ApiError::from(e),
        SetError::AlreadyApplied => ApiError::new(
            StatusCode::CONFLICT,
            Problem::ChangesetState,
            "this change set has been applied already",
        ),
        SetError::Refused(refused) => {
            let conflict = |e: &EditError| {
                matches!(
                    e,
                    EditError::PreconditionFailed { .. }
                        | EditError::NotFound(_)
                        | EditError::Exists(_)
                        | EditError::ChangedSince(_)
                )
            };
            let all_conflicts = refused.iter().all(|(_, e)| conflict(e));
            let out_of_scope = refused.iter().find_map(|(_, e)| match e {
                EditError::OutOfScope(o) => Some(o),
                _ => None,
            });
            let ids: Vec<&str> = refused.iter().map(|(id, _)| id.as_str()).take(20).collect();
            let features: Vec<Value> = refused
                .iter()
                .map(|(id, e)| json!({"id": id, "reason": e.to_string()}))
                .collect();
            let (status, code, detail) = if let Some(o) = out_of_scope {
                let n = refused
                    .iter()
                    .filter(|(_, e)| matches!(e, EditError::OutOfScope(_)))
                    .count();
                let mut err = ApiError::new(
                    StatusCode::FORBIDDEN,
                    Problem::OutOfScope,
                    format!(
                        "{n} row(s) are outside this token's rights, so nothing was applied; the first: {}",
                        o.detail
                    ),
                );
                err.rule = Some(o.rule.name());
                err.parameter = o.property.clone();
                err.features = Some(Box::new(Value::Array(features)));
                return err;
            } else if all_conflicts {
                (
                    StatusCode::CONFLICT,
                    Problem::ChangesetConflict,
                    format!(
                        "{} feature(s) changed since, so nothing was applied: {}; preview the file again",
                        refused.len(),
                        ids.join(", ")
                    ),
                )
            } else {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Problem::ChangesetHasErrors,
                    format!(
                        "{} feature(s) were refused, so nothing was applied: {}",
                        refused.len(),
                        ids.join(", ")
                    ),
                )
            };
            ApiError {
                features: Some(Box::new(Value::Array(features))),
                ..ApiError::new(status, code, detail)
            }
        }
    }
}

async fn apply(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, set)): Path<(String, String)>,
    Query(crate::http::negotiate::JsonOnly): Query<crate::http::negotiate::JsonOnly>,
) -> Result<Response, Response> {
    editing(&state, &collection).map_err(IntoResponse::into_response)?;
    let principal = auth::editor_of(&state, &headers, &collection).await?;
    let retry = state.retry_after();
    let (r, s) = with_store(&state, move |store| {
        let (r, s) = found(store, &collection, &set, retry)?;
        if s.applied.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Problem::ChangesetState,
                format!("change set {set} is {} already", s.name()),
            ));
        }
        let requests = match &r.reverts {
            // A revert that failed is applied again from the changes it undoes.
            Some(of) => {
                let changes = store
                    .changeset_changes(of)
                    .map_err(|e| ApiError::store_read(&e, "the change set", retry))?;
                changeset::revert_requests(&changes, &principal.name, &r.id)
            }
            None => {
                let errors = r.summary["error"].as_u64().unwrap_or(0);
                let problems = r.document["problems"].as_array().map_or(0, Vec::len);
                if errors > 0 || problems > 0 {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Problem::ChangesetHasErrors,
                        format!(
                            "change set {set} has {errors} row(s) and {problems} column(s) in error; nothing was applied. Fix the file and upload it again"
                        ),
                    ));
                }
                changeset::apply_requests(&r.document, &principal.name, &r.id)
                    .map_err(|e| ApiError::from(EditError::Storage(e.to_string())))?
            }
        };
        store
            .apply_set(scoped(requests, principal.scope_of(&collection)))
            .map_err(refusal)?;
        found(store, &collection, &set, retry)
    })
    .await?;
    tracing::info!(set = %r.id, collection = %r.collection, principal = ?s.applied.as_ref().map(|a| &a.principal), "change set applied");
    Ok(json_response(StatusCode::OK, &set_json(&base, &r, &s)))
}

async fn revert(
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    Path((collection, set)): Path<(String, String)>,
    Query(crate::http::negotiate::JsonOnly): Query<crate::http::negotiate::JsonOnly>,
) -> Result<Response, Response> {
    editing(&state, &collection).map_err(IntoResponse::into_response)?;
    let principal = auth::editor_of(&state, &headers, &collection).await?;
    let retry = state.retry_after();
    let (r, s) = with_store(&state, move |store| {
        let (original, status) = found(store, &collection, &set, retry)?;
        if status.applied.is_none() || status.reverted_by.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Problem::ChangesetState,
                format!(
                    "change set {set} is {}; only an applied set can be reverted",
                    status.name()
                ),
            ));
        }
        let changes = store
            .changeset_changes(&set)
            .map_err(|e| ApiError::store_read(&e, "the change set", retry))?;
        let id = crate::record::changesets::new_id()
            .map_err(|e| ApiError::from(EditError::Storage(e.to_string())))?;
        let requests = changeset::revert_requests(&changes, &principal.name, &id);
        let restored: Vec<&str> = changes.iter().map(|c| c.feature_id.as_str()).collect();
        let record = ChangesetRecord {
            id: id.clone(),
            collection: collection.clone(),
            principal: principal.name.clone(),
            created_at: crate::store::now().1,
            reverts: Some(original.id.clone()),
            summary: json!({"rows": requests.len(), "restored": requests.len()}),
            document: json!({"collection": collection, "kind": "revert", "restores": restored}),
        };
        store
            .save_changeset(record)
            .map_err(|e| ApiError::store_read(&e, "the change set", retry))?;
        store
            .apply_set(scoped(requests, principal.scope_of(&collection)))
            .map_err(refusal)?;
        found(store, &collection, &id, retry)
    })
    .await?;
    tracing::info!(set = %r.id, reverts = ?r.reverts, "change set reverted");
    Ok(json_response(StatusCode::CREATED, &set_json(&base, &r, &s)))
}

fn operations(doc: &Doc, paths: &mut Paths) {
    if !doc.edits {
        return;
    }
    let set_json = || {
        json!({"type": "object", "required": ["id", "collection", "status"], "properties": {
        "id": {"type": "string"}, "collection": {"type": "string"},
        "status": {"type": "string", "enum": ["previewed", "applied", "reverted"]},
        "summary": {"type": "object"}, "links": {"type": "array", "items": link_schema()}}})
    };
    let common = |extra: Value| {
        let mut r = json!({
            "400": problem("a malformed parameter"),
            "401": problem("no API token, or one that is not valid"),
            "404": problem("no such collection or change set"),
            "405": problem("the collection is read-only, or the server keeps no edits (no --state)"),
            "503": problem("the store could not be reached; nothing changed"),
        });
        if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        r
    };
    for c in doc.collections.iter().filter(|c| c.meta.editable) {
        let base = format!("/collections/{}/changesets", c.id);
        let set_param =
            json!({"name": "set", "in": "path", "required": true, "schema": {"type": "string"}});
        let with_f = |set: &Value| {
            std::iter::once(set.clone())
                .chain(parameters::<crate::http::negotiate::JsonOnly>(None))
                .collect::<Vec<_>>()
        };
        let op = |summary: String, id: String, parameters: Vec<Value>, responses: Value| {
            json!({"summary": summary, "operationId": id, "tags": ["Edit"], "security": [{"bearer": []}],
                   "parameters": parameters, "responses": responses})
        };
        let mut post = op(
            format!(
                "preview a change set of {} from a file (nothing is applied)",
                c.id
            ),
            format!("previewChangeset_{}", c.id),
            parameters::<CreateParams>(Some(c)),
            common(json!({
                "201": json_ok("the preview: each row unchanged, changed, new or error; missing features", set_json()),
                "403": problem("a token whose role may not edit this collection"),
                "413": problem("body too large"),
                "415": problem("a body that is not an Excel workbook, CSV or GeoJSON"),
                "422": problem("a file that cannot be read, or has too many rows"),
            })),
        );
        post["requestBody"] = json!({"required": true, "content": {
            changeset::upload::XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}},
            // Any FeatureCollection: the members of a served page (`links`, `timeStamp`, ...)
            // are foreign members here, read by no one.
            "application/geo+json": {"schema": {
                "type": "object",
                "required": ["type", "features"],
                "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    // Rows: what a row holds is checked row by row in the preview, so a bad
                    // geometry or value is an error at its cell, not a refusal of the file.
                    "features": {"type": "array", "items": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"type": "string", "enum": ["Feature"]}},
                    }},
                },
            }},
        }});
        paths.insert(
            base.clone(),
            json!({
                "get": op(
                    format!("the change sets of {}, newest first", c.id),
                    format!("listChangesets_{}", c.id),
                    parameters::<ListParams>(Some(c)),
                    common(json!({"200": json_ok("the change sets", json!({"type": "object", "required": ["changesets"], "properties": {"changesets": {"type": "array", "items": set_json()}}}))})),
                ),
                "post": post,
            }),
        );
        paths.insert(
            format!("{base}/{{set}}"),
            json!({"get": op("a change set and its preview".into(), format!("getChangeset_{}", c.id), with_f(&set_param),
                common(json!({"200": json_ok("the change set", set_json())})))}),
        );
        paths.insert(
            format!("{base}/{{set}}/apply"),
            json!({"post": op("apply a previewed change set: every row in one transaction, or none".into(), format!("applyChangeset_{}", c.id), with_f(&set_param),
                common(json!({"200": json_ok("applied", set_json()),
                    "403": problem("a token whose role may not edit this collection"),
                    "409": problem("features changed since the preview (each named in `features`), or the set was applied already"),
                    "422": problem("the set has rows or columns in error, or features were refused (each named in `features`)")})))}),
        );
        paths.insert(
            format!("{base}/{{set}}/revert"),
            json!({"post": op("undo an applied change set".into(), format!("revertChangeset_{}", c.id), with_f(&set_param),
                common(json!({"201": json_ok("the revert, applied", set_json()),
                    "403": problem("a token whose role may not edit this collection"),
                    "409": problem("features changed since the set was applied (each named in `features`), or the set is not applied"),
                    "422": problem("features were refused (each named in `features`)")})))}),
        );
    }
}
