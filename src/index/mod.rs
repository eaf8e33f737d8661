//! The in-memory index: per layer, geometries, an R-tree over their envelopes, typed attribute
//! columns and an id lookup; a [`Catalog`] holds every layer and vocabulary of one data version.
//! Never mutated: an edit makes the next version, sharing what it did not touch, so requests
//! share every version freely.

mod attributes;
mod base;
mod catalog;
mod chunked;
mod columns;
mod layer;

pub use attributes::{AttributeIndex, Found, Key, KeyRange, ValueTotals, MAX_DISTINCT};
pub use base::Base;
pub use catalog::Catalog;
pub use chunked::{Chunked, CHUNK};
pub use columns::{Cell, CellMismatch, Column};
pub use layer::{geometry_type_name, EditMismatch, Layer, LayerEdit, LayerParts};
