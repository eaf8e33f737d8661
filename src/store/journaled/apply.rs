//! Checking and applying one edit to the next version of the layers (the batch's working
//! state), and replaying one another server recorded.

use std::collections::HashMap;
use std::sync::Arc;

use geo::BoundingRect;
use serde_json::{Map, Value as Json};

use super::now;
use crate::encode::{feature_bytes, feature_etag};
use crate::index::{Cell, Layer, LayerEdit};
use crate::ingest::{check_feature, derive_cells, rezoned, BodyError, ZoneIndex, UPDATED_FIELD};
use crate::model::FeatureId;
use crate::query::names;
use crate::record::{Change, Operation, RequestKey, Stored};
use crate::store::edit::{merge_patch, Condition, EditAction, EditError, EditRequest, Edited};
use crate::store::Snapshot;

use super::new_id::new_id;
use super::overlay::stored_edit;
use super::scope::ScopeCache;

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

/// A feature's geometry and own (not derived) properties: what a revert compares, since
/// derived values (`zones`, `updated_at`) move without an edit of the feature.
pub(super) fn own_parts(
    layer: &Layer,
    feature: Option<&Json>,
) -> Option<(Json, Map<String, Json>)> {
    let f = feature?;
    let mut props = f
        .get("properties")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    for d in layer.fields.iter().filter(|f| f.derived) {
        props.remove(&d.name);
    }
    props.retain(|_, v| !v.is_null());
    Some((f.get("geometry").cloned().unwrap_or(Json::Null), props))
}

pub(super) fn feature_json(layer: &Layer, slot: usize) -> Json {
    serde_json::from_slice(&feature_bytes(layer, slot)).unwrap_or(Json::Null)
}

/// The working state of a batch: the next version of each layer it touched.
pub(super) struct Working<'a> {
    pub(super) base: &'a Snapshot,
    pub(super) layers: HashMap<String, Layer>,
    pub(super) touched: Vec<(String, geo::Rect<f64>)>,
    /// The features the batch wrote, as (collection, id): their new values are all that can
    /// widen a collection's temporal extent.
    written: Vec<(String, String)>,
    /// Features whose derived `zones` a zone's edit changed: not changes of their own, but a
    /// ledger that keeps rows (PostgreSQL) rewrites them.
    pub(super) rezoned: Vec<(String, String)>,
    /// The zones of `base`, indexed once for every edit of the batch while no zone is edited
    /// in it: a batch of 10,000 carriers would otherwise clone the zone layers and prepare
    /// their outlines 10,000 times.
    pub(super) base_zones: Option<ZoneIndex<'a>>,
    /// The scopes of the batch's edits, made ready once.
    scopes: ScopeCache,
}

impl<'a> Working<'a> {
    /// A batch's working state over `base`.
    pub(super) fn new(base: &'a Snapshot) -> Self {
        Working {
            base,
            layers: HashMap::new(),
            touched: Vec::new(),
            written: Vec::new(),
            rezoned: Vec::new(),
            base_zones: None,
            scopes: ScopeCache::default(),
        }
    }

    /// The version after the batch: `base` with the layers it changed (their indexes
    /// rebuilt if enough slots were edited, see [`Layer::settled`]).
    pub(super) fn finish(self) -> Snapshot {
        let layers: Vec<Layer> = self.layers.into_values().map(Layer::settled).collect();
        // A layer whose names changed enough starts a new name index; built in the background
        // now, the next person to search does not wait for it (a second or more at a million).
        let renamed: Vec<String> = layers
            .iter()
            .filter(|l| {
                !l.text_base().is_built()
                    && self
                        .base
                        .layer(l.id.as_str())
                        .is_some_and(|old| old.text_base().is_built())
            })
            .map(|l| l.id.as_str().to_owned())
            .collect();
        let next = self.base.next(layers, self.touched, &self.written);
        let rebuild: Vec<Arc<Layer>> = renamed
            .iter()
            .filter_map(|id| next.layer(id).cloned())
            .collect();
        if !rebuild.is_empty() {
            std::thread::spawn(move || rebuild.iter().for_each(|l| names::prepare(l)));
        }
        next
    }

