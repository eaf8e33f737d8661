//! Vector tiles (Mapbox Vector Tile 2.1 in WebMercatorQuad), built on demand from the same
//! index and the same compiled filters as every other answer.
//!
//! For one layer and one tile ([`layer_tile`]):
//!
//! 1. candidates come from the layer's R-tree for the buffered tile, and the plan (filter,
//!    `property=value`) keeps those that match;
//! 2. if there are more than a tile should draw ([`TileLimits::aggregate_above`]), or the zoom
//!    is below the layer's `aggregate_below`, the tile holds cells instead: counts and area sums
//!    on a 32 × 32 grid, in a layer named `{id}_cells`;
//! 3. otherwise each match is generalised for the tile ([`generalize`]): projected, clipped,
//!    simplified to one tile unit, snapped, dropped if nothing drawable is left;
//! 4. past [`TileLimits::max_features`], or past [`TileLimits::max_bytes`] once encoded, the
//!    smallest are dropped first;
//! 5. the tile always says what it holds: a `tile_info` layer with one point feature whose
//!    properties count the matches, the features drawn and whether the tile is complete, so
//!    that a map never presents a thinned tile as the whole truth.
//!
//! MVT encoding: geometries through geozero's MVT writer (`ToMvt`, already a dependency for
//! WKB, and maintained with georust), tags through its `TagsBuilder`, the tile through prost.

pub mod generalize;
pub mod matrix;

use geozero::mvt::{tile, Message, TagsBuilder, Tile, TileValue};
use geozero::ToMvt;

use crate::index::{Column, Layer};
use crate::query::{Budget, Exceeded, Plan};
use matrix::{TileId, BUFFER, EXTENT};

/// How much one tile may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileLimits {
    /// Most features one layer draws in one tile; past it the smallest are dropped (and the
    /// tile says so). A browser draws a few thousand polygons per tile at ease.
    pub max_features: usize,
    /// Largest tile, in bytes: past it the smallest features are dropped too.
    pub max_bytes: usize,
    /// Matches in one tile past which the layer is summed per cell instead.
    pub aggregate_above: usize,
}

impl Default for TileLimits {
    fn default() -> Self {
        TileLimits {
            max_features: 20_000,
            max_bytes: 500 * 1024,
            aggregate_above: 80_000,
        }
    }
}
/// Cells per side of an aggregate tile.
pub const CELLS: u32 = 32;
/// The layer of every tile that says what the tile holds.
pub const INFO_LAYER: &str = "tile_info";

/// What one layer contributes to a tile, and how faithfully.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTile {
    pub layer: tile::Layer,
    /// Features that matched in the tile (before any was dropped).
    pub matched: usize,
    /// Features drawn (or, for cells, the features they count).
    pub drawn: usize,
    /// Matches smaller than a tile unit (1/4096 of the tile's side), which no screen would
    /// show at this zoom and so are left out without making the tile incomplete.
    pub too_small: usize,
    /// Whether the tile holds cells rather than features.
    pub aggregated: bool,
}

impl LayerTile {
    /// Whether every matching feature is drawn as itself (but for those under a tile unit).
    pub fn complete(&self) -> bool {
        !self.aggregated && self.drawn + self.too_small == self.matched
    }
}

/// The value a column holds at `slot`, as an MVT value; `None` for null. Arrays and objects
/// travel as their JSON text.
fn tile_value(col: &Column, slot: usize) -> Option<TileValue> {
    Some(match col {
        Column::Boolean(c) => TileValue::Bool(c[slot]?),
        Column::Integer(c) => TileValue::Sint(c[slot]?),
        Column::Number(c) => TileValue::Double(c[slot]?),
        Column::String(c) => TileValue::Str(c[slot].as_deref()?.to_owned()),
        Column::Date(_) | Column::Timestamp(_) | Column::StringArray(_) | Column::Json(_) => {
            let v = col.json_at(slot);
            match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => TileValue::Str(s),
                other => TileValue::Str(other.to_string()),
            }
        }
    })
}

/// One feature ready to encode: its slot, tile geometry and drawn size.
struct Drawn {
    slot: usize,
    geometry: geo::Geometry<f64>,
    size: f64,
}

