//! Opening an editable store on the embedded state store of a directory.

use std::path::Path;
use std::sync::Mutex;

use super::{Journal, SqliteLedger, SqliteReads};
use crate::index::Catalog;
use crate::record::RecordError;
use crate::store::{now, overlay, JournaledStore, OpenReport};

/// The lock file of a state directory.
const LOCK_FILE: &str = "server.lock";

/// Opens the state store in `dir` over the seed `catalog`, lays the stored edits over it, and
/// starts the store's writer. `seeds` are `(collection, fingerprint)` of the seed files: a
/// seed that changed since the state store first saw it is reported.
pub fn open_store(
    catalog: Catalog,
    dir: &Path,
    seeds: &[(String, String)],
) -> Result<(JournaledStore, OpenReport), RecordError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut journal = Journal::open(dir)?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|source| RecordError::Dir {
            path: lock_path.display().to_string(),
            reason: source.to_string(),
        })?;
    if lock.try_lock().is_err() {
        return Err(RecordError::Invalid(format!(
            "{}: another server is using this state directory",
            dir.display()
        )));
    }
    let (_, stamp) = now();
    let mut report = OpenReport {
        seeds_changed: journal.check_seeds(seeds, &stamp)?,
        last_seq: journal.last_seq()?,
        ..OpenReport::default()
    };
    let catalog = overlay(catalog, journal.stored()?, &mut report);
    let reads = SqliteReads(Mutex::new(journal.reader()?));
    let store = JournaledStore::with_ledger(
        catalog,
        report.last_seq,
        Box::new(SqliteLedger(journal)),
        Box::new(reads),
        None,
    )?
    .holding(lock);
    Ok((store, report))
}
