use serde::{Deserialize, Serialize};

/// Text in Chinese and English, or one string used for both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Localized {
    Both { zh: String, en: String },
    One(String),
}

impl Localized {
    /// The text for a language tag; anything that is not Chinese gets English.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            Localized::One(s) => s,
            Localized::Both { zh, en } => {
                if lang.starts_with("zh") {
                    zh
                } else {
                    en
                }
            }
        }
    }
}

/// The optional sidecar `NAME.meta.json` beside `NAME.geojson`.
///
/// Every field is optional, so a planning bureau's own GeoJSON loads with no sidecar at all; unknown
/// keys are rejected so that a typo (`dispaly_property`) is an error at load, not a silent default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayerMeta {
    /// Collection title; defaults to the collection id.
    pub title: Option<Localized>,
    pub description: Option<Localized>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The property that names a feature, per language (e.g. `{"zh": "name_zh", "en": "name_en"}`).
    pub display_property: Option<Localized>,
    /// This layer's features are zones: other layers' features get the ids of the zone features
    /// that contain them in their derived `zones` property.
    #[serde(default)]
    pub zone: bool,
    /// The date or timestamp property that the `datetime` parameter filters on.
    pub temporal_property: Option<String>,
    /// Properties whose values must come from a vocabulary file (`{"industry": "industries"}`
    /// checks every `industry` against `industries.vocab.json`).
    #[serde(default)]
    pub vocabularies: std::collections::BTreeMap<String, String>,
    /// Order of the layer in listings and in the map's draw order (lower first).
    #[serde(default)]
    pub order: i32,
    /// How the layer is cut into vector tiles.
    #[serde(default)]
    pub tiles: TileMeta,
}

/// A layer's vector tiles (see `tiles`): the zooms it has tiles at, and below which zoom its
/// features are summed per cell instead of drawn one by one.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TileMeta {
    /// Lowest zoom with tiles (default 0).
    pub minzoom: u8,
    /// Highest zoom with tiles; clients overzoom beyond it (default 16: a tile unit is then
    /// under 60 cm at Beijing's latitude).
    pub maxzoom: u8,
    /// Below this zoom the layer's tiles hold cells (counts and sums) rather than features
    /// (default 0: only when a tile would hold too many, see `tiles::MAX_FEATURES`).
    pub aggregate_below: u8,
}

impl Default for TileMeta {
    fn default() -> Self {
        TileMeta {
            minzoom: 0,
            maxzoom: 16,
            aggregate_below: 0,
        }
    }
}
