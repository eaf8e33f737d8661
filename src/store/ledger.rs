//! Where the editable store keeps its edits: the seam between [`JournaledStore`] and its
//! system of record.
//!
//! Two implementations: the embedded SQLite state store (`journal`, one server per directory)
//! and PostgreSQL (`postgis::PgLedger`, any number of servers on one database). The writer
//! checks and applies edits in memory exactly the same way over both; a ledger only records
//! them, tells the writer what other servers recorded first, and reads the change log back.
//!
//! [`JournaledStore`]: super::JournaledStore

use std::sync::Mutex;

use rusqlite::Connection;

use crate::index::Layer;
use crate::journal::{self, Change, Journal, JournalError, TokenRecord};

/// Why a ledger could not record or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// The system of record cannot be reached (down, restarting, network): the same request
    /// may succeed later, and nothing was recorded.
    #[error("the store is unreachable: {0}")]
    Unavailable(String),
    /// It answered, and refused.
    #[error("the store refused the write: {0}")]
    Refused(String),
}

impl From<JournalError> for LedgerError {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::Unavailable(reason) => LedgerError::Unavailable(reason),
            other => LedgerError::Refused(other.to_string()),
        }
    }
}

/// Looks a layer up by collection id, as the writer's next version has it.
pub type Layers<'a> = &'a dyn Fn(&str) -> Option<&'a Layer>;

/// The writing side of a system of record. Used by one thread (the store's writer).
pub trait Ledger: Send {
    /// Starts recording a batch: until [`commit`](Ledger::commit) or
    /// [`abandon`](Ledger::abandon), no other writer of the same store records anything.
    /// Returns what others recorded after `applied`, in order: the batch is checked after them.
    fn begin(&mut self, applied: i64) -> Result<Vec<Change>, LedgerError>;

    /// Records `changes` (with the features as they now are in `layers`) and ends the batch.
    /// `rezoned` are `(collection, feature id)` whose derived values the changes altered
    /// (a zone moved): a ledger that keeps each feature's row rewrites those too. Returns the
    /// changes with their numbers. On `Ok` they are durable; on `Err`, none of them is.
    fn commit(
        &mut self,
        changes: Vec<Change>,
        rezoned: &[(String, String)],
        layers: Layers<'_>,
    ) -> Result<Vec<Change>, LedgerError>;

    /// Ends a batch that recorded nothing.
    fn abandon(&mut self);

    /// What others recorded after `applied`, in order (at most a few thousand per call).
    fn since(&mut self, applied: i64) -> Result<Vec<Change>, LedgerError>;

    /// The change a create with this `Idempotency-Key` (as `RequestKey::key`) recorded, if
    /// one did. Asked within a batch, so no other writer records the key meanwhile.
    fn request(&mut self, key: &str) -> Result<Option<Change>, LedgerError>;

    /// The largest feature id of `collection`'s changes that is an integer, if any is: a new
    /// integer id is above it, so an id deleted before a restart is never handed out again.
    fn largest_integer_id(&mut self, collection: &str) -> Result<Option<i64>, LedgerError>;
}

/// The reading side: history, the change feed and tokens, read beside the writer.
pub trait LedgerReads: Send + Sync {
    /// The changes of one feature after `since`, oldest first: at most `limit`, and at most
    /// `journal::PAGE_BYTES` of features (at least one change).
    fn history(
        &self,
        collection: &str,
        id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Change>, JournalError>;
    /// Changes after `since`, bounded as `history` is.
    fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, JournalError>;
    fn token(&self, presented: &str) -> Result<Option<TokenRecord>, JournalError>;
    /// Connections open and idle, where the reads use a pool.
    fn pool(&self) -> Option<(u32, u32)> {
        None
    }
}

/// The embedded state store as a ledger: the directory's lock makes its server the only
/// writer, so there is never anything of others to catch up with.
pub struct SqliteLedger(pub Journal);

impl Ledger for SqliteLedger {
    fn begin(&mut self, _applied: i64) -> Result<Vec<Change>, LedgerError> {
        Ok(Vec::new())
    }

    fn commit(
        &mut self,
        changes: Vec<Change>,
        _rezoned: &[(String, String)],
        _layers: Layers<'_>,
    ) -> Result<Vec<Change>, LedgerError> {
        Ok(self.0.commit(changes)?)
    }

    fn abandon(&mut self) {}

    fn since(&mut self, _applied: i64) -> Result<Vec<Change>, LedgerError> {
        Ok(Vec::new())
    }

    fn request(&mut self, key: &str) -> Result<Option<Change>, LedgerError> {
        Ok(journal::change_of_request(self.0.db(), key)?)
    }

    fn largest_integer_id(&mut self, collection: &str) -> Result<Option<i64>, LedgerError> {
        Ok(journal::largest_integer_id(self.0.db(), collection)?)
    }
}

/// The embedded state store's reads, on a read-only connection of their own.
pub struct SqliteReads(pub Mutex<Connection>);

impl SqliteReads {
    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl LedgerReads for SqliteReads {
    fn history(
        &self,
        collection: &str,
        id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Change>, JournalError> {
        journal::history(&self.db(), collection, id, since, limit)
    }

    fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, JournalError> {
        journal::changes_since(&self.db(), since, limit)
    }

    fn token(&self, presented: &str) -> Result<Option<TokenRecord>, JournalError> {
        journal::tokens::find(&self.db(), presented)
    }
}
