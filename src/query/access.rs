//! How a plan reaches its matches: every slot, the R-tree's candidates, or the attribute
//! indexes' (see [`crate::index::AttributeIndex`]), chosen by how many slots each would read.
//!
//! A filter's conjuncts that an index can answer (`industry = 'x'`, `area >= 3000`,
//! `status IN (...)`, `BETWEEN`, `IS NULL`, and ANDs and ORs of these) become [`Term`]s. The
//! planner reads the number of slots each term selects from the index itself (a bitmap's length,
//! the distance between two binary searches), starts from the smallest, and intersects the
//! others while that is cheaper than testing the candidates. When every condition of the plan
//! was answered by an index, the result is *exact*: the matches are the bitmap, and counting
//! them reads no feature.

use std::ops::Bound;

use roaring::RoaringBitmap;

use super::filter::Lit;
use crate::index::{Found, Key, KeyRange, Layer};

/// A condition an attribute index can answer exactly: the slots where it is true.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// The column's value lies between the bounds (and is not null).
    Range {
        column: usize,
        lo: Bound<Lit>,
        hi: Bound<Lit>,
    },
    /// The column is null.
    Null {
        column: usize,
    },
    Any(Vec<Term>),
    All(Vec<Term>),
}

impl Term {
    pub fn equal(column: usize, lit: Lit) -> Self {
        Term::Range {
            column,
            lo: Bound::Included(lit.clone()),
            hi: Bound::Included(lit),
        }
    }
}

/// A plan's conditions as far as indexes can answer them.
#[derive(Debug, Default)]
pub struct Terms {
    /// Conjuncts an index may answer.
    pub conjuncts: Vec<Term>,
    /// Whether the conjuncts are the whole of the plan's conditions (no box, no other term).
    pub complete: bool,
}

/// Where a plan's candidates come from.
pub enum Access<'a> {
    /// No index helps: test every slot (or the R-tree's candidates, by the plan's box).
    Scan,
    /// The slots of the attribute indexes (excluding stale slots, which are tested one by one).
    /// `exact`: every one of them matches, and no other indexed slot does.
    Index { slots: RoaringBitmap, exact: bool },
    /// Two terms that are the whole of the plan's conditions, counted without listing their
    /// slots (see [`Pair`]).
    Pair(Pair<'a>),
}

/// A plan of exactly two indexed terms, one of them a bitmap the index holds
/// (`industry = 'future_health' AND available_floor_area_m2 >= 3000`): their common slots are
/// counted from the indexes (a bitmap intersection's length, or per-bin totals for a range),
/// and a page walks the bitmap in slot order testing the other term until it has its
/// features. Listing the range's 900,000 slots to intersect them took most of such a page.
pub struct Pair<'a> {
    /// The bitmap term's slots (the smaller of two bitmaps).
    pub driver: &'a RoaringBitmap,
    /// The other term as the index answered it.
    other: Found<'a>,
    /// The other term's test on the layer's values now.
    test: Test<'a>,
    /// How many indexed slots hold both terms.
    pub indexed: u64,
}

impl Pair<'_> {
    /// Whether the slot holds the other term: for a slot that is not stale, as the index says.
    pub fn test(&self, slot: usize) -> bool {
        (self.test)(slot)
    }

    /// Whether `indexed` counted the slot (under the values it was indexed with).
    pub fn counted(&self, slot: u32) -> bool {
        self.driver.contains(slot) && self.other.contains(slot)
    }

    /// The indexed slots holding both terms.
    pub fn to_bitmap(&self) -> RoaringBitmap {
        match &self.other {
            Found::Bitmap(b) => self.driver & *b,
            _ => RoaringBitmap::from_sorted_iter(
                self.driver.iter().filter(|&s| self.test(s as usize)),
            )
            .unwrap_or_default(),
        }
    }
}

/// A term's test for one slot, read from the layer's columns.
type Test<'a> = Box<dyn Fn(usize) -> bool + Sync + 'a>;

