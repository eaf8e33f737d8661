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
    /// The first feature's id as it reads in a URL: an example for the API document.
    pub sample_id: Option<String>,
}

/// One feature, ready to serialise.
#[derive(Debug, Clone)]
pub struct Feature {
    pub id: FeatureId,
    pub geometry: geo::Geometry<f64>,
    pub properties: Map<String, Json>,
}

/// A page of matches already written as GeoJSON: the comma-separated Feature objects of a
/// `features` array, and the counts.
#[derive(Debug)]
pub struct PageJson {
    pub number_matched: usize,
    pub number_returned: usize,
    pub features: Vec<u8>,
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

/// Statistics of the features a query matches.
#[derive(Debug, Clone)]
pub struct StatsResult {
    pub group_by: Option<String>,
    pub stats: crate::analytics::Stats,
    /// For a vocabulary-bound group-by property, each group's term (labels and colour).
    pub terms: Vec<Option<crate::ingest::Term>>,
}

/// A feature found somewhere (what's here, search, nearest), with its collection.
#[derive(Debug, Clone)]
pub struct Found {
    pub collection: String,
    pub feature: Feature,
    /// Geodesic distance in metres from the query point, where there is one.
    pub distance_m: Option<f64>,
    /// For a name search: how the name matched.
    pub name_match: Option<crate::query::names::NameMatch>,
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
    /// The page of `query` as GeoJSON in `crs`, for `/items`. The default writes the features
    /// of [`FeatureStore::query`]; a store that can write from its own storage (the in-memory
    /// columns) skips materialising each feature.
    fn page_json(
        &self,
        collection: &str,
        query: &FeatureQuery,
        crs: crate::export::Crs,
    ) -> Result<PageJson, StoreError> {
        let page = self.query(collection, query)?;
        let mut features = Vec::with_capacity(page.features.len() * 1024);
        crate::export::write_features(&page.features, crs, &mut features);
        Ok(PageJson {
            number_matched: page.number_matched,
            number_returned: page.features.len(),
            features,
        })
    }
    /// One feature by the id as it reads in a URL.
    fn get(&self, collection: &str, id: &str) -> Result<Option<Feature>, StoreError>;
    /// Counts and sums of the matches, grouped by a property if asked; `sum` names the numeric
    /// properties to sum (default: the areas, `*area*_m2`).
    fn stats(
        &self,
        collection: &str,
        query: &FeatureQuery,
        group_by: Option<&str>,
        sum: Option<&[String]>,
    ) -> Result<StatsResult, StoreError>;
    /// The `k` matches nearest to a point, nearest first, with geodesic distances.
    fn nearest(
        &self,
        collection: &str,
        query: &FeatureQuery,
        lon: f64,
        lat: f64,
        k: usize,
    ) -> Result<Vec<Found>, StoreError>;
    /// Every feature of every collection within `tolerance_m` of a point (0: that contain or
    /// touch it), top-most layer first.
    fn features_at(&self, lon: f64, lat: f64, tolerance_m: f64) -> Vec<Found>;
    /// Features whose name matches `text`, best matches first, at most `limit`.
    fn search_names(
        &self,
        text: &str,
        collections: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError>;
    /// Every feature the query matches (limit and offset included if set), as a source for the
    /// download writers; features are materialised one at a time as the writer asks.
    fn export(
        &self,
        collection: &str,
        query: &FeatureQuery,
    ) -> Result<crate::export::ExportSource, StoreError>;
    fn vocabularies(&self) -> Vec<Vocabulary>;
    fn health(&self) -> StoreHealth;
}
