//! The editable store: the seed data in memory, edits kept durably in a state store
//! (`journal`), applied in place without rebuilding a layer.
//!
//! Writes go through one writer thread. It takes the edits waiting (up to [`BATCH`]), checks and
//! applies each in order to the next version of the layers (so a later edit in a batch sees an
//! earlier one), records them all in one SQLite transaction (one fsync: group commit), and only
//! then publishes the new snapshot and answers each writer. A refused edit is answered at once
//! and leaves no trace; a failed commit publishes nothing and answers every edit of the batch
//! with an error. Readers take the current snapshot and never wait for the writer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, RwLock};

use geo::BoundingRect;
use rusqlite::Connection;
use serde_json::{Map, Value as Json};

use super::edit::{merge_patch, Condition, EditAction, EditError, EditRequest, Edited};
use super::{FeatureStore, Snapshot};
use crate::encode::{feature_bytes, feature_etag};
use crate::index::{Catalog, Cell, Layer, LayerEdit};
use crate::ingest::{
    area_of, check_feature, zones_of, BodyError, AREA_FIELD, UPDATED_FIELD, ZONES_FIELD,
};
use crate::journal::{self, Change, Journal, JournalError, Operation, Stored, TokenRecord};
use crate::model::{FeatureId, FieldType};

/// Most edits committed in one transaction.
pub const BATCH: usize = 512;

struct Job {
    request: EditRequest,
    reply: SyncSender<Result<Edited, EditError>>,
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
    reads: Mutex<Connection>,
    /// Held for the store's life: one server per state directory (two would each keep their
    /// own idea of the data).
    _lock: std::fs::File,
}

/// The lock file of a state directory.
const LOCK_FILE: &str = "server.lock";

