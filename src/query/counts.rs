//! `numberMatched` kept per query and data version, so paging through one filter (page 1, 2,
//! 3 ...) counts its matches once: the later pages stop testing features as soon as they are
//! full (see [`super::exec::page_counted`]).
//!
//! A count is only reused for the data version it was made on: an edit makes a new version,
//! and so a new key. The key is a SHA-256 of everything that decides the matches (not the
//! page, the order or the properties returned), so a drawn area of a megabyte costs the cache
//! 32 bytes.

use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use super::FeatureQuery;

/// What one count is kept under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey {
    version: u64,
    digest: [u8; 32],
}

impl CountKey {
    /// The key of `q`'s matches in `collection` at data `version`.
    pub fn new(collection: &str, version: u64, q: &FeatureQuery) -> Self {
        let mut h = Sha256::new();
        // Each part is length-prefixed, so no two queries write the same bytes.
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(collection.as_bytes());
        part(format!("{:?}", q.bbox).as_bytes());
        part(format!("{:?}", q.datetime).as_bytes());
        part(format!("{:?}", q.equals).as_bytes());
        match &q.filter {
            Some(f) => {
                part(format!("{:?}", f.lang).as_bytes());
                part(f.text.as_bytes());
            }
            None => part(b"-"),
        }
        // An area by its geometry's exact coordinates (Debug prints every f64 so that it
        // reads back the same).
        match &q.area {
            Some(a) => part(format!("{:?}", a.geometry()).as_bytes()),
            None => part(b"-"),
        }
        CountKey {
            version,
            digest: h.finalize().into(),
        }
    }
}

/// Counts of recent queries, least recently used first out; off with a capacity of 0.
pub struct CountCache {
    cache: Option<Cache<CountKey, usize>>,
}

impl CountCache {
    /// Lookups that found an entry, and lookups that did not, since start (for `/metrics`).
    pub fn hits_misses(&self) -> (u64, u64) {
        self.cache
            .as_ref()
            .map_or((0, 0), |c| (c.hits(), c.misses()))
    }

    pub fn new(entries: usize) -> Self {
        CountCache {
            cache: (entries > 0).then(|| Cache::new(entries)),
        }
    }

    pub fn get(&self, key: &CountKey) -> Option<usize> {
        self.cache.as_ref()?.get(key)
    }

    pub fn insert(&self, key: CountKey, count: usize) {
        if let Some(c) = &self.cache {
            c.insert(key, count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_and_order_share_a_key_and_the_version_does_not() {
        let q = FeatureQuery::default();
        let page2 = FeatureQuery {
            offset: 100,
            sortby: crate::query::SortKey::parse_list("-name").unwrap(),
            ..FeatureQuery::default()
        };
        assert_eq!(CountKey::new("c", 1, &q), CountKey::new("c", 1, &page2));
        assert_ne!(CountKey::new("c", 1, &q), CountKey::new("c", 2, &q));
        assert_ne!(CountKey::new("c", 1, &q), CountKey::new("d", 1, &q));
        let filtered = FeatureQuery {
            equals: vec![("a".into(), "1".into())],
            ..FeatureQuery::default()
        };
        assert_ne!(CountKey::new("c", 1, &q), CountKey::new("c", 1, &filtered));
    }
}
