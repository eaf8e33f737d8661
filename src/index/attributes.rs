//! Secondary indexes on attribute columns, so a selective attribute filter reads the matching
//! slots instead of testing every feature.
//!
//! Each scalar column gets the index its values call for:
//! - a string column with few distinct values (industries, statuses, parks) gets a bitmap of
//!   slots per value ([`roaring`]), so `industry = 'x'` is a lookup and a conjunction is an
//!   intersection of bitmaps;
//! - a number, integer, date, timestamp or boolean column gets its slots ordered by value, so
//!   a range (`available_floor_area_m2 >= 3000`) is two binary searches, which also count the
//!   matches exactly before any is read.
//!
//! Strings with many distinct values (names) get none: they are searched by name elsewhere, and
//! bitmaps per name would cost more memory than the column.
//!
//! An index covers the layer as it was built (or last merged, see `Layer`): slots edited since
//! are left to the caller to test one by one, like the R-tree's stale entries.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};

use super::Column;

/// Positions of a value order per bin (see `ColumnIndex::Sorted`): a range costs at most twice
/// this many slots read one by one, however wide it is.
const BIN: usize = 8192;

/// String columns with more distinct values than this get no bitmap index.
pub const MAX_DISTINCT: usize = 4096;

/// String columns with more distinct values than this get no per-bin totals (see
/// [`AttributeIndex::count_value_in_range`]): at 1M features they would take
/// `bins × values × 4` bytes (half a megabyte at this bound) per pair of columns.
const MAX_TOTALLED: usize = 1024;

/// A typed value to look up, of the kind the column holds (an integer column is searched with
/// numbers, as filters compare it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Key<'a> {
    Bool(bool),
    Number(f64),
    Text(&'a str),
    Date(i32),
    Timestamp(i64),
}

/// The slots whose value lies between two bounds (either may be unbounded).
#[derive(Debug, Clone, Copy)]
pub struct KeyRange<'a> {
    pub lo: Bound<Key<'a>>,
    pub hi: Bound<Key<'a>>,
}

impl<'a> KeyRange<'a> {
    pub fn equal(key: Key<'a>) -> Self {
        KeyRange {
            lo: Bound::Included(key),
            hi: Bound::Included(key),
        }
    }
}

/// The indexes of one layer version, one per column where one fits.
#[derive(Debug, Default)]
pub struct AttributeIndex {
    /// Shared, so a rebuild after edits that left a column's values alone keeps its index.
    columns: Vec<Option<Arc<ColumnIndex>>>,
    /// The slots `0..len` were indexed.
    len: usize,
    /// Per-bin totals by (string column, sorted column), made when a query first asks for
    /// the pair (a few milliseconds at 1M features) and dropped with this version.
    totals: Mutex<HashMap<(usize, usize), Arc<BinTotals>>>,
    /// Counts and sums per value by (string column, summed columns), made when statistics
    /// first ask for them and dropped with this version.
    value_totals: Mutex<HashMap<TotalsKey, Arc<ValueTotals>>>,
}

/// A string column and the number columns summed per its values.
type TotalsKey = (usize, Vec<usize>);

/// Per value of a few-valued string column: how many indexed slots hold it and the sums of
/// number columns over them, as the index was built. Statistics grouped by the column over
/// every feature read these and correct them for the slots edited since, instead of a pass
/// over a million features.
#[derive(Debug)]
pub struct ValueTotals {
    /// Per value: the value, how many slots hold it, the sums in the order asked.
    pub values: Vec<(Arc<str>, u64, Vec<f64>)>,
    /// The slots where the column is null: how many, and the sums.
    pub nulls: (u64, Vec<f64>),
}

/// How many slots of each value of a few-valued string column lie in the bins of a sorted
/// column's order, as running totals: `running[b * values + code]` counts the value's slots
/// in bins `0..b`. So `industry = 'x' AND area >= 3000` is counted from two totals and the
/// slots of the range's two partly covered bins, instead of listing the range's 900,000
/// slots to intersect them.
#[derive(Debug)]
struct BinTotals {
    values: usize,
    running: Vec<u32>,
}

/// The values of a few-valued string column as small numbers, per indexed slot.
#[derive(Debug)]
struct Codes {
    of: HashMap<Arc<str>, u16>,
    /// The value of each code.
    names: Vec<Arc<str>>,
    /// Per slot: its value's code, or `NO_CODE` (null, or not indexed).
    at: Vec<u16>,
}

