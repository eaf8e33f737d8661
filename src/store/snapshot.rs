use std::sync::Arc;

use crate::index::{Catalog, Column, Layer};
use crate::model::{Field, FieldType, LayerMeta, Vocabulary};

/// What a client learns about a collection before asking for its features.
#[derive(Debug, Clone)]
pub struct CollectionInfo {
    pub id: String,
    pub meta: LayerMeta,
    pub fields: Vec<Field>,
    /// `[west, south, east, north]` of all features; `None` for an empty collection.
    pub extent: Option<[f64; 4]>,
    /// The `[first, last]` values of the temporal property, if the collection has one.
    pub temporal_extent: Option<[String; 2]>,
    pub count: usize,
    pub geometry_types: Vec<&'static str>,
    /// The first feature's id as it reads in a URL: an example for the API document.
    pub sample_id: Option<String>,
}

/// One consistent version of the data: every layer, every vocabulary, and each collection's
/// description, computed once per version (its temporal extent is a pass over every feature,
/// which no request should pay for).
pub struct Snapshot {
    catalog: Catalog,
    infos: Vec<CollectionInfo>,
    version: u64,
    /// The last recorded change (the change feed's `seq`, PostgreSQL's `atlas_changes.version`)
    /// this version reflects; 0 for data no edit has touched. Unlike `version`, which counts
    /// this process's versions, it means the same on every server of one store.
    change: i64,
    /// Where recent versions changed things: `(version, collection, area)`, oldest first, at
    /// most [`TOUCH_LOG`] entries; for caches that keep answers per area (tiles).
    touched: Arc<std::collections::VecDeque<(u64, String, geo::Rect<f64>)>>,
    /// Rebuilt from the change log for an earlier moment (`asOf`): never the version edits
    /// are made to, and kept out of caches that follow the current version by area.
    past: bool,
}

/// Changed areas a snapshot remembers; a cache older than the oldest treats everything as
/// changed.
pub const TOUCH_LOG: usize = 65_536;

impl Snapshot {
    pub fn new(catalog: Catalog, version: u64) -> Self {
        let infos = catalog.layers().iter().map(|l| info(l)).collect();
        Snapshot {
            catalog,
            infos,
            version,
            change: 0,
            touched: Arc::default(),
            past: false,
        }
    }

    /// This version, marked as rebuilt for an earlier moment (see the field).
    pub fn in_the_past(mut self) -> Self {
        self.past = true;
        self
    }

    /// Whether this version was rebuilt for an earlier moment.
    pub fn is_past(&self) -> bool {
        self.past
    }

    /// This version, as reflecting the recorded changes up to `change`.
    pub fn at_change(mut self, change: i64) -> Self {
        self.change = change;
        self
    }

    /// The last recorded change this version reflects (see the field).
    pub fn change(&self) -> i64 {
        self.change
    }

