use std::fmt;

/// Where in a file a feature-level problem was found: its position and, if it has one, its id.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRef {
    pub index: usize,
    pub id: Option<String>,
}

impl fmt::Display for FeatureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "feature {id:?} (index {})", self.index),
            None => write!(f, "feature at index {}", self.index),
        }
    }
}

/// Everything that stops a data directory from being served. Each variant names the file and,
/// where it applies, the feature and the reason, so the message alone is enough to fix the data.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: no layer files to serve (*.geojson, *.gpkg, *.shp, *.zip, *.fgb, *.kml, *.csv, *.xlsx)")]
    NoLayers { dir: String },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{file}: {feature}: {reason}")]
    Feature {
        file: String,
        feature: FeatureRef,
        reason: String,
    },
}

impl IngestError {
    pub fn file(file: &str, reason: impl Into<String>) -> Self {
        IngestError::File {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn feature(file: &str, feature: FeatureRef, reason: impl Into<String>) -> Self {
        IngestError::Feature {
            file: file.to_owned(),
            feature,
            reason: reason.into(),
        }
    }
}
