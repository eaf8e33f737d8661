//! The shared nouns of the server: identifiers, bounding boxes, attribute values and types,
//! layer metadata, coordinate systems, vocabularies and features. Pure value types: nothing here
//! knows about HTTP, files, the index or queries, and every other module may use them.

mod bbox;
mod crs;
mod feature;
mod feature_id;
mod field;
pub mod json_text;
mod layer_id;
mod meta;
mod value;
mod vocabulary;

pub use bbox::{Bbox, BboxError};
pub use crs::{
    gcj02_to_wgs84, invert_offset, web_mercator, wgs84_to_gcj02, Crs, CrsError, CRS84_URI,
};
pub use feature::Feature;
pub use feature_id::FeatureId;
pub use field::Field;
pub use layer_id::{LayerId, LayerIdError};
pub use meta::{FieldMeta, FilterKind, LayerMeta, Localized, StyleMeta, TileMeta};
pub use value::{format_date, parse_date, parse_timestamp, FieldType, Value};
pub use vocabulary::{Term, Vocabulary};
