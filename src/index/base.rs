//! A layer's text columns and live slots as they were at some version, for indexes of text
//! that other modules build from it on first use (the name index of `query::names`).
//!
//! Such an index may read only the string columns and which slots live: it is then exact for
//! every slot whose text a later version has not changed (see `Layer::text_stale_slots`), so
//! every version shares it until enough text changed, and a query tests the changed slots one
//! by one, as it does with the attribute indexes. Built on first use rather than at load: most
//! layers are never searched by name, and a start should not pay for it.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use super::{Chunked, Column};

pub struct Base {
    /// Every column as it was (cloning a column shares its chunks, so this costs pointers).
    columns: Vec<Column>,
    dead: Chunked<bool>,
    /// The one index built from this base, of whatever type its builder chose.
    built: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl Base {
    pub(super) fn new(columns: &[Column], dead: &Chunked<bool>) -> Self {
        Base {
            columns: columns.to_vec(),
            dead: dead.clone(),
            built: OnceLock::new(),
        }
    }

    /// Slots, live and dead, as the base had them.
    pub fn len(&self) -> usize {
        self.dead.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dead.is_empty()
    }

    pub fn is_live(&self, slot: usize) -> bool {
        !self.dead[slot]
    }

    pub fn column(&self, i: usize) -> Option<&Column> {
        self.columns.get(i)
    }

    /// Whether the index is built.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    /// The index built from this base, building it with `build` on the first call (callers
    /// at the same time wait for that one build). `None` if an index of another type was
    /// built first: one base serves one kind of index.
    pub fn index<T: Any + Send + Sync>(&self, build: impl FnOnce(&Base) -> T) -> Option<Arc<T>> {
        let built = self
            .built
            .get_or_init(|| Arc::new(build(self)) as Arc<dyn Any + Send + Sync>);
        Arc::clone(built).downcast::<T>().ok()
    }
}
