//! The editable store: the seed data in memory, edits kept durably in a state store
//! (a `crate::record` ledger), applied in place without rebuilding a layer.
//!
//! Writes go through one writer thread. It takes the edits waiting (up to [`BATCH`]), checks and
//! applies each in order to the next version of the layers (so a later edit in a batch sees an
//! earlier one), records them all in one SQLite transaction (one fsync: group commit), and only
//! then publishes the new snapshot and answers each writer. A refused edit is answered at once
//! and leaves no trace; a failed commit publishes nothing and answers every edit of the batch
//! with an error. Readers take the current snapshot and never wait for the writer.

mod apply;
mod as_of;
mod new_id;
mod overlay;
mod scope;
mod writer;

use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Mutex, RwLock};

use std::sync::atomic::{AtomicBool, Ordering};

use super::edit::{EditError, EditRequest, Edited};
use super::status::StoreStatus;
use super::{FeatureStore, Snapshot};
use crate::index::Catalog;
use crate::record::{
    AuditQuery, Change, ChangesetRecord, ChangesetStatus, Ledger, LedgerReads, RecordError,
    TokenBook, TokenRecord, TokenWork,
};

pub use as_of::{instant_ms, AsOfError, KEPT as PAST_KEPT, PAST_VERSIONS};
pub use overlay::overlay;
pub use scope::{OutOfScope, ScopeRule};
use writer::Writer;

/// Most edits committed in one transaction.
pub const BATCH: usize = 512;

/// What the writer thread is asked to do.
enum Job {
    /// An edit, and where to send its answer.
    Edit {
        request: Box<EditRequest>,
        reply: SyncSender<Result<Edited, EditError>>,
    },
    /// Apply what other servers recorded (sent by a follower, see [`CatchUp`]).
    CatchUp,
    /// A change set's edits: all applied in one transaction and one version, or none.
    Set {
        requests: Vec<EditRequest>,
        reply: SyncSender<Result<Vec<Edited>, SetError>>,
    },
    /// Keep a change set's preview.
    Save {
        record: Box<ChangesetRecord>,
        reply: SyncSender<Result<(), RecordError>>,
    },
    /// Work on the token rows (it answers through a channel of its own).
    Tokens(TokenWork),
}

/// Why a change set's edits were not applied (none of them was).
#[derive(Debug, Clone, PartialEq)]
pub enum SetError {
    /// These edits were refused (by feature id), so the others were not made either.
    Refused(Vec<(String, EditError)>),
    /// The system of record failed (unreachable, or refused the transaction).
    Store(EditError),
    /// The set was applied already (by another request, or another server).
    AlreadyApplied,
}

/// What opening the state store found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenReport {
    /// Edited features laid over the seed.
    pub applied: usize,
    /// Stored edits of collections the seed no longer has, or that no longer fit it.
    pub skipped: Vec<String>,
    /// Collections whose seed file changed since the state store first saw it.
    pub seeds_changed: Vec<String>,
    /// The last change's number.
    pub last_seq: i64,
}

pub struct JournaledStore {
    current: Arc<RwLock<Arc<Snapshot>>>,
    jobs: Mutex<Sender<Job>>,
    reads: Box<dyn LedgerReads>,
    status: Option<Arc<StoreStatus>>,
    catch_up: CatchUp,
    listeners: writer::Listeners,
    /// Past versions rebuilt for `asOf`, kept for the next request.
    past: as_of::Past,
    /// Held for the store's life: one server per state directory (two would each keep their
    /// own idea of the data). PostgreSQL needs none: its writers take turns under a lock.
    _lock: Option<std::fs::File>,
}

/// Asks the writer to apply what other servers recorded. Requests made while one waits are
/// one request: a burst of notifications is one catch-up.
#[derive(Clone)]
pub struct CatchUp {
    jobs: Sender<Job>,
    queued: Arc<AtomicBool>,
}

