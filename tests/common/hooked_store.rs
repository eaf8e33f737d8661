//! The shipped store behind a hook that runs before every query, page and statistic: a way
//! to count the calls that reach the store, or to make them slow, without touching the server.

use etown_atlas::export::{Crs, ExportSource};
use etown_atlas::ingest::Vocabulary;
use etown_atlas::query::FeatureQuery;
use etown_atlas::store::*;

pub struct HookedStore {
    inner: MemoryStore,
    before_work: Box<dyn Fn() + Send + Sync>,
}

impl HookedStore {
    pub fn new(inner: MemoryStore, before_work: impl Fn() + Send + Sync + 'static) -> Self {
        HookedStore {
            inner,
            before_work: Box::new(before_work),
        }
    }
}

impl FeatureStore for HookedStore {
    fn collections(&self) -> Vec<CollectionInfo> {
        self.inner.collections()
    }
    fn collection(&self, id: &str) -> Option<CollectionInfo> {
        self.inner.collection(id)
    }
    fn query(&self, c: &str, q: &FeatureQuery) -> Result<FeaturePage, StoreError> {
        (self.before_work)();
        self.inner.query(c, q)
    }
    fn page_json(&self, c: &str, q: &FeatureQuery, crs: Crs) -> Result<PageJson, StoreError> {
        (self.before_work)();
        self.inner.page_json(c, q, crs)
    }
    fn get(&self, c: &str, id: &str) -> Result<Option<Feature>, StoreError> {
        self.inner.get(c, id)
    }
    fn stats(
        &self,
        c: &str,
        q: &FeatureQuery,
        group_by: Option<&str>,
        sum: Option<&[String]>,
    ) -> Result<StatsResult, StoreError> {
        (self.before_work)();
        self.inner.stats(c, q, group_by, sum)
    }
    fn nearest(
        &self,
        c: &str,
        q: &FeatureQuery,
        lon: f64,
        lat: f64,
        k: usize,
    ) -> Result<Vec<Found>, StoreError> {
        self.inner.nearest(c, q, lon, lat, k)
    }
    fn features_at(&self, lon: f64, lat: f64, tolerance_m: f64) -> Vec<Found> {
        self.inner.features_at(lon, lat, tolerance_m)
    }
    fn search_names(
        &self,
        text: &str,
        collections: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        self.inner.search_names(text, collections, limit)
    }
    fn export(&self, c: &str, q: &FeatureQuery) -> Result<ExportSource, StoreError> {
        self.inner.export(c, q)
    }
    fn vocabularies(&self) -> Vec<Vocabulary> {
        self.inner.vocabularies()
    }
    fn health(&self) -> StoreHealth {
        self.inner.health()
    }
}
