//! The seam between the HTTP layer and the data: [`FeatureStore`].
//!
//! The in-memory [`MemoryStore`] is the first backend; another (PostGIS, a journal of edits) can
//! implement the same trait without the routes changing.

mod catalog;
mod memory;

pub use catalog::Catalog;
pub use memory::MemoryStore;

use serde_json::{Map, Value as Json};

use crate::domain::{FeatureId, LayerMeta};
use crate::index::Field;
use crate::ingest::Vocabulary;
use crate::query::{FeatureQuery, QueryError};

/// What a client learns about a collection before asking for its features.
#[derive(Debug, Clone)]
pub struct CollectionInfo {
    pub id: String,
    pub meta: LayerMeta,
    pub fields: Vec<Field>,
    /// `[west, south, east, north]` of all features; `None` for an empty collection.
    pub extent: Option<[f64; 4]>,
    /// The `[first, last]` values of the temporal property, if the collection has one.
    pub temporal_extent: Option<[String; 2]>,
    pub count: usize,
    pub geometry_types: Vec<&'static str>,
}

/// One feature, ready to serialise.
#[derive(Debug, Clone)]
pub struct Feature {
    pub id: FeatureId,
    pub geometry: geo::Geometry<f64>,
    pub properties: Map<String, Json>,
}

/// A page of matches and how many match in all.
#[derive(Debug)]
pub struct FeaturePage {
    pub number_matched: usize,
    pub features: Vec<Feature>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("collection {0:?} does not exist")]
    NoSuchCollection(String),
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// Liveness figures for `/health`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreHealth {
    pub collections: usize,
    pub features: usize,
}

pub trait FeatureStore: Send + Sync {
    /// Every collection, in display order.
    fn collections(&self) -> Vec<CollectionInfo>;
    fn collection(&self, id: &str) -> Option<CollectionInfo>;
    /// The page of features that `query` selects, and the total that match.
    fn query(&self, collection: &str, query: &FeatureQuery) -> Result<FeaturePage, StoreError>;
    /// One feature by the id as it reads in a URL.
    fn get(&self, collection: &str, id: &str) -> Result<Option<Feature>, StoreError>;
    fn vocabularies(&self) -> Vec<Vocabulary>;
    fn health(&self) -> StoreHealth;
}