/// The features of `layer` that `plan` selects, as one tile draws them (see the module doc).
pub fn layer_tile(
    layer: &Layer,
    plan: &Plan,
    tile: TileId,
    limits: &TileLimits,
    budget: &Budget,
) -> Result<LayerTile, Exceeded> {
    let name = layer.id.as_str();
    let bbox = tile.lonlat_bounds(BUFFER);
    let mut candidates: Vec<usize> = layer
        .slots_intersecting_rect(bbox)
        .map(|s| s as usize)
        .collect();
    candidates.sort_unstable();
    let mut matched = Vec::with_capacity(candidates.len());
    for (i, slot) in candidates.into_iter().enumerate() {
        if i % 64 == 0 {
            budget.check()?;
        }
        if plan.matches(layer, slot) {
            matched.push(slot);
        }
    }
    if tile.z < layer.meta.tiles.aggregate_below || matched.len() > limits.aggregate_above {
        return cells(layer, &matched, tile, budget);
    }
    let mut drawn: Vec<Drawn> = Vec::with_capacity(matched.len());
    for (i, &slot) in matched.iter().enumerate() {
        if i % 64 == 0 {
            budget.check()?;
        }
        if let Some(geometry) = generalize::for_tile(&layer.geometries[slot], &tile) {
            let size = generalize::drawn_size(&geometry);
            drawn.push(Drawn {
                slot,
                geometry,
                size,
            });
        }
    }
    // Drawn in layer order; what does not fit goes smallest first.
    let too_small = matched.len() - drawn.len();
    let mut keep = drawn.len().min(limits.max_features);
    if keep < drawn.len() {
        drop_smallest(&mut drawn, keep);
    }
    let only = plan.properties.as_deref();
    loop {
        budget.check()?;
        let encoded = encode_features(layer, name, &drawn[..keep], only);
        let size = encoded.encoded_len();
        if size <= limits.max_bytes || keep == 0 {
            return Ok(LayerTile {
                layer: encoded,
                matched: matched.len(),
                drawn: keep,
                too_small,
                aggregated: false,
            });
        }
        // Over the size cap: keep a share that should fit, largest features first.
        let target = ((keep as f64) * (limits.max_bytes as f64) / (size as f64) * 0.9) as usize;
        keep = target.min(keep - 1);
        drop_smallest(&mut drawn, keep);
    }
}

/// Keeps the `keep` largest of `drawn` (in layer order among themselves) at its front.
fn drop_smallest(drawn: &mut Vec<Drawn>, keep: usize) {
    if keep >= drawn.len() {
        return;
    }
    drawn.sort_by(|a, b| b.size.total_cmp(&a.size).then(a.slot.cmp(&b.slot)));
    drawn.truncate(keep);
    drawn.sort_by_key(|d| d.slot);
}

fn encode_features(
    layer: &Layer,
    name: &str,
    drawn: &[Drawn],
    only: Option<&[usize]>,
) -> tile::Layer {
    let mut tags = TagsBuilder::new();
    let mut features = Vec::with_capacity(drawn.len());
    let columns: Vec<usize> = match only {
        Some(o) => o.to_vec(),
        None => (0..layer.fields.len()).collect(),
    };
    for d in drawn {
        let Ok(mut feature) = d.geometry.to_mvt_unscaled() else {
            continue;
        };
        let id = &layer.ids[d.slot];
        if let crate::model::FeatureId::Int(n) = id {
            feature.id = u64::try_from(*n).ok();
        }
        let fid = match id {
            crate::model::FeatureId::Int(n) => TileValue::Sint(*n),
            crate::model::FeatureId::Str(s) => TileValue::Str(s.clone()),
        };
        let mut push = |key: &str, value: TileValue| {
            let (k, v) = tags.insert_ref(key, value);
            feature.tags.push(k);
            feature.tags.push(v);
        };
        push("fid", fid);
        for &c in &columns {
            if let Some(v) = tile_value(&layer.columns[c], d.slot) {
                push(&layer.fields[c].name, v);
            }
        }
        features.push(feature);
    }
    let (keys, values) = tags.into_tags();
    tile::Layer {
        version: 2,
        name: name.to_owned(),
        features,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    }
}

