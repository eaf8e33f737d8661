//! Checks a sidecar's presentation metadata (`fields`, `style`) against the layer it describes,
//! once derived properties exist: a field that is not there, a filter that does not fit the
//! property's type, or a colour that is not one is an error at load naming the sidecar, not a
//! form that quietly does nothing in the browser.

use std::collections::BTreeMap;

use super::IngestError;
use crate::index::Layer;
use crate::model::{FieldType, FilterKind, Vocabulary};

const META_SUFFIX: &str = ".meta.json";

/// Checks `fields` and `style` of every layer's metadata.
pub fn check(
    layers: &[Layer],
    vocabularies: &BTreeMap<String, Vocabulary>,
) -> Result<(), IngestError> {
    let ids: Vec<&str> = layers.iter().map(|l| l.id.as_str()).collect();
    for layer in layers {
        let file = format!("{}{META_SUFFIX}", layer.id);
        check_layer(layer, &ids, vocabularies)
            .map_err(|reason| IngestError::file(&file, reason))?;
    }
    Ok(())
}

fn check_layer(
    layer: &Layer,
    layer_ids: &[&str],
    vocabularies: &BTreeMap<String, Vocabulary>,
) -> Result<(), String> {
    let meta = &layer.meta;
    let mut seen = std::collections::BTreeSet::new();
    for (name, f) in &meta.fields {
        if !seen.insert(name) {
            return Err(format!("fields names {name:?} twice"));
        }
        let field = layer
            .fields
            .iter()
            .find(|x| &x.name == name)
            .ok_or_else(|| format!("fields names {name:?}, which no feature has"))?;
        if let Some(l) = &f.lang {
            if l != "zh" && l != "en" {
                return Err(format!(
                    "field {name:?} has lang {l:?}; it must be \"zh\" or \"en\""
                ));
            }
        }
        if let Some(r) = &f.references {
            if !layer_ids.iter().any(|id| id == r) {
                return Err(format!(
                    "field {name:?} references collection {r:?}, which does not exist"
                ));
            }
        }
        if let Some(kind) = f.filter {
            let fits = match kind {
                FilterKind::In | FilterKind::Text => field.ty == FieldType::String,
                FilterKind::Min | FilterKind::Max | FilterKind::Range => {
                    field.ty.is_numeric()
                        || matches!(field.ty, FieldType::Date | FieldType::Timestamp)
                }
                FilterKind::Contains => field.ty == FieldType::StringArray,
                FilterKind::Flag => field.ty == FieldType::Boolean,
            };
            if !fits {
                return Err(format!(
                    "field {name:?} is {}, which a {:?} filter cannot take",
                    field.ty.name(),
                    kind.as_str()
                ));
            }
        }
    }
    if let Some(d) = &meta.as_of {
        if crate::model::parse_date(d).is_none() {
            return Err(format!("as_of {d:?} is not a date (YYYY-MM-DD)"));
        }
    }
    let style = &meta.style;
    if let Some(c) = &style.color {
        if !is_hex_colour(c) {
            return Err(format!("style.color {c:?} is not a #rrggbb colour"));
        }
    }
    if let Some(p) = &style.color_by {
        let vocab = meta
            .vocabularies
            .get(p)
            .and_then(|v| vocabularies.get(v))
            .ok_or_else(|| {
                format!("style.color_by names {p:?}, which is not bound to a vocabulary")
            })?;
        if let Some(t) = vocab
            .terms
            .iter()
            .find(|t| t.color.as_deref().is_none_or(|c| !is_hex_colour(c)))
        {
            return Err(format!(
                "style.color_by uses vocabulary {:?}, whose term {:?} has no #rrggbb colour",
                vocab.id, t.id
            ));
        }
    }
    if let Some(o) = style.fill_opacity {
        if !(0.0..=1.0).contains(&o) {
            return Err(format!("style.fill_opacity {o} is not between 0 and 1"));
        }
    }
    for (what, v) in [
        ("line_width", style.line_width),
        ("label_minzoom", style.label_minzoom),
    ] {
        if let Some(v) = v {
            if !(0.0..=24.0).contains(&v) {
                return Err(format!("style.{what} {v} is not between 0 and 24"));
            }
        }
    }
    if let Some(d) = &style.dash {
        if d.is_empty() || d.len() > 8 || d.iter().any(|x| !(0.0..=100.0).contains(x)) {
            return Err("style.dash must hold 1 to 8 lengths between 0 and 100".into());
        }
    }
    Ok(())
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}
