//! Compiled filters kept by their text, so a filter repeated across requests (the pages, the
//! statistics and the download of one drawn area; every visitor's copy of a shared link) is
//! parsed and compiled once. Parsing a 64-vertex polygon literal took about a third of such a
//! request. A compiled filter depends only on the layer's schema, which edits leave alone but
//! for one thing: a property null in every seed feature compiles as null until an edit gives it
//! a value. The key holds how many such properties the layer has, so that edit makes a new key.
//!
//! Refusals are kept too: a filter that spends the parser's whole budget before its 400 does so
//! once, not on every retry.

use std::sync::Arc;

use quick_cache::sync::Cache;

use super::{compile, Filter, FilterError, FilterLang, FilterSpec};
use crate::index::Layer;

/// What the cache may hold, in bytes: the filters' text and what each compiled filter holds
/// (a drawn polygon's vertices, segments and grid, about 70 KB). Sized for a few hundred drawn
/// areas; a soak test with thousands of distinct polygons found the budget must count the
/// compiled filter, not only its text.
pub const FILTER_CACHE_BYTES: u64 = 16 * 1024 * 1024;

type Key = (String, FilterLang, String);
type Compiled = Result<Arc<Filter>, FilterError>;

/// An entry costs its key's text plus what the compiled filter holds.
#[derive(Clone)]
struct MemoryWeight;

impl quick_cache::Weighter<Key, Compiled> for MemoryWeight {
    fn weight(&self, key: &Key, compiled: &Compiled) -> u64 {
        let held = match compiled {
            Ok(f) => std::mem::size_of::<Filter>() + f.heap_bytes(),
            // A refusal keeps its message (an expected-token list can be long).
            Err(e) => std::mem::size_of::<FilterError>() + e.to_string().len(),
        };
        // The key's strings and the cache's own bookkeeping per entry.
        (key.0.capacity() + key.2.capacity() + held + 256) as u64
    }
}

/// Filters compiled against layers, least recently used first out.
pub struct FilterCache {
    cache: Cache<Key, Compiled, MemoryWeight>,
}

impl Default for FilterCache {
    fn default() -> Self {
        FilterCache::with_capacity(FILTER_CACHE_BYTES)
    }
}

impl FilterCache {
    /// Lookups that found an entry, and lookups that did not, since start (for `/metrics`).
    pub fn hits_misses(&self) -> (u64, u64) {
        (self.cache.hits(), self.cache.misses())
    }

    pub fn with_capacity(bytes: u64) -> Self {
        FilterCache {
            cache: Cache::with_weighter(1024, bytes, MemoryWeight),
        }
    }

    /// The filter `spec` compiled against `layer`, from the cache when it was seen before.
    pub fn compile(&self, layer: &Layer, spec: &FilterSpec) -> Compiled {
        let nulls_only = layer.fields.iter().filter(|f| f.nulls_only).count();
        let key = (
            format!("{}#{nulls_only}", layer.id),
            spec.lang,
            spec.text.clone(),
        );
        if let Some(hit) = self.cache.get(&key) {
            return hit;
        }
        let compiled = compile(layer, spec).map(Arc::new);
        self.cache.insert(key, compiled.clone());
        compiled
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Column, LayerParts};
    use crate::model::{FeatureId, Field, FieldType, LayerId, LayerMeta};

    fn layer(id: &str) -> Layer {
        Layer::build(LayerParts {
            id: LayerId::new(id).expect("id"),
            meta: LayerMeta::default(),
            ids: vec![FeatureId::Int(1)],
            geometries: vec![geo::Geometry::Point(geo::Point::new(116.5, 39.8))],
            fields: vec![Field {
                name: "floor_area_m2".into(),
                ty: FieldType::Number,
                derived: false,
                nulls_only: false,
            }],
            columns: vec![Column::Number(vec![Some(10.0)].into())],
        })
    }

    fn text(t: &str) -> FilterSpec {
        FilterSpec {
            text: t.into(),
            lang: FilterLang::Cql2Text,
        }
    }

    #[test]
    fn one_text_compiles_once_per_layer() {
        let cache = FilterCache::default();
        let (a, b) = (layer("a"), layer("b"));
        let spec = text("floor_area_m2 > 5");
        let first = cache.compile(&a, &spec).expect("compiles");
        let again = cache.compile(&a, &spec).expect("compiles");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second request reuses the first compile"
        );
        let other = cache.compile(&b, &spec).expect("compiles");
        assert!(
            !Arc::ptr_eq(&first, &other),
            "each layer has its own compile"
        );
        let json = FilterSpec {
            text: spec.text.clone(),
            lang: FilterLang::Cql2Json,
        };
        assert!(
            cache.compile(&a, &json).is_err(),
            "the encoding is part of the key"
        );
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn refusals_are_kept_and_stay_refusals() {
        let cache = FilterCache::default();
        let a = layer("a");
        let spec = text("no_such_property > 5");
        let first = cache.compile(&a, &spec).expect_err("unknown property");
        assert_eq!(cache.compile(&a, &spec).expect_err("still unknown"), first);
        assert_eq!(cache.len(), 1);
    }

    /// A drawn area is tens of kilobytes compiled (its grid above all), far more than its text:
    /// the budget counts the compiled size, so distinct polygons cannot grow memory unbounded.
    #[test]
    fn drawn_areas_are_weighed_by_their_compiled_size() {
        let polygon = |n: usize| {
            let ring: Vec<String> = (0..=64)
                .map(|i| {
                    let a = std::f64::consts::TAU * (i % 64) as f64 / 64.0;
                    format!(
                        "{} {}",
                        116.5 + 0.01 * a.cos() + n as f64 * 1e-6,
                        39.8 + 0.01 * a.sin()
                    )
                })
                .collect();
            text(&format!(
                "S_INTERSECTS(geometry, POLYGON(({})))",
                ring.join(",")
            ))
        };
        let a = layer("a");
        let one = compile(&a, &polygon(0)).expect("compiles");
        assert!(one.heap_bytes() > 60_000, "{} bytes", one.heap_bytes());
        let budget = 1024 * 1024;
        let cache = FilterCache::with_capacity(budget);
        for n in 0..100 {
            cache.compile(&a, &polygon(n)).expect("compiles");
        }
        let held = cache.len() * one.heap_bytes();
        assert!(
            held as u64 <= budget,
            "{} filters, about {held} bytes",
            cache.len()
        );
        assert!(
            cache.len() >= 5,
            "the cache still holds some: {}",
            cache.len()
        );
    }

    #[test]
    fn holds_no_more_than_its_capacity() {
        let cache = FilterCache::with_capacity(20_000);
        let a = layer("a");
        for n in 0..1_000 {
            let _ = cache.compile(&a, &text(&format!("floor_area_m2 > {n}")));
        }
        // 1,000 entries of about 300 bytes each would be 300 KB; the cache keeps about 20 KB.
        assert!(cache.len() < 100, "{} entries kept", cache.len());
    }
}
