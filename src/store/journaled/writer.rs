//! The writer thread: takes the edits waiting, checks and applies them over the current
//! version, records them through the ledger, and only then publishes the new version.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, RwLock};

use serde_json::Value as Json;

use super::{now, Job, SetError, BATCH};
use crate::record::{Change, Ledger, RecordError};
use crate::store::edit::{EditAction, EditError, EditRequest, Edited};
use crate::store::status::StoreStatus;
use crate::store::Snapshot;

use super::apply::{repeated, Working};

/// The writer thread: the only code that makes new versions of the data.
pub(super) struct Writer {
    ledger: Box<dyn Ledger>,
    /// Per collection, the largest integer id in the change log when the writer first needed
    /// it (later ids live on in the layers, as slots, until the next restart).
    id_floors: HashMap<String, Option<i64>>,
    current: Arc<RwLock<Arc<Snapshot>>>,
    status: Option<Arc<StoreStatus>>,
    queued: Arc<AtomicBool>,
    listeners: Listeners,
}

/// Told the last change's number of every version the writer publishes (see
/// [`JournaledStore::on_publish`](super::JournaledStore::on_publish)).
pub(super) type Listeners = Arc<RwLock<Vec<Box<dyn Fn(i64) + Send + Sync>>>>;

impl Writer {
    /// The writer of the versions in `current`, recording through `ledger`; `queued` is the
    /// flag a [`CatchUp`](super::CatchUp) sets while its request waits.
    pub(super) fn new(
        ledger: Box<dyn Ledger>,
        current: Arc<RwLock<Arc<Snapshot>>>,
        status: Option<Arc<StoreStatus>>,
        queued: Arc<AtomicBool>,
        listeners: Listeners,
    ) -> Self {
        Writer {
            ledger,
            id_floors: HashMap::new(),
            current,
            status,
            queued,
            listeners,
        }
    }

