//! Change sets as the system of record keeps them: the reviewed preview (who made it, its
//! rows), and what became of it, which is read from the change log rather than stored beside
//! it. A change set is applied exactly when changes naming it were recorded, in the one
//! transaction that recorded them, so a crash can never leave a set marked applied without
//! its changes, or the changes without the mark.

use serde_json::Value as Json;

/// A change set as kept (the preview; applying it records changes that name its `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangesetRecord {
    pub id: String,
    pub collection: String,
    /// Who made the preview.
    pub principal: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The change set this one undoes, when it is a revert.
    pub reverts: Option<String>,
    /// Counts by outcome (a JSON object), for lists.
    pub summary: Json,
    /// The whole preview; `Null` where only the summary was read (lists).
    pub document: Json,
}

/// When and by whom a change set was applied, from the changes that name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub at: String,
    pub principal: String,
    pub changes: i64,
    /// The change-feed numbers of its first and last change.
    pub first_seq: i64,
    pub last_seq: i64,
}

/// What became of a change set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangesetStatus {
    pub applied: Option<Applied>,
    /// The applied change set that undid it.
    pub reverted_by: Option<String>,
}

impl ChangesetStatus {
    /// `previewed`, `applied` or `reverted`.
    pub fn name(&self) -> &'static str {
        match (&self.applied, &self.reverted_by) {
            (None, _) => "previewed",
            (Some(_), None) => "applied",
            (Some(_), Some(_)) => "reverted",
        }
    }
}

/// A new change set's id: 16 random hexadecimal digits (from the operating system), so ids
/// say nothing about how many sets exist and cannot be guessed.
pub fn new_id() -> Result<String, super::RecordError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| super::RecordError::Invalid(format!("no random numbers: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