const NO_CODE: u16 = u16::MAX;

#[derive(Debug)]
enum ColumnIndex {
    /// A bitmap of slots per distinct string.
    Values {
        values: HashMap<Arc<str>, RoaringBitmap>,
        nulls: RoaringBitmap,
        /// Made when per-bin totals first need them.
        codes: OnceLock<Codes>,
    },
    /// The non-null slots in the order of their values (ties in slot order); NaN is left out,
    /// as it compares with nothing.
    Sorted {
        order: Vec<u32>,
        /// The slots of each run of `BIN` positions of `order`, as bitmaps: a wide range is
        /// the union of the bins it covers plus the few slots at its two ends.
        bins: Vec<RoaringBitmap>,
        nulls: RoaringBitmap,
        /// The column as it was when `order` was made: edits since change the layer's column,
        /// not this one (it shares every chunk no edit copied), so `order` stays sorted by it.
        values: Column,
    },
}

/// The answer of an index for one term: a bitmap it holds, or slots it reads from its order.
#[derive(Debug)]
pub enum Found<'a> {
    Bitmap(&'a RoaringBitmap),
    /// Positions `start..end` of a value order, with its bins.
    Range {
        order: &'a [u32],
        bins: &'a [RoaringBitmap],
        start: usize,
        end: usize,
        /// The column `order` is sorted by (see `ColumnIndex::Sorted`).
        values: &'a Column,
    },
    /// A value the index has never seen.
    Nothing,
}

impl Found<'_> {
    /// How many slots: exact, and known without reading them.
    pub fn len(&self) -> u64 {
        match self {
            Found::Bitmap(b) => b.len(),
            Found::Range { start, end, .. } => (end - start) as u64,
            Found::Nothing => 0,
        }
    }

    /// Slots to read one by one (and sort) to make the bitmap: those of the range's partly
    /// covered bins. A bitmap the index holds costs nothing.
    pub fn cost(&self) -> u64 {
        match self {
            Found::Range { start, end, .. } => {
                let (full, _) = full_bins(*start, *end);
                (end - start - full.len() * BIN) as u64
            }
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the index found `slot`: for a slot edited since, whether it did under the
    /// value it was indexed with.
    pub fn contains(&self, slot: u32) -> bool {
        match self {
            Found::Bitmap(b) => b.contains(slot),
            Found::Range {
                order,
                start,
                end,
                values,
                ..
            } => {
                // `order` is sorted by (value, slot): the slot is inside when its pair lies
                // between the pairs of the range's first and last positions.
                let pair = |s: u32| values.order_key(s as usize).map(|k| (k, s));
                let (Some(at), Some(first), Some(last)) =
                    (pair(slot), pair(order[*start]), pair(order[*end - 1]))
                else {
                    return false;
                };
                first <= at && at <= last
            }
            Found::Nothing => false,
        }
    }

    /// The slots as a bitmap: free for a bitmap, a sort for slots read in value order.
    pub fn to_bitmap(&self) -> Cow<'_, RoaringBitmap> {
        match self {
            Found::Bitmap(b) => Cow::Borrowed(*b),
            Found::Range {
                order,
                bins,
                start,
                end,
                ..
            } => {
                let sorted = |from: usize, to: usize| {
                    let mut slots = order[from..to].to_vec();
                    slots.sort_unstable();
                    RoaringBitmap::from_sorted_iter(slots).unwrap_or_default()
                };
                let (full, (before, after)) = full_bins(*start, *end);
                // The multi-way union works container by container, not bitmap by bitmap.
                let (head, tail) = (sorted(*start, before), sorted(after, *end));
                let out = bins[full].iter().chain([&head, &tail]).union();
                Cow::Owned(out)
            }
            Found::Nothing => Cow::Owned(RoaringBitmap::new()),
        }
    }
}

/// Features from which columns are indexed in parallel.
const PARALLEL_FROM: usize = 4096;

