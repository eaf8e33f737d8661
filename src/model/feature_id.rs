use std::fmt;

/// A feature's id as GeoJSON allows it: a string or a number.
///
/// Numbers are kept as integers (GeoJSON ids in the wild are integral); the URL form of either is
/// its plain text, so `/items/7` and `/items/carrier-07` both work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureId {
    Int(i64),
    Str(String),
}

impl FeatureId {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FeatureId::Int(n) => serde_json::Value::from(*n),
            FeatureId::Str(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

impl fmt::Display for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureId::Int(n) => write!(f, "{n}"),
            FeatureId::Str(s) => f.pad(s),
        }
    }
}
