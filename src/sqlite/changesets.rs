//! Change sets in the embedded state store: previews in `changesets`, and the `changeset`
//! column of `changes` that says which recorded changes applied one.

use rusqlite::{params, Connection, OptionalExtension};

use super::{change_from_row, to_change, SELECT_ROW};
use crate::record::{Applied, Change, ChangesetRecord, ChangesetStatus, RecordError};

pub(super) fn create_table(db: &Connection) -> Result<(), RecordError> {
    let has: bool = db.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('changes') WHERE name = 'changeset'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has {
        db.execute_batch("ALTER TABLE changes ADD COLUMN changeset TEXT;")?;
    }
    db.execute_batch(
        "CREATE INDEX IF NOT EXISTS changes_by_changeset ON changes (changeset)
             WHERE changeset IS NOT NULL;
         CREATE TABLE IF NOT EXISTS changesets (
             id TEXT PRIMARY KEY,
             collection TEXT NOT NULL,
             principal TEXT NOT NULL,
             created_at TEXT NOT NULL,
             reverts TEXT,              -- the change set this one undoes
             summary TEXT NOT NULL,     -- JSON: counts by outcome
             document TEXT NOT NULL     -- JSON: the preview
         );
         CREATE INDEX IF NOT EXISTS changesets_by_collection ON changesets (collection, created_at);
         CREATE INDEX IF NOT EXISTS changesets_by_reverts ON changesets (reverts)
             WHERE reverts IS NOT NULL;",
    )?;
    Ok(())
}

pub(super) fn save(db: &Connection, r: &ChangesetRecord) -> Result<(), RecordError> {
    db.execute(
        "INSERT INTO changesets (id, collection, principal, created_at, reverts, summary, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            r.id,
            r.collection,
            r.principal,
            r.created_at,
            r.reverts,
            r.summary.to_string(),
            r.document.to_string()
        ],
    )?;
    Ok(())
}

fn status(db: &Connection, id: &str) -> Result<ChangesetStatus, RecordError> {
    let applied = db
        .query_row(
            "SELECT MIN(seq), MAX(seq), COUNT(*), MIN(at), MIN(principal) FROM changes
             WHERE changeset = ?1",
            [id],
            |r| {
                Ok(match r.get::<_, Option<i64>>(0)? {
                    None => None,
                    Some(first_seq) => Some(Applied {
                        first_seq,
                        last_seq: r.get(1)?,
                        changes: r.get(2)?,
                        at: r.get(3)?,
                        principal: r.get(4)?,
                    }),
                })
            },
        )
        .optional()?
        .flatten();
    let reverted_by = db
        .query_row(
            "SELECT c.id FROM changesets c WHERE c.reverts = ?1
               AND EXISTS (SELECT 1 FROM changes WHERE changeset = c.id) LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(ChangesetStatus {
        applied,
        reverted_by,
    })
}

fn record(r: &rusqlite::Row<'_>, with_document: bool) -> rusqlite::Result<ChangesetRecord> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let t: String = r.get(i)?;
        Ok(serde_json::from_str(&t).unwrap_or(serde_json::Value::Null))
    };
    Ok(ChangesetRecord {
        id: r.get(0)?,
        collection: r.get(1)?,
        principal: r.get(2)?,
        created_at: r.get(3)?,
        reverts: r.get(4)?,
        summary: json(5)?,
        document: if with_document {
            json(6)?
        } else {
            serde_json::Value::Null
        },
    })
}

pub(super) fn find(
    db: &Connection,
    id: &str,
) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, RecordError> {
    let found = db
        .query_row(
            "SELECT id, collection, principal, created_at, reverts, summary, document
             FROM changesets WHERE id = ?1",
            [id],
            |r| record(r, true),
        )
        .optional()?;
    match found {
        None => Ok(None),
        Some(r) => {
            let s = status(db, &r.id)?;
            Ok(Some((r, s)))
        }
    }
}

pub(super) fn list(
    db: &Connection,
    collection: &str,
    limit: usize,
) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, RecordError> {
    let mut stmt = db.prepare_cached(
        "SELECT id, collection, principal, created_at, reverts, summary, '' FROM changesets
         WHERE collection = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2",
    )?;
    let rows: Vec<ChangesetRecord> = stmt
        .query_map(
            params![collection, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| record(r, false),
        )?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|r| {
            let s = status(db, &r.id)?;
            Ok((r, s))
        })
        .collect()
}

pub(super) fn changes(db: &Connection, id: &str) -> Result<Vec<Change>, RecordError> {
    let mut stmt = db.prepare_cached(&format!("{SELECT_ROW} WHERE changeset = ?1 ORDER BY seq"))?;
    let rows = stmt.query_map([id], change_from_row)?;
    rows.map(|r| to_change(r?)).collect()
}

pub(super) fn applied(db: &Connection, id: &str) -> Result<bool, RecordError> {
    Ok(db.query_row(
        "SELECT EXISTS (SELECT 1 FROM changes WHERE changeset = ?1)",
        [id],
        |r| r.get(0),
    )?)
}
