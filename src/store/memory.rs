use std::sync::Arc;

use super::{
    Catalog, CollectionInfo, Feature, FeaturePage, FeatureStore, Found, PageJson, StatsResult,
    StoreError, StoreHealth,
};
use crate::domain::{json_text, FeatureId, FieldType};
use crate::index::{Column, Layer};
use crate::ingest::Vocabulary;
use geo::Point;

use crate::analytics::{default_sum_columns, tally};
use rayon::prelude::*;

use crate::export::{Crs, ExportSource, GeometryOut};
use crate::query::names::{normalize, search as search_layer, NameMatch};
use crate::query::nearest::{geodesic_distance, nearest};
use crate::query::plan::Candidates;
use crate::query::{compile_cached, FeatureQuery, FilterCache, Plan, QueryError};

fn invalid(parameter: &str, reason: String) -> StoreError {
    StoreError::Query(QueryError::InvalidValue {
        parameter: parameter.to_owned(),
        reason,
    })
}

/// The in-memory backend: one immutable [`Catalog`] snapshot behind an `Arc`.
pub struct MemoryStore {
    catalog: Arc<Catalog>,
    /// Each collection's description, computed once: its temporal extent is a pass over every
    /// feature, which no request should pay for.
    infos: Vec<CollectionInfo>,
    /// Filters compiled once per text and layer; see `FilterCache`.
    filters: FilterCache,
}

impl MemoryStore {
    pub fn new(catalog: Catalog) -> Self {
        let infos = catalog.layers().iter().map(|l| info(l)).collect();
        MemoryStore {
            catalog: Arc::new(catalog),
            infos,
            filters: FilterCache::default(),
        }
    }