fn now() -> (i64, String) {
    let t = chrono::Utc::now();
    (
        t.timestamp_millis(),
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

impl JournaledStore {
    /// Opens the state store in `dir` over the seed `catalog`, lays the stored edits over it,
    /// and starts the writer. `seeds` are `(collection, fingerprint)` of the seed files.
    pub fn open(
        catalog: Catalog,
        dir: &Path,
        seeds: &[(String, String)],
    ) -> Result<(Self, OpenReport), JournalError> {
        let mut journal = Journal::open(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| JournalError::Dir {
                path: lock_path.display().to_string(),
                source,
            })?;
        if lock.try_lock().is_err() {
            return Err(JournalError::Invalid(format!(
                "{}: another server is using this state directory",
                dir.display()
            )));
        }
        let (_, stamp) = now();
        let mut report = OpenReport {
            seeds_changed: journal.check_seeds(seeds, &stamp)?,
            last_seq: journal.last_seq()?,
            ..OpenReport::default()
        };
        let catalog = overlay(catalog, journal.stored()?, &mut report);
        let snapshot = Arc::new(Snapshot::new(catalog, 1));
        let current = Arc::new(RwLock::new(snapshot));
        let reads = Mutex::new(journal.reader()?);
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&current);
        std::thread::Builder::new()
            .name("edit-writer".into())
            .spawn(move || writer(journal, rx, shared))
            .map_err(|e| JournalError::Invalid(format!("cannot start the writer thread: {e}")))?;
        Ok((
            JournaledStore {
                current,
                jobs: Mutex::new(tx),
                reads,
                _lock: lock,
            },
            report,
        ))
    }

    /// Submits an edit and waits until it is on disk (or refused). Blocking: call it off the
    /// async workers.
    pub fn edit(&self, request: EditRequest) -> Result<Edited, EditError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Job { request, reply });
        if sent.is_err() {
            return Err(EditError::Storage("the writer has stopped".into()));
        }
        answer.recv().unwrap_or_else(|_| {
            Err(EditError::Storage(
                "the writer stopped before answering".into(),
            ))
        })
    }

    fn reads(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The changes of one feature, oldest first.
    pub fn history(&self, collection: &str, id: &str) -> Result<Vec<Change>, JournalError> {
        journal::history(&self.reads(), collection, id)
    }

    /// Changes after `since`, oldest first, at most `limit`.
    pub fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, JournalError> {
        journal::changes_since(&self.reads(), since, limit)
    }

    /// The token `presented` is, if it is one (checked in constant time; revoked and expired
    /// ones are returned too, for the caller to refuse).
    pub fn token(&self, presented: &str) -> Result<Option<TokenRecord>, JournalError> {
        journal::tokens::find(&self.reads(), presented)
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

/// The cells of the feature in `slot`, read back from its columns.
/// The edit that gives `slot` the zones it lies in now (`zi`: the `zones` column), if they
/// changed.
fn rezoned(layer: &Layer, slot: usize, zi: usize, zones: &[&Layer]) -> Option<LayerEdit> {
    let mut cells = cells_at(layer, slot);
    let fresh = Cell::StringArray(zones_of(&layer.geometries[slot], zones));
    (cells[zi] != fresh).then(|| {
        cells[zi] = fresh;
        LayerEdit::Put {
            id: layer.ids[slot].clone(),
            geometry: layer.geometries[slot].clone(),
            cells,
        }
    })
}

fn cells_at(layer: &Layer, slot: usize) -> Vec<Cell> {
    layer.columns.iter().map(|c| c.cell_at(slot)).collect()
}

/// The derived cells of a feature with `geometry`, edited at `stamp` (ms, text).
fn derive(
    layer: &Layer,
    cells: &mut [Option<Cell>],
    geometry: &geo::Geometry<f64>,
    zones: &[&Layer],
    stamp: &(i64, String),
) {
    for (i, f) in layer.fields.iter().enumerate() {
        if !f.derived {
            continue;
        }
        cells[i] = Some(match f.name.as_str() {
            AREA_FIELD => area_of(geometry).map_or(Cell::Null, Cell::Number),
            ZONES_FIELD => Cell::StringArray(zones_of(geometry, zones)),
            UPDATED_FIELD => Cell::Timestamp(stamp.0, stamp.1.clone().into()),
            _ => Cell::Null,
        });
    }
}

/// The id a new feature gets: the body's, else one made up (the next integer for a layer of
/// integer ids, else a random one).
fn new_id(layer: &Layer, body: &Map<String, Json>) -> Result<FeatureId, EditError> {
    match body.get("id") {
        Some(Json::String(s)) if !s.is_empty() => return Ok(FeatureId::Str(s.clone())),
        Some(Json::Number(n)) => {
            return n.as_i64().map(FeatureId::Int).ok_or_else(|| {
                EditError::Body(BodyError::NotAFeature(
                    "\"id\" must be a string or a whole number".into(),
                ))
            })
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
            .unwrap_or(0);
        return Ok(FeatureId::Int(max + 1));
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
    let i = layer.field_index(UPDATED_FIELD)?;
    match &layer.columns[i] {
        crate::index::Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| t.div_euclid(1000)),
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
                Condition::IfUnmodifiedSince(t) => {
                    last_modified(layer, slot).is_some_and(|m| m <= *t)
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
                let id = new_id(layer, body)?;
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
        let new_rect = match &edit {
            LayerEdit::Put { geometry, .. } => geometry.bounding_rect(),
            LayerEdit::Delete { .. } => None,
        };
        let is_zone = layer.meta.zone;
        let next = layer
            .apply(std::slice::from_ref(&edit))
            .map_err(|e| EditError::Storage(e.to_string()))?;
        let key = id.to_string();
        let slot = next.slot_of(&key);
        let after = slot.map(|s| feature_json(&next, s));
        let etag = slot.map(|s| feature_etag(&next, s));
        let modified = slot.and_then(|s| last_modified(&next, s));
        self.layers.insert(cid.clone(), next);
        for r in [old_rect, new_rect].into_iter().flatten() {
            self.touched.push((cid.clone(), r));
            if is_zone {
                self.rezone(r, stamp);
            }
        }
        let change = Change {
            seq: 0,
            collection: cid,
            feature_id: key.clone(),
            operation,
            principal: req.principal.clone(),
            at: stamp.1.clone(),
            before,
            after: after.clone(),
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

    /// A zone changed within `area`: the `zones` of other layers' features there are recomputed
    /// (derived values, not changes of their own).
    fn rezone(&mut self, area: geo::Rect<f64>, _stamp: &(i64, String)) {
        let zones_owned = self.zones();
        let zones: Vec<&Layer> = zones_owned.iter().collect();
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
            let edits: Vec<LayerEdit> = layer
                .slots_intersecting_rect(area)
                .map(|s| s as usize)
                .filter(|&s| layer.is_live(s))
                .filter_map(|s| rezoned(layer, s, zi, &zones))
                .collect();
            if edits.is_empty() {
                continue;
            }
            if let Ok(next) = layer.apply(&edits) {
                self.touched.push((id.clone(), area));
                self.layers.insert(id, next);
            }
        }
    }
}

fn writer(mut journal: Journal, jobs: Receiver<Job>, current: Arc<RwLock<Arc<Snapshot>>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let base = Arc::clone(
            &current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let stamp = now();
        let mut working = Working {
            base: &base,
            layers: HashMap::new(),
            touched: Vec::new(),
        };
        let mut outcomes: Vec<Result<Edited, EditError>> = Vec::with_capacity(batch.len());
        let mut changes = Vec::new();
        for job in &batch {
            // A refused edit leaves the working state as it was: `apply` changes it only once
            // everything is checked.
            match working.apply(&job.request, &stamp) {
                Ok((change, edited)) => {
                    changes.push(change);
                    outcomes.push(Ok(edited));
                }
                Err(e) => outcomes.push(Err(e)),
            }
        }
        if !changes.is_empty() {
            match journal.commit(changes) {
                Ok(recorded) => {
                    let mut seqs = recorded.into_iter();
                    for o in outcomes.iter_mut().flatten() {
                        if let Some(c) = seqs.next() {
                            o.change = c;
                        }
                    }
                    let Working {
                        layers, touched, ..
                    } = working;
                    let next = Arc::new(base.next(layers.into_values().collect(), touched));
                    *current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
                }
                Err(e) => {
                    tracing::error!(error = %e, "an edit batch could not be stored; nothing of it was applied");
                    for o in outcomes.iter_mut() {
                        if o.is_ok() {
                            *o = Err(EditError::Storage(
                                "the state store refused the write".into(),
                            ));
                        }
                    }
                }
            }
        }
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }
}

/// The seed with the stored edits laid over it (zones first, so the others' `zones` follow
/// them).
fn overlay(catalog: Catalog, stored: Vec<Stored>, report: &mut OpenReport) -> Catalog {
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
    zones: &[&Layer],
    row: &Stored,
) -> Result<Option<LayerEdit>, String> {
    let id = layer
        .slot_of(&row.feature_id)
        .map(|s| layer.ids[s].clone())
        .unwrap_or_else(|| match row.feature_id.parse::<i64>() {
            Ok(n)
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
        let edits: Vec<LayerEdit> = layer
            .live_slots()
            .filter_map(|s| rezoned(&layer, s, zi, &zones))
            .collect();
        if !edits.is_empty() {
            if let Ok(next) = layer.apply(&edits) {
                catalog = catalog.with_layer(next);
            }
        }
    }
    catalog
}
