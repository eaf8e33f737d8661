//! `/admin`: tokens made (shown once), listed and revoked by an administrator, and the audit of
//! who changed what, when, in which collection (JSON, or CSV to file away). Admins only: a
//! token's scope is checked against the collections here, so a filter naming a property the
//! collection does not have is refused when the token is made, not on its first edit.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::changesets::json_response;
use super::openapi::{json_ok, problem, Doc, Paths};
use super::Contract;
use crate::http::auth::{self, Principal, Role};
use crate::http::error::ApiError;
use crate::http::extract::{NoParams, Query, RouteParams};
use crate::http::params::{ParamSpec, Params};
use crate::http::problem::Problem;
use crate::http::AppState;
use crate::index::Layer;
use crate::query::filter::{compile, Area, FilterLang, FilterSpec};
use crate::record::scope::{area_geometry, GEOMETRY_FIELD};
use crate::record::tokens::{self, parse_expiry};
use crate::record::{AuditQuery, Change, NewToken, RecordError, Scope, Scopes, TokenRecord};
use crate::store::{CollectionInfo, EditError, JournaledStore};

pub const CONTRACT: Contract = Contract::new(router, operations);

pub fn router() -> Router<AppState> {
    use axum::routing::{delete, get};
    Router::new()
        .route("/admin/tokens", get(list).post(create))
        .route("/admin/tokens/{name}", delete(revoke))
        .route("/admin/audit", get(audit))
        .route("/auth/me", get(me))
        .route("/auth/config", get(sign_in_config))
}

/// How the web map signs people in: `{"oidc": null}` with tokens only, else the identity
/// server's endpoints and this map's client id. Open to everyone (the page reads it before
/// anyone has signed in).
async fn sign_in_config(
    State(state): State<AppState>,
    Query(crate::http::extract::NoParams): Query<crate::http::extract::NoParams>,
) -> Result<Response, Response> {
    let Some(oidc) = state.config.oidc.clone() else {
        return Ok(json_response(StatusCode::OK, &json!({"oidc": null})));
    };
    let found = tokio::task::spawn_blocking(move || oidc.sign_in())
        .await
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?;
    match found {
        Ok(o) => Ok(json_response(StatusCode::OK, &json!({ "oidc": o }))),
        Err(e) => {
            tracing::error!(reason = %e, "the identity server's discovery document");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::Unavailable,
                "the identity server cannot be reached; sign in with an API token meanwhile",
            )
            .into_response())
        }
    }
}

/// Who the credential names and what it may do: the web map shows an administrator's tools,
/// and a scoped editor its limits, from this.
async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    let p = auth::required(&state, &headers).await?;
    params::<NoParams>(raw.as_deref()).map_err(IntoResponse::into_response)?;
    let role = match p.role {
        Role::Reader => "reader",
        Role::Editor => "editor",
        Role::Admin => "admin",
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"name": p.name, "role": role, "collections": p.collections, "scopes": p.scopes}),
    ))
}

/// The route's parameters, read after the credential is checked: a request without one is a
/// 401 whatever its parameters.
fn params<P: RouteParams>(raw: Option<&str>) -> Result<P, ApiError> {
    Params::parse(raw).and_then(|p| P::from_params(p, None))
}

/// The principal, who must be an administrator (401 without a credential, 403 without the role).
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let p = auth::required(state, headers).await?;
    if p.role == Role::Admin {
        Ok(p)
    } else {
        tracing::warn!(principal = %p.name, "admin request refused: not an administrator");
        Err(auth::forbidden(format!(
            "{} is not an administrator; only administrators manage tokens and read the audit",
            p.name
        )))
    }
}

/// Runs `work` with the editing store on the blocking pool.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&JournaledStore) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, Response> {
    let store = std::sync::Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || match store.editor() {
        Some(e) => work(e),
        None => Err(ApiError::from(EditError::Storage(
            "this server keeps no tokens or changes (it runs without a state store)".into(),
        ))),
    })
    .await
    .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?
    .map_err(IntoResponse::into_response)
}

fn token_json(t: &TokenRecord) -> Value {
    let active = t.revoked_at.is_none()
        && t.expires_at.as_deref().is_none_or(|e| {
            chrono::DateTime::parse_from_rfc3339(e).is_ok_and(|e| e > chrono::Utc::now())
        });
    json!({
        "name": t.name, "role": t.role, "collections": t.collections, "scopes": t.scopes,
        "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at,
        "active": active,
    })
}

