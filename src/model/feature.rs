use serde_json::{Map, Value as Json};

use super::FeatureId;

/// One feature with its properties as JSON: what the download writers and edits handle. Pages
/// and answers are written straight from a layer's columns instead (see `encode`).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub id: FeatureId,
    pub geometry: geo::Geometry<f64>,
    pub properties: Map<String, Json>,
}
