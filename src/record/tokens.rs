//! API tokens, whichever backend keeps them. A token is 32 random bytes (from the operating
//! system's generator), shown once when made; only its SHA-256 is stored. A fast hash is the
//! right one here: a 256-bit random secret cannot be guessed, so slowing the hash (as
//! passwords need) would only slow every request. Lookups compare hashes in constant time
//! (`subtle`).
//!
//! Making, listing and revoking are written once, here ([`create`], [`TokenBook`]); a backend
//! only stores and finds rows.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scope::Scopes;
use super::RecordError;

/// Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "eta_";

/// The roles a token may have.
pub const ROLES: [&str; 3] = ["reader", "editor", "admin"];

/// A token as stored (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub name: String,
    pub role: String,
    /// The collections it may write; `None`: all.
    pub collections: Option<Vec<String>>,
    /// Its limits inside collections (see [`Scope`]); empty: none.
    pub scopes: Scopes,
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
    pub scopes: Scopes,
    pub expires_at: Option<String>,
}

impl NewToken {
    /// Why this token cannot be made, if it cannot: a role that is not one of [`ROLES`], or a
    /// name that is not 1 to 64 letters, digits, `-`, `_`, `.` or `@` (names appear in logs and
    /// in every change's history, so they stay plain).
    pub fn check(&self) -> Result<(), RecordError> {
        if !ROLES.contains(&self.role.as_str()) {
            return Err(RecordError::Invalid(format!(
                "--role {:?}: reader, editor or admin",
                self.role
            )));
        }
        let name = &self.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.@".contains(c))
        {
            return Err(RecordError::Invalid(format!(
                "--name {name:?}: 1 to 64 letters, digits, - _ . or @"
            )));
        }
        for (collection, scope) in &self.scopes {
            scope.check(collection)?;
            if let Some(c) = &self.collections {
                if !c.contains(collection) {
                    return Err(RecordError::Invalid(format!(
                        "a scope for {collection:?}, which the token's collections ({}) leave out",
                        c.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Where a backend keeps token rows. Only the rows: the secret is made, hashed and checked
/// here, once for every backend.
pub trait TokenBook {
    /// Stores `record` with the SHA-256 of its secret; false (and nothing stored) if a token
    /// of that name exists, revoked or not.
    fn insert(&mut self, record: &TokenRecord, hash: &[u8; 32]) -> Result<bool, RecordError>;
    /// Every token, oldest first.
    fn list(&mut self) -> Result<Vec<TokenRecord>, RecordError>;
    /// Marks the active token `name` revoked at `now`; false if there is none.
    fn revoke(&mut self, name: &str, now: &str) -> Result<bool, RecordError>;
}

/// Makes a token in `book`; returns the secret (to show once) and its record.
pub fn create(
    book: &mut dyn TokenBook,
    new: &NewToken,
    now: &str,
) -> Result<(String, TokenRecord), RecordError> {
    new.check()?;
    let token = random_token()?;
    let record = TokenRecord {
        name: new.name.clone(),
        role: new.role.clone(),
        collections: new.collections.clone(),
        scopes: new.scopes.clone(),
        created_at: now.to_owned(),
        expires_at: new.expires_at.clone(),
        revoked_at: None,
    };
    if !book.insert(&record, &hash(&token))? {
        return Err(RecordError::Invalid(format!(
            "a token named {:?} exists; revoke it or pick another name",
            new.name
        )));
    }
    Ok((token, record))
}

/// An expiry as given: a date, an RFC 3339 instant, or a number of days (`90d`, 1 to 3650),
/// as the RFC 3339 instant it names.
pub fn parse_expiry(s: &str) -> Result<String, String> {
    if let Some(days) = s.strip_suffix('d') {
        let n: i64 = days
            .parse()
            .ok()
            .filter(|n| (1..=3650).contains(n))
            .ok_or_else(|| format!("{s:?}: a number of days (1 to 3650) is written like 90d"))?;
        return Ok((chrono::Utc::now() + chrono::Duration::days(n))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    if crate::model::parse_date(s).is_some() {
        return Ok(format!("{s}T00:00:00Z"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| {
            t.to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .map_err(|_| format!("{s:?} is not a date, an RFC 3339 instant or a number of days"))
}

/// SHA-256 of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The record found by the presented token's hash, if the stored hash equals it: compared in
/// constant time, so the answer's timing says nothing about how much of a guess was right.
pub fn verified(found: Option<(TokenRecord, Vec<u8>)>, hash: &[u8; 32]) -> Option<TokenRecord> {
    found.and_then(|(record, stored)| bool::from(stored.as_slice().ct_eq(hash)).then_some(record))
}

/// A token's `collections` as stored (a JSON array; `None`: every collection).
pub fn collections_text(collections: Option<&Vec<String>>) -> Option<String> {
    collections.map(|c| serde_json::Value::from(c.clone()).to_string())
}

/// A new token: [`PREFIX`] and 32 random bytes from the operating system, base64url.
pub fn random_token() -> Result<String, RecordError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        RecordError::Invalid(format!("no randomness from the operating system: {e}"))
    })?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book in memory, to check what `create` asks of a backend.
    #[derive(Default)]
    struct Book(Vec<(TokenRecord, [u8; 32])>);

    impl TokenBook for Book {
        fn insert(&mut self, record: &TokenRecord, hash: &[u8; 32]) -> Result<bool, RecordError> {
            if self.0.iter().any(|(r, _)| r.name == record.name) {
                return Ok(false);
            }
            self.0.push((record.clone(), *hash));
            Ok(true)
        }
        fn list(&mut self) -> Result<Vec<TokenRecord>, RecordError> {
            Ok(self.0.iter().map(|(r, _)| r.clone()).collect())
        }
        fn revoke(&mut self, _name: &str, _now: &str) -> Result<bool, RecordError> {
            Ok(false)
        }
    }

    fn new(name: &str, role: &str) -> NewToken {
        NewToken {
            name: name.into(),
            role: role.into(),
            collections: None,
            scopes: Scopes::new(),
            expires_at: None,
        }
    }

    #[test]
    fn the_book_keeps_only_the_hash_of_the_secret_it_hands_out() {
        let mut book = Book::default();
        let (secret, record) =
            create(&mut book, &new("ops", "editor"), "2026-12-07T00:00:00Z").unwrap();
        assert!(secret.starts_with(PREFIX));
        let expected: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        assert_eq!(book.0, vec![(record, expected)]);
        assert!(create(&mut book, &new("ops", "reader"), "x").is_err());
        assert_eq!(book.0.len(), 1);
    }

    #[test]
    fn a_bad_role_or_name_is_refused_before_anything_is_stored() {
        let mut book = Book::default();
        for (name, role) in [("ops", "root"), ("", "editor"), ("a b", "editor")] {
            assert!(
                create(&mut book, &new(name, role), "x").is_err(),
                "{name:?} {role:?}"
            );
        }
        assert!(book.0.is_empty());
        let long = "x".repeat(65);
        assert!(new(&long, "admin").check().is_err());
        assert!(new(&long[..64], "admin").check().is_ok());
    }

    #[test]
    fn only_the_same_hash_verifies() {
        let record = TokenRecord {
            name: "n".into(),
            role: "reader".into(),
            collections: None,
            scopes: Scopes::new(),
            created_at: "t".into(),
            expires_at: None,
            revoked_at: None,
        };
        let h = hash("eta_a");
        assert_eq!(
            verified(Some((record.clone(), h.to_vec())), &h),
            Some(record.clone())
        );
        assert_eq!(verified(Some((record, hash("eta_b").to_vec())), &h), None);
        assert_eq!(verified(None, &h), None);
    }
}
