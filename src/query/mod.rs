//! Everything asked of the data, as pure functions over an index: no HTTP, no I/O, no threads
//! but rayon's.
//!
//! 1. `http` parses parameters into a [`FeatureQuery`];
//! 2. [`compile`] checks it against a layer (property names, value types, CQL2) into a [`Plan`];
//! 3. [`exec`] runs the plan: candidates from the R-tree when there is a box or a spatial
//!    conjunct, then exact tests per slot; [`stats`], [`nearest`], [`names`] and
//!    [`whats_here`] answer the other questions.
//!
//! Every function that can run long takes a [`Budget`] and stops when it runs out.

pub mod access;
pub mod budget;
pub mod counts;
mod datetime;
pub mod exec;
pub mod filter;
pub mod matching;
pub mod names;
pub mod nearest;
pub mod plan;
pub mod stats;
pub mod trend;
pub mod whats_here;

pub use budget::{Budget, Exceeded};
pub use counts::{CountCache, CountKey};
pub use datetime::{DateTimeError, DateTimeFilter};
pub use filter::{Area, FilterCache, FilterError, FilterLang, FilterSpec};
pub use plan::{comma_list, compile, compile_cached, Plan, SortKey};

use crate::model::Bbox;

/// Default page size of `/items` when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page `/items` returns; a larger `limit` is a 400, not silently clamped, so a client
/// never mistakes a short page for the end.
pub const MAX_LIMIT: usize = 10_000;

/// A query on one collection, already parsed from its wire form but not yet checked against the
/// collection's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureQuery {
    pub bbox: Option<Bbox>,
    pub datetime: Option<DateTimeFilter>,
    /// `property=value` pairs: each must equal (or, for arrays, contain) the value.
    pub equals: Vec<(String, String)>,
    /// A CQL2 filter (OGC API - Features Part 3).
    pub filter: Option<FilterSpec>,
    /// An area the features must intersect (drawn, a zone's outline, a file): typed, and
    /// compiled straight into the plan.
    pub area: Option<Area>,
    /// Sort keys, most significant first; ties keep the layer's order, so paging is stable.
    pub sortby: Vec<SortKey>,
    /// The properties to return; `None` returns all.
    pub properties: Option<Vec<String>>,
    pub limit: usize,
    pub offset: usize,
}

impl Default for FeatureQuery {
    fn default() -> Self {
        FeatureQuery {
            bbox: None,
            datetime: None,
            equals: Vec::new(),
            filter: None,
            area: None,
            sortby: Vec::new(),
            properties: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// Why a query cannot run against a collection; each names the parameter at fault.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryError {
    #[error("unknown property {property:?}; the queryables of this collection are: {known}")]
    UnknownProperty { property: String, known: String },
    #[error("{parameter}: {reason}")]
    InvalidValue { parameter: String, reason: String },
    #[error("datetime: this collection has no temporal property to filter on")]
    NoTemporalProperty,
    #[error("filter: {0}")]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Exceeded(#[from] Exceeded),
}

impl QueryError {
    /// The query parameter the error is about.
    pub fn parameter(&self) -> &str {
        match self {
            QueryError::UnknownProperty { property, .. } => property,
            QueryError::InvalidValue { parameter, .. } => parameter,
            QueryError::NoTemporalProperty => "datetime",
            QueryError::Filter(_) | QueryError::Exceeded(_) => "filter",
        }
    }
}