impl AttributeIndex {
    /// Indexes every column over the slots `live` accepts (deleted features get no entry).
    pub fn build(columns: &[Column], len: usize, live: impl Fn(usize) -> bool + Sync) -> Self {
        let one = |c: &Column| ColumnIndex::build(c, len, &live).map(Arc::new);
        // A few features (the one a scoped edit is checked as) are indexed on the calling
        // thread: handing each column to the pool and waiting for it costs more than the work.
        let columns = if len < PARALLEL_FROM {
            columns.iter().map(one).collect()
        } else {
            columns.par_iter().map(one).collect()
        };
        AttributeIndex {
            columns,
            len,
            totals: Mutex::default(),
            value_totals: Mutex::default(),
        }
    }

    /// The index of `columns` after the slots `edited` changed, built again only for the
    /// columns whose value changed at one of those slots. A weekly spreadsheet touches one or
    /// two columns of a million features; sorting every other column again took most of an
    /// apply. Every edited slot must be live and indexed before (no feature added or deleted
    /// since the build), or the whole index is built again.
    pub fn rebuilt(
        &self,
        columns: &[Column],
        len: usize,
        live: impl Fn(usize) -> bool + Sync,
        edited: &[usize],
    ) -> Self {
        let same_slots = self.columns.len() == columns.len()
            && len == self.len
            && edited.iter().all(|&s| s < self.len && live(s));
        if !same_slots {
            return Self::build(columns, len, live);
        }
        let columns = columns
            .par_iter()
            .zip(&self.columns)
            .map(|(column, index)| match index {
                Some(index) if index.holds(column, edited) => Some(Arc::clone(index)),
                // No index: a column of arrays or JSON never gets one; a string column had
                // too many distinct values, and finding that out again stops early.
                None if !matches!(column, Column::String(_)) => None,
                Some(index) => index
                    .updated(column, edited)
                    .or_else(|| ColumnIndex::build(column, len, &live))
                    .map(Arc::new),
                None => ColumnIndex::build(column, len, &live).map(Arc::new),
            })
            .collect();
        AttributeIndex {
            columns,
            len,
            totals: Mutex::default(),
            value_totals: Mutex::default(),
        }
    }

    /// Whether `column` has an index.
    pub fn has(&self, column: usize) -> bool {
        matches!(self.columns.get(column), Some(Some(_)))
    }

    /// The indexed slots whose value in `column` lies in `range`; `None` when the column has no
    /// index or the keys are not of its kind (the caller then tests values one by one).
    pub fn range<'a>(&'a self, column: usize, range: KeyRange<'_>) -> Option<Found<'a>> {
        match &**self.columns.get(column)?.as_ref()? {
            ColumnIndex::Values { values, .. } => match (range.lo, range.hi) {
                (Bound::Included(Key::Text(a)), Bound::Included(Key::Text(b))) if a == b => {
                    Some(values.get(a).map_or(Found::Nothing, Found::Bitmap))
                }
                _ => None,
            },
            ColumnIndex::Sorted {
                order,
                bins,
                values: col,
                ..
            } => {
                let fits = |b: &Bound<Key>| match b {
                    Bound::Included(k) | Bound::Excluded(k) => kinds_fit(col, k),
                    Bound::Unbounded => true,
                };
                if order.is_empty() {
                    return Some(Found::Nothing);
                }
                if !fits(&range.lo) || !fits(&range.hi) {
                    return None;
                }
                // `compare` is total over `order`'s slots, which hold no null or NaN.
                let below = |s: u32, k: &Key| col.cmp_key(s as usize, k) == Some(Ordering::Less);
                let above = |s: u32, k: &Key| col.cmp_key(s as usize, k) == Some(Ordering::Greater);
                let start = match range.lo {
                    Bound::Included(k) => order.partition_point(|&s| below(s, &k)),
                    Bound::Excluded(k) => order.partition_point(|&s| !above(s, &k)),
                    Bound::Unbounded => 0,
                };
                let end = match range.hi {
                    Bound::Included(k) => order.partition_point(|&s| !above(s, &k)),
                    Bound::Excluded(k) => order.partition_point(|&s| below(s, &k)),
                    Bound::Unbounded => order.len(),
                };
                Some(if start < end {
                    Found::Range {
                        order,
                        bins,
                        start,
                        end,
                        values: col,
                    }
                } else {
                    Found::Nothing
                })
            }
        }
    }

