//! How long a request may compute, checked inside every loop that can run long.
//!
//! A request's work (a scan, statistics, a nearest walk, a name search, a tile) gets a
//! [`Budget`]: a deadline, and a flag the HTTP layer raises when nobody waits for the answer any
//! more (the client went away, or the request timed out). Loops call [`Budget::check`] every
//! [`CHECK_EVERY`] items, so a request past its deadline stops within a few milliseconds and
//! frees its slot instead of computing an answer nobody will read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Items (slots, candidates) between two checks: a check costs a clock read, and a few thousand
/// items take well under a millisecond.
pub const CHECK_EVERY: usize = 2048;

/// The work ran past its deadline or was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request ran out of time and its work was stopped")]
pub struct Exceeded;

/// A request's allowance of work.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Option<Instant>,
    abandoned: Arc<AtomicBool>,
    /// Whether the work may spread over every core (rayon). Only when the server has nothing
    /// else to do: otherwise each request keeps to its own thread, so a heavy scan cannot queue
    /// a cheap one behind its parallel chunks.
    pub parallel: bool,
}

impl Budget {
    /// No limit: for the command line, benchmarks and tests.
    pub fn unlimited() -> Self {
        Budget {
            deadline: None,
            abandoned: Arc::new(AtomicBool::new(false)),
            parallel: true,
        }
    }

    /// Work that must end within `limit`.
    pub fn within(limit: Duration) -> Self {
        Budget {
            deadline: Instant::now().checked_add(limit),
            ..Budget::unlimited()
        }
    }

    /// The flag that abandons this work when set (see [`AbandonOnDrop`]).
    pub fn abandon_handle(&self) -> AbandonOnDrop {
        AbandonOnDrop(Arc::clone(&self.abandoned))
    }

    /// `Err` once the deadline has passed or the work was abandoned.
    pub fn check(&self) -> Result<(), Exceeded> {
        let late = self.deadline.is_some_and(|d| Instant::now() >= d);
        if late || self.abandoned.load(Ordering::Relaxed) {
            Err(Exceeded)
        } else {
            Ok(())
        }
    }

    /// [`Budget::check`] every [`CHECK_EVERY`]-th item.
    #[inline]
    pub fn check_every(&self, i: usize) -> Result<(), Exceeded> {
        if i.is_multiple_of(CHECK_EVERY) {
            self.check()
        } else {
            Ok(())
        }
    }
}

/// Abandons the work it belongs to when dropped: held by the request's future, so a request
/// that times out or whose client disconnects stops its computation.
pub struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_deadline_or_a_dropped_guard_stops_the_work() {
        assert!(Budget::unlimited().check().is_ok());
        assert_eq!(Budget::within(Duration::ZERO).check(), Err(Exceeded));
        let b = Budget::within(Duration::from_secs(60));
        let guard = b.abandon_handle();
        assert!(b.check().is_ok());
        drop(guard);
        assert_eq!(b.check(), Err(Exceeded));
    }
}
