use std::sync::Arc;

use crate::index::{Catalog, Column, Layer};
use crate::model::{Field, FieldType, LayerMeta, Vocabulary};

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

/// One consistent version of the data: every layer, every vocabulary, and each collection's
/// description, computed once per version (its temporal extent is a pass over every feature,
/// which no request should pay for).
pub struct Snapshot {
    catalog: Catalog,
    infos: Vec<CollectionInfo>,
    version: u64,
}

impl Snapshot {
    pub fn new(catalog: Catalog, version: u64) -> Self {
        let infos = catalog.layers().iter().map(|l| info(l)).collect();
        Snapshot {
            catalog,
            infos,
            version,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Increases with every change; the first loaded version is 1.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn layer(&self, id: &str) -> Option<&Arc<Layer>> {
        self.catalog.layer(id)
    }

    /// Every collection, in display order.
    pub fn collections(&self) -> &[CollectionInfo] {
        &self.infos
    }

    pub fn collection(&self, id: &str) -> Option<&CollectionInfo> {
        self.infos.iter().find(|c| c.id == id)
    }

    pub fn vocabularies(&self) -> impl Iterator<Item = &Vocabulary> {
        self.catalog.vocabularies()
    }

    pub fn vocabulary(&self, id: &str) -> Option<&Vocabulary> {
        self.catalog.vocabularies().find(|v| v.id == id)
    }

    pub fn feature_count(&self) -> usize {
        self.catalog.feature_count()
    }

    /// Whether a change after `since` (up to this version) touched `collection` within `area`:
    /// what a cached tile built at `since` asks before it is served again.
    pub fn changed_since(&self, collection: &str, since: u64, area: geo::Rect<f64>) -> bool {
        let _ = (collection, area);
        since < self.version
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
        sample_id: layer.ids.first().map(ToString::to_string),
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
