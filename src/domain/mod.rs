//! Pure value types shared by every layer of the server: identifiers, bounding boxes, attribute
//! values and layer metadata. Nothing here knows about HTTP, files or the index.

mod bbox;
mod feature_id;
pub mod json_text;
mod layer_id;
mod meta;
mod value;

pub use bbox::{Bbox, BboxError};
pub use feature_id::FeatureId;
pub use layer_id::{LayerId, LayerIdError};
pub use meta::{LayerMeta, Localized};
pub use value::{format_date, parse_date, parse_timestamp, FieldType, Value};
