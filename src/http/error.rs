//! Every error the API returns, as `application/problem+json` (RFC 9457) with a stable `code`.
//!
//! The status is decided here, once, from the lower layers' error types. Details of a 5xx are
//! logged, never sent: the body says only that something failed on the server.

use crate::http::problem::Problem;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::query::stats::{StatsError, StatsInput};
use crate::query::{Exceeded, QueryError};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// What kind of problem: its stable code and titles (see [`Problem`]).
    pub code: Problem,
    /// For people: what went wrong and how to fix it.
    pub detail: String,
    /// The query parameter at fault, when there is one.
    pub parameter: Option<String>,
    /// For a filter error, the 0-based character offset in the filter text.
    pub position: Option<usize>,
    /// For a 503, when to come back (the Retry-After header).
    pub retry_after: Option<u32>,
    /// For a 405, the methods the resource does take (the Allow header RFC 9110 requires).
    pub allow: Option<&'static str>,
    /// The features at fault (a change set's conflicts), each with its reason.
    pub features: Option<Box<serde_json::Value>>,
    /// For a 403 of a scoped token, the rule of its scope the request broke.
    pub rule: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Problem, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            parameter: None,
            position: None,
            retry_after: None,
            allow: None,
            features: None,
            rule: None,
        }
    }

    /// A malformed or unacceptable query parameter (400), naming it.
    pub fn parameter(name: &str, detail: impl Into<String>) -> Self {
        ApiError {
            parameter: Some(name.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, Problem::InvalidParameter, detail)
        }
    }

    pub fn unknown_parameter(name: &str, known: &str) -> Self {
        let name = super::params::shorten(name);
        ApiError {
            parameter: Some(name.clone().into_owned()),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                Problem::UnknownParameter,
                format!("unknown query parameter {name:?}; this resource accepts: {known}"),
            )
        }
    }

    /// A request body that cannot be read as what the route expects (400).
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Problem::InvalidBody, detail)
    }

    /// The work ran past the request's time budget (see `query::Budget`).
    pub fn timed_out(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Problem::Timeout,
            format!(
                "the request took longer than {} s and was stopped; narrow it (a smaller area, fewer terms) or retry later",
                limit.as_secs_f64()
            ),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, Problem::NotFound, detail)
    }

    pub fn no_such_collection(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Problem::CollectionNotFound,
            format!("there is no collection {id:?}; see /collections"),
        )
    }

    /// 503 for a server at its limit of expensive work, with the seconds to wait.
    pub fn busy(retry_after_s: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after_s),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::Busy,
                format!("the server is at its limit of concurrent downloads and statistics; retry in {retry_after_s} s"),
            )
        }
    }

    /// 503 for a system of record (PostgreSQL) that cannot be reached: reads from memory go on,
    /// what needs the store comes back after `retry_after_s`.
    pub fn store_unavailable(retry_after_s: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after_s),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::StoreUnavailable,
                format!("the store is unreachable for now; nothing changed. Reads go on; retry this in {retry_after_s} s"),
            )
        }
    }

    /// The answer when the state store could not be read (`what`: for the log).
    pub fn store_read(e: &crate::record::RecordError, what: &str, retry_after_s: u32) -> Self {
        if let crate::record::RecordError::Unavailable(reason) = e {
            tracing::warn!(%reason, "cannot read {what}: the store is unreachable");
            return Self::store_unavailable(retry_after_s);
        }
        tracing::error!(error = %e, "cannot read {what}");
        Self::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A generic body for a bare status from a lower layer (405, 413, 503...).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => (Problem::NotFound, "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => (
                Problem::MethodNotAllowed,
                "this method is not allowed on this resource",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                Problem::BodyTooLarge,
                "the request body is larger than the server accepts",
            ),
            StatusCode::URI_TOO_LONG => (
                Problem::UriTooLong,
                "the request URL is longer than the server accepts",
            ),
            StatusCode::NOT_ACCEPTABLE => (
                Problem::NotAcceptable,
                "no representation of this resource matches the Accept header",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                Problem::UnsupportedMediaType,
                "the request body's media type is not accepted here",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                Problem::Unavailable,
                "the server cannot answer this request now; try again later",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
                (Problem::Timeout, "the request took too long")
            }
            s if s.is_server_error() => (
                Problem::InternalError,
                "the server failed to answer this request",
            ),
            _ => (Problem::BadRequest, "the request is not acceptable"),
        };
        Self::new(status, code, detail)
    }

    fn title(&self) -> &'static str {
        self.code.entry().title_en
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:etown-atlas:problem:{}", self.code.code()),
            "title": self.title(),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code.code(),
        });
        if let Some(p) = &self.parameter {
            body["parameter"] = json!(p);
        }
        if let Some(p) = self.position {
            body["position"] = json!(p);
        }
        if let Some(f) = self.features {
            body["features"] = *f;
        }
        if let Some(r) = self.rule {
            body["rule"] = json!(r);
        }
        let mut res = (self.status, body.to_string()).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(methods) = self.allow {
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        res
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        if let QueryError::Exceeded(x) = e {
            return x.into();
        }
        let code = match &e {
            QueryError::UnknownProperty { .. } => Problem::UnknownProperty,
            QueryError::InvalidValue { .. } => Problem::InvalidParameter,
            QueryError::NoTemporalProperty => Problem::NoTemporalProperty,
            QueryError::Filter(f) => filter_problem(f),
            QueryError::Exceeded(_) => Problem::Timeout,
        };
        let mut err = ApiError {
            parameter: Some(e.parameter().to_owned()),
            ..ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
        };
        if let QueryError::Filter(f) = &e {
            err.position = f.position();
        }
        err
    }
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        let parameter = match e.input {
            StatsInput::GroupBy => "group-by",
            StatsInput::Sum => "sum",
        };
        ApiError::parameter(parameter, e.reason)
    }
}

impl From<Exceeded> for ApiError {
    /// The budget's limit is not known here; the compute boundary rewrites the message with it.
    fn from(_: Exceeded) -> Self {
        ApiError::timed_out(std::time::Duration::ZERO)
    }
}

/// The problem a filter error is.
fn filter_problem(e: &crate::query::FilterError) -> Problem {
    use crate::query::FilterError as F;
    match e {
        F::Syntax { .. } => Problem::FilterSyntax,
        F::UnknownProperty { .. } => Problem::UnknownProperty,
        F::TypeMismatch { .. } => Problem::FilterTypeMismatch,
        F::Unsupported { .. } => Problem::FilterUnsupported,
        F::Geometry(_) => Problem::InvalidGeometry,
        F::TooComplex(_) => Problem::FilterTooComplex,
    }
}
