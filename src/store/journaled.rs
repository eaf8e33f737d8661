//! The editable store: the seed data in memory, edits kept durably in a state store
//! (a `crate::record` ledger), applied in place without rebuilding a layer.
//!
//! Writes go through one writer thread. It takes the edits waiting (up to [`BATCH`]), checks and
//! applies each in order to the next version of the layers (so a later edit in a batch sees an
//! earlier one), records them all in one SQLite transaction (one fsync: group commit), and only
//! then publishes the new snapshot and answers each writer. A refused edit is answered at once
//! and leaves no trace; a failed commit publishes nothing and answers every edit of the batch
//! with an error. Readers take the current snapshot and never wait for the writer.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, RwLock};

use geo::BoundingRect;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value as Json};

use super::edit::{merge_patch, Condition, EditAction, EditError, EditRequest, Edited};
use super::status::StoreStatus;
use super::{FeatureStore, Snapshot};
use crate::encode::{feature_bytes, feature_etag};
use crate::index::{Catalog, Cell, Layer, LayerEdit};
use crate::ingest::{
    area_of, check_feature, BodyError, ZoneIndex, AREA_FIELD, UPDATED_FIELD, ZONES_FIELD,
};
use crate::model::{FeatureId, FieldType};
use crate::record::{
    Change, Ledger, LedgerReads, Operation, RecordError, RequestKey, Stored, TokenRecord,
};

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
        let writer_state = Writer {
            ledger,
            id_floors: HashMap::new(),
            current: shared,
            status: status.clone(),
            queued: Arc::clone(&queued),
        };
        std::thread::Builder::new()
            .name("edit-writer".into())
            .spawn(move || writer_state.run(rx))
            .map_err(|e| RecordError::Invalid(format!("cannot start the writer thread: {e}")))?;
        Ok(JournaledStore {
            current,
            jobs: Mutex::new(tx.clone()),
            reads,
            status,
            catch_up: CatchUp { jobs: tx, queued },
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
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Job::Edit {
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

/// The edits that give each of `slots` (live features of `layer`) the zones they lie in now
/// (`zi`: the `zones` column), where those changed. The slots are shared among threads, each
/// with its own prepared zone geometries.
fn rezoned(layer: &Layer, slots: &[usize], zi: usize, zones: &ZoneIndex) -> Vec<LayerEdit> {
    use rayon::prelude::*;
    slots
        .par_iter()
        .with_min_len(1024)
        .map_init(
            || zones.scratch(),
            |scratch, &slot| {
                let fresh = Cell::StringArray(zones.zones_of(&layer.geometries[slot], scratch));
                (layer.columns[zi].cell_at(slot) != fresh).then(|| {
                    let mut cells = cells_at(layer, slot);
                    cells[zi] = fresh;
                    LayerEdit::Put {
                        id: layer.ids[slot].clone(),
                        geometry: layer.geometries[slot].clone(),
                        cells,
                    }
                })
            },
        )
        .flatten()
        .collect()
}

/// The cells of the feature in `slot`, read back from its columns.
fn cells_at(layer: &Layer, slot: usize) -> Vec<Cell> {
    layer.columns.iter().map(|c| c.cell_at(slot)).collect()
}

/// The derived cells of a feature with `geometry`, edited at `stamp` (ms, text).
fn derive(
    layer: &Layer,
    cells: &mut [Option<Cell>],
    geometry: &geo::Geometry<f64>,
    zones: &ZoneIndex,
    stamp: &(i64, String),
) {
    for (i, f) in layer.fields.iter().enumerate() {
        if !f.derived {
            continue;
        }
        cells[i] = Some(match f.name.as_str() {
            AREA_FIELD => area_of(geometry).map_or(Cell::Null, Cell::Number),
            ZONES_FIELD => Cell::StringArray(zones.zones_of(geometry, &mut zones.scratch())),
            UPDATED_FIELD => Cell::Timestamp(stamp.0, stamp.1.clone().into()),
            _ => Cell::Null,
        });
    }
}

/// The largest integer id a client may choose: 2^53 − 1.
const MAX_SAFE_ID: u64 = (1 << 53) - 1;

/// The id a new feature gets: the body's, else one made up (the next integer for a layer of
/// integer ids, else a random one).
/// `floor`: the largest integer id the change log has ever held for the layer (features
/// created and deleted before a restart have no slot left, and their ids must not come back).
fn new_id(
    layer: &Layer,
    body: &Map<String, Json>,
    floor: Option<i64>,
) -> Result<FeatureId, EditError> {
    match body.get("id") {
        Some(Json::String(s)) if !s.is_empty() => return Ok(FeatureId::Str(s.clone())),
        Some(Json::Number(n)) => {
            // Integer ids stay within what every JSON client reads exactly (JavaScript's
            // 2^53 − 1), which also leaves the next id (max + 1) room to grow.
            return n
                .as_i64()
                .filter(|i| i.unsigned_abs() <= MAX_SAFE_ID)
                .map(FeatureId::Int)
                .ok_or_else(|| {
                    EditError::Body(BodyError::NotAFeature(format!(
                        "\"id\" must be a string or a whole number within ±{MAX_SAFE_ID}"
                    )))
                });
        }
        None | Some(Json::Null) => {}
        Some(_) => {
            return Err(EditError::Body(BodyError::NotAFeature(
                "\"id\" must be a string or a whole number".into(),
            )))
        }
    }
    let ints = layer
        .live_slots()
        .next()
        .is_some_and(|s| matches!(layer.ids[s], FeatureId::Int(_)));
    if ints {
        let max = layer
            .ids
            .iter()
            .filter_map(|i| {
                if let FeatureId::Int(n) = i {
                    Some(*n)
                } else {
                    None
                }
            })
            .max()
            .unwrap_or(0)
            .max(floor.unwrap_or(0));
        // A seed file may hold an id near i64::MAX: then the lowest unused positive one.
        let next = max
            .checked_add(1)
            .filter(|&n| n as u64 <= MAX_SAFE_ID)
            .unwrap_or_else(|| {
                let used: std::collections::HashSet<i64> = layer
                    .ids
                    .iter()
                    .filter_map(|i| match i {
                        FeatureId::Int(n) => Some(*n),
                        FeatureId::Str(_) => None,
                    })
                    .collect();
                (1..).find(|n| !used.contains(n)).unwrap_or(1)
            });
        return Ok(FeatureId::Int(next));
    }
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| EditError::Storage(format!("no randomness: {e}")))?;
    Ok(FeatureId::Str(format!(
        "{}-{}",
        layer.id,
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )))
}

fn last_modified(layer: &Layer, slot: usize) -> Option<i64> {
    last_modified_ms(layer, slot).map(|t| t.div_euclid(1000))
}

/// `updated_at` in milliseconds since the epoch.
fn last_modified_ms(layer: &Layer, slot: usize) -> Option<i64> {
    let i = layer.field_index(UPDATED_FIELD)?;
    match &layer.columns[i] {
        crate::index::Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| *t),
        _ => None,
    }
}

fn feature_json(layer: &Layer, slot: usize) -> Json {
    serde_json::from_slice(&feature_bytes(layer, slot)).unwrap_or(Json::Null)
}

/// The working state of a batch: the next version of each layer it touched.
struct Working<'a> {
    base: &'a Snapshot,
    layers: HashMap<String, Layer>,
    touched: Vec<(String, geo::Rect<f64>)>,
    /// Features whose derived `zones` a zone's edit changed: not changes of their own, but a
    /// ledger that keeps rows (PostgreSQL) rewrites them.
    rezoned: Vec<(String, String)>,
}

