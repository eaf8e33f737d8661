use std::collections::BTreeMap;

use super::IngestError;
use crate::index::{Column, LayerParts};
use crate::model::Vocabulary;

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
        // Each value (or each item of an array) must be a term.
        let values: Box<dyn Iterator<Item = (usize, &str)>> = match &layer.columns[i] {
            Column::String(c) => Box::new(c.iter().enumerate().filter_map(|(n, v)| Some((n, v.as_deref()?)))),
            Column::StringArray(c) => Box::new(c.iter().enumerate().flat_map(|(n, v)| {
                v.iter().flat_map(|items| items.iter()).map(move |s| (n, s.as_ref()))
            })),
            _ => {
                return Err(IngestError::file(
                    file,
                    format!("property {property:?} is bound to a vocabulary but is neither a string nor an array of strings"),
                ))
            }
        };
        for (index, v) in values {
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
    Ok(())
}