impl CatchUp {
    /// Queues a catch-up unless one is queued; false once the writer has stopped.
    pub fn request(&self) -> bool {
        if self.queued.swap(true, Ordering::AcqRel) {
            return true;
        }
        self.jobs.send(Job::CatchUp).is_ok()
    }
}

/// Now, as milliseconds since the epoch and as the RFC 3339 text every change records.
pub fn now() -> (i64, String) {
    let ms = chrono::Utc::now().timestamp_millis();
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (
        ms,
        // As PostgreSQL's timestamps read back (see `postgis::load`): the same text on every
        // server, whether it applied the edit or loaded it.
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

impl JournaledStore {
    /// The store over `catalog`, which reflects the recorded changes up to `applied`, keeping
    /// its edits in `ledger`. `status`, for a ledger in another process, is what its outages
    /// and lag are reported through.
    pub fn with_ledger(
        catalog: Catalog,
        applied: i64,
        ledger: Box<dyn Ledger>,
        reads: Box<dyn LedgerReads>,
        status: Option<Arc<StoreStatus>>,
    ) -> Result<Self, RecordError> {
        let snapshot = Arc::new(Snapshot::new(catalog, 1).at_change(applied));
        let current = Arc::new(RwLock::new(snapshot));
        let (tx, rx) = mpsc::channel();
        let queued = Arc::new(AtomicBool::new(false));
        let shared = Arc::clone(&current);
        let listeners = writer::Listeners::default();
        let writer_state = Writer::new(
            ledger,
            shared,
            status.clone(),
            Arc::clone(&queued),
            Arc::clone(&listeners),
        );
        std::thread::Builder::new()
            .name("edit-writer".into())
            .spawn(move || {
                yield_to_readers();
                writer_state.run(rx)
            })
            .map_err(|e| RecordError::Invalid(format!("cannot start the writer thread: {e}")))?;
        Ok(JournaledStore {
            current,
            jobs: Mutex::new(tx.clone()),
            reads,
            status,
            catch_up: CatchUp { jobs: tx, queued },
            listeners,
            past: as_of::Past::default(),
            _lock: None,
        })
    }

    /// The store, holding `lock` for as long as it lives (the embedded backend's claim on
    /// its directory: one server per state directory).
    pub fn holding(mut self, lock: std::fs::File) -> Self {
        self._lock = Some(lock);
        self
    }

    /// What a follower calls when the ledger has news.
    pub fn catch_up(&self) -> CatchUp {
        self.catch_up.clone()
    }

    /// Submits an edit and waits until it is on disk (or refused). Blocking: call it off the
    /// async workers.
    pub fn edit(&self, request: EditRequest) -> Result<Edited, EditError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self.send(Job::Edit {
            request: Box::new(request),
            reply,
        });
        if sent.is_err() {
            return Err(EditError::Storage("the writer has stopped".into()));
        }
        answer.recv().unwrap_or_else(|_| {
            Err(EditError::Storage(
                "the writer stopped before answering".into(),
            ))
        })
    }

    /// Applies a change set's edits together: one transaction, one new version of the data,
    /// or nothing at all. Blocking, as [`edit`](Self::edit) is.
    pub fn apply_set(&self, requests: Vec<EditRequest>) -> Result<Vec<Edited>, SetError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || SetError::Store(EditError::Storage("the writer has stopped".into()));
        self.send(Job::Set { requests, reply })
            .map_err(|_| stopped())?;
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Checks `requests` as [`apply_set`](Self::apply_set) would, over the current version,
    /// without applying or recording anything: the refused ones, by their index. A preview
    /// uses it to mark the rows outside the rights of who uploaded them before anyone applies.
    pub fn dry_run(&self, requests: &[EditRequest]) -> Vec<(usize, EditError)> {
        let base = self.snapshot();
        let stamp = now();
        let mut working = apply::Working::new(&base);
        requests
            .iter()
            .enumerate()
            .filter_map(|(i, r)| working.apply(r, &stamp, None).err().map(|e| (i, e)))
            .collect()
    }

    /// Calls `tell` with the last change's number of every version published from now on (an
    /// edit here, or changes other servers recorded): the live change stream wakes on it.
    /// `tell` runs on the writer thread, so it must only hand the number on.
    pub fn on_publish(&self, tell: impl Fn(i64) + Send + Sync + 'static) {
        self.listeners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(tell));
    }

    /// Keeps a change set's preview durably. Blocking.
    pub fn save_changeset(&self, record: ChangesetRecord) -> Result<(), RecordError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || RecordError::Invalid("the writer has stopped".into());
        self.send(Job::Save {
            record: Box::new(record),
            reply,
        })
        .map_err(|_| stopped())?;
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Runs `work` on the token rows, on the writer (the one connection that writes). Blocking.
    pub fn with_tokens<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn TokenBook) -> Result<T, RecordError> + Send + 'static,
    ) -> Result<T, RecordError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || RecordError::Invalid("the writer has stopped".into());
        self.send(Job::Tokens(Box::new(move |book| {
            let _ = reply.send(book.and_then(work));
        })))
        .map_err(|_| stopped())?;
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Changes by who, when and collection (see `LedgerReads::audit`).
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<Change>, RecordError> {
        self.reads.audit(q)
    }

    fn send(&self, job: Job) -> Result<(), mpsc::SendError<Job>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
    }

    /// A change set and what became of it (see `LedgerReads::changeset`).
    pub fn changeset(
        &self,
        id: &str,
    ) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        self.reads.changeset(id)
    }

    /// The newest change sets of a collection, without their previews.
    pub fn changesets(
        &self,
        collection: &str,
        limit: usize,
    ) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        self.reads.changesets(collection, limit)
    }

    /// The changes a change set made, oldest first.
    pub fn changeset_changes(&self, id: &str) -> Result<Vec<Change>, RecordError> {
        self.reads.changeset_changes(id)
    }

    /// The changes of one feature after `since`, oldest first, one page (see `LedgerReads`).
    pub fn history(
        &self,
        collection: &str,
        id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Change>, RecordError> {
        self.reads.history(collection, id, since, limit)
    }

    /// Changes after `since`, oldest first, at most `limit`.
    pub fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, RecordError> {
        self.reads.changes(since, limit)
    }

    /// The token `presented` is, if it is one (checked in constant time; revoked and expired
    /// ones are returned too, for the caller to refuse).
    pub fn token(&self, presented: &str) -> Result<Option<TokenRecord>, RecordError> {
        self.reads.token(presented)
    }

    /// The connection to a system of record in another process, if there is one.
    pub fn status(&self) -> Option<&Arc<StoreStatus>> {
        self.status.as_ref()
    }

    /// Connections open and idle in the read pool, if there is one.
    pub fn pool(&self) -> Option<(u32, u32)> {
        self.reads.pool()
    }
}

impl FeatureStore for JournaledStore {
    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn editor(&self) -> Option<&JournaledStore> {
        Some(self)
    }
}

/// The writer's niceness: when reads and a large write want the same cores, the reads go first.
/// Measured on two cores with a 10,000-row change set over 1,000,000 carriers: at 0, reads
/// during the apply kept 71 % of their idle rate and the apply took 1.3 s; at 10, 85 % and 2.4 s
/// (0.9 s with nothing else running either way). An edit of one feature is milliseconds of work,
/// and an idle machine runs the writer at full speed whatever its niceness.
const WRITER_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`WRITER_NICENESS`] (Linux sets niceness
/// per thread). Failing to is harmless: the writer then competes with reads as an equal.
fn yield_to_readers() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority reads no memory of ours; `who = 0` is the calling thread.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICENESS) };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the writer thread keeps its priority");
        }
    }
}
