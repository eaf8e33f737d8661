//! Who is asking: a principal from `Authorization: Bearer …`, an API token of the state store.
//!
//! Reads are anonymous unless the settings require a token for them; writes need a principal
//! whose role allows the collection. A missing or bad credential is a 401 with
//! `WWW-Authenticate`; a good one without the right is a 403. Failures are logged with the reason,
//! never the credential.

use std::sync::Arc;

use crate::http::problem::Problem;
use crate::oidc::{Oidc, OidcError};
use crate::record::{Scope, Scopes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// What a principal may do, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads (where reads need a token), history and the change feed.
    Reader,
    /// And edits, of the collections the token names (all if it names none).
    Editor,
    /// Everything, every collection.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "reader" => Role::Reader,
            "editor" => Role::Editor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// Recorded with every change it makes.
    pub name: String,
    pub role: Role,
    pub collections: Option<Vec<String>>,
    /// Its limits inside collections (see `crate::record::scope`).
    pub scopes: Scopes,
}

impl Principal {
    /// Its scope in `collection`, if it has one there (an admin has none).
    pub fn scope_of(&self, collection: &str) -> Option<Arc<Scope>> {
        if self.role == Role::Admin {
            return None;
        }
        self.scopes
            .get(collection)
            .filter(|s| !s.is_empty())
            .map(|s| Arc::new(s.clone()))
    }

    pub fn may_edit(&self, collection: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Editor => self
                .collections
                .as_ref()
                .is_none_or(|c| c.iter().any(|x| x == collection)),
            Role::Reader => false,
        }
    }
}

/// 401: no credential, or one that is not (or no longer) valid.
pub fn unauthorized(detail: &str, invalid: bool) -> Response {
    let mut res = ApiError::new(
        StatusCode::UNAUTHORIZED,
        Problem::Unauthorized,
        detail.to_owned(),
    )
    .into_response();
    let challenge = if invalid {
        "Bearer realm=\"etown-atlas\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"etown-atlas\""
    };
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    res
}

/// 403: a valid principal without the right.
pub fn forbidden(detail: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, Problem::Forbidden, detail).into_response()
}

/// The principal the request's credential names; `Ok(None)` when it carries none.
pub async fn principal(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    // The scheme is case-insensitive (RFC 9110, 11.1): `BEARER` and `bearer` are `Bearer`.
    let Some(token) = text
        .split_once(char::is_whitespace)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        tracing::warn!(reason = "not a Bearer credential", "authentication failed");
        return Err(unauthorized(
            "send an API token as Authorization: Bearer <token>",
            true,
        ));
    };
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        tracing::warn!(reason = "malformed token", "authentication failed");
        return Err(unauthorized("the token is not valid", true));
    }
    if let Some(oidc) = state.config.oidc.as_ref().filter(|_| Oidc::is_jwt(token)) {
        return signed_in(oidc, token).await.map(Some);
    }
    let store = std::sync::Arc::clone(&state.store);
    let presented = token.to_owned();
    let found = tokio::task::spawn_blocking(move || store.editor().map(|e| e.token(&presented)))
        .await
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?;
    let record = match found {
        None => {
            tracing::warn!(
                reason = "no state store: tokens are unknown",
                "authentication failed"
            );
            return Err(unauthorized(
                "this server keeps no tokens (it runs without --state)",
                true,
            ));
        }
        Some(Err(e)) => {
            return Err(ApiError::store_read(&e, "the tokens", state.retry_after()).into_response());
        }
        Some(Ok(None)) => {
            tracing::warn!(reason = "unknown token", "authentication failed");
            return Err(unauthorized("the token is not valid", true));
        }
        Some(Ok(Some(r))) => r,
    };
    if record.revoked_at.is_some() {
        tracing::warn!(reason = "revoked token", token = %record.name, "authentication failed");
        return Err(unauthorized("the token has been revoked", true));
    }
    if let Some(exp) = &record.expires_at {
        let expired =
            chrono::DateTime::parse_from_rfc3339(exp).map_or(true, |t| t < chrono::Utc::now());
        if expired {
            tracing::warn!(reason = "expired token", token = %record.name, "authentication failed");
            return Err(unauthorized("the token has expired", true));
        }
    }
    let Some(role) = Role::parse(&record.role) else {
        tracing::warn!(reason = "unknown role", token = %record.name, "authentication failed");
        return Err(unauthorized(
            "the token's role is not known to this server",
            true,
        ));
    };
    Ok(Some(Principal {
        name: record.name,
        role,
        collections: record.collections,
        scopes: record.scopes,
    }))
}

/// The longest credential read: API tokens are 47 characters; an identity server's JWT with
/// many roles runs to a few kilobytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The principal of a single-sign-on JWT (see `crate::oidc`): its subject, with the rights of
/// its highest configured role (a reader when none of its roles is configured here).
async fn signed_in(oidc: &Arc<Oidc>, token: &str) -> Result<Principal, Response> {
    let verifier = Arc::clone(oidc);
    let presented = token.to_owned();
    let verified = tokio::task::spawn_blocking(move || verifier.verify(&presented))
        .await
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response())?;
    let v = match verified {
        Ok(v) => v,
        Err(e @ OidcError::KeySet(_)) => {
            tracing::error!(reason = %e, "authentication failed: the identity server's keys");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::Unavailable,
                "the identity server cannot be reached to check this token; try again later",
            )
            .into_response());
        }
        Err(e) => {
            tracing::warn!(reason = %e, "authentication failed (single sign-on)");
            return Err(unauthorized(&e.to_string(), true));
        }
    };
    let Some(grant) = v.grant else {
        return Ok(Principal {
            name: v.subject,
            role: Role::Reader,
            collections: Some(Vec::new()),
            scopes: Scopes::new(),
        });
    };
    let scope = grant.scope();
    let mut scopes = Scopes::new();
    if !scope.is_empty() {
        for c in grant.collections.iter().flatten() {
            scopes.insert(c.clone(), scope.clone());
        }
    }
    Ok(Principal {
        name: v.subject,
        role: Role::parse(&grant.role).unwrap_or(Role::Reader),
        collections: grant.collections,
        scopes,
    })
}

/// The principal, which must exist (401 otherwise).
pub async fn required(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    match principal(state, headers).await? {
        Some(p) => Ok(p),
        None => {
            tracing::warn!(reason = "no credential", "authentication failed");
            Err(unauthorized(
                "this needs an API token: Authorization: Bearer <token>",
                false,
            ))
        }
    }
}

/// A principal allowed to edit `collection` (401 without one, 403 without the right).
pub async fn editor_of(
    state: &AppState,
    headers: &HeaderMap,
    collection: &str,
) -> Result<Principal, Response> {
    let p = required(state, headers).await?;
    if p.may_edit(collection) {
        Ok(p)
    } else {
        tracing::warn!(principal = %p.name, collection, "edit refused: the role does not allow it");
        Err(forbidden(format!("{} may not edit {collection:?}", p.name)))
    }
}

/// When the settings require a token for reads: every request but the web app's files,
/// `/health` and `/metrics` (what load balancers and Prometheus ask, without tokens) needs a
/// valid one.
pub async fn reads_need_a_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !state.config.require_token_for_reads {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let open = path == "/health"
        || path == "/metrics"
        || path == "/"
        || path == "/index.html"
        || path == "/auth/config"
        || ["/js/", "/css/", "/vendor/"]
            .iter()
            .any(|p| path.starts_with(p));
    if open {
        return next.run(req).await;
    }
    match required(&state, req.headers()).await {
        Ok(_) => next.run(req).await,
        Err(res) => res,
    }
}
