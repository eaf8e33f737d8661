use std::sync::Arc;

use super::{Catalog, CollectionInfo, Feature, FeaturePage, FeatureStore, StoreError, StoreHealth};
use crate::domain::FieldType;
use crate::index::{Column, Layer};
use crate::ingest::Vocabulary;
use crate::query::{compile, FeatureQuery};

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

fn feature(layer: &Layer, slot: usize) -> Feature {
    Feature {
        id: layer.ids[slot].clone(),
        geometry: layer.geometries[slot].clone(),
        properties: layer.properties_json(slot, None),
    }
}

impl FeatureStore for MemoryStore {
    fn collections(&self) -> Vec<CollectionInfo> {
        self.catalog.layers().iter().map(|l| info(l)).collect()
    }

    fn collection(&self, id: &str) -> Option<CollectionInfo> {
        self.catalog.layer(id).map(|l| info(l))
    }

    /// 1. compile the query against the layer's schema;
    /// 2. take candidates from the R-tree when there is a box, else every slot, in layer order;
    /// 3. keep those that match exactly, count them, and materialise only the requested page.
    fn query(&self, collection: &str, q: &FeatureQuery) -> Result<FeaturePage, StoreError> {
        let layer = self.layer(collection)?;
        let plan = compile(layer, q)?;
        let candidates: Box<dyn Iterator<Item = usize>> = match &plan.bbox {
            Some(b) => Box::new(layer.slots_in_bbox(b).into_iter().map(|s| s as usize)),
            None => Box::new(0..layer.len()),
        };
        let matched: Vec<usize> = candidates.filter(|s| plan.matches(layer, *s)).collect();
        let features = matched
            .iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|s| feature(layer, *s))
            .collect();
        Ok(FeaturePage {
            number_matched: matched.len(),
            features,
        })
    }

    fn get(&self, collection: &str, id: &str) -> Result<Option<Feature>, StoreError> {
        let layer = self.layer(collection)?;
        Ok(layer.slot_of(id).map(|slot| feature(layer, slot)))
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
