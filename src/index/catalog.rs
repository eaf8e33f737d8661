use std::collections::BTreeMap;
use std::sync::Arc;

use super::Layer;
use crate::model::Vocabulary;

/// Every loaded layer and vocabulary: one immutable version, shared by all requests.
#[derive(Clone)]
pub struct Catalog {
    layers: Vec<Arc<Layer>>,
    vocabularies: Arc<BTreeMap<String, Vocabulary>>,
}

impl Catalog {
    /// Orders layers by their metadata's `order`, then by id.
    pub fn new(mut layers: Vec<Layer>, vocabularies: BTreeMap<String, Vocabulary>) -> Self {
        layers.sort_by(|a, b| (a.meta.order, &a.id).cmp(&(b.meta.order, &b.id)));
        Catalog {
            layers: layers.into_iter().map(Arc::new).collect(),
            vocabularies: Arc::new(vocabularies),
        }
    }

    /// This catalog with `layer` in place of the layer of the same id (the others shared).
    pub fn with_layer(&self, layer: Layer) -> Catalog {
        let mut next = self.clone();
        if let Some(slot) = next.layers.iter_mut().find(|l| l.id == layer.id) {
            *slot = Arc::new(layer);
        }
        next
    }

    pub fn vocabulary(&self, id: &str) -> Option<&Vocabulary> {
        self.vocabularies.get(id)
    }

    pub fn layers(&self) -> &[Arc<Layer>] {
        &self.layers
    }

    /// The zone layers (`"zone": true`), shared: what `zones` are derived from.
    pub fn zone_layers(&self) -> Vec<Arc<Layer>> {
        self.layers
            .iter()
            .filter(|l| l.meta.zone)
            .cloned()
            .collect()
    }

    pub fn layer(&self, id: &str) -> Option<&Arc<Layer>> {
        self.layers.iter().find(|l| l.id.as_str() == id)
    }

    pub fn vocabularies(&self) -> impl Iterator<Item = &Vocabulary> {
        self.vocabularies.values()
    }

    pub fn feature_count(&self) -> usize {
        self.layers.iter().map(|l| l.live_count()).sum()
    }
}