fn record_error(e: &RecordError, retry: u32) -> ApiError {
    match e {
        RecordError::Invalid(m) => ApiError::invalid_body(m.clone()),
        other => ApiError::store_read(other, "the tokens", retry),
    }
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    admin(&state, &headers).await?;
    params::<NoParams>(raw.as_deref()).map_err(IntoResponse::into_response)?;
    let retry = state.retry_after();
    let tokens = with_store(&state, move |s| {
        s.with_tokens(|book| book.list())
            .map_err(|e| record_error(&e, retry))
    })
    .await?;
    let list: Vec<Value> = tokens.iter().map(token_json).collect();
    Ok(json_response(StatusCode::OK, &json!({"tokens": list})))
}

/// A token to make, as an administrator sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    #[serde(default = "editor")]
    role: String,
    collections: Option<Vec<String>>,
    #[serde(default)]
    scopes: Scopes,
    /// A date, an RFC 3339 instant, or days (`90d`).
    expires: Option<String>,
}

fn editor() -> String {
    "editor".into()
}

/// Why `scope` cannot govern `layer`, if it cannot: its filters must compile against the
/// collection, its fields be the collection's own properties (or `geometry`), its area a
/// polygon inside CRS84.
fn check_scope(layer: &Layer, collection: &str, scope: &Scope) -> Result<(), String> {
    for (part, text) in [
        ("where", &scope.write_where),
        ("read_where", &scope.read_where),
    ] {
        if let Some(text) = text {
            let spec = FilterSpec {
                text: text.clone(),
                lang: FilterLang::Cql2Text,
            };
            compile(layer, &spec)
                .map_err(|e| format!("scopes.{collection}.{part} {text:?}: {e}"))?;
        }
    }
    for f in scope.fields.iter().flatten() {
        let own = layer.fields.iter().any(|x| &x.name == f && !x.derived);
        if !own && f != GEOMETRY_FIELD {
            let known: Vec<&str> = layer
                .fields
                .iter()
                .filter(|x| !x.derived)
                .map(|x| x.name.as_str())
                .chain([GEOMETRY_FIELD])
                .collect();
            return Err(format!(
                "scopes.{collection}.fields: {f:?} is not a property this collection's features may be given; they are {}",
                known.join(", ")
            ));
        }
    }
    if let Some(a) = &scope.area {
        let g = area_geometry(a).map_err(|e| format!("scopes.{collection}.area: {e}"))?;
        Area::new(g).map_err(|e| format!("scopes.{collection}.area: {e}"))?;
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let who = admin(&state, &headers).await?;
    params::<NoParams>(raw.as_deref()).map_err(IntoResponse::into_response)?;
    crate::http::body::require_json(&headers).map_err(IntoResponse::into_response)?;
    let value = crate::http::body::strict_json(&body).map_err(IntoResponse::into_response)?;
    let asked: TokenBody = serde_json::from_value(value)
        .map_err(|e| ApiError::invalid_body(format!("not a token to make: {e}")).into_response())?;
    let snapshot = state.store.snapshot();
    let bad = |m: String| ApiError::invalid_body(m).into_response();
    for c in asked.collections.iter().flatten() {
        if snapshot.layer(c).is_none() {
            return Err(bad(format!("collections: there is no collection {c:?}")));
        }
    }
    for (c, scope) in &asked.scopes {
        let layer = snapshot
            .layer(c)
            .ok_or_else(|| bad(format!("scopes: there is no collection {c:?}")))?;
        check_scope(layer, c, scope).map_err(bad)?;
    }
    let expires_at = asked
        .expires
        .as_deref()
        .map(parse_expiry)
        .transpose()
        .map_err(|e| bad(format!("expires: {e}")))?;
    let new = NewToken {
        name: asked.name,
        role: asked.role,
        collections: asked.collections,
        scopes: asked.scopes,
        expires_at,
    };
    new.check()
        .map_err(|e| bad(e.to_string().replace("--", "")))?;
    let retry = state.retry_after();
    let now = crate::store::now().1;
    let (secret, record) = with_store(&state, move |s| {
        s.with_tokens(move |book| tokens::create(book, &new, &now))
            .map_err(|e| match e {
                RecordError::Invalid(m) => {
                    ApiError::new(StatusCode::CONFLICT, Problem::Conflict, m)
                }
                other => record_error(&other, retry),
            })
    })
    .await?;
    tracing::info!(token = %record.name, role = %record.role, by = %who.name, "token made");
    let mut body = token_json(&record);
    body["token"] = json!(secret);
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    let who = admin(&state, &headers).await?;
    params::<NoParams>(raw.as_deref()).map_err(IntoResponse::into_response)?;
    let retry = state.retry_after();
    let now = crate::store::now().1;
    let target = name.clone();
    let revoked = with_store(&state, move |s| {
        s.with_tokens(move |book| book.revoke(&target, &now))
            .map_err(|e| record_error(&e, retry))
    })
    .await?;
    if !revoked {
        return Err(
            ApiError::not_found(format!("there is no active token named {name:?}")).into_response(),
        );
    }
    tracing::info!(token = %name, by = %who.name, "token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

static PRINCIPAL: ParamSpec = ParamSpec {
    name: "principal",
    description: "only the changes of this token or signed-in subject",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: crate::http::params::always,
};
static COLLECTION: ParamSpec = ParamSpec {
    name: "collection",
    description: "only the changes of this collection",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: crate::http::params::always,
};
static SINCE: ParamSpec = ParamSpec {
    name: "since",
    description: "changes at or after this date (its start) or RFC 3339 instant",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: crate::http::params::always,
};
static UNTIL: ParamSpec = ParamSpec {
    name: "until",
    description: "changes before this RFC 3339 instant, or up to the end of this date",
    required: false,
    schema: |_| json!({"type": "string"}),
    documented_for: crate::http::params::always,
};
static BEFORE: ParamSpec = ParamSpec {
    name: "before",
    description: "changes numbered below this (the next page: the last one's seq)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1}),
    documented_for: crate::http::params::always,
};
static LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description: "most changes listed, newest first (1 to 10000, default 100)",
    required: false,
    schema: |_| json!({"type": "integer", "minimum": 1, "maximum": 10000}),
    documented_for: crate::http::params::always,
};
static FORMAT: ParamSpec = ParamSpec {
    name: "f",
    description: "json (default) or csv",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["json", "csv"]}),
    documented_for: crate::http::params::always,
};