    /// How many indexed slots hold `value` in the string column `column` and have their
    /// value of `sorted` at `found`'s positions (what [`AttributeIndex::range`] answered
    /// for `sorted`), read from per-bin totals without listing the slots; `None` when
    /// `column` has no bitmaps per value or too many values, or `found` is not a range.
    pub fn count_value_in_range(
        &self,
        column: usize,
        value: &str,
        sorted: usize,
        found: &Found,
    ) -> Option<u64> {
        let ColumnIndex::Values { values, codes, .. } = &**self.columns.get(column)?.as_ref()?
        else {
            return None;
        };
        let Found::Range {
            order, start, end, ..
        } = found
        else {
            return None;
        };
        if values.len() > MAX_TOTALLED {
            return None;
        }
        let codes = codes.get_or_init(|| Codes::of(values, self.len));
        let Some(&code) = codes.of.get(value) else {
            return Some(0);
        };
        let totals = self.totals_of(column, sorted, codes, order)?;
        let (full, (before, after)) = full_bins(*start, *end);
        let at = |bin: usize| totals.running[bin * totals.values + usize::from(code)];
        let whole = if full.is_empty() {
            0
        } else {
            at(full.end) - at(full.start)
        };
        let ends = order[*start..before]
            .iter()
            .chain(&order[after..*end])
            .filter(|&&s| codes.at.get(s as usize) == Some(&code))
            .count();
        Some(u64::from(whole) + ends as u64)
    }

    /// The per-bin totals of a string column's codes over a sorted column's order.
    fn totals_of(
        &self,
        column: usize,
        sorted: usize,
        codes: &Codes,
        order: &[u32],
    ) -> Option<Arc<BinTotals>> {
        let mut cache = self.totals.lock().ok()?;
        if let Some(t) = cache.get(&(column, sorted)) {
            return Some(Arc::clone(t));
        }
        let t = Arc::new(BinTotals::of(codes, order));
        cache.insert((column, sorted), Arc::clone(&t));
        Some(t)
    }

    /// The counts and sums of `sums` per value of the string column `column` over the indexed
    /// slots; `None` when `column` has no bitmaps per value or too many values, or a summed
    /// column has no value order (which keeps the values it was indexed with).
    pub fn value_totals(&self, column: usize, sums: &[usize]) -> Option<Arc<ValueTotals>> {
        let key = (column, sums.to_vec());
        if let Some(t) = self.value_totals.lock().ok()?.get(&key) {
            return Some(Arc::clone(t));
        }
        let ColumnIndex::Values { values, nulls, .. } = &**self.columns.get(column)?.as_ref()?
        else {
            return None;
        };
        if values.len() > MAX_TOTALLED {
            return None;
        }
        let summed: Vec<&Column> = sums
            .iter()
            .map(|&c| self.indexed_column(c))
            .collect::<Option<_>>()?;
        let tally = |slots: &RoaringBitmap| {
            let sums = summed
                .iter()
                .map(|c| slots.iter().filter_map(|s| c.number_at(s as usize)).sum())
                .collect();
            (slots.len(), sums)
        };
        let mut per_value: Vec<(Arc<str>, u64, Vec<f64>)> = values
            .par_iter()
            .map(|(v, slots)| {
                let (n, sums) = tally(slots);
                (Arc::clone(v), n, sums)
            })
            .collect();
        per_value.sort_by(|a, b| a.0.cmp(&b.0));
        let totals = Arc::new(ValueTotals {
            values: per_value,
            nulls: tally(nulls),
        });
        self.value_totals
            .lock()
            .ok()?
            .insert(key, Arc::clone(&totals));
        Some(totals)
    }

    /// The value order's copy of a number, date or boolean column: its values as indexed.
    fn indexed_column(&self, column: usize) -> Option<&Column> {
        match &**self.columns.get(column)?.as_ref()? {
            ColumnIndex::Sorted { values, .. } => Some(values),
            ColumnIndex::Values { .. } => None,
        }
    }

    /// The value `slot` was indexed with in the string column `column`: `Some(None)` for
    /// null, `None` when the slot was not indexed (created, or deleted, before the build) or
    /// the column has no bitmaps per value.
    pub fn indexed_text(&self, column: usize, slot: usize) -> Option<Option<Arc<str>>> {
        let ColumnIndex::Values {
            values,
            nulls,
            codes,
        } = &**self.columns.get(column)?.as_ref()?
        else {
            return None;
        };
        let codes = codes.get_or_init(|| Codes::of(values, self.len));
        match codes.at.get(slot) {
            Some(&NO_CODE) | None => nulls.contains(slot as u32).then_some(None),
            Some(&code) => Some(Some(Arc::clone(codes.names.get(usize::from(code))?))),
        }
    }