impl Working<'_> {
    fn layer(&mut self, id: &str) -> Option<&Layer> {
        if !self.layers.contains_key(id) {
            let l = self.base.layer(id)?;
            self.layers.insert(id.to_owned(), (**l).clone());
        }
        self.layers.get(id)
    }

    fn zones(&self) -> Vec<Layer> {
        self.base
            .catalog()
            .layers()
            .iter()
            .filter(|l| l.meta.zone)
            .map(|l| {
                self.layers
                    .get(l.id.as_str())
                    .cloned()
                    .unwrap_or_else(|| (**l).clone())
            })
            .collect()
    }

    /// Checks and applies one edit; the change to record and what to answer.
    fn apply(
        &mut self,
        req: &EditRequest,
        stamp: &(i64, String),
        id_floor: Option<i64>,
    ) -> Result<(Change, Edited), EditError> {
        let cid = req.collection.clone();
        let zones_owned = self.zones();
        let base = self.base;
        let layer = self
            .layer(&cid)
            .ok_or_else(|| EditError::NoSuchCollection(cid.clone()))?;
        if !layer.meta.editable {
            return Err(EditError::NotEditable(cid));
        }
        let vocab = |id: &str| base.catalog().vocabulary(id);
        let existing = |id: &str| layer.slot_of(id);
        let check_condition = |slot: usize| -> Result<(), EditError> {
            let etag = feature_etag(layer, slot);
            let ok = match &req.condition {
                Condition::Missing => return Err(EditError::PreconditionRequired),
                Condition::IfMatch(tags) => tags.iter().any(|t| t == "*" || t == &etag),
                // An HTTP date names a whole second, and versions are kept to the millisecond:
                // a change within the named second may be one the client never saw, so only a
                // version from an earlier second passes (If-Match is exact).
                Condition::IfUnmodifiedSince(t) => {
                    last_modified_ms(layer, slot).is_some_and(|m| m < t.saturating_mul(1000))
                }
                Condition::NotApplicable => true,
            };
            if ok {
                Ok(())
            } else {
                Err(EditError::PreconditionFailed {
                    etag,
                    current: feature_json(layer, slot),
                })
            }
        };
        let zones: Vec<&Layer> = if layer.meta.zone {
            Vec::new()
        } else {
            zones_owned.iter().collect()
        };
        let zones = ZoneIndex::new(&zones);
        let put = |id: FeatureId, body: &Map<String, Json>| -> Result<LayerEdit, EditError> {
            let checked = check_feature(layer, vocab, body).map_err(EditError::Body)?;
            let mut cells = checked.cells;
            derive(layer, &mut cells, &checked.geometry, &zones, stamp);
            Ok(LayerEdit::Put {
                id,
                geometry: checked.geometry,
                cells: cells.into_iter().map(|c| c.unwrap_or(Cell::Null)).collect(),
            })
        };
        let (edit, operation, before, old_rect, id, created) = match &req.action {
            EditAction::Create(body) => {
                let id = new_id(layer, body, id_floor)?;
                if existing(&id.to_string()).is_some() {
                    return Err(EditError::Exists(id.to_string()));
                }
                (
                    put(id.clone(), body)?,
                    Operation::Create,
                    None,
                    None,
                    id,
                    true,
                )
            }
            EditAction::Replace(id, body) => {
                let slot = existing(id).ok_or_else(|| EditError::NotFound(id.clone()))?;
                check_condition(slot)?;
                let fid = layer.ids[slot].clone();
                (
                    put(fid.clone(), body)?,
                    Operation::Replace,
                    Some(feature_json(layer, slot)),
                    Some(layer.envelope(slot)),
                    fid,
                    false,
                )
            }
            EditAction::Update(id, patch) => {
                let slot = existing(id).ok_or_else(|| EditError::NotFound(id.clone()))?;
                check_condition(slot)?;
                if let Some(pid) = patch.get("id").filter(|v| !v.is_null()) {
                    let same = match pid {
                        Json::String(s) => s == id,
                        Json::Number(n) => &n.to_string() == id,
                        _ => false,
                    };
                    if !same {
                        return Err(EditError::IdChange(pid.to_string()));
                    }
                }
                let current = feature_json(layer, slot);
                let mut merged = current.clone();
                // Derived properties are the server's: dropped before the patch, recomputed after.
                if let Some(Json::Object(p)) = merged.get_mut("properties") {
                    for f in layer.fields.iter().filter(|f| f.derived) {
                        p.remove(&f.name);
                    }
                    for f in layer.fields.iter().filter(|f| !f.derived) {
                        if p.get(&f.name).is_some_and(Json::is_null) {
                            p.remove(&f.name);
                        }
                    }
                }
                merge_patch(&mut merged, patch);
                let Json::Object(body) = merged else {
                    return Err(EditError::Body(BodyError::NotAFeature(
                        "the patch must be a JSON object".into(),
                    )));
                };
                let fid = layer.ids[slot].clone();
                (
                    put(fid.clone(), &body)?,
                    Operation::Update,
                    Some(current),
                    Some(layer.envelope(slot)),
                    fid,
                    false,
                )
            }
            EditAction::Delete(id) => {
                let slot = existing(id).ok_or_else(|| EditError::NotFound(id.clone()))?;
                check_condition(slot)?;
                let fid = layer.ids[slot].clone();
                (
                    LayerEdit::Delete { id: fid.clone() },
                    Operation::Delete,
                    Some(feature_json(layer, slot)),
                    Some(layer.envelope(slot)),
                    fid,
                    false,
                )
            }
        };
        self.place(&cid, &edit, old_rect, stamp)
            .map_err(EditError::Storage)?;
        let next = self
            .layers
            .get(&cid)
            .ok_or_else(|| EditError::NoSuchCollection(cid.clone()))?;
        let key = id.to_string();
        let slot = next.slot_of(&key);
        let after = slot.map(|s| feature_json(next, s));
        let etag = slot.map(|s| feature_etag(next, s));
        let modified = slot.and_then(|s| last_modified(next, s));
        let change = Change {
            seq: 0,
            collection: cid,
            feature_id: key.clone(),
            operation,
            principal: req.principal.clone(),
            at: stamp.1.clone(),
            before,
            after: after.clone(),
            request: match &req.action {
                EditAction::Create(_) => req.request.clone(),
                _ => None,
            },
        };
        let edited = Edited {
            id: key,
            feature: after,
            etag,
            last_modified: modified,
            created,
            change: change.clone(),
        };
        Ok((change, edited))
    }

    /// Applies a change another server recorded: its feature as it was stored (derived values
    /// recomputed as at start, its `updated_at` kept).
    fn replay(&mut self, change: &Change) -> Result<(), String> {
        let zones_owned = self.zones();
        let base = self.base;
        let stamp = now();
        let layer = self
            .layer(&change.collection)
            .ok_or_else(|| format!("no collection {:?}", change.collection))?;
        let zones: Vec<&Layer> = if layer.meta.zone {
            Vec::new()
        } else {
            zones_owned.iter().collect()
        };
        let zones = ZoneIndex::new(&zones);
        let stored = Stored {
            collection: change.collection.clone(),
            feature_id: change.feature_id.clone(),
            feature: change.after.clone(),
        };
        let old_rect = layer.slot_of(&change.feature_id).map(|s| layer.envelope(s));
        let Some(edit) = stored_edit(layer, base.catalog(), &zones, &stored)? else {
            return Ok(());
        };
        self.place(&change.collection, &edit, old_rect, &stamp)
    }

    /// Applies a checked `edit` to collection `cid` (whose feature was at `old_rect`) and notes
    /// where it changed things; a zone's edit recomputes the others' `zones` there.
    fn place(
        &mut self,
        cid: &str,
        edit: &LayerEdit,
        old_rect: Option<geo::Rect<f64>>,
        stamp: &(i64, String),
    ) -> Result<(), String> {
        let layer = self
            .layer(cid)
            .ok_or_else(|| format!("no collection {cid:?}"))?;
        let new_rect = match edit {
            LayerEdit::Put { geometry, .. } => geometry.bounding_rect(),
            LayerEdit::Delete { .. } => None,
        };
        let is_zone = layer.meta.zone;
        let next = layer
            .apply(std::slice::from_ref(edit))
            .map_err(|e| e.to_string())?;
        self.layers.insert(cid.to_owned(), next);
        for r in [old_rect, new_rect].into_iter().flatten() {
            self.touched.push((cid.to_owned(), r));
            if is_zone {
                self.rezone(r, stamp);
            }
        }
        Ok(())
    }

    /// A zone changed within `area`: the `zones` of other layers' features there are recomputed
    /// (derived values, not changes of their own).
    fn rezone(&mut self, area: geo::Rect<f64>, _stamp: &(i64, String)) {
        let zones_owned = self.zones();
        let zones: Vec<&Layer> = zones_owned.iter().collect();
        let zones = ZoneIndex::new(&zones);
        let others: Vec<String> = self
            .base
            .catalog()
            .layers()
            .iter()
            .filter(|l| !l.meta.zone)
            .map(|l| l.id.to_string())
            .collect();
        for id in others {
            let Some(layer) = self.layer(&id) else {
                continue;
            };
            let Some(zi) = layer
                .field_index(ZONES_FIELD)
                .filter(|&i| layer.fields[i].derived)
            else {
                continue;
            };
            let slots: Vec<usize> = layer
                .slots_intersecting_rect(area)
                .map(|s| s as usize)
                .filter(|&s| layer.is_live(s))
                .collect();
            let edits = rezoned(layer, &slots, zi, &zones);
            if edits.is_empty() {
                continue;
            }
            if let Ok(next) = layer.apply(&edits) {
                for e in &edits {
                    if let LayerEdit::Put { id: fid, .. } = e {
                        self.rezoned.push((id.clone(), fid.to_string()));
                    }
                }
                self.touched.push((id.clone(), area));
                self.layers.insert(id, next);
            }
        }
    }
}

