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
    /// How the web map presents each property, in the order the map lists them (titles,
    /// units, which filter the find form offers, which columns the result list shows). A
    /// property not named here is shown with its own name and gets a filter from its type.
    #[serde(default, deserialize_with = "ordered_fields")]
    pub fields: Vec<(String, FieldMeta)>,
    /// How the web map draws the layer.
    #[serde(default)]
    pub style: StyleMeta,
    /// A caveat the map shows while the layer is on it (e.g. that outlines are schematic).
    pub notice: Option<Localized>,
    /// The layer people look for space in: the map's find panel opens on it. Without one, the
    /// map picks the largest layer that is not a zone.
    #[serde(default)]
    pub primary: bool,
    /// Authorised clients may create, replace, update and delete its features (OGC API -
    /// Features Part 4), when the server keeps a state store.
    #[serde(default)]
    pub editable: bool,
    /// The date the seed file's figures describe (`YYYY-MM-DD`): the `updated_at` of features
    /// no edit has touched.
    pub as_of: Option<String>,
    /// The coordinate system of the file's positions when it is not CRS84 (`"EPSG:4548"`, an
    /// OGC CRS URI, `"gcj02"`, `"bd09"`): they are transformed to CRS84 at load. Overrides a
    /// legacy `crs` member of the file only when the two agree.
    pub crs: Option<String>,
    /// The text encoding of a Shapefile's DBF or a CSV when it is not UTF-8 (`"GBK"`,
    /// `"GB18030"`); a Shapefile's `.cpg` says the same, and the two must agree.
    pub encoding: Option<String>,
}

impl LayerMeta {
    /// The presentation of property `name`, if the sidecar gives one.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
}

/// How the web map presents one property. Everything is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldMeta {
    pub title: Option<Localized>,
    pub description: Option<Localized>,
    /// The unit values are in, as written after a number ("m²", "kVA"; or per language).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Localized>,
    /// The filter the find form offers for it; none if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterKind>,
    /// A column of the result list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub list: bool,
    /// Left out of the details panel (an id, a technical column).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// The property is text in one language (`"zh"` or `"en"`), shown only to readers of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Values are ids of features of this collection (a carrier's `park`): shown by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// The label of the field's filter, where its title does not read well there ("Ready by"
    /// for a delivery date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_title: Option<Localized>,
}

/// The kinds of filter a find form offers, each checked against the property's type at load.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// One of a set of values (a string; its choices from its vocabulary or enum).
    In,
    /// At least a value (a number or a date).
    Min,
    /// At most a value (a number or a date).
    Max,
    /// Between two values (a number or a date).
    Range,
    /// An array that holds a chosen value (`zones`: inside a zone).
    Contains,
    /// Text that appears in the value (a string).
    Text,
    /// True or false (a boolean).
    Flag,
}

impl FilterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterKind::In => "in",
            FilterKind::Min => "min",
            FilterKind::Max => "max",
            FilterKind::Range => "range",
            FilterKind::Contains => "contains",
            FilterKind::Text => "text",
            FilterKind::Flag => "flag",
        }
    }
}

/// How the web map draws a layer. Everything is optional: without it, a colour is picked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StyleMeta {
    /// Outline and fill colour, `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// A vocabulary-bound property whose terms' colours fill the features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_by: Option<String>,
    /// Fill opacity, 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill_opacity: Option<f64>,
    /// Outline width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_width: Option<f64>,
    /// Outline dash pattern, in line widths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dash: Option<Vec<f64>>,
    /// The zoom from which features are labelled with their names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_minzoom: Option<f64>,
}

/// `fields` as written: a JSON object whose key order is the display order.
fn ordered_fields<'de, D>(d: D) -> Result<Vec<(String, FieldMeta)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    map.into_iter()
        .map(|(name, v)| {
            let f = serde_json::from_value(v)
                .map_err(|e| serde::de::Error::custom(format!("field {name:?}: {e}")))?;
            Ok((name, f))
        })
        .collect()
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