    /// The number `slot` was indexed with in `column` (null, or no value order: `None`).
    pub fn indexed_number(&self, column: usize, slot: usize) -> Option<f64> {
        self.indexed_column(column)?.number_at(slot)
    }

    /// The indexed slots where `column` is null.
    pub fn nulls(&self, column: usize) -> Option<&RoaringBitmap> {
        match &**self.columns.get(column)?.as_ref()? {
            ColumnIndex::Values { nulls, .. } | ColumnIndex::Sorted { nulls, .. } => Some(nulls),
        }
    }

    /// About how many bytes the indexes hold.
    pub fn heap_bytes(&self) -> usize {
        self.columns
            .iter()
            .flatten()
            .map(|c| match &**c {
                ColumnIndex::Values { values, nulls, .. } => {
                    nulls.serialized_size()
                        + values
                            .iter()
                            .map(|(k, b)| k.len() + 48 + b.serialized_size())
                            .sum::<usize>()
                }
                ColumnIndex::Sorted {
                    order, bins, nulls, ..
                } => {
                    order.len() * 4
                        + nulls.serialized_size()
                        + bins
                            .iter()
                            .map(RoaringBitmap::serialized_size)
                            .sum::<usize>()
                }
            })
            .sum()
    }
}

/// The bins wholly inside positions `start..end`, and the positions before and after them
/// (`start..before` and `after..end` are read slot by slot).
fn full_bins(start: usize, end: usize) -> (std::ops::Range<usize>, (usize, usize)) {
    let first = start.div_ceil(BIN);
    let last = end / BIN;
    if first >= last {
        (0..0, (end, end))
    } else {
        (first..last, (first * BIN, last * BIN))
    }
}

impl Codes {
    fn of(values: &HashMap<Arc<str>, RoaringBitmap>, len: usize) -> Self {
        let mut at = vec![NO_CODE; len];
        let mut of = HashMap::with_capacity(values.len());
        let mut names = Vec::with_capacity(values.len());
        for (code, (value, slots)) in values.iter().enumerate() {
            // `MAX_TOTALLED` keeps codes below `NO_CODE`.
            let code = code as u16;
            of.insert(Arc::clone(value), code);
            names.push(Arc::clone(value));
            for s in slots {
                if let Some(c) = at.get_mut(s as usize) {
                    *c = code;
                }
            }
        }
        Codes { of, names, at }
    }
}

impl BinTotals {
    fn of(codes: &Codes, order: &[u32]) -> Self {
        let values = codes.of.len();
        let per_bin: Vec<Vec<u32>> = order
            .par_chunks(BIN)
            .map(|chunk| {
                let mut counts = vec![0u32; values];
                for &s in chunk {
                    if let Some(c) = codes.at.get(s as usize).filter(|&&c| c != NO_CODE) {
                        counts[usize::from(*c)] += 1;
                    }
                }
                counts
            })
            .collect();
        let mut running = vec![0u32; (per_bin.len() + 1) * values];
        for (b, counts) in per_bin.iter().enumerate() {
            for (v, n) in counts.iter().enumerate() {
                running[(b + 1) * values + v] = running[b * values + v] + n;
            }
        }
        BinTotals { values, running }
    }
}

/// The slots of each run of `BIN` positions of a value order, as bitmaps.
fn bins_of(order: &[u32]) -> Vec<RoaringBitmap> {
    order
        .par_chunks(BIN)
        .map(|chunk| {
            let mut slots = chunk.to_vec();
            slots.sort_unstable();
            RoaringBitmap::from_sorted_iter(slots).unwrap_or_default()
        })
        .collect()
}

