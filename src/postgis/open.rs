//! Opening an editable store on PostgreSQL: the collections loaded in one transaction, edits
//! recorded there, and a follower that applies the other servers' edits.

use std::sync::Arc;

use super::{
    configure, describe, follow, load, LoadError, PgLedger, PgReads, Settings, TableSource,
};
use crate::store::{JournaledStore, StoreStatus};

/// What opening found: the data's version and where the store is (no password).
#[derive(Debug, Clone)]
pub struct Opened {
    pub version: i64,
    pub location: String,
    pub layers: usize,
    pub features: usize,
}

/// The store of a server on the PostgreSQL database at `address`, serving its collections and
/// the configured read-only `tables`, and following the other servers' edits.
pub fn open_store(
    address: &str,
    settings: &Settings,
    tables: &[TableSource],
) -> Result<(JournaledStore, Opened), String> {
    let config = configure(address, settings).map_err(|e| e.to_string())?;
    let (catalog, version) = super::connect(address)
        .map_err(LoadError::from)
        .and_then(|mut client| load(&mut client, tables))
        .map_err(|e| e.to_string())?;
    let opened = Opened {
        version,
        location: describe(&config),
        layers: catalog.layers().len(),
        features: catalog.feature_count(),
    };
    let status = Arc::new(StoreStatus::new(
        "postgresql",
        opened.location.clone(),
        settings.retry_after,
        version,
    ));
    let store = JournaledStore::with_ledger(
        catalog,
        version,
        Box::new(PgLedger::new(config.clone())),
        Box::new(PgReads::new(config.clone(), settings)),
        Some(Arc::clone(&status)),
    )
    .map_err(|e| e.to_string())?;
    follow(config, settings, status, store.catch_up())
        .map_err(|e| format!("cannot start the follower thread: {e}"))?;
    Ok((store, opened))
}