/// The answer to a create repeated with the `Idempotency-Key` of `first`, the change it
/// made: that change again (the feature as it was created; its ETag while it is still that
/// version), or a 422 when the body differs from the first one.
fn repeated(base: &Snapshot, rk: &RequestKey, first: Change) -> Result<Edited, EditError> {
    if first.request.as_ref().map(|r| &r.body_hash) != Some(&rk.body_hash) {
        return Err(EditError::KeyReused);
    }
    let current = base
        .layer(&first.collection)
        .and_then(|l| Some((l, l.slot_of(&first.feature_id)?)));
    let unchanged = current.filter(|(l, s)| Some(feature_json(l, *s)) == first.after);
    Ok(Edited {
        id: first.feature_id.clone(),
        feature: first.after.clone(),
        etag: unchanged.map(|(l, s)| feature_etag(l, s)),
        last_modified: unchanged.and_then(|(l, s)| last_modified(l, s)),
        created: true,
        change: first,
    })
}

/// The writer thread: the only code that makes new versions of the data.
struct Writer {
    ledger: Box<dyn Ledger>,
    /// Per collection, the largest integer id in the change log when the writer first needed
    /// it (later ids live on in the layers, as slots, until the next restart).
    id_floors: HashMap<String, Option<i64>>,
    current: Arc<RwLock<Arc<Snapshot>>>,
    status: Option<Arc<StoreStatus>>,
    queued: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = Vec::new();
            let mut catch_up = false;
            let mut next = Some(first);
            while let Some(job) = next {
                match job {
                    Job::Edit { request, reply } => batch.push((*request, reply)),
                    Job::CatchUp => catch_up = true,
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
            if batch.is_empty() {
                self.catch_up();
            } else {
                // A batch catches up first anyway (under the ledger's lock).
                self.edit(batch);
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
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
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
        let mut working = Working {
            base,
            layers: HashMap::new(),
            touched: Vec::new(),
            rezoned: Vec::new(),
        };
        for c in changes {
            if let Err(reason) = working.replay(c) {
                tracing::warn!(change = c.seq, collection = %c.collection, feature = %c.feature_id, %reason, "a recorded change does not fit the data and was not applied");
            }
        }
        if let Some(s) = &self.status {
            s.applied(last, 0, changes.len() as u64);
        }
        let Working {
            layers, touched, ..
        } = working;
        Some(
            base.next(layers.into_values().collect(), touched)
                .at_change(last),
        )
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
        let mut working = Working {
            base,
            layers: HashMap::new(),
            touched: Vec::new(),
            rezoned: Vec::new(),
        };
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
                let mut seqs = recorded.into_iter();
                for (o, _) in outcomes.iter_mut().zip(&fresh).filter(|(_, f)| **f) {
                    if let (Ok(o), Some(c)) = (o, seqs.next()) {
                        o.change = c;
                    }
                }
                if let Some(s) = &self.status {
                    s.applied(last, n, 0);
                }
                let Working {
                    layers, touched, ..
                } = working;
                self.publish(
                    base.next(layers.into_values().collect(), touched)
                        .at_change(last),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "an edit batch could not be stored; nothing of it was applied");
                self.failed(&e);
                if let Some(s) = &self.status {
                    s.refused(n);
                }
                let refusal = self.refusal(&e);
                for (o, _) in outcomes.iter_mut().zip(&fresh).filter(|(_, f)| **f) {
                    *o = Err(refusal.clone());
                }
            }
        }
        outcomes
    }
}

