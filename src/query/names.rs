//! Search by name: case- and accent-insensitive, over the Chinese and English names, ranked
//! exact match, then prefix, then substring, then close spellings ("Robto" finds "Robot",
//! "helth" finds "Health": every typed word within one edit of a word of the name, two for
//! words of eight letters or more, a swap of neighbours counting as one).

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::budget::{Budget, Exceeded};
use super::filter::Fold;
use crate::index::Layer;
use crate::model::{FieldType, Localized};

/// How well a name matched; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    Exact,
    Prefix,
    Substring,
    /// Every word typed is a close spelling of a word (or the start of one) of the name.
    Close,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix",
            MatchKind::Substring => "substring",
            MatchKind::Close => "close",
        }
    }
}

/// One feature whose name matched.
#[derive(Debug, Clone, PartialEq)]
pub struct NameMatch {
    pub slot: usize,
    pub kind: MatchKind,
    /// The property whose value matched, and the value as written.
    pub property: String,
    pub name: String,
}

const FOLD: Fold = Fold {
    case: true,
    accent: true,
};

/// Folds text for comparison: compatibility forms unified (NFKC: full-width ＡＢＣ and
/// half-width katakana read as their usual forms, ligatures split), lower case, no accents,
/// collapsed whitespace. Combining marks are dropped with the accents, so a mark alone folds to
/// nothing.
pub fn normalize(s: &str) -> String {
    let compatible: String = s.nfkc().collect();
    FOLD.apply(Cow::Owned(compatible))
        .chars()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Combining marks that the accent fold leaves (a mark with no base letter, marks of scripts
/// `unaccent` does not know): they match nothing on their own.
fn is_combining_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// The properties that hold a layer's names: the display properties of its metadata, or else
/// every string property whose name starts with `name`.
pub fn name_columns(layer: &Layer) -> Vec<usize> {
    let from_meta: Vec<usize> = match &layer.meta.display_property {
        Some(Localized::Both { zh, en }) => [zh, en]
            .iter()
            .filter_map(|n| layer.field_index(n))
            .collect(),
        Some(Localized::One(n)) => layer.field_index(n).into_iter().collect(),
        None => Vec::new(),
    };
    if !from_meta.is_empty() {
        return from_meta;
    }
    layer
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.ty == FieldType::String && f.name.to_ascii_lowercase().starts_with("name")
        })
        .map(|(i, _)| i)
        .collect()
}

/// Every feature of `layer` with a name matching `query` (already normalised), best match per
/// feature.
pub fn search(layer: &Layer, query: &str, budget: &Budget) -> Result<Vec<NameMatch>, Exceeded> {
    let columns = name_columns(layer);
    let mut out = Vec::new();
    for slot in 0..layer.len() {
        budget.check_every(slot)?;
        if !layer.is_live(slot) {
            continue;
        }
        let mut best: Option<NameMatch> = None;
        for &c in &columns {
            let Some(name) = layer.columns[c].str_at(slot) else {
                continue;
            };
            let folded = normalize(name);
            let kind = if folded == query {
                MatchKind::Exact
            } else if folded.starts_with(query) {
                MatchKind::Prefix
            } else if folded.contains(query) {
                MatchKind::Substring
            } else if close_spelling(&folded, query) {
                MatchKind::Close
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|b| kind < b.kind) {
                best = Some(NameMatch {
                    slot,
                    kind,
                    property: layer.fields[c].name.clone(),
                    name: name.to_owned(),
                });
            }
        }
        out.extend(best);
    }
    Ok(out)
}

/// Edits a typed word of `len` characters may be off by: none for short words (where one edit
/// makes another word), one up to seven, two from eight. Ideographs are never guessed at.
fn tolerance(word: &str) -> usize {
    if !word.is_ascii() {
        return 0;
    }
    match word.len() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Whether each word of `query` is within its tolerance of a word of `name` (both folded), or
/// of the start of one (so "robto ind" finds "robot industrial park").
fn close_spelling(name: &str, query: &str) -> bool {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|q| !q.is_empty())
        .all(|q| {
            let tol = tolerance(q);
            words.iter().any(|w| {
                if w.starts_with(q) {
                    return true;
                }
                if tol == 0 || w.len() + tol < q.len() {
                    return false;
                }
                // The whole word, or its start as long as what was typed (a word typed in part).
                let start: String = w.chars().take(q.chars().count()).collect();
                strsim::osa_distance(q, w) <= tol || strsim::osa_distance(q, &start) <= tol
            })
        })
}

/// What a name search found: the best hits and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct NameHits {
    /// `(index into layers, match)`, best first.
    pub hits: Vec<(usize, NameMatch)>,
    /// Every feature that matched, before the limit.
    pub matched: usize,
}

/// The best `limit` name matches over `layers` (in display order), for `text` as a person typed
/// it: exact before prefix before substring before close spellings, then shorter names, then
/// layer order and slot. `None` when `text` folds to nothing to search for.
pub fn search_layers(
    layers: &[&Layer],
    text: &str,
    limit: usize,
    budget: &Budget,
) -> Result<Option<NameHits>, Exceeded> {
    let query = normalize(text);
    if query.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for (order, layer) in layers.iter().enumerate() {
        found.extend(
            search(layer, &query, budget)?
                .into_iter()
                .map(|m| (order, m)),
        );
    }
    found.sort_by_key(|(order, m)| (m.kind, m.name.chars().count(), *order, m.slot));
    let matched = found.len();
    found.truncate(limit);
    Ok(Some(NameHits {
        hits: found,
        matched,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_accents_and_spaces() {
        assert_eq!(
            normalize("  Beijing   ROCKET Street "),
            "beijing rocket street"
        );
        assert_eq!(normalize("São  Paulo"), "sao paulo");
        assert_eq!(normalize("火箭大街"), "火箭大街");
        assert_eq!(normalize("ＲＯＣＫＥＴ　Ｓｔｒｅｅｔ"), "rocket street");
        assert_eq!(normalize("\u{301}"), "");
        assert_eq!(normalize("e\u{301}toile"), "etoile");
    }

    #[test]
    fn close_spellings_within_one_or_two_edits() {
        let name = "beijing robot industrial park";
        assert!(close_spelling(name, "robto")); // a swap
        assert!(close_spelling(name, "robto indus")); // and a word typed in part
        assert!(close_spelling("future health carrier 01", "helth")); // a letter missing
        assert!(close_spelling(name, "industiral")); // a swap in a long word
        assert!(close_spelling(name, "indsutrail")); // two edits in a long word
        assert!(!close_spelling(name, "rocket")); // not a near word
        assert!(!close_spelling(name, "rbt")); // short words are not guessed
        assert!(!close_spelling("火箭大街", "火剑")); // nor ideographs
    }
}