impl Term {
    /// The test of whether the term holds for a slot: what the index would answer, for
    /// candidates it was not asked about. `None` when a bound is no key (the planner then
    /// never made the term a probe).
    fn test<'a>(&'a self, layer: &'a Layer) -> Option<Test<'a>> {
        Some(match self {
            Term::Range { column, lo, hi } => {
                let range = KeyRange {
                    lo: key_bound(lo)?,
                    hi: key_bound(hi)?,
                };
                layer.columns.get(*column)?.range_test(range)
            }
            Term::Null { column } => {
                let c = layer.columns.get(*column)?;
                Box::new(move |s| c.is_null_at(s))
            }
            Term::Any(items) => {
                let tests = items
                    .iter()
                    .map(|t| t.test(layer))
                    .collect::<Option<Vec<_>>>()?;
                Box::new(move |s| tests.iter().any(|t| t(s)))
            }
            Term::All(items) => {
                let tests = items
                    .iter()
                    .map(|t| t.test(layer))
                    .collect::<Option<Vec<_>>>()?;
                Box::new(move |s| tests.iter().all(|t| t(s)))
            }
        })
    }
}

fn key(lit: &Lit) -> Option<Key<'_>> {
    Some(match lit {
        Lit::Null => return None,
        Lit::Bool(b) => Key::Bool(*b),
        Lit::Number(n) => Key::Number(*n),
        Lit::Text(s) => Key::Text(s),
        Lit::Date(d) => Key::Date(*d),
        Lit::Timestamp(t) => Key::Timestamp(*t),
    })
}