pub struct AuditParams {
    query: AuditQuery,
    csv: bool,
}

/// An instant as changes record it (UTC, milliseconds); a date is its start, or with
/// `end_of_day` the start of the next day.
fn instant(name: &str, raw: &str, end_of_day: bool) -> Result<String, ApiError> {
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let d = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        return Ok(fmt(d.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| fmt(t.to_utc()))
        .map_err(|_| {
            ApiError::parameter(
                name,
                format!("{raw:?} is not a date (2026-12-07) or an RFC 3339 instant"),
            )
        })
}

impl RouteParams for AuditParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![
            &PRINCIPAL,
            &COLLECTION,
            &SINCE,
            &UNTIL,
            &BEFORE,
            &LIMIT,
            &FORMAT,
        ]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let limit = params.take_usize("limit")?.unwrap_or(100);
        if !(1..=10_000).contains(&limit) {
            return Err(ApiError::parameter(
                "limit",
                "limit must be between 1 and 10000",
            ));
        }
        let before = params.take_usize("before")?;
        if before == Some(0) {
            return Err(ApiError::parameter(
                "before",
                "before is a change number, 1 or more",
            ));
        }
        let csv = match params.take("f").as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(ApiError::parameter(
                    "f",
                    format!("f={other:?}: json or csv"),
                ))
            }
        };
        let since = params.take("since");
        let until = params.take("until");
        Ok(AuditParams {
            query: AuditQuery {
                principal: params.take("principal"),
                collection: params.take("collection"),
                since: since.map(|s| instant("since", &s, false)).transpose()?,
                until: until.map(|s| instant("until", &s, true)).transpose()?,
                before: before.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
                limit,
            },
            csv,
        })
    }
}

/// The audit's columns, in order.
const AUDIT_COLUMNS: [&str; 7] = [
    "seq",
    "at",
    "principal",
    "collection",
    "feature_id",
    "operation",
    "changeset",
];

fn audit_row(c: &Change) -> [String; 7] {
    [
        c.seq.to_string(),
        c.at.clone(),
        c.principal.clone(),
        c.collection.clone(),
        c.feature_id.clone(),
        c.operation.as_str().to_owned(),
        c.changeset.clone().unwrap_or_default(),
    ]
}

