//! A starting sidecar for a layer that has none (`etown-atlas init`), for a person to edit:
//! every property titled by its column name, a filter that fits its type, a vocabulary (with
//! colours) for each text property of at most [`VOCABULARY_MAX`] distinct values that repeat,
//! the display property guessed from name-like columns, and the features coloured by the
//! first vocabulary. Everything it writes loads as it is.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value as Json};

use crate::index::{Column, Layer};
use crate::model::FieldType;

/// A text property with more distinct values than this is free text, not a category.
pub const VOCABULARY_MAX: usize = 50;

/// The sidecar and the vocabulary files (by stem) for one layer.
pub struct Starter {
    pub meta: Json,
    pub vocabularies: Vec<(String, Json)>,
}

/// Column names that name a feature, most specific first.
const NAME_LIKE: [&str; 8] = [
    "name_zh",
    "name",
    "名称",
    "名字",
    "楼宇名称",
    "项目名称",
    "title",
    "标题",
];

fn display_property(names: &[&str]) -> Option<Json> {
    let find = |wanted: &str| {
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .copied()
    };
    if let (Some(zh), Some(en)) = (find("name_zh"), find("name_en")) {
        return Some(json!({"zh": zh, "en": en}));
    }
    let found = NAME_LIKE.iter().find_map(|w| find(w)).or_else(|| {
        names
            .iter()
            .find(|n| n.to_lowercase().contains("name") || n.contains("名称"))
            .copied()
    })?;
    Some(json!({"zh": found, "en": found}))
}

/// A colour for the `i`-th term: hues a golden angle apart, so neighbours differ.
fn colour(i: usize) -> String {
    let h = (i as f64 * 137.507_764) % 360.0;
    let (s, l) = (0.55, 0.5);
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// The distinct values of a text column, if there are two to [`VOCABULARY_MAX`] and each
/// appears twice on average (a category, not names or one value for all).
fn categories(column: &Column) -> Option<Vec<String>> {
    let Column::String(values) = column else {
        return None;
    };
    let mut distinct = BTreeSet::new();
    let mut filled = 0;
    for v in values.iter().flatten() {
        filled += 1;
        distinct.insert(v.as_ref());
        if distinct.len() > VOCABULARY_MAX {
            return None;
        }
    }
    (distinct.len() >= 2 && distinct.len() * 2 <= filled)
        .then(|| distinct.into_iter().map(str::to_owned).collect())
}

/// A vocabulary's file stem for a column: `layer-column`, or `layer-fieldN` when the column's
/// name is not plain ASCII.
fn vocabulary_stem(layer: &str, column: &str, index: usize) -> String {
    if column
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        format!("{layer}-{column}")
    } else {
        format!("{layer}-field{}", index + 1)
    }
}

/// The starting sidecar of `layer`.
pub fn starter(layer: &Layer) -> Starter {
    let id = layer.id.as_str();
    let names: Vec<&str> = layer
        .fields
        .iter()
        .filter(|f| !f.derived)
        .map(|f| f.name.as_str())
        .collect();
    let display = display_property(&names);
    let shown: Vec<&str> = display
        .as_ref()
        .and_then(Json::as_object)
        .map(|o| o.values().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let mut fields = Map::new();
    let mut bound = Map::new();
    let mut vocabularies = Vec::new();
    for (i, field) in layer.fields.iter().enumerate() {
        if field.derived {
            continue;
        }
        let name = field.name.as_str();
        let mut entry = Map::new();
        entry.insert("title".into(), json!({"zh": name, "en": name}));
        let terms = if shown.contains(&name) {
            None
        } else {
            categories(&layer.columns[i])
        };
        let filter = match (field.ty, &terms) {
            (FieldType::String, Some(_)) => Some("in"),
            (
                FieldType::Integer | FieldType::Number | FieldType::Date | FieldType::Timestamp,
                _,
            ) => Some("range"),
            (FieldType::Boolean, _) => Some("flag"),
            _ => None,
        };
        if let Some(f) = filter {
            entry.insert("filter".into(), json!(f));
        }
        if let Some(terms) = terms {
            let stem = vocabulary_stem(id, name, i);
            let terms: Vec<Json> = terms
                .iter()
                .enumerate()
                .map(|(k, t)| json!({"id": t, "zh": t, "en": t, "color": colour(k)}))
                .collect();
            vocabularies.push((
                stem.clone(),
                json!({"id": stem, "title": {"zh": name, "en": name}, "terms": terms}),
            ));
            bound.insert(name.to_owned(), json!(stem));
        }
        fields.insert(name.to_owned(), Json::Object(entry));
    }
    let mut meta = Map::new();
    meta.insert("title".into(), json!({"zh": id, "en": id}));
    if let Some(d) = display {
        meta.insert("display_property".into(), d);
    }
    if let Some((first, _)) = bound.iter().next() {
        meta.insert("style".into(), json!({"color_by": first}));
    }
    if !bound.is_empty() {
        meta.insert("vocabularies".into(), Json::Object(bound));
    }
    meta.insert("fields".into(), Json::Object(fields));
    Starter {
        meta: Json::Object(meta),
        vocabularies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_colours_are_distinct_css_hex() {
        let all: BTreeSet<String> = (0..VOCABULARY_MAX).map(colour).collect();
        assert_eq!(all.len(), VOCABULARY_MAX);
        assert!(all.iter().all(|c| c.len() == 7 && c.starts_with('#')));
    }

    #[test]
    fn names_are_found_in_either_language() {
        assert_eq!(
            display_property(&["id", "name_zh", "name_en"]),
            Some(json!({"zh": "name_zh", "en": "name_en"}))
        );
        assert_eq!(
            display_property(&["编号", "名称"]),
            Some(json!({"zh": "名称", "en": "名称"}))
        );
        assert_eq!(display_property(&["area"]), None);
    }
}
