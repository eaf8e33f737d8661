//! What every fuzz target shares: the shipped layers, loaded once per process.

use std::sync::OnceLock;

use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::store::MemoryStore;

/// The embedded geodata: six layers with every property type the server knows.
pub fn shipped() -> &'static MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let catalog = ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default())
            .expect("the shipped geodata loads");
        MemoryStore::new(catalog)
    })
}

/// The layers a filter is run against: the attribute-rich one and a zone layer.
pub const COLLECTIONS: [&str; 2] = ["spatial-carriers", "parks"];