/// The matches summed per cell of a `CELLS` × `CELLS` grid: each cell a square with `count`
/// and the sums of the layer's area columns, placed by each feature's envelope centre (only
/// centres inside the tile count, so no feature is counted by two tiles).
fn cells(
    layer: &Layer,
    matched: &[usize],
    tile: TileId,
    budget: &Budget,
) -> Result<LayerTile, Exceeded> {
    let sums = crate::query::stats::default_sum_columns(layer);
    let side = EXTENT / CELLS;
    let n = (CELLS * CELLS) as usize;
    let mut counts = vec![0usize; n];
    let mut totals = vec![vec![0.0f64; sums.len()]; n];
    let mut counted = 0;
    for (i, &slot) in matched.iter().enumerate() {
        if i % 4096 == 0 {
            budget.check()?;
        }
        let c = layer.envelope(slot).center();
        let (x, y) = tile.project(c.x, c.y);
        if !(0.0..f64::from(EXTENT)).contains(&x) || !(0.0..f64::from(EXTENT)).contains(&y) {
            continue;
        }
        let cell = (y as u32 / side * CELLS + x as u32 / side) as usize;
        counts[cell] += 1;
        counted += 1;
        for (t, &col) in totals[cell].iter_mut().zip(&sums) {
            *t += layer.columns[col].number_at(slot).unwrap_or(0.0);
        }
    }
    let mut tags = TagsBuilder::new();
    let mut features = Vec::new();
    for (cell, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (cx, cy) = ((cell as u32 % CELLS) * side, (cell as u32 / CELLS) * side);
        let (x0, y0, x1, y1) = (
            f64::from(cx),
            f64::from(cy),
            f64::from(cx + side),
            f64::from(cy + side),
        );
        // Clockwise on screen: MVT's exterior.
        let square = geo::Polygon::new(
            geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        let Ok(mut feature) = geo::Geometry::Polygon(square).to_mvt_unscaled() else {
            continue;
        };
        let (k, v) = tags.insert_ref("count", TileValue::Uint(count as u64));
        feature.tags.extend([k, v]);
        for (&col, total) in sums.iter().zip(&totals[cell]) {
            let (k, v) = tags.insert_ref(&layer.fields[col].name, TileValue::Double(*total));
            feature.tags.extend([k, v]);
        }
        features.push(feature);
    }
    let (keys, values) = tags.into_tags();
    Ok(LayerTile {
        layer: tile::Layer {
            version: 2,
            name: format!("{}_cells", layer.id),
            features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        },
        matched: matched.len(),
        drawn: counted,
        too_small: 0,
        aggregated: true,
    })
}

/// The `tile_info` layer: one point at the tile's centre per collection, saying what the tile
/// holds of it.
fn info_layer(parts: &[(String, &LayerTile)]) -> tile::Layer {
    let mut tags = TagsBuilder::new();
    let mut features = Vec::new();
    let centre = f64::from(EXTENT / 2);
    for (collection, part) in parts {
        let Ok(mut feature) =
            geo::Geometry::Point(geo::Point::new(centre, centre)).to_mvt_unscaled()
        else {
            continue;
        };
        for (key, value) in [
            ("collection", TileValue::Str(collection.clone())),
            ("matched", TileValue::Uint(part.matched as u64)),
            ("drawn", TileValue::Uint(part.drawn as u64)),
            ("too_small", TileValue::Uint(part.too_small as u64)),
            ("aggregated", TileValue::Bool(part.aggregated)),
            ("complete", TileValue::Bool(part.complete())),
        ] {
            let (k, v) = tags.insert_ref(key, value);
            feature.tags.extend([k, v]);
        }
        features.push(feature);
    }
    let (keys, values) = tags.into_tags();
    tile::Layer {
        version: 2,
        name: INFO_LAYER.to_owned(),
        features,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    }
}

/// An encoded tile, and whether anything matched at all (an empty tile is a 204).
pub struct EncodedTile {
    pub bytes: Vec<u8>,
    pub matched: usize,
    pub complete: bool,
}

/// Encodes the layers of a tile (each collection, then `tile_info`).
pub fn encode(parts: Vec<(String, LayerTile)>) -> EncodedTile {
    let matched = parts.iter().map(|(_, p)| p.matched).sum();
    let complete = parts.iter().all(|(_, p)| p.complete());
    let refs: Vec<(String, &LayerTile)> = parts.iter().map(|(c, p)| (c.clone(), p)).collect();
    let info = info_layer(&refs);
    let mut layers: Vec<tile::Layer> = parts.into_iter().map(|(_, p)| p.layer).collect();
    layers.push(info);
    EncodedTile {
        bytes: Tile { layers }.encode_to_vec(),
        matched,
        complete,
    }
}
