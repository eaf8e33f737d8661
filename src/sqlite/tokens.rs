//! API tokens in the embedded state store: the rows only. Secrets are made, hashed and checked
//! in `crate::record::tokens`, once for every backend.

use rusqlite::{params, Connection, OptionalExtension};

use crate::record::scope::{scopes_from_text, scopes_text};
use crate::record::tokens::{collections_text, hash, verified, TokenBook};
use crate::record::{RecordError, TokenRecord};

pub(super) fn create_table(db: &Connection) -> Result<(), RecordError> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS tokens (
             name TEXT PRIMARY KEY,
             role TEXT NOT NULL,
             collections TEXT,          -- JSON array; NULL: every collection
             hash BLOB NOT NULL UNIQUE, -- SHA-256 of the token
             created_at TEXT NOT NULL,
             expires_at TEXT,           -- RFC 3339; NULL: never
             revoked_at TEXT
         )",
    )?;
    let has_scopes: bool = db.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('tokens') WHERE name = 'scopes'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_scopes {
        // JSON object of collection -> scope (`crate::record::scope`); NULL: none.
        db.execute_batch("ALTER TABLE tokens ADD COLUMN scopes TEXT")?;
    }
    Ok(())
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, Vec<u8>)> {
    let collections: Option<String> = r.get(2)?;
    let scopes: Option<String> = r.get(7)?;
    let scopes = scopes_from_text(scopes.as_deref()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok((
        TokenRecord {
            name: r.get(0)?,
            role: r.get(1)?,
            collections: collections.and_then(|c| serde_json::from_str(&c).ok()),
            scopes,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            revoked_at: r.get(6)?,
        },
        r.get(3)?,
    ))
}

const COLUMNS: &str = "name, role, collections, hash, created_at, expires_at, revoked_at, scopes";

impl TokenBook for super::Journal {
    fn insert(&mut self, record: &TokenRecord, hash: &[u8; 32]) -> Result<bool, RecordError> {
        let n = self.db.execute(
            "INSERT INTO tokens (name, role, collections, hash, created_at, expires_at, scopes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING",
            params![
                record.name,
                record.role,
                collections_text(record.collections.as_ref()),
                hash.to_vec(),
                record.created_at,
                record.expires_at,
                scopes_text(&record.scopes)
            ],
        )?;
        Ok(n > 0)
    }

    fn list(&mut self) -> Result<Vec<TokenRecord>, RecordError> {
        let mut stmt = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM tokens ORDER BY created_at, name"
        ))?;
        let rows = stmt.query_map([], record)?;
        rows.map(|r| Ok(r?.0)).collect()
    }

    fn revoke(&mut self, name: &str, now: &str) -> Result<bool, RecordError> {
        let n = self.db.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now],
        )?;
        Ok(n > 0)
    }
}

/// The record of the token `presented`, if it is one (revoked or expired ones too: the caller
/// decides). The stored hash is compared with the presented one in constant time.
pub fn find(db: &Connection, presented: &str) -> Result<Option<TokenRecord>, RecordError> {
    let h = hash(presented);
    let mut stmt = db.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"))?;
    let found = stmt.query_row([h.to_vec()], record).optional()?;
    Ok(verified(found, &h))
}
