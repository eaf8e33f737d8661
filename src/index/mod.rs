//! The in-memory index of one layer: geometries, an R-tree over their envelopes, typed attribute
//! columns and an id lookup. Built once at load and never mutated, so requests share it freely.

mod columns;
mod layer;

pub use columns::Column;
pub use layer::{Field, Layer, LayerParts};
