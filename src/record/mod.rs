//! The system of record: what an edit leaves behind, whichever backend keeps it.
//!
//! The nouns every backend shares live here: a [`Change`] and its [`Operation`], the
//! [`RequestKey`] of a retried create, the [`Stored`] version of an edited feature, API tokens
//! ([`tokens`]), the seam a store writes and reads through ([`Ledger`], [`LedgerReads`]) and the
//! one error they all answer with ([`RecordError`]). The backends are siblings behind it: the
//! embedded SQLite state store (`crate::sqlite`) and PostgreSQL (`crate::postgis`). The store
//! and HTTP see only this module, never a backend (`tests/it/layering.rs` keeps it so).

pub mod changesets;
pub mod ledger;
pub mod scope;
pub mod tokens;

use serde_json::Value as Json;

pub use changesets::{Applied, ChangesetRecord, ChangesetStatus};
pub use ledger::{AuditQuery, Layers, Ledger, LedgerReads, TokenWork};
pub use scope::{Scope, Scopes};
pub use tokens::{NewToken, TokenBook, TokenRecord};

/// Why the system of record could not open, record or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// The state store's file could not be opened.
    #[error("{path}: cannot open the state store: {reason}")]
    Open { path: String, reason: String },
    /// The state store's directory (or a file in it) could not be made or locked.
    #[error("{path}: cannot create the state directory: {reason}")]
    Dir { path: String, reason: String },
    /// The backend failed (a query, a transaction); the message says which backend and why.
    #[error("state store: {0}")]
    Backend(String),
    /// A stored feature does not parse as JSON.
    #[error("state store: a stored feature is not JSON: {0}")]
    Json(String),
    /// A request the record cannot honour (a token name taken, an unknown operation read
    /// back, another server holding the directory); the message is the whole story.
    #[error("{0}")]
    Invalid(String),
    /// The system of record is in another process (PostgreSQL) and cannot be reached now:
    /// the same request may succeed later, and nothing was recorded.
    #[error("the store is unreachable: {0}")]
    Unavailable(String),
    /// It answered, and refused the write.
    #[error("the store refused the write: {0}")]
    Refused(String),
}

impl RecordError {
    /// This error as a writer reports it: an outage stays an outage, anything else is a
    /// refusal that names what went wrong.
    pub fn refusal(self) -> RecordError {
        match self {
            RecordError::Unavailable(_) | RecordError::Refused(_) => self,
            other => RecordError::Refused(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for RecordError {
    fn from(e: serde_json::Error) -> Self {
        RecordError::Json(e.to_string())
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Replace,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Replace => "replace",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }

    /// The operation a change log names (as [`as_str`](Operation::as_str) wrote it).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        Ok(match s {
            "create" => Operation::Create,
            "replace" => Operation::Replace,
            "update" => Operation::Update,
            "delete" => Operation::Delete,
            other => {
                return Err(RecordError::Invalid(format!(
                    "unknown operation {other:?} in the change log"
                )))
            }
        })
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its place in the change feed; assigned when recorded.
    pub seq: i64,
    pub collection: String,
    pub feature_id: String,
    pub operation: Operation,
    /// Who made it (a token's name, or a JWT subject).
    pub principal: String,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    /// The feature as GeoJSON before the change (`None` for a create) and after (`None` for a delete).
    pub before: Option<Json>,
    pub after: Option<Json>,
    /// The `Idempotency-Key` request that made it, if it came with one.
    pub request: Option<RequestKey>,
    /// The change set it belongs to, if a change set made it.
    pub changeset: Option<String>,
}

/// A create sent with an `Idempotency-Key`: the key (hashed with who sent it and where, so
/// one client's key never answers another's request) and a hash of the body. A retry with
/// the same key and body is answered with this change instead of creating a second feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub key: String,
    pub body_hash: String,
}

/// The current version of an edited feature (`None`: deleted).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub collection: String,
    pub feature_id: String,
    pub feature: Option<Json>,
}

/// The most bytes of stored features (before and after) one page of the change feed or of a
/// feature's history carries: past it the page ends early (after at least one change), and
/// its `next` link goes on from there. 11 versions of a large outline were 52 MB in one answer.
pub const PAGE_BYTES: i64 = 4 * 1024 * 1024;
