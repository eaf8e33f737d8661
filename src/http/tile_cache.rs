//! Built tiles kept in memory, within a byte budget.
//!
//! A tile is keyed by what makes it different: the collections, the query (filter,
//! `property=value`, selected properties), the zoom, column and row. Each entry remembers the
//! data version it was built from; a later version keeps it valid unless the change that made
//! that version touched the tile (the snapshot knows where each change was). So an edit to one
//! carrier rebuilds the few tiles around it, not every tile of the map.

use quick_cache::sync::Cache;

use crate::tiles::matrix::TileId;

/// One built tile: its bytes, and what the headers say of it.
#[derive(Clone)]
pub struct CachedTile {
    pub bytes: bytes::Bytes,
    pub etag: String,
    pub matched: usize,
    pub complete: bool,
    /// The data version it was built from.
    pub version: u64,
}

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<(String, TileId), CachedTile> for Weight {
    fn weight(&self, key: &(String, TileId), tile: &CachedTile) -> u64 {
        (key.0.capacity() + tile.bytes.len() + tile.etag.len() + 192) as u64
    }
}

pub struct TileCache {
    cache: Option<Cache<(String, TileId), CachedTile, Weight>>,
}

impl TileCache {
    /// Lookups that found an entry, and lookups that did not, since start (for `/metrics`).
    pub fn hits_misses(&self) -> (u64, u64) {
        self.cache
            .as_ref()
            .map_or((0, 0), |c| (c.hits(), c.misses()))
    }

    /// A cache of `bytes` (0 turns it off).
    pub fn new(bytes: u64) -> Self {
        TileCache {
            cache: (bytes > 0).then(|| Cache::with_weighter(4096, bytes, Weight)),
        }
    }

    /// The tile kept for `key`, if it is still right at `version`: built from it, or from an
    /// earlier version none of whose later changes `touched` the tile.
    pub fn get(
        &self,
        key: &(String, TileId),
        version: u64,
        touched: impl Fn(u64, &TileId) -> bool,
    ) -> Option<CachedTile> {
        let hit = self.cache.as_ref()?.get(key)?;
        if hit.version == version || !touched(hit.version, &key.1) {
            Some(hit)
        } else {
            None
        }
    }

    pub fn insert(&self, key: (String, TileId), tile: CachedTile) {
        if let Some(c) = &self.cache {
            c.insert(key, tile);
        }
    }
}

/// Queries POSTed for filtered tilesets (a drawn area too large for a URL), by id. Bounded:
/// the least recently used are forgotten, and a client whose query was forgotten posts it again.
pub struct TileQueries {
    cache: Cache<String, (String, crate::query::FeatureQuery), QueryWeight>,
}

#[derive(Clone)]
pub struct QueryWeight;

impl quick_cache::Weighter<String, (String, crate::query::FeatureQuery)> for QueryWeight {
    fn weight(&self, id: &String, (collection, q): &(String, crate::query::FeatureQuery)) -> u64 {
        let filter = q.filter.as_ref().map_or(0, |f| f.text.capacity());
        let equals: usize = q
            .equals
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity() + 48)
            .sum();
        (id.capacity() + collection.capacity() + filter + equals + 256) as u64
    }
}

impl TileQueries {
    pub fn new(bytes: u64) -> Self {
        TileQueries {
            cache: Cache::with_weighter(1024, bytes.max(1), QueryWeight),
        }
    }

    /// Keeps `query` for `collection` and returns its id (the same query gets the same id).
    pub fn store(&self, collection: &str, query: crate::query::FeatureQuery) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        collection.hash(&mut h);
        format!("{:?}", query).hash(&mut h);
        let id = format!("{:016x}", h.finish());
        self.cache
            .insert(id.clone(), (collection.to_owned(), query));
        id
    }

    /// The query kept under `id` for `collection`.
    pub fn get(&self, collection: &str, id: &str) -> Option<crate::query::FeatureQuery> {
        self.cache
            .get(id)
            .filter(|(c, _)| c == collection)
            .map(|(_, q)| q)
    }
}