    /// A query's plan, its filter compiled once per text (see `FilterCache`).
    fn compile(&self, layer: &Layer, q: &FeatureQuery) -> Result<Plan, QueryError> {
        compile_cached(layer, q, &self.filters)
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    fn layer(&self, id: &str) -> Result<&Arc<Layer>, StoreError> {
        self.catalog
            .layer(id)
            .ok_or_else(|| StoreError::NoSuchCollection(id.to_owned()))
    }
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
        count: layer.len(),
        geometry_types: layer.geometry_types.iter().copied().collect(),
        sample_id: layer.ids.first().map(ToString::to_string),
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
    let key = |slot: usize| match col {
        Column::Date(c) => c[slot].map(i64::from),
        Column::Timestamp(c) => c[slot].as_ref().map(|(t, _)| *t),
        _ => None,
    };
    let slots = (0..layer.len()).filter(|s| key(*s).is_some());
    let first = slots.clone().min_by_key(|s| key(*s))?;
    let last = slots.max_by_key(|s| key(*s))?;
    let text = |slot: usize| col.json_at(slot).as_str().unwrap_or_default().to_owned();
    Some([text(first), text(last)])
}

fn feature(layer: &Layer, slot: usize, properties: Option<&[usize]>) -> Feature {
    Feature {
        id: layer.ids[slot].clone(),
        geometry: layer.geometries[slot].clone(),
        properties: layer.properties_json(slot, properties),
    }
}

/// Below this many candidates a scan stays on one thread: splitting would cost more than it saves.
const PARALLEL_MIN: usize = 8192;

/// Every slot that matches the plan, in layer order or in `sortby` order (ties in layer order).
///
/// 1. candidates come from the R-tree when the plan has a box or a spatial conjunct, else every
///    slot (on every core, when there are many);
/// 2. each candidate is tested exactly (geometry and attributes);
/// 3. the survivors are sorted, stably, when the query asks for an order.
pub fn matching_slots(layer: &Layer, plan: &Plan) -> Vec<usize> {
    let mut matched: Vec<usize> = match plan.candidates() {
        // Scans run on every core; collect keeps the layer's order.
        Candidates::All => (0..layer.len())
            .into_par_iter()
            .with_min_len(PARALLEL_MIN)
            .filter(|s| plan.matches(layer, *s))
            .collect(),
        Candidates::Rects(rects) => {
            let mut slots: Vec<usize> = rects
                .into_iter()
                .flat_map(|r| {
                    layer
                        .slots_intersecting_rect(r)
                        .map(|s| s as usize)
                        .collect::<Vec<_>>()
                })
                .collect();
            slots.sort_unstable();
            slots.dedup();
            if slots.len() < PARALLEL_MIN {
                slots.retain(|s| plan.matches(layer, *s));
                slots
            } else {
                slots
                    .into_par_iter()
                    .with_min_len(PARALLEL_MIN)
                    .filter(|s| plan.matches(layer, *s))
                    .collect()
            }
        }
    };
    if !plan.sort.is_empty() {
        matched.sort_by(|a, b| {
            plan.sort
                .iter()
                .map(|(col, desc)| {
                    let o = layer.columns[*col].cmp_slots(*a, *b);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    matched
}

impl FeatureStore for MemoryStore {
    fn collections(&self) -> Vec<CollectionInfo> {
        self.infos.clone()
    }

    fn collection(&self, id: &str) -> Option<CollectionInfo> {
        self.infos.iter().find(|c| c.id == id).cloned()
    }

    /// Compiles the query against the layer's schema, finds every match, and materialises only
    /// the requested page.
    fn query(&self, collection: &str, q: &FeatureQuery) -> Result<FeaturePage, StoreError> {
        let layer = self.layer(collection)?;
        let plan = self.compile(layer, q)?;
        let matched = matching_slots(layer, &plan);
        let features = matched
            .iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|s| feature(layer, *s, plan.properties.as_deref()))
            .collect();
        Ok(FeaturePage {
            number_matched: matched.len(),
            features,
        })
    }

    fn page_json(
        &self,
        collection: &str,
        q: &FeatureQuery,
        crs: Crs,
    ) -> Result<PageJson, StoreError> {
        let layer = self.layer(collection)?;
        let plan = self.compile(layer, q)?;
        let (number_matched, page): (usize, Vec<usize>) = if plan.is_everything_in_order() {
            // The first page of a million features need not list the million first.
            let end = q.offset.saturating_add(q.limit).min(layer.len());
            (layer.len(), (q.offset.min(end)..end).collect())
        } else {
            let matched = matching_slots(layer, &plan);
            let page = matched
                .iter()
                .skip(q.offset)
                .take(q.limit)
                .copied()
                .collect();
            (matched.len(), page)
        };
        let mut features = Vec::with_capacity(page.len() * 1024);
        for (i, &slot) in page.iter().enumerate() {
            if i > 0 {
                features.push(b',');
            }
            write_slot_feature(&mut features, layer, slot, plan.properties.as_deref(), crs);
        }
        Ok(PageJson {
            number_matched,
            number_returned: page.len(),
            features,
        })
    }

    fn get(&self, collection: &str, id: &str) -> Result<Option<Feature>, StoreError> {
        let layer = self.layer(collection)?;
        Ok(layer.slot_of(id).map(|slot| feature(layer, slot, None)))
    }

    fn stats(
        &self,
        collection: &str,
        q: &FeatureQuery,
        group_by: Option<&str>,
        sum: Option<&[String]>,
    ) -> Result<StatsResult, StoreError> {
        let layer = self.layer(collection)?;
        let plan = self.compile(layer, q)?;
        let group_col = group_by
            .map(|g| {
                let i = layer
                    .field_index(g)
                    .ok_or_else(|| invalid("group-by", format!("unknown property {g:?}")))?;
                if layer.fields[i].ty == FieldType::Json {
                    return Err(invalid(
                        "group-by",
                        format!("{g} holds objects and cannot be grouped"),
                    ));
                }
                Ok(i)
            })
            .transpose()?;
        let sum_cols = match sum {
            None => default_sum_columns(layer),
            Some(names) => names
                .iter()
                .map(|n| match layer.field_index(n) {
                    Some(i) if layer.fields[i].ty.is_numeric() => Ok(i),
                    Some(_) => Err(invalid("sum", format!("{n} is not numeric"))),
                    None => Err(invalid("sum", format!("unknown property {n:?}"))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let vocab = group_by
            .and_then(|g| layer.meta.vocabularies.get(g))
            .and_then(|v| self.catalog.vocabularies().find(|x| &x.id == v));
        let order: Option<Vec<String>> =
            vocab.map(|v| v.terms.iter().map(|t| t.id.clone()).collect());
        let slots = matching_slots(layer, &plan);
        let stats = tally(layer, &slots, group_col, &sum_cols, order.as_deref());
        let terms = stats
            .groups
            .iter()
            .map(|g| vocab.and_then(|v| g.key.as_str().and_then(|k| v.term(k)).cloned()))
            .collect();
        Ok(StatsResult {
            group_by: group_by.map(str::to_owned),
            stats,
            terms,
        })
    }

    fn nearest(
        &self,
        collection: &str,
        q: &FeatureQuery,
        lon: f64,
        lat: f64,
        k: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let layer = self.layer(collection)?;
        let plan = self.compile(layer, q)?;
        Ok(nearest(layer, Point::new(lon, lat), k, |slot| {
            plan.matches(layer, slot)
        })
        .into_iter()
        .map(|(slot, d)| Found {
            collection: collection.to_owned(),
            feature: feature(layer, slot, plan.properties.as_deref()),
            distance_m: Some(d),
            name_match: None,
        })
        .collect())
    }

    fn features_at(&self, lon: f64, lat: f64, tolerance_m: f64) -> Vec<Found> {
        let p = Point::new(lon, lat);
        // A box that surely holds everything within the tolerance: a degree is at least
        // 110 km of latitude and 111 km·cos(lat) of longitude.
        let dlat = tolerance_m / 110_000.0;
        let dlon = tolerance_m / (111_000.0 * lat.to_radians().cos().max(0.01));
        let search = geo::Rect::new((lon - dlon, lat - dlat), (lon + dlon, lat + dlat));
        let mut out = Vec::new();
        for layer in self.catalog.layers().iter().rev() {
            let mut slots: Vec<usize> = layer
                .slots_intersecting_rect(search)
                .map(|s| s as usize)
                .collect();
            slots.sort_unstable();
            for slot in slots {
                let d = geodesic_distance(p, &layer.geometries[slot]);
                if d <= tolerance_m {
                    out.push(Found {
                        collection: layer.id.to_string(),
                        feature: feature(layer, slot, None),
                        distance_m: Some(d),
                        name_match: None,
                    });
                }
            }
        }
        out
    }

    fn search_names(
        &self,
        text: &str,
        collections: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let query = normalize(text);
        let layers: Vec<&Arc<Layer>> = match collections {
            Some(ids) => ids
                .iter()
                .map(|id| self.layer(id))
                .collect::<Result<_, _>>()?,
            None => self.catalog.layers().iter().collect(),
        };
        // (layer position, match) ranked by match kind, then shorter names, then layer and slot.
        let mut found: Vec<(usize, NameMatch)> = layers
            .iter()
            .enumerate()
            .flat_map(|(order, layer)| {
                search_layer(layer, &query)
                    .into_iter()
                    .map(move |m| (order, m))
            })
            .collect();
        found.sort_by_key(|(order, m)| (m.kind, m.name.chars().count(), *order, m.slot));
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(order, m)| Found {
                collection: layers[order].id.to_string(),
                feature: feature(layers[order], m.slot, None),
                distance_m: None,
                name_match: Some(m),
            })
            .collect())
    }

    fn export(&self, collection: &str, q: &FeatureQuery) -> Result<ExportSource, StoreError> {
        let layer = Arc::clone(self.layer(collection)?);
        let plan = self.compile(&layer, q)?;
        let slots: Vec<usize> = matching_slots(&layer, &plan)
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .collect();
        let fields = match &plan.properties {
            Some(only) => only.iter().map(|i| layer.fields[*i].clone()).collect(),
            None => layer.fields.clone(),
        };
        let properties = plan.properties.clone();
        let features = slots
            .into_iter()
            .map(move |slot| feature(&layer, slot, properties.as_deref()));
        Ok(ExportSource {
            name: collection.to_owned(),
            fields,
            features: Box::new(features),
        })
    }

    fn vocabularies(&self) -> Vec<Vocabulary> {
        self.catalog.vocabularies().cloned().collect()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            collections: self.catalog.layers().len(),
            features: self.catalog.feature_count(),
        }
    }
}

/// One feature written straight from the layer: geometry from its slot, properties from the
/// typed columns, with no `Feature` (and no map of copied values) in between.
fn write_slot_feature(
    out: &mut Vec<u8>,
    layer: &Layer,
    slot: usize,
    only: Option<&[usize]>,
    crs: Crs,
) {
    out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
    match &layer.ids[slot] {
        FeatureId::Int(n) => json_text::write_i64(out, *n),
        FeatureId::Str(s) => json_text::write_str(out, s),
    }
    out.extend_from_slice(b",\"geometry\":");
    let geometry = &layer.geometries[slot];
    // Writing to a Vec cannot fail, and every geometry here is serialisable.
    let _ = if crs == Crs::Crs84 {
        serde_json::to_writer(&mut *out, &GeometryOut(geometry))
    } else {
        serde_json::to_writer(&mut *out, &GeometryOut(&crs.for_text(geometry)))
    };
    out.extend_from_slice(b",\"properties\":");
    layer.slot_properties(slot, only).write_json(out);
    out.push(b'}');
}
