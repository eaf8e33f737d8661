//! The data as it was at an earlier moment, rebuilt from the change log.
//!
//! Every change records the whole feature before and after it, so the state after change `S`
//! differs from any other version only in the features changed between the two: going back
//! from a later version, each such feature takes the `before` of its first change after `S`
//! (nothing, if a change after `S` created it); going forward from an earlier one, the `after`
//! of its last change up to `S`. Those features are laid over the other version exactly as the
//! stored edits are laid over the seed at start ([`overlay`]: checked, derived values and
//! `zones` recomputed, all features rezoned when a zone moved), so a past version is built by
//! the same code as the present one.
//!
//! Past versions are kept (the [`KEPT`] most recently used): a date slider asks for one day
//! after another, and each is built from the nearest kept version (or the current one), so it
//! replays only the changes between two neighbouring days. The kept versions are the
//! checkpoints; they share every untouched chunk of every layer with the version they were
//! built from, so one costs roughly the chunks its changes touched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use super::{overlay, JournaledStore, OpenReport};
use crate::query::Budget;
use crate::record::{Change, RecordError, Stored};
use crate::store::{FeatureStore, Snapshot};

/// Past versions kept for the next request (a slider's neighbouring days).
pub const KEPT: usize = 6;

/// Changes read from the log per call while replaying.
const READ_PAGE: usize = 2_000;

/// Past versions kept, each with when it was last used.
#[derive(Default)]
pub(super) struct Past {
    kept: Mutex<Vec<(Arc<Snapshot>, u64)>>,
    clock: std::sync::atomic::AtomicU64,
}

/// Why a past version could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AsOfError {
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The request's time ran out while the changes were replayed.
    #[error("rebuilding the data as it was took longer than the request may")]
    OutOfTime,
}