/// The seed with the stored edits laid over it (zones first, so the others' `zones` follow
/// them).
pub fn overlay(catalog: Catalog, stored: Vec<Stored>, report: &mut OpenReport) -> Catalog {
    let mut by_collection: HashMap<String, Vec<Stored>> = HashMap::new();
    for s in stored {
        by_collection
            .entry(s.collection.clone())
            .or_default()
            .push(s);
    }
    let mut catalog = catalog;
    let mut zone_edited = false;
    let order: Vec<(String, bool)> = {
        let mut v: Vec<(String, bool)> = catalog
            .layers()
            .iter()
            .map(|l| (l.id.to_string(), l.meta.zone))
            .collect();
        v.sort_by_key(|(_, zone)| !zone);
        v
    };
    for (id, is_zone) in order {
        let Some(rows) = by_collection.remove(&id) else {
            continue;
        };
        let Some(layer) = catalog.layer(&id).map(|l| (**l).clone()) else {
            continue;
        };
        let zones_owned: Vec<Layer> = catalog
            .layers()
            .iter()
            .filter(|l| l.meta.zone)
            .map(|l| (**l).clone())
            .collect();
        let zones: Vec<&Layer> = if is_zone {
            Vec::new()
        } else {
            zones_owned.iter().collect()
        };
        let zones = ZoneIndex::new(&zones);
        let mut edits = Vec::new();
        for row in rows {
            match stored_edit(&layer, &catalog, &zones, &row) {
                Ok(Some(e)) => edits.push(e),
                Ok(None) => {}
                Err(reason) => report
                    .skipped
                    .push(format!("{}/{}: {reason}", row.collection, row.feature_id)),
            }
        }
        report.applied += edits.len();
        match layer.apply(&edits) {
            Ok(next) => {
                catalog = catalog.with_layer(next);
                zone_edited |= is_zone && !edits.is_empty();
            }
            Err(e) => report.skipped.push(format!("{id}: {e}")),
        }
    }
    for (id, _) in by_collection {
        report
            .skipped
            .push(format!("{id}: no such collection in the seed"));
    }
    if zone_edited {
        catalog = rezone_all(catalog);
    }
    catalog
}

