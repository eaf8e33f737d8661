//! Change sets: a whole inventory updated from one file (a filled-in workbook, a CSV, a
//! GeoJSON FeatureCollection), reviewed before it applies, applied all or nothing, and undone.
//!
//! The steps, each its own module:
//! - [`upload`]: the file as rows of cells under resolved columns (which property each column
//!   is, by key or by title, in the workbook's second header row or its first);
//! - [`value`]: a cell as the property's value, with the reason in English and Chinese when it
//!   cannot be one;
//! - [`preview`]: every row compared with the feature it names: `unchanged`, `changed` (each
//!   cell before and after), `new`, or `error`; features absent from the file are `missing`;
//! - [`plan`]: a previewed set as the edits that apply it (each conditioned on the version the
//!   preview saw), and an applied set's changes as the edits that undo it.
//!
//! Nothing here touches the store: the HTTP routes and the `changeset` command run the steps
//! and hand the edits to the store's writer, which applies them in one transaction.

pub mod plan;
pub mod preview;
pub mod upload;
pub(crate) mod value;

pub use plan::{apply_requests, revert_requests, PlanError};
pub use preview::{preview, Preview};
pub use upload::{read_upload, Source, Upload, UploadError};

/// The most rows a change set may have (and the most features `delete_missing` may remove):
/// a week's update of a district is a few hundred; ten thousand is a whole inventory.
pub const MAX_ROWS: usize = 50_000;

/// The most ids of missing features a preview lists (all are counted).
pub const LISTED_MISSING: usize = 1_000;

/// A reason in both languages, as a cell error, a column's problem or a row's says it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reason {
    pub en: String,
    pub zh: String,
}

impl Reason {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Reason {
            en: en.into(),
            zh: zh.into(),
        }
    }
}
