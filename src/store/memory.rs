use std::sync::Arc;

use super::{FeatureStore, Snapshot};
use crate::index::Catalog;

/// The in-memory backend: one immutable snapshot of the loaded files.
pub struct MemoryStore {
    snapshot: Arc<Snapshot>,
}

impl MemoryStore {
    pub fn new(catalog: Catalog) -> Self {
        MemoryStore {
            snapshot: Arc::new(Snapshot::new(catalog, 1)),
        }
    }
}

impl FeatureStore for MemoryStore {
    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot)
    }
}