/// A stored feature as an edit of `layer` (`None`: a delete of a feature the seed lacks).
fn stored_edit(
    layer: &Layer,
    catalog: &Catalog,
    zones: &ZoneIndex,
    row: &Stored,
) -> Result<Option<LayerEdit>, String> {
    // The stored feature says what kind its id was (a number or a string), whatever kind the
    // layer's other ids are; a delete of a feature the seed lacks has no feature to ask.
    let stored_kind = row
        .feature
        .as_ref()
        .and_then(|f| f.get("id"))
        .map(Json::is_number);
    let id = layer
        .slot_of(&row.feature_id)
        .map(|s| layer.ids[s].clone())
        .unwrap_or_else(|| match (row.feature_id.parse::<i64>(), stored_kind) {
            (Ok(n), Some(true)) => FeatureId::Int(n),
            (Ok(n), None)
                if layer
                    .live_slots()
                    .next()
                    .is_some_and(|s| matches!(layer.ids[s], FeatureId::Int(_))) =>
            {
                FeatureId::Int(n)
            }
            _ => FeatureId::Str(row.feature_id.clone()),
        });
    let Some(Json::Object(feature)) = &row.feature else {
        return Ok(layer
            .slot_of(&row.feature_id)
            .map(|_| LayerEdit::Delete { id }));
    };
    // Derived values are recomputed, but `updated_at` is the edit's own and is kept.
    let updated = feature
        .get("properties")
        .and_then(|p| p.get(UPDATED_FIELD))
        .and_then(Json::as_str)
        .and_then(|s| Some((crate::model::parse_timestamp(s)?, s.to_owned())));
    let mut body = feature.clone();
    if let Some(Json::Object(p)) = body.get_mut("properties") {
        for f in layer.fields.iter().filter(|f| f.derived) {
            p.remove(&f.name);
        }
    }
    let vocab = |v: &str| catalog.vocabulary(v);
    let checked = check_feature(layer, vocab, &body).map_err(|e| e.to_string())?;
    let mut cells = checked.cells;
    derive(
        layer,
        &mut cells,
        &checked.geometry,
        zones,
        &updated.clone().unwrap_or_else(now),
    );
    if let (Some(i), None) = (layer.field_index(UPDATED_FIELD), &updated) {
        if layer.fields[i].ty == FieldType::Timestamp {
            cells[i] = Some(Cell::Null);
        }
    }
    Ok(Some(LayerEdit::Put {
        id,
        geometry: checked.geometry,
        cells: cells.into_iter().map(|c| c.unwrap_or(Cell::Null)).collect(),
    }))
}

/// Recomputes every non-zone layer's `zones` (after edited zones were laid over the seed).
fn rezone_all(mut catalog: Catalog) -> Catalog {
    let zones_owned: Vec<Layer> = catalog
        .layers()
        .iter()
        .filter(|l| l.meta.zone)
        .map(|l| (**l).clone())
        .collect();
    let zones: Vec<&Layer> = zones_owned.iter().collect();
    let zones = ZoneIndex::new(&zones);
    let others: Vec<Layer> = catalog
        .layers()
        .iter()
        .filter(|l| !l.meta.zone)
        .map(|l| (**l).clone())
        .collect();
    for layer in others {
        let Some(zi) = layer
            .field_index(ZONES_FIELD)
            .filter(|&i| layer.fields[i].derived)
        else {
            continue;
        };
        let slots: Vec<usize> = layer.live_slots().collect();
        let edits = rezoned(&layer, &slots, zi, &zones);
        if !edits.is_empty() {
            if let Ok(next) = layer.apply(&edits) {
                catalog = catalog.with_layer(next);
            }
        }
    }
    catalog
}