impl ColumnIndex {
    /// This index after the `slots` (indexed and live) took new values in `column`; `None`
    /// when it must be built again (a string column past `MAX_DISTINCT` values, or a column
    /// of another kind).
    ///
    /// In a value order every other slot keeps its place and the changed ones go where their
    /// new values belong, found by binary search: sorting a million values again for 10,000
    /// changed ones took a fifth of a change set's apply. In bitmaps per value, the changed
    /// slots leave every bitmap and join the one of their new value.
    fn updated(&self, column: &Column, slots: &[usize]) -> Option<ColumnIndex> {
        let moved: RoaringBitmap = slots.iter().map(|&s| s as u32).collect();
        match (self, column) {
            (ColumnIndex::Sorted { order, nulls, .. }, _) => {
                Some(Self::resorted(order, nulls, column, &moved))
            }
            (ColumnIndex::Values { values, nulls, .. }, Column::String(c)) => {
                let mut values: HashMap<Arc<str>, RoaringBitmap> = values
                    .iter()
                    .map(|(k, b)| (Arc::clone(k), b - &moved))
                    .filter(|(_, b)| !b.is_empty())
                    .collect();
                let mut nulls = nulls - &moved;
                for s in &moved {
                    match &c[s as usize] {
                        Some(v) => {
                            if !values.contains_key(&**v) && values.len() == MAX_DISTINCT {
                                return None;
                            }
                            values.entry(Arc::clone(v)).or_default().insert(s);
                        }
                        None => {
                            nulls.insert(s);
                        }
                    }
                }
                Some(ColumnIndex::Values {
                    values,
                    nulls,
                    codes: OnceLock::new(),
                })
            }
            _ => None,
        }
    }

    fn resorted(
        order: &[u32],
        nulls: &RoaringBitmap,
        column: &Column,
        moved: &RoaringBitmap,
    ) -> ColumnIndex {
        let mut fresh: Vec<(u64, u32)> = moved
            .iter()
            .filter_map(|s| column.order_key(s as usize).map(|k| (k, s)))
            .collect();
        fresh.sort_unstable();
        let kept: Vec<u32> = order
            .iter()
            .copied()
            .filter(|s| !moved.contains(*s))
            .collect();
        // The kept slots' values did not change, so the column orders them as before.
        let key = |s: u32| (column.order_key(s as usize), s);
        let mut out = Vec::with_capacity(kept.len() + fresh.len());
        let mut from = 0;
        for &(k, s) in &fresh {
            let at = from + kept[from..].partition_point(|&t| key(t) < (Some(k), s));
            out.extend_from_slice(&kept[from..at]);
            out.push(s);
            from = at;
        }
        out.extend_from_slice(&kept[from..]);
        let mut nulls = nulls - moved;
        nulls.extend(moved.iter().filter(|&s| column.is_null_at(s as usize)));
        ColumnIndex::Sorted {
            bins: bins_of(&out),
            order: out,
            nulls,
            values: column.clone(),
        }
    }

    /// Whether this index still describes `column` at the `slots` (indexed and live): each
    /// holds the value it was indexed under.
    fn holds(&self, column: &Column, slots: &[usize]) -> bool {
        match (self, column) {
            (ColumnIndex::Values { values, nulls, .. }, Column::String(c)) => {
                slots.iter().all(|&s| match &c[s] {
                    Some(v) => values.get(&**v).is_some_and(|b| b.contains(s as u32)),
                    None => nulls.contains(s as u32),
                })
            }
            (ColumnIndex::Sorted { values, .. }, column) => slots
                .iter()
                .all(|&s| values.cell_at(s) == column.cell_at(s)),
            _ => false,
        }
    }

    fn build(column: &Column, len: usize, live: &(impl Fn(usize) -> bool + Sync)) -> Option<Self> {
        let slots = || (0..len).filter(|&s| live(s));
        let nulls = |is_null: &dyn Fn(usize) -> bool| {
            RoaringBitmap::from_sorted_iter(slots().filter(|&s| is_null(s)).map(|s| s as u32))
                .unwrap_or_default()
        };
        match column {
            Column::String(c) => {
                let mut values: HashMap<Arc<str>, Vec<u32>> = HashMap::new();
                for s in slots() {
                    if let Some(v) = &c[s] {
                        if !values.contains_key(&**v) && values.len() == MAX_DISTINCT {
                            return None;
                        }
                        values.entry(Arc::clone(v)).or_default().push(s as u32);
                    }
                }
                let values = values
                    .into_iter()
                    .map(|(k, v)| (k, RoaringBitmap::from_sorted_iter(v).unwrap_or_default()))
                    .collect();
                Some(ColumnIndex::Values {
                    values,
                    nulls: nulls(&|s| c[s].is_none()),
                    codes: OnceLock::new(),
                })
            }
            Column::Boolean(_)
            | Column::Integer(_)
            | Column::Number(_)
            | Column::Date(_)
            | Column::Timestamp(_) => {
                // Sorting (key, slot) pairs reads memory in order; a comparator reading the
                // column through its chunks took most of the build.
                let mut keyed: Vec<(u64, u32)> = slots()
                    .filter_map(|s| column.order_key(s).map(|k| (k, s as u32)))
                    .collect();
                keyed.par_sort_unstable();
                let order: Vec<u32> = keyed.into_iter().map(|(_, s)| s).collect();
                Some(ColumnIndex::Sorted {
                    bins: bins_of(&order),
                    order,
                    nulls: nulls(&|s| column.is_null_at(s)),
                    values: column.clone(),
                })
            }
            Column::StringArray(_) | Column::Json(_) => None,
        }
    }
}