async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    admin(&state, &headers).await?;
    let p: AuditParams = params(raw.as_deref()).map_err(IntoResponse::into_response)?;
    let retry = state.retry_after();
    let q = p.query.clone();
    let changes = with_store(&state, move |s| {
        s.audit(&q)
            .map_err(|e| ApiError::store_read(&e, "the change log", retry))
    })
    .await?;
    if p.csv {
        let write = || -> Result<Vec<u8>, String> {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(AUDIT_COLUMNS).map_err(|e| e.to_string())?;
            for c in &changes {
                let row = audit_row(c).map(crate::export::inert_cell);
                w.write_record(row).map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        };
        let bytes = write().map_err(|_| {
            ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        })?;
        // A byte-order mark, so Excel opens the Chinese names as UTF-8.
        let mut body = "\u{feff}".as_bytes().to_vec();
        body.extend(bytes);
        let mut res = (StatusCode::OK, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"etown-atlas-audit.csv\""),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    let rows: Vec<Value> = changes
        .iter()
        .map(|c| {
            let r = audit_row(c);
            let mut o = serde_json::Map::new();
            for (k, v) in AUDIT_COLUMNS.iter().zip(r) {
                o.insert((*k).to_owned(), json!(v));
            }
            o.insert("seq".into(), json!(c.seq));
            if c.changeset.is_none() {
                o.insert("changeset".into(), Value::Null);
            }
            Value::Object(o)
        })
        .collect();
    let next = (changes.len() == p.query.limit)
        .then(|| changes.last().map(|c| c.seq))
        .flatten();
    Ok(json_response(
        StatusCode::OK,
        &json!({"changes": rows, "next_before": next}),
    ))
}

fn operations(_: &Doc, paths: &mut Paths) {
    let op = |summary: &str, id: &str, responses: Value| {
        json!({"summary": summary, "operationId": id, "tags": ["Admin"], "security": [{"bearer": []}],
               "responses": responses})
    };
    let common = |mut r: Value| {
        r["401"] = problem("no token, or one that is not valid");
        r["403"] = problem("a token that is not an administrator's");
        r["503"] = problem("the store could not be reached");
        r
    };
    let token_schema = json!({"type": "object", "required": ["name", "role", "active"], "properties": {
        "name": {"type": "string"}, "role": {"type": "string"}, "active": {"type": "boolean"},
        "collections": {"type": "array", "items": {"type": "string"}, "nullable": true},
        "scopes": {"type": "object"}, "created_at": {"type": "string"},
        "expires_at": {"type": "string", "nullable": true}, "revoked_at": {"type": "string", "nullable": true}}});
    let mut post = op(
        "make a token (its secret is in this answer only)",
        "createToken",
        common(
            json!({"201": {"description": "made", "content": {"application/json": {"schema": token_schema}}},
            "400": problem("a malformed token: unknown role, bad name, a scope that does not fit its collection"),
            "409": problem("a token of that name exists"),
            "415": problem("a body that is not JSON")}),
        ),
    );
    post["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "pattern": "^[\\p{L}\\p{N}_.@-]{1,64}$"},
            "role": {"type": "string", "enum": ["reader", "editor", "admin"]},
            "collections": {"type": "array", "items": {"type": "string"}, "nullable": true},
            "scopes": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false, "properties": {
                "where": {"type": "string"}, "read_where": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "string"}},
                "area": {"type": "object"}}}},
            "expires": {"type": "string"}}}}}});
    paths.insert(
        "/admin/tokens".into(),
        json!({
            "get": op("the tokens (never their secrets)", "listTokens", common(json_ok("the tokens",
                json!({"type": "object", "required": ["tokens"], "properties": {"tokens": {"type": "array", "items": token_schema}}})))),
            "post": post,
        }),
    );
    paths.insert(
        "/admin/tokens/{name}".into(),
        json!({"delete": {
            "summary": "revoke a token: refused from the next request on", "operationId": "revokeToken",
            "tags": ["Admin"], "security": [{"bearer": []}],
            "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": common(json!({"204": {"description": "revoked"}, "404": problem("no active token of that name")}))}}),
    );
    let params: Vec<Value> = AuditParams::specs().iter().map(|s| s.doc(None)).collect();
    let mut get = op(
        "who changed what, when, in which collection: newest first",
        "audit",
        common(json_ok(
            "the changes",
            json!({"type": "object", "required": ["changes"], "properties": {
                "changes": {"type": "array", "items": {"type": "object"}},
                "next_before": {"type": "integer", "nullable": true}}}),
        )),
    );
    get["parameters"] = json!(params);
    get["responses"]["200"]["content"]["text/csv"] = json!({"schema": {"type": "string"}});
    paths.insert("/admin/audit".into(), json!({"get": get}));
    paths.insert(
        "/auth/config".into(),
        json!({"get": {
            "summary": "how the web map signs people in (single sign-on, when configured)", "operationId": "signInConfig",
            "tags": ["Admin"],
            "responses": {
                "200": {"description": "the identity server's endpoints and the client id, or null", "content": {"application/json": {"schema": {"type": "object",
                    "required": ["oidc"], "properties": {"oidc": {"type": "object", "nullable": true}}}}}},
                "400": problem("a parameter (this takes none)"),
                "503": problem("the identity server cannot be reached")}}}),
    );
    paths.insert(
        "/auth/me".into(),
        json!({"get": {
            "summary": "who the credential names, its role, collections and scopes", "operationId": "me",
            "tags": ["Admin"], "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "the principal", "content": {"application/json": {"schema": {"type": "object",
                    "required": ["name", "role"], "properties": {"name": {"type": "string"}, "role": {"type": "string"},
                    "collections": {"type": "array", "items": {"type": "string"}, "nullable": true}, "scopes": {"type": "object"}}}}}},
                "400": problem("a parameter (this takes none)"),
                "401": problem("no token, or one that is not valid"),
                "503": problem("the store could not be reached")}}}),
    );
}