impl Past {
    fn keep(&self, snapshot: &Arc<Snapshot>) {
        let tick = self.tick();
        let mut kept = self.lock();
        if let Some(e) = kept
            .iter_mut()
            .find(|(s, _)| s.change() == snapshot.change())
        {
            e.1 = tick;
            return;
        }
        if kept.len() >= KEPT {
            if let Some(oldest) = kept
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(i, _)| i)
            {
                kept.swap_remove(oldest);
            }
        }
        kept.push((Arc::clone(snapshot), tick));
    }

    /// The kept version nearest to change `target` (by how many changes lie between).
    fn nearest(&self, target: i64) -> Option<Arc<Snapshot>> {
        let kept = self.lock();
        kept.iter()
            .min_by_key(|(s, _)| s.change().abs_diff(target))
            .map(|(s, _)| Arc::clone(s))
    }

    /// Forgets every kept version (the seed was reloaded, or a test wants a cold start).
    pub(super) fn forget(&self) {
        self.lock().clear();
    }

    fn tick(&self) -> u64 {
        self.clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Arc<Snapshot>, u64)>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl JournaledStore {
    /// The number of the last change made at or before `at_ms` (milliseconds since the epoch);
    /// 0 when none was. Changes are numbered in the order they were recorded and each records
    /// the instant it was made, which rises with the number (one writer at a time makes them),
    /// so the log is halved by number: some twenty reads, however long it is.
    pub fn change_at(&self, at_ms: i64) -> Result<i64, RecordError> {
        let last = self.snapshot().change();
        let (mut lo, mut hi) = (0_i64, last);
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            match self.reads.first_change_from(mid)? {
                Some((seq, at)) if instant_ms(&at)? <= at_ms && seq <= hi => lo = seq,
                _ => hi = mid - 1,
            }
        }
        Ok(lo)
    }

    /// The data as it was right after change `change` (before any, the seed), as this server
    /// has it: a number past the current version answers the current version.
    pub fn as_of_change(&self, change: i64, budget: &Budget) -> Result<Arc<Snapshot>, AsOfError> {
        let current = self.snapshot();
        if change >= current.change() {
            return Ok(current);
        }
        let base = match self.past.nearest(change) {
            Some(kept) if kept.change().abs_diff(change) < current.change().abs_diff(change) => {
                kept
            }
            _ => current,
        };
        if base.change() == change {
            self.past.keep(&base);
            return Ok(base);
        }
        let (from, to) = (base.change().min(change), base.change().max(change));
        let forward = base.change() < change;
        let mut features: HashMap<(String, String), Option<Json>> = HashMap::new();
        let mut since = from;
        'read: loop {
            budget.check().map_err(|_| AsOfError::OutOfTime)?;
            // Numbers rise by one per change (gaps only where a transaction rolled back), so
            // asking for no more than the distance left reads nothing past `to`.
            let left = usize::try_from(to - since).unwrap_or(READ_PAGE);
            let page = self.reads.changes(since, left.clamp(1, READ_PAGE))?;
            if page.is_empty() {
                break;
            }
            for c in page {
                if c.seq > to {
                    break 'read;
                }
                since = c.seq;
                take(&mut features, c, forward);
            }
        }
        let stored: Vec<Stored> = features
            .into_iter()
            .map(|((collection, feature_id), feature)| Stored {
                collection,
                feature_id,
                feature,
            })
            .collect();
        budget.check().map_err(|_| AsOfError::OutOfTime)?;
        let mut report = OpenReport::default();
        let catalog = overlay(base.catalog().clone(), stored, &mut report);
        for skipped in &report.skipped {
            tracing::warn!(change, %skipped, "a past version leaves out a change it cannot apply");
        }
        let past = Arc::new(
            Snapshot::new(catalog, PAST_VERSIONS + change.unsigned_abs())
                .at_change(change)
                .in_the_past(),
        );
        self.past.keep(&past);
        Ok(past)
    }

    /// The data as it was at `at_ms` (see [`change_at`](Self::change_at) and
    /// [`as_of_change`](Self::as_of_change)).
    pub fn as_of(&self, at_ms: i64, budget: &Budget) -> Result<Arc<Snapshot>, AsOfError> {
        let change = self.change_at(at_ms)?;
        self.as_of_change(change, budget)
    }

    /// The changes numbered after `from` up to `to`, oldest first, without the features'
    /// versions (who, when, what, which feature).
    pub fn changes_in(
        &self,
        from: i64,
        to: i64,
        budget: &Budget,
    ) -> Result<Vec<Change>, AsOfError> {
        let mut out = Vec::new();
        let mut since = from;
        while since < to {
            budget.check().map_err(|_| AsOfError::OutOfTime)?;
            let left = usize::try_from(to - since).unwrap_or(READ_PAGE);
            let page = self.reads.changes(since, left.clamp(1, READ_PAGE))?;
            let Some(last) = page.last().map(|c| c.seq) else {
                break;
            };
            out.extend(page.into_iter().filter(|c| c.seq <= to).map(|mut c| {
                c.before = None;
                c.after = None;
                c
            }));
            since = last;
        }
        Ok(out)
    }

    /// The ids of `collection`'s features that changes `from` (exclusive) to `to` (inclusive)
    /// changed, each once: what a trend's period looks at one by one.
    pub fn changed_between(
        &self,
        collection: &str,
        from: i64,
        to: i64,
        budget: &Budget,
    ) -> Result<Vec<String>, AsOfError> {
        let mut seen = std::collections::HashSet::new();
        Ok(self
            .changes_in(from, to, budget)?
            .into_iter()
            .filter(|c| c.collection == collection && seen.insert(c.feature_id.clone()))
            .map(|c| c.feature_id)
            .collect())
    }

    /// Forgets the past versions kept (benchmarks measure a cold rebuild with it).
    pub fn forget_past(&self) {
        self.past.forget();
    }
}

/// Version numbers of past versions: far above any the writer reaches, and the same for the
/// same change, so caches keyed by version never mix a past answer with a present one.
pub const PAST_VERSIONS: u64 = 1 << 62;

/// Notes what change `c` means for the version being built: going forward the feature becomes
/// what the last change made it; going back, what it was before the first change undone.
fn take(features: &mut HashMap<(String, String), Option<Json>>, c: Change, forward: bool) {
    let key = (c.collection, c.feature_id);
    if forward {
        features.insert(key, c.after);
    } else {
        features.entry(key).or_insert(c.before);
    }
}

/// An instant a change recorded, in milliseconds since the epoch.
pub fn instant_ms(at: &str) -> Result<i64, RecordError> {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.timestamp_millis())
        .map_err(|e| RecordError::Invalid(format!("the change log has an instant {at:?}: {e}")))
}
