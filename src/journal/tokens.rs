//! API tokens in the state store. A token is 32 random bytes (from the operating system's
//! generator), shown once when made; only its SHA-256 is stored. A fast hash is the right one
//! here: a 256-bit random secret cannot be guessed, so slowing the hash (as passwords need)
//! would only slow every request. Lookups compare hashes in constant time (`subtle`).

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::JournalError;

/// Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "eta_";

pub(super) fn create_table(db: &Connection) -> Result<(), JournalError> {
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
    Ok(())
}

/// A token as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    pub role: String,
    /// The collections it may write; `None`: all.
    pub collections: Option<Vec<String>>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// What to make a token for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: String,
    pub collections: Option<Vec<String>>,
    pub expires_at: Option<String>,
}

/// SHA-256 of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new token: [`PREFIX`] and 32 random bytes from the operating system, base64url.
pub fn random_token() -> Result<String, JournalError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        JournalError::Invalid(format!("no randomness from the operating system: {e}"))
    })?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, Vec<u8>)> {
    let collections: Option<String> = r.get(2)?;
    Ok((
        TokenRecord {
            name: r.get(0)?,
            role: r.get(1)?,
            collections: collections.and_then(|c| serde_json::from_str(&c).ok()),
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            revoked_at: r.get(6)?,
        },
        r.get(3)?,
    ))
}

const COLUMNS: &str = "name, role, collections, hash, created_at, expires_at, revoked_at";

impl super::Journal {
    /// Makes a token; returns the secret (to show once) and its record.
    pub fn create_token(
        &mut self,
        new: &NewToken,
        now: &str,
    ) -> Result<(String, TokenRecord), JournalError> {
        let exists: Option<String> = self
            .db
            .query_row(
                "SELECT name FROM tokens WHERE name = ?1",
                [&new.name],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(JournalError::Invalid(format!(
                "a token named {:?} exists; revoke it or pick another name",
                new.name
            )));
        }
        let token = random_token()?;
        let collections = new
            .collections
            .as_ref()
            .map(|c| serde_json::Value::from(c.clone()).to_string());
        self.db.execute(
            "INSERT INTO tokens (name, role, collections, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![new.name, new.role, collections, hash(&token).to_vec(), now, new.expires_at],
        )?;
        let rec = TokenRecord {
            name: new.name.clone(),
            role: new.role.clone(),
            collections: new.collections.clone(),
            created_at: now.to_owned(),
            expires_at: new.expires_at.clone(),
            revoked_at: None,
        };
        Ok((token, rec))
    }

    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>, JournalError> {
        let mut stmt = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM tokens ORDER BY created_at, name"
        ))?;
        let rows = stmt.query_map([], record)?;
        rows.map(|r| Ok(r?.0)).collect()
    }

    /// Revokes a token by name; false if there is none.
    pub fn revoke_token(&mut self, name: &str, now: &str) -> Result<bool, JournalError> {
        let n = self.db.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now],
        )?;
        Ok(n > 0)
    }
}

/// The record of the token `presented`, if it is one (revoked or expired ones too: the caller
/// decides). The stored hash is compared with the presented one in constant time.
pub fn find(db: &Connection, presented: &str) -> Result<Option<TokenRecord>, JournalError> {
    let h = hash(presented);
    let mut stmt = db.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"))?;
    let found = stmt.query_row([h.to_vec()], record).optional()?;
    Ok(found.and_then(|(rec, stored)| bool::from(stored.as_slice().ct_eq(&h)).then_some(rec)))
}
