//! The name index: what a name search reads instead of folding and comparing every name of a
//! layer (10–17 s at a million carriers).
//!
//! Built once per layer [`Base`] (on the first search after a load or a merge), from the folded
//! names of its live slots:
//! - the names sorted, so an exact name or a prefix is a binary search;
//! - per pair of neighbouring characters, the names holding it (a roaring bitmap), so a
//!   substring's candidates are the intersection of its pairs' bitmaps, each then confirmed;
//! - the distinct words sorted, each with the names that hold it, so a close spelling walks
//!   the words as a trie with one row of edit distances per character, leaving a branch as soon
//!   as every distance in its row exceeds the tolerance.
//!
//! The index answers for the base's slots; the search tests the layer's stale slots (edited
//! since the base) one by one.

use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::{normalize, tolerance, word_matches, words, MatchKind};
use crate::index::Base;

/// Strings kept end to end in one buffer: a million names cost two allocations, not a million.
#[derive(Default)]
struct Texts {
    text: String,
    /// `starts[i]..starts[i + 1]` is string `i`.
    starts: Vec<u32>,
}

impl Texts {
    fn push(&mut self, s: &str) {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        self.text.push_str(s);
        self.starts.push(self.text.len() as u32);
    }

    fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    fn get(&self, i: usize) -> &str {
        &self.text[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The first position in `lo..hi` where `pred` turns false (it must hold for a prefix of
    /// the range and not after).
    fn partition(&self, lo: usize, hi: usize, pred: impl Fn(&str) -> bool) -> usize {
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.get(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// One name of one slot, as folded for comparison.
struct Named {
    folded: String,
    /// Characters of the name as written (what ranking compares).
    chars: u32,
    slot: u32,
    /// Position in the index's `columns`.
    column: u8,
}

/// A name the index found, before the layer's own checks (stale, deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexHit {
    pub slot: u32,
    /// Position in the index's `columns`.
    pub column: u8,
    pub kind: MatchKind,
    /// Characters of the name as written.
    pub chars: u32,
}

pub struct NameIndex {
    /// The name columns indexed (field positions), in the order a search prefers them.
    columns: Vec<usize>,
    /// Every folded name, sorted.
    names: Texts,
    slots: Vec<u32>,
    column_of: Vec<u8>,
    chars: Vec<u32>,
    /// Per pair of neighbouring characters, the names holding it.
    pairs: FxHashMap<(char, char), RoaringBitmap>,
    /// The distinct words of the names, sorted, and per word the names holding it: a slice of
    /// `lists`, or one of `bitmaps` for a word many names hold.
    words: Texts,
    holders: Vec<Holders>,
    lists: Vec<u32>,
    bitmaps: Vec<RoaringBitmap>,
}

impl NameIndex {
    /// Indexes `columns` (at most 255 of them: names, not data) of every live slot of `base`.
    pub fn build(base: &Base, columns: &[usize]) -> NameIndex {
        let columns: Vec<usize> = columns.iter().copied().take(u8::MAX as usize).collect();
        let mut named: Vec<Named> = (0..base.len())
            .into_par_iter()
            .with_min_len(4096)
            .filter(|&slot| base.is_live(slot))
            .flat_map_iter(|slot| {
                columns.iter().enumerate().filter_map(move |(pos, &c)| {
                    let name = base.column(c)?.str_at(slot)?;
                    Some(Named {
                        folded: normalize(name),
                        chars: name.chars().count() as u32,
                        slot: slot as u32,
                        column: pos as u8,
                    })
                })
            })
            .collect();
        named.par_sort_unstable_by(|a, b| {
            (a.folded.as_str(), a.slot, a.column).cmp(&(b.folded.as_str(), b.slot, b.column))
        });
        let mut names = Texts::default();
        let mut slots = Vec::with_capacity(named.len());
        let mut column_of = Vec::with_capacity(named.len());
        let mut chars = Vec::with_capacity(named.len());
        for n in &named {
            names.push(&n.folded);
            slots.push(n.slot);
            column_of.push(n.column);
            chars.push(n.chars);
        }
        drop(named);
        let (pairs, (words, holders, lists, bitmaps)) =
            rayon::join(|| pairs_of(&names), || words_of(&names));
        NameIndex {
            columns,
            names,
            slots,
            column_of,
            chars,
            pairs,
            words,
            holders,
            lists,
            bitmaps,
        }
    }

    /// Memory the index holds, roughly (its vectors and bitmaps, not the allocator's slack).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let pairs: usize = self.pairs.values().map(|b| b.serialized_size()).sum();
        let bitmaps: usize = self.bitmaps.iter().map(|b| b.serialized_size()).sum();
        self.names.text.len()
            + self.words.text.len()
            + (self.names.starts.len() + self.words.starts.len()) * size_of::<u32>()
            + (self.slots.len() + self.chars.len() + self.lists.len()) * size_of::<u32>()
            + self.column_of.len()
            + self.holders.len() * size_of::<Holders>()
            + self.pairs.len() * size_of::<((char, char), RoaringBitmap)>()
            + pairs
            + bitmaps
    }

    /// The name columns this index holds.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// Every indexed name matching `query` (folded, not empty), with how well it matched: the
    /// same as comparing each name with `query` (see [`super::classify`]), without doing so.
    /// The sorted names make exact and prefix matches two neighbouring runs, so a name's kind
    /// follows from the set it was found in.
    pub fn find(&self, query: &str) -> Vec<IndexHit> {
        let n = self.names.len();
        let lo = self.names.partition(0, n, |name| name < query);
        let exact = self.names.partition(lo, n, |name| name == query);
        let hi = self
            .names
            .partition(exact, n, |name| name.starts_with(query));
        let mut prefixed = RoaringBitmap::new();
        prefixed.insert_range(lo as u32..hi as u32);
        let substrings = self.substrings(query, &prefixed);
        let close = self.close(query) - &prefixed - &substrings;
        let hit = |id: u32, kind| IndexHit {
            slot: self.slots[id as usize],
            column: self.column_of[id as usize],
            kind,
            chars: self.chars[id as usize],
        };
        let mut out =
            Vec::with_capacity((prefixed.len() + substrings.len() + close.len()) as usize);
        out.extend((lo..exact).map(|id| hit(id as u32, MatchKind::Exact)));
        out.extend((exact..hi).map(|id| hit(id as u32, MatchKind::Prefix)));
        out.extend(substrings.iter().map(|id| hit(id, MatchKind::Substring)));
        out.extend(close.iter().map(|id| hit(id, MatchKind::Close)));
        out
    }

    /// The names containing `query`, other than those in `prefixed` (which start with it).
    fn substrings(&self, query: &str, prefixed: &RoaringBitmap) -> RoaringBitmap {
        let chars: Vec<char> = query.chars().collect();
        if chars.len() < 2 {
            // One character has no pair to look up: every name is read (the answer is most
            // of them anyway).
            return (0..self.names.len() as u32)
                .filter(|&i| !prefixed.contains(i) && self.names.get(i as usize).contains(query))
                .collect();
        }
        let mut bitmaps = Vec::new();
        for pair in chars.windows(2) {
            match self.pairs.get(&(pair[0], pair[1])) {
                Some(b) => bitmaps.push(b),
                None => return RoaringBitmap::new(),
            }
        }
        bitmaps.sort_by_key(|b| b.len());
        let mut candidates = bitmaps[0] - prefixed;
        for b in &bitmaps[1..] {
            candidates &= *b;
            if candidates.is_empty() {
                break;
            }
        }
        if chars.len() == 2 {
            // The pair's own names are exactly those containing it.
            return candidates;
        }
        candidates
            .iter()
            .filter(|&i| self.names.get(i as usize).contains(query))
            .collect()
    }

    /// The names every word of `query` is a close spelling of a word of (see
    /// [`super::close_spelling`]); every name when `query` has no word.
    fn close(&self, query: &str) -> RoaringBitmap {
        let mut sets: Vec<RoaringBitmap> = Vec::new();
        for q in words(query) {
            let mut listed: Vec<u32> = Vec::new();
            let mut set = RoaringBitmap::new();
            for w in self.close_words(q) {
                match self.holders[w] {
                    Holders::List { start, end } => {
                        listed.extend_from_slice(&self.lists[start as usize..end as usize]);
                    }
                    Holders::Bitmap(b) => set |= &self.bitmaps[b as usize],
                }
            }
            listed.sort_unstable();
            listed.dedup();
            set |= bitmap(listed);
            if set.is_empty() {
                return set;
            }
            sets.push(set);
        }
        sets.sort_by_key(|s| s.len());
        let mut sets = sets.into_iter();
        let Some(mut out) = sets.next() else {
            let mut all = RoaringBitmap::new();
            all.insert_range(0..self.names.len() as u32);
            return all;
        };
        for s in sets {
            out &= s;
        }
        out
    }

    /// The words of the index that the typed word `q` is a close spelling of.
    fn close_words(&self, q: &str) -> Vec<usize> {
        let tol = tolerance(q);
        let n = self.words.len();
        if tol == 0 {
            // Only words starting with what was typed.
            let lo = self.words.partition(0, n, |w| w < q);
            let hi = self.words.partition(lo, n, |w| w.starts_with(q));
            return (lo..hi).collect();
        }
        let q_chars: Vec<char> = q.chars().collect();
        let mut walk = Walk {
            words: &self.words,
            q: &q_chars,
            tol,
            rows: vec![(0..=q_chars.len()).collect()],
            prefix: Vec::new(),
            found: Vec::new(),
        };
        walk.down(0, n, 0);
        walk.found
            .retain(|&w| word_matches(q, self.words.get(w), tol));
        walk.found
    }
}

/// A walk of the sorted words as a trie, keeping the optimal-string-alignment distances of
/// the typed word's prefixes to the current path (one row per character of the path).
struct Walk<'a> {
    words: &'a Texts,
    q: &'a [char],
    tol: usize,
    rows: Vec<Vec<usize>>,
    prefix: Vec<char>,
    found: Vec<usize>,
}

impl Walk<'_> {
    /// Visits the words `lo..hi`, which all start with the path (`bytes` long).
    fn down(&mut self, lo: usize, hi: usize, bytes: usize) {
        let m = self.q.len();
        let depth = self.prefix.len();
        let row = &self.rows[depth];
        if depth == m && row[m] <= self.tol {
            // Their start, as long as the typed word, is close enough: all of them match.
            self.found.extend(lo..hi);
            return;
        }
        let mut i = lo;
        // The word that is the path itself sorts first; whole, it is `row[m]` away.
        while i < hi && self.words.get(i).len() == bytes {
            if row[m] <= self.tol {
                self.found.push(i);
            }
            i += 1;
        }
        // Distances never fall along a path: no longer word can come close. Past the typed
        // word's length plus the tolerance, only a word as short could match, and its start
        // was judged at depth `m`.
        if row.iter().min().is_none_or(|&d| d > self.tol) || depth >= m + self.tol {
            return;
        }
        while i < hi {
            let Some(c) = self.words.get(i)[bytes..].chars().next() else {
                break;
            };
            let j = self.words.partition(i, hi, |w| w[bytes..].starts_with(c));
            self.push(c);
            self.down(i, j, bytes + c.len_utf8());
            self.rows.pop();
            self.prefix.pop();
            i = j;
        }
    }

    /// Extends the path by `c`: the next row of distances (with a swap of neighbours counting
    /// as one edit).
    fn push(&mut self, c: char) {
        let depth = self.prefix.len();
        let prev = &self.rows[depth];
        let m = self.q.len();
        let mut next = Vec::with_capacity(m + 1);
        next.push(depth + 1);
        for j in 1..=m {
            let cost = usize::from(self.q[j - 1] != c);
            let mut d = (prev[j] + 1).min(next[j - 1] + 1).min(prev[j - 1] + cost);
            if depth >= 1 && j >= 2 && c == self.q[j - 2] && self.prefix[depth - 1] == self.q[j - 1]
            {
                d = d.min(self.rows[depth - 1][j - 2] + 1);
            }
            next.push(d);
        }
        self.rows.push(next);
        self.prefix.push(c);
    }
}

/// Names per task when the maps of pairs and words are built in parallel.
const NAMES_PER_TASK: usize = 64 * 1024;

/// Per pair of neighbouring characters, the names (by position) holding it.
fn pairs_of(names: &Texts) -> FxHashMap<(char, char), RoaringBitmap> {
    let lists = by_key(names, |name, push| {
        let mut chars = name.chars();
        if let Some(mut a) = chars.next() {
            for b in chars {
                push((a, b));
                a = b;
            }
        }
    });
    lists
        .into_par_iter()
        .map(|(pair, list)| (pair, bitmap(list)))
        .collect()
}

/// Per key that `keys` finds in a name, the sorted positions of the names holding it: built in
/// parallel over runs of names, the runs' lists then joined in order.
fn by_key<'a, K: std::hash::Hash + Eq + Send>(
    names: &'a Texts,
    keys: impl Fn(&'a str, &mut dyn FnMut(K)) + Sync,
) -> FxHashMap<K, Vec<u32>> {
    let runs: Vec<usize> = (0..names.len()).step_by(NAMES_PER_TASK).collect();
    runs.into_par_iter()
        .map(|start| {
            let mut map: FxHashMap<K, Vec<u32>> = FxHashMap::default();
            for i in start..(start + NAMES_PER_TASK).min(names.len()) {
                keys(names.get(i), &mut |k| {
                    let list = map.entry(k).or_default();
                    if list.last() != Some(&(i as u32)) {
                        list.push(i as u32);
                    }
                });
            }
            map
        })
        .reduce(FxHashMap::default, |mut left, right| {
            // `reduce` joins neighbouring runs, left before right: the lists stay sorted.
            for (k, list) in right {
                left.entry(k).or_default().extend(list);
            }
            left
        })
}

fn bitmap(list: Vec<u32>) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter(list.iter().copied())
        .unwrap_or_else(|_| list.into_iter().collect())
}

/// Holders of a word past which they are kept as a bitmap (a word most names hold), not a list.
const BITMAP_FROM: usize = 1024;

/// The names holding a word.
pub(super) enum Holders {
    List { start: u32, end: u32 },
    Bitmap(u32),
}

/// The distinct words of the names, sorted, and per word the names holding it.
fn words_of(names: &Texts) -> (Texts, Vec<Holders>, Vec<u32>, Vec<RoaringBitmap>) {
    let lists = by_key(names, |name, push| words(name).for_each(&mut *push));
    let mut sorted: Vec<(&str, Vec<u32>)> = lists.into_iter().collect();
    sorted.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut words = Texts::default();
    let mut holders = Vec::with_capacity(sorted.len());
    let mut lists = Vec::new();
    let mut bitmaps = Vec::new();
    for (w, h) in sorted {
        words.push(w);
        if h.len() >= BITMAP_FROM {
            holders.push(Holders::Bitmap(bitmaps.len() as u32));
            bitmaps.push(bitmap(h));
        } else {
            let start = lists.len() as u32;
            lists.extend_from_slice(&h);
            holders.push(Holders::List {
                start,
                end: lists.len() as u32,
            });
        }
    }
    (words, holders, lists, bitmaps)
}
