use std::sync::Arc;

use super::{Catalog, CollectionInfo, Feature, FeaturePage, FeatureStore, StoreError, StoreHealth};
use crate::domain::FieldType;
use crate::index::{Column, Layer};
use crate::ingest::Vocabulary;
use crate::query::plan::Candidates;
use crate::query::{compile, FeatureQuery, Plan};

/// The in-memory backend: one immutable [`Catalog`] snapshot behind an `Arc`.
pub struct MemoryStore {
    catalog: Arc<Catalog>,
}

impl MemoryStore {
    pub fn new(catalog: Catalog) -> Self {
        MemoryStore {
            catalog: Arc::new(catalog),
        }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    fn layer(&self, id: &str) -> Result<&Arc<Layer>, StoreError> {
        self.catalog
            .layer(id)
            .ok_or_else(|| StoreError::NoSuchCollection(id.to_owned()))
    }
}

fn info(layer: &Layer) -> CollectionInfo {
    CollectionInfo {
        id: layer.id.to_string(),
        meta: layer.meta.clone(),
        fields: layer.fields.clone(),
        extent: layer
            .extent
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        temporal_extent: temporal_extent(layer),
        count: layer.len(),
        geometry_types: layer.geometry_types.iter().copied().collect(),
    }
}

/// The first and last value of the metadata's temporal property, as written.
fn temporal_extent(layer: &Layer) -> Option<[String; 2]> {
    let name = layer.meta.temporal_property.as_deref()?;
    let i = layer.field_index(name)?;
    let col = &layer.columns[i];
    if !matches!(layer.fields[i].ty, FieldType::Date | FieldType::Timestamp) {
        return None;
    }
    let key = |slot: usize| match col {
        Column::Date(c) => c[slot].map(i64::from),
        Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| *t),
        _ => None,
    };
    let slots = (0..layer.len()).filter(|s| key(*s).is_some());
    let first = slots.clone().min_by_key(|s| key(*s))?;
    let last = slots.max_by_key(|s| key(*s))?;
    let text = |slot: usize| col.json_at(slot).as_str().unwrap_or_default().to_owned();
    Some([text(first), text(last)])
}

fn feature(layer: &Layer, slot: usize, properties: Option<&[usize]>) -> Feature {
    Feature {
        id: layer.ids[slot].clone(),
        geometry: layer.geometries[slot].clone(),
        properties: layer.properties_json(slot, properties),
    }
}

/// Every slot that matches the plan, in layer order or in `sortby` order (ties in layer order).
///
/// 1. candidates come from the R-tree when the plan has a box or a spatial conjunct, else every
///    slot;
/// 2. each candidate is tested exactly (geometry and attributes);
/// 3. the survivors are sorted, stably, when the query asks for an order.
pub fn matching_slots(layer: &Layer, plan: &Plan) -> Vec<usize> {
    let mut matched: Vec<usize> = match plan.candidates() {
        Candidates::All => (0..layer.len())
            .filter(|s| plan.matches(layer, *s))
            .collect(),
        Candidates::Rects(rects) => {
            let mut slots: Vec<usize> = rects
                .into_iter()
                .flat_map(|r| {
                    layer
                        .slots_intersecting_rect(r)
                        .map(|s| s as usize)
                        .collect::<Vec<_>>()
                })
                .collect();
            slots.sort_unstable();
            slots.dedup();
            slots.retain(|s| plan.matches(layer, *s));
            slots
        }
    };
    if !plan.sort.is_empty() {
        matched.sort_by(|a, b| {
            plan.sort
                .iter()
                .map(|(col, desc)| {
                    let o = layer.columns[*col].cmp_slots(*a, *b);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    matched
}

impl FeatureStore for MemoryStore {
    fn collections(&self) -> Vec<CollectionInfo> {
        self.catalog.layers().iter().map(|l| info(l)).collect()
    }

    fn collection(&self, id: &str) -> Option<CollectionInfo> {
        self.catalog.layer(id).map(|l| info(l))
    }

    /// Compiles the query against the layer's schema, finds every match, and materialises only
    /// the requested page.
    fn query(&self, collection: &str, q: &FeatureQuery) -> Result<FeaturePage, StoreError> {
        let layer = self.layer(collection)?;
        let plan = compile(layer, q)?;
        let matched = matching_slots(layer, &plan);
        let features = matched
            .iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|s| feature(layer, *s, plan.properties.as_deref()))
            .collect();
        Ok(FeaturePage {
            number_matched: matched.len(),
            features,
        })
    }

    fn get(&self, collection: &str, id: &str) -> Result<Option<Feature>, StoreError> {
        let layer = self.layer(collection)?;
        Ok(layer.slot_of(id).map(|slot| feature(layer, slot, None)))
    }

    fn vocabularies(&self) -> Vec<Vocabulary> {
        self.catalog.vocabularies().cloned().collect()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            collections: self.catalog.layers().len(),
            features: self.catalog.feature_count(),
        }
    }
}
