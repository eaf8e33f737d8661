//! Laying the stored edits over the seed at start, and a stored feature as an edit (also what
//! a replayed change of another server is applied as).

use std::collections::HashMap;

use serde_json::Value as Json;

use super::{now, OpenReport};
use crate::index::{Catalog, Cell, Layer, LayerEdit};
use crate::ingest::rezone_all;
use crate::ingest::{check_feature, derive_cells, ZoneIndex, UPDATED_FIELD};
use crate::model::{FeatureId, FieldType};
use crate::record::Stored;

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
        let zone_layers = catalog.zone_layers();
        let zones: Vec<&Layer> = if is_zone {
            Vec::new()
        } else {
            zone_layers.iter().map(|l| &**l).collect()
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
pub(super) fn stored_edit(
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
    derive_cells(
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
