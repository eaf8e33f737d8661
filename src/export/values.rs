//! Property values as the tabular formats write them.

use serde_json::Value as Json;

/// A value as text (CSV cells, KML data, Shapefile character fields): strings as they are,
/// numbers and booleans in JSON notation, arrays and objects as JSON, null as empty.
pub fn text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
