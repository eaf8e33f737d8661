//! The embedded state store as the store's ledger.

use std::sync::Mutex;

use rusqlite::Connection;

use super::Journal;
use crate::record::{
    AuditQuery, Change, ChangesetRecord, ChangesetStatus, Layers, Ledger, LedgerReads, RecordError,
    TokenRecord, TokenWork,
};

/// The embedded state store as a ledger: the directory's lock makes its server the only
/// writer, so there is never anything of others to catch up with.
pub struct SqliteLedger(pub Journal);

impl Ledger for SqliteLedger {
    fn begin(&mut self, _applied: i64) -> Result<Vec<Change>, RecordError> {
        Ok(Vec::new())
    }

    fn commit(
        &mut self,
        changes: Vec<Change>,
        _rezoned: &[(String, String)],
        _layers: Layers<'_>,
    ) -> Result<Vec<Change>, RecordError> {
        self.0.commit(changes).map_err(RecordError::refusal)
    }

    fn abandon(&mut self) {}

    fn since(&mut self, _applied: i64) -> Result<Vec<Change>, RecordError> {
        Ok(Vec::new())
    }

    fn request(&mut self, key: &str) -> Result<Option<Change>, RecordError> {
        super::change_of_request(self.0.db(), key).map_err(RecordError::refusal)
    }

    fn largest_integer_id(&mut self, collection: &str) -> Result<Option<i64>, RecordError> {
        super::largest_integer_id(self.0.db(), collection).map_err(RecordError::refusal)
    }

    fn changeset_applied(&mut self, id: &str) -> Result<bool, RecordError> {
        super::changesets::applied(self.0.db(), id).map_err(RecordError::refusal)
    }

    fn save_changeset(&mut self, record: &ChangesetRecord) -> Result<(), RecordError> {
        super::changesets::save(self.0.db(), record).map_err(RecordError::refusal)
    }

    fn with_tokens(&mut self, work: TokenWork) {
        work(Ok(&mut self.0));
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
    ) -> Result<Vec<Change>, RecordError> {
        super::history(&self.db(), collection, id, since, limit)
    }

    fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, RecordError> {
        super::changes_since(&self.db(), since, limit)
    }

    fn first_change_from(&self, seq: i64) -> Result<Option<(i64, String)>, RecordError> {
        use rusqlite::OptionalExtension;
        let db = self.db();
        let mut stmt =
            db.prepare_cached("SELECT seq, at FROM changes WHERE seq >= ?1 ORDER BY seq LIMIT 1")?;
        Ok(stmt
            .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<Change>, RecordError> {
        super::audit(&self.db(), q)
    }

    fn token(&self, presented: &str) -> Result<Option<TokenRecord>, RecordError> {
        super::tokens::find(&self.db(), presented)
    }

    fn changeset(
        &self,
        id: &str,
    ) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        super::changesets::find(&self.db(), id)
    }

    fn changesets(
        &self,
        collection: &str,
        limit: usize,
    ) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        super::changesets::list(&self.db(), collection, limit)
    }

    fn changeset_changes(&self, id: &str) -> Result<Vec<Change>, RecordError> {
        super::changesets::changes(&self.db(), id)
    }
}