impl Column {
    /// Whether the value at `slot` is null.
    pub fn is_null_at(&self, slot: usize) -> bool {
        match self {
            Column::Boolean(c) => c[slot].is_none(),
            Column::Integer(c) => c[slot].is_none(),
            Column::Number(c) => c[slot].is_none(),
            Column::String(c) => c[slot].is_none(),
            Column::Date(c) => c[slot].is_none(),
            Column::Timestamp(c) => c[slot].is_none(),
            Column::StringArray(c) => c[slot].is_none(),
            Column::Json(c) => c[slot].is_none(),
        }
    }

    /// The value at `slot` as an unsigned integer in the same order as the values (as
    /// `cmp_key` compares them); `None` for null and NaN, which no range holds.
    fn order_key(&self, slot: usize) -> Option<u64> {
        /// Flips the sign bit so that two's-complement order becomes unsigned order.
        fn signed(v: i64) -> u64 {
            (v as u64) ^ (1 << 63)
        }
        match self {
            Column::Boolean(c) => c[slot].map(u64::from),
            // Integers are compared as floats by filters; the float order is the integer order
            // but for integers beyond 2^53 that round to one float, which then tie.
            Column::Integer(c) => c[slot].map(|v| float_key(v as f64)),
            Column::Number(c) => c[slot].filter(|v| !v.is_nan()).map(float_key),
            Column::Date(c) => c[slot].map(|v| signed(i64::from(v))),
            Column::Timestamp(c) => c[slot].as_ref().map(|(v, _)| signed(*v)),
            _ => None,
        }
    }

    /// Whether the value at `slot` can be ordered: not null, and not NaN.
    fn number_or_key(&self, slot: usize) -> Option<()> {
        match self {
            Column::Number(c) => c[slot].filter(|v| !v.is_nan()).map(|_| ()),
            other => (!other.is_null_at(slot)).then_some(()),
        }
    }
}

