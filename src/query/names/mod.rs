//! Search by name: case- and accent-insensitive, over the Chinese and English names, ranked
//! exact match, then prefix, then substring, then close spellings ("Robto" finds "Robot",
//! "helth" finds "Health": every typed word within one edit of a word of the name, two for
//! words of eight letters or more, a swap of neighbours counting as one).

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

mod index;

use super::budget::{Budget, Exceeded};
use super::filter::Fold;
use crate::index::Layer;
use crate::model::{FieldType, Localized};
use index::{IndexHit, NameIndex};

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
    if s.is_ascii() {
        // Compatibility forms, accents and marks are all beyond ASCII: only case and spaces
        // remain (the NFKC and accent passes were most of building a name index).
        return s
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    }
    let compatible: Cow<str> = match unicode_normalization::is_nfkc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfkc().collect()),
    };
    FOLD.apply(compatible)
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

/// A match before its strings are read: what ranking needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    slot: usize,
    kind: MatchKind,
    /// The matching name's field.
    column: usize,
    /// Characters of the matching name as written (shorter names rank first).
    chars: usize,
}

impl Hit {
    fn named(self, layer: &Layer) -> NameMatch {
        NameMatch {
            slot: self.slot,
            kind: self.kind,
            property: layer.fields[self.column].name.clone(),
            name: self.name(layer).to_owned(),
        }
    }

    fn name(self, layer: &Layer) -> &str {
        layer.columns[self.column].str_at(self.slot).unwrap_or("")
    }
}

/// Every feature of `layer` with a name matching `query` (already normalised), best match per
/// feature (the first name column with it), in slot order. Reads the layer's name index (built
/// in the background at start, else on first use) and compares one by one only the features
/// whose text changed since its base (see `Layer::text_stale_slots`).
pub fn search(layer: &Layer, query: &str, budget: &Budget) -> Result<Vec<NameMatch>, Exceeded> {
    let mut found = hits(layer, query, budget)?;
    found.sort_unstable_by_key(|h| h.slot);
    Ok(found.into_iter().map(|h| h.named(layer)).collect())
}

/// The same as [`search`] by reading and comparing every name: what the index must agree
/// with, and how a stale slot is tested.
pub fn scan(layer: &Layer, query: &str, budget: &Budget) -> Result<Vec<NameMatch>, Exceeded> {
    let columns = name_columns(layer);
    Ok(scan_hits(layer, &columns, query, budget)?
        .into_iter()
        .map(|h| h.named(layer))
        .collect())
}

/// Every slot's best match by comparing its names, in slot order.
fn scan_hits(
    layer: &Layer,
    columns: &[usize],
    query: &str,
    budget: &Budget,
) -> Result<Vec<Hit>, Exceeded> {
    let mut out = Vec::new();
    for slot in 0..layer.len() {
        budget.check_every(slot)?;
        out.extend(best_of_slot(layer, columns, slot, query));
    }
    Ok(out)
}

fn best_of_slot(layer: &Layer, columns: &[usize], slot: usize, query: &str) -> Option<Hit> {
    if !layer.is_live(slot) {
        return None;
    }
    let mut best: Option<Hit> = None;
    for &column in columns {
        let Some(name) = layer.columns[column].str_at(slot) else {
            continue;
        };
        let Some(kind) = classify(&normalize(name), query) else {
            continue;
        };
        if best.is_none_or(|b| kind < b.kind) {
            best = Some(Hit {
                slot,
                kind,
                column,
                chars: name.chars().count(),
            });
        }
    }
    best
}

/// Builds `layer`'s name index now, if it has names and the index is not built yet.
pub fn prepare(layer: &Layer) {
    let columns = name_columns(layer);
    if !columns.is_empty() {
        index_of(layer, &columns);
    }
}

/// The name index of `layer`'s text base over `columns`, built on the first call.
fn index_of(layer: &Layer, columns: &[usize]) -> Option<std::sync::Arc<NameIndex>> {
    layer
        .text_base()
        .index(|base| {
            let started = std::time::Instant::now();
            let index = NameIndex::build(base, columns);
            tracing::info!(
                collection = layer.id.as_str(),
                ms = started.elapsed().as_millis() as u64,
                mib = index.heap_bytes() / (1 << 20),
                "name index built"
            );
            index
        })
        .filter(|index| index.columns() == columns)
}

