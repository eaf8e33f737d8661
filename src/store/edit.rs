//! What an edit asks and what it gets: the store's side of OGC API - Features Part 4.

use serde_json::{Map, Value as Json};

use crate::ingest::BodyError;
use crate::record::{Change, RequestKey};

/// One edit, as the HTTP layer hands it over (bodies already parsed, geometry in CRS84).
#[derive(Debug, Clone)]
pub struct EditRequest {
    pub collection: String,
    pub action: EditAction,
    /// Who asks (a token's name, or a JWT subject): recorded with the change.
    pub principal: String,
    pub condition: Condition,
    /// Whether anyone still waits for the answer (see [`Ticket`]); `None`: always applied.
    pub ticket: Option<std::sync::Arc<Ticket>>,
    /// A create's `Idempotency-Key` (see [`RequestKey`]).
    pub request: Option<RequestKey>,
    /// The change set this edit belongs to (recorded with its change).
    pub changeset: Option<String>,
    /// The limits of who asks inside this collection (see `crate::record::scope`); `None`:
    /// none.
    pub scope: Option<std::sync::Arc<crate::record::Scope>>,
}

/// An edit's claim on being applied, shared by the request that waits for the answer and the
/// writer that makes it. Whichever comes first wins: the writer [`take`](Ticket::take)s it
/// before applying the edit, and a request past its deadline [`abandon`](Ticket::abandon)s it
/// before answering 503. So an edit answered 503 is never applied, and an edit the writer has
/// started is always answered with its outcome (a client that retries a 503 gets no
/// duplicate).
#[derive(Debug, Default)]
pub struct Ticket(std::sync::atomic::AtomicU8);

const PENDING: u8 = 0;
const TAKEN: u8 = 1;
const ABANDONED: u8 = 2;

impl Ticket {
    fn settle(&self, to: u8) -> bool {
        use std::sync::atomic::Ordering;
        self.0
            .compare_exchange(PENDING, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The writer's claim: `false` when the request gave up first (the edit is not applied).
    pub fn take(&self) -> bool {
        self.settle(TAKEN)
    }

    /// The waiting request's surrender: `false` when the writer has the edit already (its
    /// outcome must then be awaited and answered).
    pub fn abandon(&self) -> bool {
        self.settle(ABANDONED)
    }
}

#[derive(Debug, Clone)]
pub enum EditAction {
    /// POST: a new feature (its `id`, if the body has one, is kept unless taken).
    Create(Map<String, Json>),
    /// PUT: the whole feature (a body `id` is ignored: the URL's wins).
    Replace(String, Map<String, Json>),
    /// PATCH: a JSON Merge Patch (RFC 7396) of the feature.
    Update(String, Json),
    Delete(String),
    /// A revert's step: puts a feature back exactly as it was (`updated_at` included), or
    /// removes it (`feature: None`), provided it is still what `expect` says the reverted
    /// change left (`None`: absent), compared on its geometry and own properties.
    Restore {
        id: String,
        feature: Option<Json>,
        expect: Option<Json>,
    },
}

/// The precondition an edit of an existing feature carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// None was given: refused (428) for PUT, PATCH and DELETE, so no edit overwrites a change
    /// its author never saw.
    Missing,
    /// `If-Match`: one of these ETags (or `*`).
    IfMatch(Vec<String>),
    /// `If-Unmodified-Since`, in seconds since the epoch.
    IfUnmodifiedSince(i64),
    /// For a create: nothing to compare with.
    NotApplicable,
}

/// What a stored edit gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    pub id: String,
    /// The feature after the edit (`None` after a delete).
    pub feature: Option<Json>,
    pub etag: Option<String>,
    /// `updated_at`, in seconds since the epoch.
    pub last_modified: Option<i64>,
    pub created: bool,
    /// The change as recorded (its `seq` numbers the change feed).
    pub change: Change,
}

/// Why an edit was refused. A refused edit changes nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("there is no collection {0:?}")]
    NoSuchCollection(String),
    #[error("collection {0:?} cannot be edited")]
    NotEditable(String),
    #[error("there is no feature {0:?} in this collection")]
    NotFound(String),
    #[error("a feature {0:?} exists already; replace it with PUT, or leave the id out")]
    Exists(String),
    #[error("this edit needs If-Match (the feature's ETag) or If-Unmodified-Since, so it cannot overwrite a change its author has not seen")]
    PreconditionRequired,
    #[error("the feature has changed since that version (its ETag is now {etag})")]
    PreconditionFailed { etag: String },
    #[error("{0}")]
    Body(BodyError),
    #[error("the body's id {0:?} differs from the URL's; an id cannot change")]
    IdChange(String),
    #[error("the edit could not be stored ({0}); nothing changed")]
    Storage(String),
    /// The system of record is unreachable; nothing changed, and the same edit may succeed
    /// after `retry_after` seconds.
    #[error("the store is unreachable for now; nothing changed. Try again in {retry_after} s")]
    Unavailable { retry_after: u64 },
    /// A create with an `Idempotency-Key` already used for a different body.
    #[error("this Idempotency-Key was used for a different body; a retry must send the same body, and a new request a new key")]
    KeyReused,
    /// Two requests with one `Idempotency-Key` at once: the second waits for the first.
    #[error("a request with this Idempotency-Key is being processed; retry once it is answered")]
    RequestInProgress,
    /// The request gave up waiting before the writer reached the edit; nothing changed.
    #[error("the edit waited too long behind others and was not applied; nothing changed")]
    Abandoned,
    /// A revert found the feature changed since the change set it undoes.
    #[error("feature {0:?} has changed since the change set was applied")]
    ChangedSince(String),
    /// The edit is outside the rights of who asks (a rule of their token's scope).
    #[error("{0}")]
    OutOfScope(super::journaled::OutOfScope),
}

/// Applies a JSON Merge Patch (RFC 7396) to `target`.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    match patch {
        Json::Object(p) => {
            if !target.is_object() {
                *target = Json::Object(Map::new());
            }
            if let Json::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Json::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The RFC's own example (section 3).
        let mut target = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]});
        merge_patch(&mut target, &patch);
        assert_eq!(
            target,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"], "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
    }
}
