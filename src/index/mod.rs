//! The in-memory index: per layer, geometries, an R-tree over their envelopes, typed attribute
//! columns and an id lookup; a [`Catalog`] holds every layer and vocabulary of one data version.
//! Built once and never mutated, so requests share it freely.

mod catalog;
mod columns;
mod layer;

pub use catalog::Catalog;
pub use columns::Column;
pub use layer::{geometry_type_name, Layer, LayerParts};
