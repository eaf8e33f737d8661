//! The seam between the editable store and its system of record.
//!
//! Two implementations: the embedded SQLite state store (`crate::sqlite`, one server per
//! directory) and PostgreSQL (`crate::postgis`, any number of servers on one database). The
//! store's writer checks and applies edits in memory exactly the same way over both; a ledger
//! only records them, tells the writer what other servers recorded first, and reads the change
//! log back.

use super::{Change, ChangesetRecord, ChangesetStatus, RecordError, TokenBook, TokenRecord};
use crate::index::Layer;

/// Looks a layer up by collection id, as the writer's next version has it.
pub type Layers<'a> = &'a dyn Fn(&str) -> Option<&'a Layer>;

/// The writing side of a system of record. Used by one thread (the store's writer).
pub trait Ledger: Send {
    /// Starts recording a batch: until [`commit`](Ledger::commit) or
    /// [`abandon`](Ledger::abandon), no other writer of the same store records anything.
    /// Returns what others recorded after `applied`, in order: the batch is checked after them.
    fn begin(&mut self, applied: i64) -> Result<Vec<Change>, RecordError>;

    /// Records `changes` (with the features as they now are in `layers`) and ends the batch.
    /// `rezoned` are `(collection, feature id)` whose derived values the changes altered
    /// (a zone moved): a ledger that keeps each feature's row rewrites those too. Returns the
    /// changes with their numbers. On `Ok` they are durable; on `Err`, none of them is.
    fn commit(
        &mut self,
        changes: Vec<Change>,
        rezoned: &[(String, String)],
        layers: Layers<'_>,
    ) -> Result<Vec<Change>, RecordError>;

    /// Ends a batch that recorded nothing.
    fn abandon(&mut self);

    /// What others recorded after `applied`, in order (at most a few thousand per call).
    fn since(&mut self, applied: i64) -> Result<Vec<Change>, RecordError>;

    /// The change a create with this `Idempotency-Key` (as `RequestKey::key`) recorded, if
    /// one did. Asked within a batch, so no other writer records the key meanwhile.
    fn request(&mut self, key: &str) -> Result<Option<Change>, RecordError>;

    /// The largest feature id of `collection`'s changes that is an integer, if any is: a new
    /// integer id is above it, so an id deleted before a restart is never handed out again.
    fn largest_integer_id(&mut self, collection: &str) -> Result<Option<i64>, RecordError>;

    /// Whether changes naming change set `id` are recorded. Asked within a batch, so no
    /// other writer applies the set meanwhile.
    fn changeset_applied(&mut self, id: &str) -> Result<bool, RecordError>;

    /// Keeps a change set's preview (in its own transaction, outside any batch).
    fn save_changeset(&mut self, record: &ChangesetRecord) -> Result<(), RecordError>;

    /// Runs `work` on the token rows (outside any batch): tokens made, listed and revoked by
    /// an administrator over the API go through the writer, the one connection that writes.
    fn with_tokens(&mut self, work: TokenWork);
}

/// Work on the token rows, given the book or why it cannot be had.
pub type TokenWork = Box<dyn FnOnce(Result<&mut dyn TokenBook, RecordError>) + Send>;

/// Which changes an audit lists, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// Who made them (exactly).
    pub principal: Option<String>,
    pub collection: Option<String>,
    /// Made at or after this instant (RFC 3339, UTC, as changes record it).
    pub since: Option<String>,
    /// Made before this instant.
    pub until: Option<String>,
    /// Numbered below this (the next page).
    pub before: Option<i64>,
    pub limit: usize,
}

/// The reading side: history, the change feed and tokens, read beside the writer.
pub trait LedgerReads: Send + Sync {
    /// The changes of one feature after `since`, oldest first: at most `limit`, and at most
    /// [`PAGE_BYTES`](super::PAGE_BYTES) of features (at least one change).
    fn history(
        &self,
        collection: &str,
        id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Change>, RecordError>;
    /// Changes after `since`, bounded as `history` is.
    fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, RecordError>;
    /// The number and instant (RFC 3339) of the first change numbered `seq` or more, if any:
    /// what finding the change at a moment halves the log with.
    fn first_change_from(&self, seq: i64) -> Result<Option<(i64, String)>, RecordError>;
    fn token(&self, presented: &str) -> Result<Option<TokenRecord>, RecordError>;
    /// A change set with its preview, and what became of it.
    fn changeset(
        &self,
        id: &str,
    ) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, RecordError>;
    /// The newest `limit` change sets of `collection`, newest first, without their previews.
    fn changesets(
        &self,
        collection: &str,
        limit: usize,
    ) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, RecordError>;
    /// The changes that name change set `id`, oldest first (all of them: a set is bounded
    /// when it is made).
    fn changeset_changes(&self, id: &str) -> Result<Vec<Change>, RecordError>;
    /// The changes `q` asks for, newest first, without the features' versions (who, when,
    /// what, which feature, which change set).
    fn audit(&self, q: &AuditQuery) -> Result<Vec<Change>, RecordError>;
    /// Connections open and idle, where the reads use a pool.
    fn pool(&self) -> Option<(u32, u32)> {
        None
    }
}
