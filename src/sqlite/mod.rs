//! The embedded state store (a backend of `crate::record`): what edits have made of the seed data, kept durably in a directory.
//!
//! One SQLite database, `state.sqlite`, in WAL mode with `synchronous=FULL`: a transaction is
//! on disk (fsynced) when `commit` returns, and a crash at any instant leaves either all of a
//! transaction or none of it. SQLite is already in the tree (for GeoPackage), needs no server,
//! and its recovery is among the most tested code there is; a hand-written log would have to
//! earn the same trust.
//!
//! Tables:
//! - `features`: the current version of every feature an edit touched (or a tombstone). At
//!   start, the seed files are loaded and this table is laid over them: the state is the seed
//!   plus these rows.
//! - `changes`: every change ever made, in order: who, when, what, the feature before and
//!   after. Its `seq` numbers the change feed.
//! - `tokens`: API tokens, stored only as SHA-256 hashes (see `auth`).
//! - `seeds`: the fingerprint of each collection's seed when the state store first saw it, so a
//!   changed seed file is noticed and reported at start.

mod changesets;
mod ledger;
mod open;
mod tokens;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::Value as Json;

pub use ledger::{SqliteLedger, SqliteReads};
pub use open::open_store;

use crate::record::{Change, Operation, RecordError, RequestKey, Stored, PAGE_BYTES};

pub const DB_FILE: &str = "state.sqlite";

impl From<rusqlite::Error> for RecordError {
    fn from(e: rusqlite::Error) -> Self {
        RecordError::Backend(e.to_string())
    }
}

/// The open state store. One writer at a time (the store's writer thread); readers open their
/// own connections (`reader`), which WAL lets run beside it.
pub struct Journal {
    path: PathBuf,
    db: Connection,
}