/// A float (not NaN) as an unsigned integer in the same order; -0.0 and 0.0, which compare
/// equal, get one key.
fn float_key(v: f64) -> u64 {
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

impl Column {
    /// The value at `slot` against `key`, as filters compare them; `None` when the value is
    /// null or NaN, or the key is not of the column's kind.
    pub fn cmp_key(&self, slot: usize, key: &Key) -> Option<Ordering> {
        match (self, key) {
            (Column::Boolean(c), Key::Bool(k)) => c[slot].map(|v| v.cmp(k)),
            (Column::Integer(c), Key::Number(k)) => c[slot].and_then(|v| (v as f64).partial_cmp(k)),
            (Column::Number(c), Key::Number(k)) => c[slot].and_then(|v| v.partial_cmp(k)),
            (Column::Date(c), Key::Date(k)) => c[slot].map(|v| v.cmp(k)),
            (Column::Timestamp(c), Key::Timestamp(k)) => c[slot].as_ref().map(|(v, _)| v.cmp(k)),
            (Column::String(c), Key::Text(k)) => c[slot].as_deref().map(|v| v.cmp(k)),
            _ => None,
        }
    }

    /// A test of whether a slot's value lies in `range`, with the bounds resolved once: what a
    /// query runs on each of many candidates (a number column's test is two float comparisons).
    pub fn range_test<'a>(&'a self, range: KeyRange<'a>) -> Box<dyn Fn(usize) -> bool + Sync + 'a> {
        /// The bounds as numbers, when both are numbers or unbounded.
        fn numeric(range: &KeyRange) -> Option<(f64, bool, f64, bool)> {
            let end = |b: &Bound<Key>, open: f64| match b {
                Bound::Included(Key::Number(k)) => Some((*k, true)),
                Bound::Excluded(Key::Number(k)) => Some((*k, false)),
                Bound::Unbounded => Some((open, true)),
                _ => None,
            };
            let (lo, lo_in) = end(&range.lo, f64::NEG_INFINITY)?;
            let (hi, hi_in) = end(&range.hi, f64::INFINITY)?;
            Some((lo, lo_in, hi, hi_in))
        }
        let within = move |v: f64, (lo, lo_in, hi, hi_in): (f64, bool, f64, bool)| {
            (v > lo || (lo_in && v == lo)) && (v < hi || (hi_in && v == hi))
        };
        match (self, numeric(&range)) {
            (Column::Number(c), Some(b)) => Box::new(move |s| c[s].is_some_and(|v| within(v, b))),
            (Column::Integer(c), Some(b)) => {
                Box::new(move |s| c[s].is_some_and(|v| within(v as f64, b)))
            }
            _ => Box::new(move |s| self.in_range(s, &range)),
        }
    }

    /// Whether the value at `slot` lies in `range` (a null never does).
    pub fn in_range(&self, slot: usize, range: &KeyRange) -> bool {
        let above_lo = match &range.lo {
            Bound::Included(k) => self.cmp_key(slot, k).is_some_and(Ordering::is_ge),
            Bound::Excluded(k) => self.cmp_key(slot, k).is_some_and(Ordering::is_gt),
            Bound::Unbounded => true,
        };
        let below_hi = match &range.hi {
            Bound::Included(k) => self.cmp_key(slot, k).is_some_and(Ordering::is_le),
            Bound::Excluded(k) => self.cmp_key(slot, k).is_some_and(Ordering::is_lt),
            Bound::Unbounded => true,
        };
        // Both unbounded: any comparable value.
        above_lo && below_hi && self.number_or_key(slot).is_some()
    }
}

fn kinds_fit(col: &Column, key: &Key) -> bool {
    matches!(
        (col, key),
        (Column::Boolean(_), Key::Bool(_))
            | (Column::Integer(_) | Column::Number(_), Key::Number(_))
            | (Column::Date(_), Key::Date(_))
            | (Column::Timestamp(_), Key::Timestamp(_))
            | (Column::String(_), Key::Text(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_sort_as_the_floats_compare() {
        let mut values = vec![
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        let mut by_key = values.clone();
        by_key.reverse();
        by_key.sort_by_key(|v| float_key(*v));
        values.sort_by(|a, b| a.partial_cmp(b).unwrap());
        // -0.0 and 0.0 tie (one key), so compare as numbers.
        assert!(
            by_key.iter().zip(&values).all(|(a, b)| a == b),
            "{by_key:?}"
        );
        assert_eq!(float_key(-0.0), float_key(0.0));
        assert!(float_key(-1.0) < float_key(-0.5));
    }

    #[test]
    fn a_wide_range_is_its_bins_and_the_slots_at_its_ends() {
        // 3.5 bins of values 0..n in reverse slot order.
        let n = BIN * 7 / 2;
        let column = Column::Integer(
            (0..n)
                .rev()
                .map(|v| Some(v as i64))
                .collect::<Vec<_>>()
                .into(),
        );
        let index = AttributeIndex::build(std::slice::from_ref(&column), n, |_| true);
        for (lo, hi) in [
            (0, n - 1),
            (10, n - 10),
            (BIN, 2 * BIN - 1),
            (5, 6),
            (BIN - 1, BIN + 1),
        ] {
            let range = KeyRange {
                lo: Bound::Included(Key::Number(lo as f64)),
                hi: Bound::Included(Key::Number(hi as f64)),
            };
            let found = index.range(0, range).expect("an indexed column");
            let want: RoaringBitmap = (lo..=hi).map(|v| (n - 1 - v) as u32).collect();
            assert_eq!(found.len(), want.len(), "{lo}..={hi}");
            assert_eq!(*found.to_bitmap(), want, "{lo}..={hi}");
        }
    }
}
