//! How a store that depends on another process (PostgreSQL) is doing: what `/health` and
//! `/metrics` report, and what tells a refused write to come back later.
//!
//! Everything here is written by the store's own threads (the writer, the follower) and read by
//! requests, so it is atomics and short locks: reading it never waits for the database.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shared state of a store's connection to its system of record.
#[derive(Debug)]
pub struct StoreStatus {
    /// What the store is ("postgresql", "sqlite").
    pub kind: &'static str,
    /// Where it is, without credentials (for `/health`).
    pub location: String,
    /// What a refused write tells its client to wait before retrying.
    pub retry_after: Duration,
    outage: Mutex<Option<Outage>>,
    /// The highest change the store is known to hold (from notifications and catch-ups).
    latest: AtomicI64,
    /// The last change applied to the data this server serves.
    applied: AtomicI64,
    /// Since when the server has known of a change it has not applied yet.
    behind_since: Mutex<Option<Instant>>,
    edits: AtomicU64,
    replayed: AtomicU64,
    refused_unavailable: AtomicU64,
}

/// Since when the store has been unreachable, and why.
#[derive(Debug, Clone)]
pub struct Outage {
    /// RFC 3339, UTC.
    pub since: String,
    pub started: Instant,
    pub reason: String,
}

/// A copy of the counters, for one `/metrics` scrape or `/health` answer.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub kind: &'static str,
    pub location: String,
    pub outage: Option<Outage>,
    pub latest: i64,
    pub applied: i64,
    /// How long the server has known of a change it has not applied (0 when caught up).
    pub lag: Duration,
    pub edits: u64,
    pub replayed: u64,
    pub refused_unavailable: u64,
}

impl StoreStatus {
    pub fn new(kind: &'static str, location: String, retry_after: Duration, applied: i64) -> Self {
        StoreStatus {
            kind,
            location,
            retry_after,
            outage: Mutex::new(None),
            latest: AtomicI64::new(applied),
            applied: AtomicI64::new(applied),
            behind_since: Mutex::new(None),
            edits: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            refused_unavailable: AtomicU64::new(0),
        }
    }

    /// The store answered: any outage is over.
    pub fn reachable(&self) {
        let mut o = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(was) = o.take() {
            tracing::info!(
                store = %self.location,
                down_s = was.started.elapsed().as_secs_f64(),
                "the store is reachable again"
            );
        }
    }

    /// The store did not answer (`reason` names no credentials). The first failure starts the
    /// outage; later ones keep its start.
    pub fn unreachable(&self, reason: &str) {
        let mut o = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if o.is_none() {
            tracing::warn!(store = %self.location, reason, "the store is unreachable; reads continue from memory, writes are refused");
            *o = Some(Outage {
                since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                started: Instant::now(),
                reason: reason.to_owned(),
            });
        }
    }

    pub fn is_unreachable(&self) -> bool {
        self.outage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The store holds changes up to `version` (a notification or a read said so).
    pub fn seen(&self, version: i64) {
        let before = self.latest.fetch_max(version, Ordering::AcqRel);
        if version > self.applied.load(Ordering::Acquire) && version > before {
            let mut b = self.behind_since.lock().unwrap_or_else(|p| p.into_inner());
            b.get_or_insert_with(Instant::now);
        }
    }

    /// The served data now reflects every change up to `version`; `edits` of them were taken
    /// here, `replayed` came from other servers.
    pub fn applied(&self, version: i64, edits: u64, replayed: u64) {
        self.applied.fetch_max(version, Ordering::AcqRel);
        self.latest.fetch_max(version, Ordering::AcqRel);
        self.edits.fetch_add(edits, Ordering::Relaxed);
        self.replayed.fetch_add(replayed, Ordering::Relaxed);
        if self.applied.load(Ordering::Acquire) >= self.latest.load(Ordering::Acquire) {
            *self.behind_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Whether the store holds changes this server has not applied.
    pub fn behind(&self) -> bool {
        self.latest.load(Ordering::Acquire) > self.applied.load(Ordering::Acquire)
    }

    /// An edit was refused because the store was unreachable.
    pub fn refused(&self, n: u64) {
        self.refused_unavailable.fetch_add(n, Ordering::Relaxed);
    }

    pub fn report(&self) -> StatusReport {
        StatusReport {
            kind: self.kind,
            location: self.location.clone(),
            outage: self
                .outage
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            latest: self.latest.load(Ordering::Acquire),
            applied: self.applied.load(Ordering::Acquire),
            lag: self
                .behind_since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .map_or(Duration::ZERO, |t| t.elapsed()),
            edits: self.edits.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            refused_unavailable: self.refused_unavailable.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_starts_with_an_unapplied_change_and_ends_when_applied() {
        let s = StoreStatus::new("test", "here".into(), Duration::from_secs(1), 3);
        assert_eq!(s.report().lag, Duration::ZERO);
        s.seen(2); // older than what is applied: not behind
        assert_eq!(s.report().lag, Duration::ZERO);
        s.seen(5);
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.report().lag >= Duration::from_millis(5));
        s.applied(4, 0, 1);
        assert!(s.report().lag > Duration::ZERO, "still one change behind");
        s.applied(5, 0, 1);
        let r = s.report();
        assert_eq!(
            (r.lag, r.applied, r.latest, r.replayed),
            (Duration::ZERO, 5, 5, 2)
        );
    }

    #[test]
    fn an_outage_keeps_its_first_start() {
        let s = StoreStatus::new("test", "here".into(), Duration::from_secs(1), 0);
        s.unreachable("first");
        let first = s.report().outage.map(|o| o.since);
        s.unreachable("second");
        let o = s.report().outage;
        assert_eq!(o.as_ref().map(|o| o.since.clone()), first);
        assert_eq!(o.map(|o| o.reason), Some("first".to_owned()));
        s.reachable();
        assert!(!s.is_unreachable());
    }
}