fn key_bound(b: &Bound<Lit>) -> Option<Bound<Key<'_>>> {
    Some(match b {
        Bound::Included(l) => Bound::Included(key(l)?),
        Bound::Excluded(l) => Bound::Excluded(key(l)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// A term as the index sees it: what it costs to read and how many slots it selects.
enum Probe<'a> {
    Found(Found<'a>),
    Null(&'a RoaringBitmap),
    Any(Vec<Probe<'a>>),
    All(Vec<Probe<'a>>),
}

impl<'a> Probe<'a> {
    fn of(layer: &'a Layer, term: &Term) -> Option<Self> {
        let index = layer.attributes();
        Some(match term {
            Term::Range { column, lo, hi } => {
                let range = KeyRange {
                    lo: key_bound(lo)?,
                    hi: key_bound(hi)?,
                };
                Probe::Found(index.range(*column, range)?)
            }
            Term::Null { column } => Probe::Null(index.nulls(*column)?),
            Term::Any(items) => Probe::Any(
                items
                    .iter()
                    .map(|t| Probe::of(layer, t))
                    .collect::<Option<_>>()?,
            ),
            Term::All(items) => Probe::All(
                items
                    .iter()
                    .map(|t| Probe::of(layer, t))
                    .collect::<Option<_>>()?,
            ),
        })
    }

    /// At most how many slots it selects (exact for a single term).
    fn estimate(&self) -> u64 {
        match self {
            Probe::Found(f) => f.len(),
            Probe::Null(b) => b.len(),
            Probe::Any(items) => items.iter().map(Probe::estimate).sum(),
            Probe::All(items) => items.iter().map(Probe::estimate).min().unwrap_or(0),
        }
    }

    /// Slots read one by one to make its bitmap (a bitmap the index holds costs nothing).
    fn cost(&self) -> u64 {
        match self {
            Probe::Found(f) => f.cost(),
            Probe::Null(_) => 0,
            Probe::Any(items) | Probe::All(items) => items.iter().map(Probe::cost).sum(),
        }
    }

    fn bitmap(&self) -> RoaringBitmap {
        match self {
            Probe::Found(f) => f.to_bitmap().into_owned(),
            Probe::Null(b) => (*b).clone(),
            Probe::Any(items) => items
                .iter()
                .map(Probe::bitmap)
                .fold(RoaringBitmap::new(), |a, b| a | b),
            Probe::All(items) => {
                let mut items = items.iter();
                let first = items.next().map(Probe::bitmap).unwrap_or_default();
                items.fold(first, |a, b| a & b.bitmap())
            }
        }
    }
}

/// The column and text of an equality on a string (`industry = 'x'`).
fn text_equality(term: &Term) -> Option<(usize, &str)> {
    match term {
        Term::Range {
            column,
            lo: Bound::Included(Lit::Text(a)),
            hi: Bound::Included(Lit::Text(b)),
        } if a == b => Some((*column, a)),
        _ => None,
    }
}

/// The two terms as a [`Pair`], when one is a bitmap the index holds and the other is a
/// bitmap too or a range wider than it (a narrower range costs little to list).
fn pair<'a>(layer: &'a Layer, a: &'a Term, b: &'a Term) -> Option<Pair<'a>> {
    let found = |t: &Term| match Probe::of(layer, t)? {
        Probe::Found(f) => Some(f),
        Probe::Null(b) => Some(Found::Bitmap(b)),
        _ => None,
    };
    let (fa, fb) = (found(a)?, found(b)?);
    // The bitmap first; of two bitmaps, the smaller.
    let ((driver, term), (other, other_term)) = match (&fa, &fb) {
        (Found::Bitmap(x), Found::Bitmap(y)) if y.len() < x.len() => ((fb, b), (fa, a)),
        (Found::Bitmap(_), _) => ((fa, a), (fb, b)),
        (_, Found::Bitmap(_)) => ((fb, b), (fa, a)),
        _ => return None,
    };
    let Found::Bitmap(driver) = driver else {
        return None;
    };
    let indexed = match (&other, other_term) {
        (Found::Bitmap(o), _) => driver.intersection_len(o),
        (Found::Range { .. }, Term::Range { column: sorted, .. }) if other.len() > driver.len() => {
            let (column, value) = text_equality(term)?;
            layer
                .attributes()
                .count_value_in_range(column, value, *sorted, &other)?
        }
        _ => return None,
    };
    Some(Pair {
        driver,
        test: other_term.test(layer)?,
        other,
        indexed,
    })
}

/// Chooses how to reach the matches of `terms` on `layer`.
///
/// `other_candidates` is about how many slots the plan's other access path (its box through the
/// R-tree, or every slot) would test: the index is used only when it selects fewer.
pub fn choose<'a>(layer: &'a Layer, terms: &'a Terms, other_candidates: u64) -> Access<'a> {
    if let ([a, b], true) = (&terms.conjuncts[..], terms.complete) {
        if let Some(p) = pair(layer, a, b) {
            return Access::Pair(p);
        }
    }
    let mut probes: Vec<(Probe, &Term)> = Vec::new();
    let mut complete = terms.complete;
    for t in &terms.conjuncts {
        match Probe::of(layer, t) {
            Some(p) => probes.push((p, t)),
            None => complete = false,
        }
    }
    probes.sort_by_key(|(p, _)| p.estimate());
    let (probes, terms): (Vec<Probe>, Vec<&Term>) = probes.into_iter().unzip();
    let Some(first) = probes.first() else {
        return Access::Scan;
    };
    // Reading the slots of a range and sorting them costs about as much per slot as testing a
    // feature: worth it only when it reads far fewer than the scan would.
    if first.estimate() >= other_candidates || first.cost() > other_candidates / 4 {
        return Access::Scan;
    }
    let mut slots = first.bitmap();
    let mut used = 1;
    for p in &probes[1..] {
        // Intersecting is worth it while it reads fewer slots than testing the candidates
        // (a range's bitmap is a union of bins, measured faster than testing 50,000
        // candidates against three ranges).
        if p.cost() > slots.len() {
            break;
        }
        slots &= p.bitmap();
        used += 1;
    }
    let rest: Option<Vec<Test>> = terms[used..].iter().map(|t| t.test(layer)).collect();
    if let (true, Some(rest)) = (complete && used < probes.len(), rest) {
        // Every other condition is a term too: test the candidates against those alone, and
        // the result is exact (one read per remaining term, instead of the whole filter).
        let tested = slots.iter().filter(|&s| rest.iter().all(|t| t(s as usize)));
        slots = RoaringBitmap::from_sorted_iter(tested).unwrap_or_default();
        used = probes.len();
    }
    Access::Index {
        slots,
        exact: complete && used == probes.len(),
    }
}
