//! A replica's follower: the thread that keeps a server's data up with what the other servers
//! record.
//!
//! It `LISTEN`s on [`CHANNEL`]; a notification (its payload is the last version recorded)
//! asks the store's writer to catch up. Notifications are not durable: one sent while this
//! connection was down is lost. So every `poll` it also asks the database for its newest
//! version, which doubles as the liveness check: a failed poll marks the store unreachable,
//! and the follower reconnects with a doubling backoff, catching up once it is back.

use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;

use super::ledger::{classify, Settings, CHANNEL};
use crate::record::RecordError;
use crate::store::{CatchUp, StoreStatus};

/// Starts following the database at `config` for the store whose catch-ups `catch_up` asks
/// for. The thread ends when the store's writer has.
pub fn follow(
    config: postgres::Config,
    settings: &Settings,
    status: Arc<StoreStatus>,
    catch_up: CatchUp,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let (poll, backoff_max) = (settings.poll, settings.backoff_max);
    std::thread::Builder::new()
        .name("store-follower".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(100);
            loop {
                match listen(&config, poll, &status, &catch_up) {
                    Stop::WriterGone => return,
                    Stop::Lost(reason) => {
                        status.unreachable(&reason);
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(backoff_max);
                    }
                    Stop::Connected => backoff = Duration::from_millis(100),
                }
            }
        })
}

enum Stop {
    /// The store is gone: stop following.
    WriterGone,
    /// The connection failed or broke.
    Lost(String),
    /// The connection worked for a while, then broke: retry at once.
    Connected,
}

fn unavailable(e: &postgres::Error) -> String {
    match classify(e) {
        RecordError::Unavailable(r) | RecordError::Refused(r) => r,
        other => other.to_string(),
    }
}

/// One connection's life: listen, poll, ask for catch-ups, until it breaks.
fn listen(
    config: &postgres::Config,
    poll: Duration,
    status: &StoreStatus,
    catch_up: &CatchUp,
) -> Stop {
    let mut client = match config.connect(NoTls) {
        Ok(c) => c,
        Err(e) => return Stop::Lost(unavailable(&e)),
    };
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
        return Stop::Lost(unavailable(&e));
    }
    let mut worked = false;
    loop {
        // The poll: the newest version (an index lookup), which also tells that the
        // database is there.
        let newest = client.query_one("SELECT coalesce(max(version), 0) FROM atlas_changes", &[]);
        match newest {
            Ok(row) => {
                status.reachable();
                status.seen(row.get(0));
                worked = true;
            }
            Err(e) => {
                let reason = unavailable(&e);
                return if worked {
                    status.unreachable(&reason);
                    Stop::Connected
                } else {
                    Stop::Lost(reason)
                };
            }
        }
        if status.behind() && !catch_up.request() {
            return Stop::WriterGone;
        }
        // Wait for a notification, or the next poll.
        let mut notes = client.notifications();
        let mut waiting = notes.timeout_iter(poll);
        match waiting.next() {
            Ok(Some(n)) => {
                if let Ok(v) = n.payload().parse::<i64>() {
                    status.seen(v);
                }
            }
            Ok(None) => {}
            Err(e) => {
                status.unreachable(&unavailable(&e));
                return Stop::Connected;
            }
        }
    }
}