    pub(super) fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = Vec::new();
            let mut catch_up = false;
            // A change set or a preview to keep runs alone, after the edits before it.
            let mut alone = None;
            let mut next = Some(first);
            while let Some(job) = next {
                match job {
                    Job::Edit { request, reply } => batch.push((*request, reply)),
                    Job::CatchUp => catch_up = true,
                    other => {
                        alone = Some(other);
                        break;
                    }
                }
                next = if batch.len() < BATCH {
                    jobs.try_recv().ok()
                } else {
                    None
                };
            }
            if catch_up {
                self.queued.store(false, Ordering::Release);
            }
            if !batch.is_empty() {
                // A batch catches up first anyway (under the ledger's lock).
                self.edit(batch);
            } else if alone.is_none() {
                self.catch_up();
            }
            match alone {
                Some(Job::Set { requests, reply }) => {
                    let _ = reply.send(self.set(requests));
                }
                Some(Job::Save { record, reply }) => {
                    let _ = reply.send(self.ledger.save_changeset(&record));
                }
                Some(Job::Tokens(work)) => self.ledger.with_tokens(work),
                _ => {}
            }
        }
    }

    /// Applies a change set's edits all together: checked in order over the newest version,
    /// recorded in one transaction, published as one version; or, if any is refused or the
    /// record fails, none of them.
    fn set(&mut self, requests: Vec<EditRequest>) -> Result<Vec<Edited>, SetError> {
        let mut base = self.base();
        match self.ledger.begin(base.change()) {
            Err(e) => {
                self.failed(&e);
                return Err(SetError::Store(self.refusal(&e)));
            }
            Ok(others) => {
                self.reached();
                if let Some(next) = self.replayed(&base, &others) {
                    self.publish(next);
                    base = self.base();
                }
            }
        }
        if let Some(set) = requests.first().and_then(|r| r.changeset.as_deref()) {
            match self.ledger.changeset_applied(set) {
                Ok(false) => {}
                Ok(true) => {
                    self.ledger.abandon();
                    return Err(SetError::AlreadyApplied);
                }
                Err(e) => {
                    self.ledger.abandon();
                    self.failed(&e);
                    return Err(SetError::Store(self.refusal(&e)));
                }
            }
        }
        let stamp = now();
        let mut working = Working::new(&base);
        let mut changes = Vec::with_capacity(requests.len());
        let mut edited = Vec::with_capacity(requests.len());
        let mut refused = Vec::new();
        for request in &requests {
            let outcome = self
                .id_floor(request)
                .map_err(|e| self.refusal(&e))
                .and_then(|floor| working.apply(request, &stamp, floor));
            match outcome {
                Ok((change, e)) => {
                    changes.push(change);
                    edited.push(e);
                }
                Err(e) => refused.push((target(request), e)),
            }
        }
        if !refused.is_empty() || changes.is_empty() {
            self.ledger.abandon();
            return if refused.is_empty() {
                Ok(Vec::new())
            } else {
                Err(SetError::Refused(refused))
            };
        }
        match self.commit(&base, working, changes) {
            Ok(recorded) => {
                for (e, c) in edited.iter_mut().zip(recorded) {
                    e.change = c;
                }
                Ok(edited)
            }
            Err(e) => Err(SetError::Store(self.refusal(&e))),
        }
    }

    /// Records `changes` (made in `working` over `base`) and publishes the new version; on
    /// failure nothing is published, and the outage or refusal is reported.
    fn commit(
        &mut self,
        base: &Snapshot,
        working: Working<'_>,
        changes: Vec<Change>,
    ) -> Result<Vec<Change>, RecordError> {
        let n = changes.len() as u64;
        let lookup = |id: &str| {
            working
                .layers
                .get(id)
                .or_else(|| base.layer(id).map(|l| &**l))
        };
        match self.ledger.commit(changes, &working.rezoned, &lookup) {
            Ok(recorded) => {
                let last = recorded.last().map_or(base.change(), |c| c.seq);
                if let Some(s) = &self.status {
                    s.applied(last, n, 0);
                }
                self.publish(working.finish().at_change(last));
                Ok(recorded)
            }
            Err(e) => {
                tracing::error!(error = %e, edits = n, "an edit batch could not be stored; nothing of it was applied");
                self.failed(&e);
                if let Some(s) = &self.status {
                    s.refused(n);
                }
                Err(e)
            }
        }
    }

    fn base(&self) -> Arc<Snapshot> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn publish(&self, next: Snapshot) {
        let change = next.change();
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        for tell in self
            .listeners
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            tell(change);
        }
    }

    fn failed(&self, e: &RecordError) {
        if let (Some(s), RecordError::Unavailable(reason)) = (&self.status, e) {
            s.unreachable(reason);
        }
    }

    fn reached(&self) {
        if let Some(s) = &self.status {
            s.reachable();
        }
    }

    /// Applies what others recorded since the served version.
    fn catch_up(&mut self) {
        let base = self.base();
        match self.ledger.since(base.change()) {
            Ok(changes) => {
                self.reached();
                if let Some(next) = self.replayed(&base, &changes) {
                    self.publish(next);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "catching up failed; the follower retries");
                self.failed(&e);
            }
        }
    }

    /// `base` with `changes` (recorded by others) applied; `None` when there were none.
    fn replayed(&self, base: &Snapshot, changes: &[Change]) -> Option<Snapshot> {
        let last = changes.last()?.seq;
        let mut working = Working::new(base);
        for c in changes {
            if let Err(reason) = working.replay(c) {
                tracing::warn!(change = c.seq, collection = %c.collection, feature = %c.feature_id, %reason, "a recorded change does not fit the data and was not applied");
            }
        }
        if let Some(s) = &self.status {
            s.applied(last, 0, changes.len() as u64);
        }
        Some(working.finish().at_change(last))
    }

    fn edit(&mut self, batch: Vec<(EditRequest, SyncSender<Result<Edited, EditError>>)>) {
        // An edit whose request gave up waiting (its answer was a 503) is not applied.
        let (batch, abandoned): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|(r, _)| r.ticket.as_ref().is_none_or(|t| t.take()));
        for (_, reply) in abandoned {
            let _ = reply.send(Err(EditError::Abandoned));
        }
        if batch.is_empty() {
            return;
        }
        let mut base = self.base();
        let outcomes = match self.ledger.begin(base.change()) {
            Err(e) => {
                tracing::warn!(error = %e, edits = batch.len(), "an edit batch could not start; nothing of it was applied");
                self.failed(&e);
                if let Some(s) = &self.status {
                    s.refused(batch.len() as u64);
                }
                let refusal = self.refusal(&e);
                vec![Err(refusal); batch.len()]
            }
            Ok(others) => {
                self.reached();
                if let Some(next) = self.replayed(&base, &others) {
                    // What others recorded is true whatever becomes of this batch.
                    self.publish(next);
                    base = self.base();
                }
                self.record(&base, &batch)
            }
        };
        for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }

    /// For a create that leaves its id to the server, the largest integer id the change log
    /// holds for its collection (asked once per collection and run).
    fn id_floor(&mut self, request: &EditRequest) -> Result<Option<i64>, RecordError> {
        let EditAction::Create(body) = &request.action else {
            return Ok(None);
        };
        if !matches!(body.get("id"), None | Some(Json::Null)) {
            return Ok(None);
        }
        if let Some(f) = self.id_floors.get(&request.collection) {
            return Ok(*f);
        }
        let f = self.ledger.largest_integer_id(&request.collection)?;
        self.id_floors.insert(request.collection.clone(), f);
        Ok(f)
    }

    /// What an edit is answered when the ledger failed.
    fn refusal(&self, e: &RecordError) -> EditError {
        match e {
            RecordError::Unavailable(_) => EditError::Unavailable {
                retry_after: self
                    .status
                    .as_ref()
                    .map_or(5, |s| s.retry_after.as_secs().max(1)),
            },
            _ => EditError::Storage("the state store refused the write".into()),
        }
    }

    /// Checks and applies the batch over `base`, records it, and publishes the result.
    fn record(
        &mut self,
        base: &Arc<Snapshot>,
        batch: &[(EditRequest, SyncSender<Result<Edited, EditError>>)],
    ) -> Vec<Result<Edited, EditError>> {
        let stamp = now();
        let mut working = Working::new(base);
        let mut outcomes: Vec<Result<Edited, EditError>> = Vec::with_capacity(batch.len());
        // Which outcomes are changes of this batch (the others answer from the past).
        let mut fresh: Vec<bool> = Vec::with_capacity(batch.len());
        let mut changes = Vec::new();
        let mut keys: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for (request, _) in batch {
            if let Some(rk) = &request.request {
                if !keys.insert(&rk.key) {
                    outcomes.push(Err(EditError::RequestInProgress));
                    fresh.push(false);
                    continue;
                }
                match self.ledger.request(&rk.key) {
                    Ok(None) => {}
                    Ok(Some(first)) => {
                        outcomes.push(repeated(base, rk, first));
                        fresh.push(false);
                        continue;
                    }
                    Err(e) => {
                        outcomes.push(Err(self.refusal(&e)));
                        fresh.push(false);
                        continue;
                    }
                }
            }
            // A refused edit leaves the working state as it was: `apply` changes it only once
            // everything is checked.
            let floor = match self.id_floor(request) {
                Ok(f) => f,
                Err(e) => {
                    outcomes.push(Err(self.refusal(&e)));
                    fresh.push(false);
                    continue;
                }
            };
            match working.apply(request, &stamp, floor) {
                Ok((change, edited)) => {
                    changes.push(change);
                    outcomes.push(Ok(edited));
                    fresh.push(true);
                }
                Err(e) => {
                    outcomes.push(Err(e));
                    fresh.push(false);
                }
            }
        }
        if changes.is_empty() {
            self.ledger.abandon();
            return outcomes;
        }
        match self.commit(base, working, changes) {
            Ok(recorded) => {
                let mut seqs = recorded.into_iter();
                for (o, _) in outcomes.iter_mut().zip(&fresh).filter(|(_, f)| **f) {
                    if let (Ok(o), Some(c)) = (o, seqs.next()) {
                        o.change = c;
                    }
                }
            }
            Err(e) => {
                let refusal = self.refusal(&e);
                for (o, _) in outcomes.iter_mut().zip(&fresh).filter(|(_, f)| **f) {
                    *o = Err(refusal.clone());
                }
            }
        }
        outcomes
    }
}

/// The feature an edit is about (empty for a create that leaves the id to the server).
fn target(request: &EditRequest) -> String {
    match &request.action {
        EditAction::Create(body) => match body.get("id") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => String::new(),
        },
        EditAction::Replace(id, _)
        | EditAction::Update(id, _)
        | EditAction::Delete(id)
        | EditAction::Restore { id, .. } => id.clone(),
    }
}
