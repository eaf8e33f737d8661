//! `etown-atlas db …` and `etown-atlas state export`: PostgreSQL's schema and import, and the
//! current state written back out as a data directory.

use std::path::PathBuf;

use etown_atlas::ingest::LoadOptions;
use etown_atlas::store::FeatureStore;

use super::data::*;

/// `etown-atlas db migrate`.
pub(crate) fn db_migrate(store: &str) -> Result<(), String> {
    let mut client = etown_atlas::postgis::connect(store).map_err(|e| e.to_string())?;
    let applied = etown_atlas::postgis::migrate(&mut client).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        eprintln!("the schema is up to date");
    } else {
        eprintln!("applied migrations {applied:?}");
    }
    Ok(())
}

/// `etown-atlas db import`.
pub(crate) fn db_import(
    store: &str,
    data: Option<&PathBuf>,
    options: LoadOptions,
) -> Result<(), String> {
    // The files are read once: validated into the catalog, and their sidecars stored as they are.
    let files = seed_files(data).map_err(|e| e.to_string())?;
    let catalog = load_files(data, files.clone(), options).map_err(|e| e.to_string())?;
    let mut client = etown_atlas::postgis::connect(store).map_err(|e| e.to_string())?;
    let report =
        etown_atlas::postgis::import(&mut client, &catalog, &files).map_err(|e| e.to_string())?;
    for (collection, n) in &report.collections {
        eprintln!("{collection}: {n} features");
    }
    Ok(())
}

/// `etown-atlas state export`: the seed with the state store's edits, as a data directory.
pub(crate) fn export_state(
    state: &std::path::Path,
    data: Option<&PathBuf>,
    out: &std::path::Path,
    options: LoadOptions,
) -> Result<(), String> {
    let files = seed_files(data).map_err(|e| e.to_string())?;
    let seeds = fingerprints(&files);
    let catalog = load_files(data, files.clone(), options).map_err(|e| e.to_string())?;
    let (store, report) =
        etown_atlas::sqlite::open_store(catalog, state, &seeds).map_err(|e| e.to_string())?;
    for s in &report.skipped {
        tracing::warn!(edit = %s, "a stored edit does not fit the seed and was not applied");
    }
    let snapshot = store.snapshot();
    let n = crate::commands::state::export_state(snapshot.catalog(), &files, out)?;
    eprintln!(
        "wrote {n} features in {} collections to {} ({} edits applied over the seed)",
        snapshot.catalog().layers().len(),
        out.display(),
        report.applied
    );
    Ok(())
}

/// `etown-atlas state export --store`: the PostgreSQL store's current collections, as a data
/// directory.
pub(crate) fn export_store(address: &str, out: &std::path::Path) -> Result<(), String> {
    use etown_atlas::postgis;
    let mut client = postgis::connect(address).map_err(|e| e.to_string())?;
    let (catalog, version) = postgis::load(&mut client, &[]).map_err(|e| e.to_string())?;
    let files = postgis::files(&mut client).map_err(|e| e.to_string())?;
    let n = crate::commands::state::export_state(&catalog, &files, out)?;
    eprintln!(
        "wrote {n} features in {} collections to {} (the store at change {version})",
        catalog.layers().len(),
        out.display(),
    );
    Ok(())
}