/// Every feature whose name matches `query`, best match per feature, in no particular order.
fn hits(layer: &Layer, query: &str, budget: &Budget) -> Result<Vec<Hit>, Exceeded> {
    let columns = name_columns(layer);
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let Some(index) = index_of(layer, &columns) else {
        // Only if a layer's name columns changed since its base, which edits do not do.
        return scan_hits(layer, &columns, query, budget);
    };
    budget.check()?;
    // A bitmap tests a million hits against the changed slots faster than the layer's set.
    let stale: roaring::RoaringBitmap = layer.text_stale_slots().collect();
    let found: Vec<IndexHit> = index
        .find(query)
        .into_iter()
        .filter(|h| !stale.contains(h.slot) && layer.is_live(h.slot as usize))
        .collect();
    budget.check()?;
    let mut out: Vec<Hit> = best_per_slot(found, layer.len())
        .into_iter()
        .map(|h| Hit {
            slot: h.slot as usize,
            kind: h.kind,
            column: columns[h.column as usize],
            chars: h.chars as usize,
        })
        .collect();
    for (i, slot) in layer.text_stale_slots().enumerate() {
        budget.check_every(i)?;
        out.extend(best_of_slot(layer, &columns, slot as usize, query));
    }
    Ok(out)
}

/// Per slot the best of its hits (the first name column on a tie, as the scan decides), in
/// slot order. A word every name holds finds most slots: then one pass over a table by slot
/// replaces a sort.
fn best_per_slot(mut found: Vec<IndexHit>, slots: usize) -> Vec<IndexHit> {
    let rank = |h: &IndexHit| (h.kind, h.column);
    if found.len() < slots / 8 {
        found.sort_unstable_by_key(|h| (h.slot, rank(h)));
        found.dedup_by_key(|h| h.slot);
        return found;
    }
    let mut best: Vec<u32> = vec![u32::MAX; slots];
    for (i, h) in found.iter().enumerate() {
        let b = &mut best[h.slot as usize];
        if *b == u32::MAX || rank(h) < rank(&found[*b as usize]) {
            *b = i as u32;
        }
    }
    best.into_iter()
        .filter(|&i| i != u32::MAX)
        .map(|i| found[i as usize])
        .collect()
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

/// The words of folded text: its runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Whether the typed word `q` is within `tol` edits of the word `w`, or of its start as long
/// as what was typed (a word typed in part), or starts it.
fn word_matches(q: &str, w: &str, tol: usize) -> bool {
    if w.starts_with(q) {
        return true;
    }
    if tol == 0 || w.len() + tol < q.len() {
        return false;
    }
    let start: String = w.chars().take(q.chars().count()).collect();
    strsim::osa_distance(q, w) <= tol || strsim::osa_distance(q, &start) <= tol
}

/// Whether each word of `query` is within its tolerance of a word of `name` (both folded), or
/// of the start of one (so "robto ind" finds "robot industrial park").
fn close_spelling(name: &str, query: &str) -> bool {
    let name_words: Vec<&str> = words(name).collect();
    words(query).all(|q| {
        let tol = tolerance(q);
        name_words.iter().any(|w| word_matches(q, w, tol))
    })
}

/// How a folded name matches the folded query, if it does.
fn classify(name: &str, query: &str) -> Option<MatchKind> {
    if name == query {
        Some(MatchKind::Exact)
    } else if name.starts_with(query) {
        Some(MatchKind::Prefix)
    } else if name.contains(query) {
        Some(MatchKind::Substring)
    } else if close_spelling(name, query) {
        Some(MatchKind::Close)
    } else {
        None
    }
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
    let mut found: Vec<(usize, Hit)> = Vec::new();
    for (order, layer) in layers.iter().enumerate() {
        found.extend(hits(layer, &query, budget)?.into_iter().map(|h| (order, h)));
    }
    let rank = |(order, h): &(usize, Hit)| (h.kind, h.chars, *order, h.slot);
    let matched = found.len();
    // Only the best `limit` are ranked in full: a word every name holds matches them all.
    if found.len() > limit && limit > 0 {
        found.select_nth_unstable_by_key(limit - 1, rank);
    }
    found.truncate(limit);
    found.sort_by_key(rank);
    let hits = found
        .into_iter()
        .map(|(order, h)| (order, h.named(layers[order])))
        .collect();
    Ok(Some(NameHits { hits, matched }))
}

#[cfg(test)]
mod index_tests;

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
    fn text_in_ascii_folds_as_any_other_text() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        let slow = |s: &str| {
            let compatible: String = s.nfkc().collect();
            FOLD.apply(Cow::Owned(compatible))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        for s in [every_ascii.as_str(), "  Robot\tPARK \r\n 12 ", "A-b_C.d"] {
            assert_eq!(normalize(s), slow(s));
        }
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