    /// Whether a zone layer was edited in this batch (the base's zones are then stale).
    fn zone_edited(&self) -> bool {
        self.layers.values().any(|l| l.meta.zone)
    }

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
    pub(super) fn apply(
        &mut self,
        req: &EditRequest,
        stamp: &(i64, String),
        id_floor: Option<i64>,
    ) -> Result<(Change, Edited), EditError> {
        let cid = req.collection.clone();
        let base = self.base;
        let fresh_zones = self.zone_edited() || base.layer(&cid).is_some_and(|l| l.meta.zone);
        let zones_owned = if fresh_zones {
            self.zones()
        } else {
            Vec::new()
        };
        if !fresh_zones && self.base_zones.is_none() {
            let of_base: Vec<&'a Layer> = base
                .catalog()
                .layers()
                .iter()
                .filter(|l| l.meta.zone)
                .map(|l| &**l)
                .collect();
            self.base_zones = Some(ZoneIndex::new(&of_base));
        }
        if self.layer(&cid).is_none() {
            return Err(EditError::NoSuchCollection(cid));
        }
        let Some(layer) = self.layers.get(&cid) else {
            return Err(EditError::NoSuchCollection(cid));
        };
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
                Err(EditError::PreconditionFailed { etag })
            }
        };
        let own_zones;
        let zones = match (&self.base_zones, fresh_zones) {
            (Some(shared), false) => shared,
            _ => {
                let list: Vec<&Layer> = if layer.meta.zone {
                    Vec::new()
                } else {
                    zones_owned.iter().collect()
                };
                own_zones = ZoneIndex::new(&list);
                &own_zones
            }
        };
        let put = |id: FeatureId, body: &Map<String, Json>| -> Result<LayerEdit, EditError> {
            let checked = check_feature(layer, vocab, body).map_err(EditError::Body)?;
            let mut cells = checked.cells;
            derive_cells(layer, &mut cells, &checked.geometry, zones, stamp);
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
            EditAction::Restore {
                id,
                feature,
                expect,
            } => {
                let slot = existing(id);
                let current = slot.map(|s| feature_json(layer, s));
                if own_parts(layer, current.as_ref()) != own_parts(layer, expect.as_ref()) {
                    return Err(EditError::ChangedSince(id.clone()));
                }
                let stored = Stored {
                    collection: cid.clone(),
                    feature_id: id.clone(),
                    feature: feature.clone(),
                };
                let edit = stored_edit(layer, base.catalog(), zones, &stored)
                    .map_err(|reason| {
                        EditError::Body(BodyError::NotAFeature(format!(
                            "the version to restore does not fit the collection now: {reason}"
                        )))
                    })?
                    .ok_or_else(|| EditError::NotFound(id.clone()))?;
                let fid = match &edit {
                    LayerEdit::Put { id, .. } | LayerEdit::Delete { id } => id.clone(),
                };
                let operation = match (slot, feature) {
                    (None, _) => Operation::Create,
                    (Some(_), None) => Operation::Delete,
                    (Some(_), Some(_)) => Operation::Replace,
                };
                (
                    edit,
                    operation,
                    current,
                    slot.map(|s| layer.envelope(s)),
                    fid,
                    slot.is_none(),
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
        if let Some(scope) = req.scope.as_ref().filter(|s| s.limits_writes()) {
            let ready = self
                .scopes
                .ready(layer, scope)
                .map_err(EditError::OutOfScope)?;
            ready
                .check(layer, existing(&id.to_string()), &edit)
                .map_err(EditError::OutOfScope)?;
        }
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
            changeset: req.changeset.clone(),
            request: match &req.action {
                EditAction::Create(_) => req.request.clone(),
                _ => None,
            },
        };
        // The writer puts the change as recorded (with its `seq`) here once it is committed;
        // until then a copy without the feature's versions, which a 10,000-row change set
        // would otherwise clone for nothing.
        let header = Change {
            seq: 0,
            collection: change.collection.clone(),
            feature_id: change.feature_id.clone(),
            operation: change.operation,
            principal: change.principal.clone(),
            at: change.at.clone(),
            before: None,
            after: None,
            request: None,
            changeset: change.changeset.clone(),
        };
        let edited = Edited {
            id: key,
            feature: after,
            etag,
            last_modified: modified,
            created,
            change: header,
        };
        Ok((change, edited))
    }

    /// Applies a change another server recorded: its feature as it was stored (derived values
    /// recomputed as at start, its `updated_at` kept).
    pub(super) fn replay(&mut self, change: &Change) -> Result<(), String> {
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
        layer
            .check(std::slice::from_ref(edit))
            .map_err(|e| e.to_string())?;
        // Applied to the batch's own version in place (see `Layer::applied`); checked above,
        // so it is not left half-changed.
        let owned = self
            .layers
            .remove(cid)
            .ok_or_else(|| format!("no collection {cid:?}"))?;
        let next = owned
            .applied(std::slice::from_ref(edit))
            .map_err(|e| e.to_string())?;
        self.layers.insert(cid.to_owned(), next);
        if let LayerEdit::Put { id, .. } = edit {
            self.written.push((cid.to_owned(), id.to_string()));
        }
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
            let slots: Vec<usize> = layer
                .slots_intersecting_rect(area)
                .map(|s| s as usize)
                .filter(|&s| layer.is_live(s))
                .collect();
            let edits = rezoned(layer, &slots, &zones);
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
pub(super) fn repeated(
    base: &Snapshot,
    rk: &RequestKey,
    first: Change,
) -> Result<Edited, EditError> {
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
