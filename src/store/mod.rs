//! The seam between the server and its data: a [`FeatureStore`] hands out [`Snapshot`]s.
//!
//! A snapshot is one consistent version of every layer, behind an `Arc`: a request takes one
//! and reads it for its whole life, so it never sees half of a change and never waits for a
//! writer. What is asked of the data (queries, statistics, nearest, names, what's here) is a
//! function over a snapshot's layers in `query`, the same for every backend; a backend only
//! provides snapshots (and, where it keeps edits, applies them).
//!
//! The in-memory [`MemoryStore`] serves the files it was loaded from; the [`JournaledStore`]
//! serves them with the edits of a state store laid over them, and takes new edits.

mod edit;
mod journaled;
mod memory;
mod snapshot;
mod status;

use std::sync::Arc;

pub use edit::{merge_patch, Condition, EditAction, EditError, EditRequest, Edited, Ticket};
pub use journaled::{
    instant_ms, now, overlay, AsOfError, CatchUp, JournaledStore, OpenReport, OutOfScope,
    ScopeRule, SetError, BATCH, PAST_KEPT, PAST_VERSIONS,
};
pub use memory::MemoryStore;
pub use snapshot::{CollectionInfo, Snapshot};
pub use status::{Outage, StatusReport, StoreStatus};

pub trait FeatureStore: Send + Sync {
    /// The current version of the data. Cheap (an `Arc` clone) and never blocking: handlers
    /// call it on the async workers.
    fn snapshot(&self) -> Arc<Snapshot>;

    /// The store's editor, if it keeps edits (see [`JournaledStore`]); read-only otherwise.
    fn editor(&self) -> Option<&JournaledStore> {
        None
    }
}
