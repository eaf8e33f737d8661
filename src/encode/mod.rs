//! Bytes out: the one GeoJSON feature writer, used by items pages, single features, the answers
//! of search, nearest and what's here, and GeoJSON downloads alike, so that a feature reads the
//! same wherever it comes from.

mod feature;
mod geometry;
mod page;
mod value;

pub use feature::{erased::Member, feature_bytes, feature_etag, write_feature, Properties};
pub use geometry::GeometryOut;
pub use page::{page_body, write_slots, PageBody};
pub use value::{write_column_value, write_slot_properties};