    /// The next version: `changed` layers replace those of the same id, each collection
    /// description is carried over or updated (its temporal extent widened by the features
    /// `written`, as (collection, id), never rescanned), and `touched` says where.
    pub fn next(
        &self,
        changed: Vec<Layer>,
        touched: Vec<(String, geo::Rect<f64>)>,
        written: &[(String, String)],
    ) -> Snapshot {
        let version = self.version + 1;
        let mut catalog = self.catalog.clone();
        let mut infos = self.infos.clone();
        for layer in changed {
            if let Some(i) = infos.iter().position(|c| c.id == layer.id.as_str()) {
                let old = &infos[i];
                let mut fresh = CollectionInfo {
                    temporal_extent: None,
                    ..info_without_scan(&layer)
                };
                fresh.temporal_extent = widen_temporal(&old.temporal_extent, &layer, written);
                infos[i] = fresh;
            }
            catalog = catalog.with_layer(layer);
        }
        let mut log = (*self.touched).clone();
        for (c, r) in touched {
            if log.len() == TOUCH_LOG {
                log.pop_front();
            }
            log.push_back((version, c, r));
        }
        Snapshot {
            catalog,
            infos,
            version,
            change: self.change,
            touched: Arc::new(log),
            past: self.past,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Increases with every change; the first loaded version is 1.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn layer(&self, id: &str) -> Option<&Arc<Layer>> {
        self.catalog.layer(id)
    }

    /// Every collection, in display order.
    pub fn collections(&self) -> &[CollectionInfo] {
        &self.infos
    }

    pub fn collection(&self, id: &str) -> Option<&CollectionInfo> {
        self.infos.iter().find(|c| c.id == id)
    }

    pub fn vocabularies(&self) -> impl Iterator<Item = &Vocabulary> {
        self.catalog.vocabularies()
    }

    pub fn vocabulary(&self, id: &str) -> Option<&Vocabulary> {
        self.catalog.vocabularies().find(|v| v.id == id)
    }

    pub fn feature_count(&self) -> usize {
        self.catalog.feature_count()
    }

    /// Whether a change after `since` (up to this version) touched `collection` within `area`:
    /// what a cached tile built at `since` asks before it is served again.
    pub fn changed_since(&self, collection: &str, since: u64, area: geo::Rect<f64>) -> bool {
        use geo::Intersects;
        if since >= self.version {
            return false;
        }
        // Versions before the log's oldest are unknown: changed, to be safe.
        match self.touched.front() {
            Some((first, _, _)) if *first <= since + 1 => {}
            _ => return true,
        }
        self.touched
            .iter()
            .any(|(v, c, r)| *v > since && c == collection && r.intersects(&area))
    }
}

/// A collection's description without the pass over every feature (the temporal extent).
fn info_without_scan(layer: &Layer) -> CollectionInfo {
    CollectionInfo {
        id: layer.id.to_string(),
        meta: layer.meta.clone(),
        fields: layer.fields.clone(),
        extent: layer
            .extent
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        temporal_extent: None,
        count: layer.live_count(),
        geometry_types: layer.geometry_types.iter().copied().collect(),
        sample_id: layer.live_slots().next().map(|s| layer.ids[s].to_string()),
    }
}

/// The temporal extent after edits: the old one widened by the temporal values of the features
/// the edits touched (a delete never narrows it; a restart recomputes it exactly).
fn widen_temporal(
    old: &Option<[String; 2]>,
    layer: &Layer,
    written: &[(String, String)],
) -> Option<[String; 2]> {
    let name = layer.meta.temporal_property.as_deref()?;
    let i = layer.field_index(name)?;
    let col = &layer.columns[i];
    // The bounds as keys, parsed once, not per written feature.
    let mut bounds = old
        .as_ref()
        .and_then(|[a, b]| Some(((text_ms(a)?, a.clone()), (text_ms(b)?, b.clone()))));
    let slots = written
        .iter()
        .filter(|(c, _)| c == layer.id.as_str())
        .filter_map(|(_, id)| layer.slot_of(id));
    for slot in slots {
        let Some(k) = temporal_key(col, slot) else {
            continue;
        };
        let text = || col.json_at(slot).as_str().map(str::to_owned);
        bounds = match bounds {
            None => text().map(|t| ((k, t.clone()), (k, t))),
            Some((lo, hi)) if k < lo.0 => Some((text().map_or(lo, |t| (k, t)), hi)),
            Some((lo, hi)) if k > hi.0 => Some((lo, text().map_or(hi, |t| (k, t)))),
            same => same,
        };
    }
    bounds
        .map(|((_, first), (_, last))| [first, last])
        .or_else(|| old.clone())
}

/// Milliseconds in a day: dates and timestamps compare on one scale.
const DAY_MS: i64 = 86_400_000;

/// The value at `slot` of a temporal column as milliseconds since 1970: typed dates and
/// timestamps as stored, text as written in either form.
fn temporal_key(col: &Column, slot: usize) -> Option<i64> {
    match col {
        Column::Date(c) => c[slot].map(|d| i64::from(d) * DAY_MS),
        Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| *t),
        Column::String(c) => c[slot].as_deref().and_then(text_ms),
        _ => None,
    }
}

/// A date or timestamp written as text, as milliseconds since 1970.
fn text_ms(s: &str) -> Option<i64> {
    crate::model::parse_date(s)
        .map(|d| i64::from(d) * DAY_MS)
        .or_else(|| crate::model::parse_timestamp(s))
}

fn info(layer: &Layer) -> CollectionInfo {
    CollectionInfo {
        id: layer.id.to_string(),
        meta: layer.meta.clone(),
        fields: layer.fields.clone(),
        extent: layer
            .extent
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        temporal_extent: temporal_extent(layer),
        count: layer.live_count(),
        geometry_types: layer.geometry_types.iter().copied().collect(),
        sample_id: layer.live_slots().next().map(|s| layer.ids[s].to_string()),
    }
}

/// The first and last value of the metadata's temporal property, as written.
fn temporal_extent(layer: &Layer) -> Option<[String; 2]> {
    let name = layer.meta.temporal_property.as_deref()?;
    let i = layer.field_index(name)?;
    let col = &layer.columns[i];
    if !matches!(layer.fields[i].ty, FieldType::Date | FieldType::Timestamp) {
        return None;
    }
    let key = |slot: usize| temporal_key(col, slot);
    let slots: Vec<usize> = layer.live_slots().filter(|s| key(*s).is_some()).collect();
    let first = *slots.iter().min_by_key(|s| key(**s))?;
    let last = *slots.iter().max_by_key(|s| key(**s))?;
    let text = |slot: usize| col.json_at(slot).as_str().unwrap_or_default().to_owned();
    Some([text(first), text(last)])
}