impl Journal {
    /// Opens (creating if needed) the state store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir).map_err(|source| RecordError::Dir {
            path: dir.display().to_string(),
            reason: source.to_string(),
        })?;
        let path = dir.join(DB_FILE);
        private_file(&path)?;
        let db = Connection::open(&path).map_err(|source| RecordError::Open {
            path: path.display().to_string(),
            reason: source.to_string(),
        })?;
        // WAL: readers never block the writer. FULL: each commit fsyncs the log before it
        // returns, so an acknowledged edit survives a crash or a power cut.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS features (
                 collection TEXT NOT NULL,
                 feature_id TEXT NOT NULL,
                 feature TEXT,              -- GeoJSON; NULL: deleted
                 seq INTEGER NOT NULL,      -- the change that made this version
                 PRIMARY KEY (collection, feature_id)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS changes (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 collection TEXT NOT NULL,
                 feature_id TEXT NOT NULL,
                 operation TEXT NOT NULL,
                 principal TEXT NOT NULL,
                 at TEXT NOT NULL,
                 before TEXT,
                 after TEXT
             );
             CREATE INDEX IF NOT EXISTS changes_by_feature ON changes (collection, feature_id, seq);
             CREATE TABLE IF NOT EXISTS seeds (
                 collection TEXT PRIMARY KEY,
                 fingerprint TEXT NOT NULL,
                 first_seen TEXT NOT NULL
             );",
        )?;
        tokens::create_table(&db)?;
        add_request_columns(&db)?;
        changesets::create_table(&db)?;
        Ok(Journal { path, db })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read-only connection for queries beside the writer (history, the change feed).
    pub fn reader(&self) -> Result<Connection, RecordError> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| RecordError::Open {
            path: self.path.display().to_string(),
            reason: source.to_string(),
        })?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(c)
    }

    /// Records `changes` in one transaction and returns them with their `seq`. When this
    /// returns `Ok`, they are on disk; on `Err`, none of them is.
    pub fn commit(&mut self, changes: Vec<Change>) -> Result<Vec<Change>, RecordError> {
        let tx = self.db.transaction()?;
        let mut out = Vec::with_capacity(changes.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (collection, feature_id, operation, principal, at, before, after, request_key, request_hash, changeset)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO features (collection, feature_id, feature, seq) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (collection, feature_id) DO UPDATE SET feature = excluded.feature, seq = excluded.seq",
            )?;
            for mut c in changes {
                let before = c.before.as_ref().map(Json::to_string);
                let after = c.after.as_ref().map(Json::to_string);
                insert.execute(params![
                    c.collection,
                    c.feature_id,
                    c.operation.as_str(),
                    c.principal,
                    c.at,
                    before,
                    after,
                    c.request.as_ref().map(|r| r.key.as_str()),
                    c.request.as_ref().map(|r| r.body_hash.as_str()),
                    c.changeset
                ])?;
                c.seq = tx.last_insert_rowid();
                upsert.execute(params![c.collection, c.feature_id, after, c.seq])?;
                out.push(c);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Every edited feature's current version, for laying over the seed at start.
    pub fn stored(&self) -> Result<Vec<Stored>, RecordError> {
        let mut stmt = self
            .db
            .prepare("SELECT collection, feature_id, feature FROM features ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (collection, feature_id, text) = row?;
            let feature = match text {
                Some(t) => Some(serde_json::from_str(&t)?),
                None => None,
            };
            out.push(Stored {
                collection,
                feature_id,
                feature,
            });
        }
        Ok(out)
    }

    /// The last change's `seq` (0 when there is none).
    pub fn last_seq(&self) -> Result<i64, RecordError> {
        Ok(self
            .db
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })?)
    }

    /// Records each collection's seed fingerprint the first time it is seen; returns the
    /// collections whose seed differs from the one first seen.
    pub fn check_seeds(
        &mut self,
        seeds: &[(String, String)],
        now: &str,
    ) -> Result<Vec<String>, RecordError> {
        let tx = self.db.transaction()?;
        let mut changed = Vec::new();
        for (collection, fingerprint) in seeds {
            let known: Option<String> = tx
                .query_row(
                    "SELECT fingerprint FROM seeds WHERE collection = ?1",
                    [collection],
                    |r| r.get(0),
                )
                .optional()?;
            match known {
                None => {
                    tx.execute("INSERT INTO seeds (collection, fingerprint, first_seen) VALUES (?1, ?2, ?3)", params![collection, fingerprint, now])?;
                }
                Some(f) if &f != fingerprint => changed.push(collection.clone()),
                Some(_) => {}
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Forgets the recorded seed fingerprints (after the state was written back as the seed).
    pub fn reset_seeds(
        &mut self,
        seeds: &[(String, String)],
        now: &str,
    ) -> Result<(), RecordError> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM seeds", [])?;
        for (collection, fingerprint) in seeds {
            tx.execute(
                "INSERT INTO seeds (collection, fingerprint, first_seen) VALUES (?1, ?2, ?3)",
                params![collection, fingerprint, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn db(&self) -> &Connection {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut Connection {
        &mut self.db
    }
}

/// The columns of an `Idempotency-Key` (added to a store made before they existed), and the
/// index that finds a key and keeps it unique.
fn add_request_columns(db: &Connection) -> Result<(), RecordError> {
    let has: bool = db.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('changes') WHERE name = 'request_key'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has {
        db.execute_batch(
            "ALTER TABLE changes ADD COLUMN request_key TEXT;
             ALTER TABLE changes ADD COLUMN request_hash TEXT;",
        )?;
    }
    db.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS changes_by_request ON changes (request_key)
             WHERE request_key IS NOT NULL;",
    )?;
    Ok(())
}

/// The change an `Idempotency-Key` made, if one did.
pub fn change_of_request(db: &Connection, key: &str) -> Result<Option<Change>, RecordError> {
    let row = db
        .query_row(
            &format!("{SELECT_ROW} WHERE request_key = ?1"),
            [key],
            change_from_row,
        )
        .optional()?;
    row.map(to_change).transpose()
}

/// The largest integer feature id among `collection`'s changes (ids of 1 to 18 digits, with
/// an optional minus sign: what `i64` holds).
pub fn largest_integer_id(db: &Connection, collection: &str) -> Result<Option<i64>, RecordError> {
    Ok(db.query_row(
        "SELECT MAX(CAST(feature_id AS INTEGER)) FROM changes
         WHERE collection = ?1 AND LENGTH(LTRIM(feature_id, '-')) BETWEEN 1 AND 18
           AND LTRIM(feature_id, '-') NOT GLOB '*[^0-9]*'
           AND feature_id NOT GLOB '?*-*'",
        [collection],
        |r| r.get::<_, Option<i64>>(0),
    )?)
}

/// The columns [`change_from_row`] reads.
const SELECT_ROW: &str = "SELECT seq, collection, feature_id, operation, principal, at, before, after, request_key, request_hash, changeset FROM changes";

/// Makes `path` a file only its owner may read or write (0600), creating it empty if needed,
/// before SQLite opens it: it holds token hashes and every edit, and SQLite gives its WAL and
/// shared-memory files the database file's permissions.
fn private_file(path: &Path) -> Result<(), RecordError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir_error = |source: std::io::Error| RecordError::Dir {
        path: path.display().to_string(),
        reason: source.to_string(),
    };
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(dir_error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(dir_error)?;
    // A directory from before this rule may hold a WAL and shared memory left readable.
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        if std::path::Path::new(&side).exists() {
            std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600))
                .map_err(dir_error)?;
        }
    }
    Ok(())
}

/// A `changes` row as read, before its JSON is parsed.
pub(crate) struct Row {
    seq: i64,
    collection: String,
    feature_id: String,
    operation: String,
    principal: String,
    at: String,
    before: Option<String>,
    after: Option<String>,
    request_key: Option<String>,
    request_hash: Option<String>,
    changeset: Option<String>,
}

pub(crate) fn change_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        seq: r.get(0)?,
        collection: r.get(1)?,
        feature_id: r.get(2)?,
        operation: r.get(3)?,
        principal: r.get(4)?,
        at: r.get(5)?,
        before: r.get(6)?,
        after: r.get(7)?,
        request_key: r.get(8)?,
        request_hash: r.get(9)?,
        changeset: r.get(10)?,
    })
}

