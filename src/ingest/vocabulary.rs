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
