use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::IngestError;
use crate::index::{Column, LayerParts};

/// A controlled list of terms (`NAME.vocab.json`), such as the six future industries, with the
/// labels and colours that the web app and the statistics use. One file serves both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    #[serde(default)]
    pub id: String,
    pub title: Option<crate::domain::Localized>,
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// A CSS colour (`#rrggbb`) for maps and charts.
    pub color: Option<String>,
}

impl Vocabulary {
    pub fn parse(stem: &str, bytes: &[u8]) -> Result<Self, String> {
        let mut v: Vocabulary =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid vocabulary: {e}"))?;
        if v.id.is_empty() {
            v.id = stem.to_owned();
        }
        let mut seen = std::collections::HashSet::new();
        for t in &v.terms {
            if !seen.insert(t.id.as_str()) {
                return Err(format!("duplicate term id {:?}", t.id));
            }
            if let Some(c) = &t.color {
                let hex = c.strip_prefix('#').unwrap_or("");
                if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("term {:?}: colour {c:?} is not #rrggbb", t.id));
                }
            }
        }
        Ok(v)
    }

    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.id == id)
    }
}

/// Checks every value of each vocabulary-bound property of a layer.
pub fn check_layer(
    file: &str,
    layer: &LayerParts,
    vocabularies: &BTreeMap<String, Vocabulary>,
) -> Result<(), IngestError> {
    for (property, vocab_id) in &layer.meta.vocabularies {
        let vocab = vocabularies.get(vocab_id).ok_or_else(|| {
            IngestError::file(file, format!("property {property:?} names vocabulary {vocab_id:?}, but there is no {vocab_id}.vocab.json"))
        })?;
        let Some(i) = layer.fields.iter().position(|f| &f.name == property) else {
            return Err(IngestError::file(file, format!("the metadata binds property {property:?} to a vocabulary, but no feature has it")));
        };
        let Column::String(values) = &layer.columns[i] else {
            return Err(IngestError::file(
                file,
                format!("property {property:?} is bound to a vocabulary but is not a string"),
            ));
        };
        for (index, v) in values.iter().enumerate() {
            if let Some(v) = v {
                if vocab.term(v).is_none() {
                    let at = super::FeatureRef {
                        index,
                        id: Some(layer.ids[index].to_string()),
                    };
                    return Err(IngestError::feature(
                        file,
                        at,
                        format!("{property} {v:?} is not a term of vocabulary {vocab_id:?}"),
                    ));
                }
            }
        }
    }
    Ok(())
}