pub(crate) fn to_change(row: Row) -> Result<Change, RecordError> {
    let parse = |t: Option<String>| -> Result<Option<Json>, RecordError> {
        Ok(match t {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    };
    Ok(Change {
        seq: row.seq,
        collection: row.collection,
        feature_id: row.feature_id,
        operation: Operation::parse(&row.operation)?,
        principal: row.principal,
        at: row.at,
        before: parse(row.before)?,
        after: parse(row.after)?,
        request: row.request_key.map(|key| RequestKey {
            key,
            body_hash: row.request_hash.unwrap_or_default(),
        }),
        changeset: row.changeset,
    })
}

/// Changes after `since`, oldest first: at most `limit`, and no more than [`PAGE_BYTES`] of
/// features (at least one change).
pub fn changes_since(
    db: &Connection,
    since: i64,
    limit: usize,
) -> Result<Vec<Change>, RecordError> {
    page(db, "seq > ?1", params![since, limit as i64, PAGE_BYTES])
}

/// The changes an audit asks for, newest first, without the features' versions.
pub fn audit(db: &Connection, q: &crate::record::AuditQuery) -> Result<Vec<Change>, RecordError> {
    let mut conditions = Vec::new();
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut add = |sql: &str, v: Box<dyn rusqlite::ToSql>| {
        values.push(v);
        conditions.push(sql.replace('?', &format!("?{}", values.len())));
    };
    if let Some(p) = &q.principal {
        add("principal = ?", Box::new(p.clone()));
    }
    if let Some(c) = &q.collection {
        add("collection = ?", Box::new(c.clone()));
    }
    // Instants are stored as RFC 3339 UTC text of one shape, so they compare as text.
    if let Some(t) = &q.since {
        add("at >= ?", Box::new(t.clone()));
    }
    if let Some(t) = &q.until {
        add("at < ?", Box::new(t.clone()));
    }
    if let Some(b) = q.before {
        add("seq < ?", Box::new(b));
    }
    values.push(Box::new(q.limit as i64));
    let limit = values.len();
    let condition = if conditions.is_empty() {
        "1".to_owned()
    } else {
        conditions.join(" AND ")
    };
    let sql = format!(
        "SELECT seq, collection, feature_id, operation, principal, at, NULL, NULL, request_key, request_hash, changeset
         FROM changes WHERE {condition} ORDER BY seq DESC LIMIT ?{limit}"
    );
    let mut stmt = db.prepare(&sql)?;
    let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let rows = stmt.query_map(params.as_slice(), change_from_row)?;
    rows.map(|r| to_change(r?)).collect()
}

/// The changes of one feature after `since`, oldest first, bounded as [`changes_since`] is.
pub fn history(
    db: &Connection,
    collection: &str,
    feature_id: &str,
    since: i64,
    limit: usize,
) -> Result<Vec<Change>, RecordError> {
    page(
        db,
        "seq > ?1 AND collection = ?4 AND feature_id = ?5",
        params![since, limit as i64, PAGE_BYTES, collection, feature_id],
    )
}

/// One page of `changes` rows matching `condition` (`?1` since, `?2` limit, `?3` bytes): the
/// running total of the features' bytes is summed in SQL, so no row past the budget is read.
fn page(
    db: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Change>, RecordError> {
    let sql = format!(
        "SELECT seq, collection, feature_id, operation, principal, at, before, after, request_key, request_hash, changeset FROM (
             SELECT *, SUM(size) OVER (ORDER BY seq) AS running FROM (
                 SELECT *, COALESCE(LENGTH(CAST(before AS BLOB)), 0)
                         + COALESCE(LENGTH(CAST(after AS BLOB)), 0) AS size
                 FROM changes WHERE {condition} ORDER BY seq LIMIT ?2))
         WHERE running - size < ?3 ORDER BY seq"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, change_from_row)?;
    rows.map(|r| to_change(r?)).collect()
}
