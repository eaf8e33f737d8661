use std::collections::BTreeSet;
use std::sync::Arc;

use geo::{BoundingRect, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::{Map, Value as Json};

use crate::model::Feature;

use super::{AttributeIndex, Base, Cell, CellMismatch, Chunked, Column};
use crate::model::{Bbox, FeatureId, Field, LayerId, LayerMeta};

/// An R-tree entry: a feature's envelope and its slot in the layer's vectors.
pub type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Edited slots past which an edit rebuilds the main R-tree instead of growing the side one.
const MERGE_AT: usize = 8_192;

/// Slots whose text changed past which the next version starts a new text base (its name index
/// is then built again, in the background). Each changed slot costs every name search a few
/// microseconds (its names folded and compared); a new index costs about 2 s of one core at a
/// million carriers.
const TEXT_MERGE_AT: usize = 2_048;

/// What ingest hands over to build a layer; every vector is indexed by slot.
pub struct LayerParts {
    pub id: LayerId,
    pub meta: LayerMeta,
    pub ids: Vec<FeatureId>,
    pub geometries: Vec<geo::Geometry<f64>>,
    pub fields: Vec<Field>,
    pub columns: Vec<Column>,
}

/// A loaded, indexed layer. Slots are the features' positions in the source file (then, for
/// features an edit creates, in the order they were created): the layer's natural, stable order.
///
/// A layer is never mutated; an edit makes the next version with [`Layer::apply`], which shares
/// every chunk of every column that the edit did not touch (see [`Chunked`]). A deleted feature
/// keeps its slot, marked dead, so slot numbers stay stable. The R-tree built at load stays as it
/// is: entries of edited slots are marked stale there, and the slots' new envelopes go into a
/// small side tree, until enough edits call for rebuilding the main one.
#[derive(Clone)]
pub struct Layer {
    pub id: LayerId,
    pub meta: LayerMeta,
    pub ids: Chunked<FeatureId>,
    /// Shared: copying a chunk on write (an edit, a past version) copies pointers, not outlines.
    pub geometries: Chunked<Arc<geo::Geometry<f64>>>,
    pub fields: Vec<Field>,
    pub columns: Vec<Column>,
    envelopes: Chunked<Rect<f64>>,
    /// Slots whose feature was deleted.
    dead: Chunked<bool>,
    live: usize,
    /// Built at load, or at the last merge.
    rtree: Arc<RTree<Entry>>,
    /// Slots edited since `rtree` was built: their entries there (if any) are out of date.
    edited: Arc<imbl::HashSet<u32>>,
    /// The current envelopes of the live edited slots.
    side: Arc<RTree<Entry>>,
    /// Built with `rtree`, over the same slots: entries of `edited` slots are out of date.
    attributes: Arc<AttributeIndex>,
    /// The text columns and live slots as they were when `text_stale` was last emptied, for
    /// the indexes of text built on first use (names). Kept apart from `edited`, which every
    /// edit grows: most edits change figures, not names, and should not cost a name index.
    text_base: Arc<Base>,
    /// Slots whose text changed, or that were created or deleted, since `text_base`.
    text_stale: Arc<imbl::HashSet<u32>>,
    by_id: imbl::HashMap<String, u32>,
    /// The union of every envelope; `None` for an empty layer. After deletes it may be larger
    /// than the data until the next merge.
    pub extent: Option<Rect<f64>>,
    /// The union of the live envelopes per block of `EXTENT_BLOCK` slots (`None`: no live
    /// slot), kept for the blocks each edit touches: the exact extent of every live feature
    /// is then a union of a few hundred rectangles, not a pass over a million.
    block_extents: Arc<Vec<Option<Rect<f64>>>>,
    /// The GeoJSON geometry types present, for the collection description.
    pub geometry_types: BTreeSet<&'static str>,
}

/// One change to a layer, already checked against its schema.
#[derive(Debug, Clone)]
pub enum LayerEdit {
    /// Creates the feature, or replaces the one with this id: its geometry, and a cell for
    /// every field (in field order).
    Put {
        id: FeatureId,
        geometry: geo::Geometry<f64>,
        cells: Vec<Cell>,
    },
    Delete {
        id: FeatureId,
    },
}

/// An edit that does not fit the layer: a bug in the caller, which checks first.
#[derive(Debug, thiserror::Error)]
pub enum EditMismatch {
    #[error("{expected} cells expected, {got} given")]
    Cells { expected: usize, got: usize },
    #[error("field {field}: {source}")]
    Cell { field: String, source: CellMismatch },
    #[error("there is no feature {0} to delete")]
    NoSuchFeature(String),
}

fn rect_of(g: &geo::Geometry<f64>) -> Rect<f64> {
    g.bounding_rect()
        .unwrap_or_else(|| Rect::new((0.0, 0.0), (0.0, 0.0)))
}

fn entry(slot: usize, r: &Rect<f64>) -> Entry {
    let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
    GeomWithData::new(rect, slot as u32)
}

/// Whether `cells` would change the text of `slot` in any string column.
fn text_changes(columns: &[Column], slot: usize, cells: &[Cell]) -> bool {
    columns
        .iter()
        .zip(cells)
        .any(|(column, cell)| match column {
            Column::String(_) => {
                let new = match cell {
                    Cell::String(s) => Some(&**s),
                    _ => None,
                };
                column.str_at(slot) != new
            }
            _ => false,
        })
}

/// Slots per block of `Layer::block_extents`.
const EXTENT_BLOCK: usize = 4096;

fn union(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

/// Features from which a layer's indexes are built in parallel.
const PARALLEL_BUILD_FROM: usize = 4096;

impl Layer {
    /// Builds the index: envelopes, a bulk-loaded R-tree and the id lookup.
    ///
    /// Ids must already be unique (ingest checks that and names the duplicate).
    pub fn build(parts: LayerParts) -> Self {
        let LayerParts {
            id,
            meta,
            ids,
            geometries,
            fields,
            columns,
        } = parts;
        let envelopes: Chunked<Rect<f64>> = geometries.iter().map(rect_of).collect();
        let n = ids.len();
        let rtree = || {
            RTree::bulk_load(
                envelopes
                    .iter()
                    .enumerate()
                    .map(|(slot, r)| entry(slot, r))
                    .collect(),
            )
        };
        let by_id = || {
            ids.iter()
                .enumerate()
                .map(|(slot, id)| (id.to_string(), slot as u32))
                .collect::<imbl::HashMap<String, u32>>()
        };
        let attributes = || AttributeIndex::build(&columns, n, |_| true);
        // The three indexes are independent: built side by side, they take the time of the
        // slowest (the R-tree or the attribute indexes, at a million features). A small layer
        // (the one feature a scoped edit is checked as) is built on the calling thread: handing
        // work to the pool and waiting for it costs more than the work.
        let ((rtree, by_id), attributes) = if n < PARALLEL_BUILD_FROM {
            ((rtree(), by_id()), attributes())
        } else {
            rayon::join(|| rayon::join(rtree, by_id), attributes)
        };
        let extent = envelopes.iter().copied().reduce(union);
        let geometry_types = geometries.iter().map(geometry_type_name).collect();
        let dead: Chunked<bool> = std::iter::repeat_n(false, n).collect();
        let block_extents = (0..n.div_ceil(EXTENT_BLOCK))
            .map(|b| {
                (b * EXTENT_BLOCK..((b + 1) * EXTENT_BLOCK).min(n))
                    .map(|s| envelopes[s])
                    .reduce(union)
            })
            .collect();
        Layer {
            block_extents: Arc::new(block_extents),
            text_base: Arc::new(Base::new(&columns, &dead)),
            text_stale: Arc::new(imbl::HashSet::new()),
            id,
            meta,
            ids: ids.into(),
            geometries: geometries.into_iter().map(Arc::new).collect(),
            fields,
            columns,
            envelopes,
            dead,
            live: n,
            rtree: Arc::new(rtree),
            edited: Arc::new(imbl::HashSet::new()),
            side: Arc::new(RTree::new()),
            attributes: Arc::new(attributes),
            by_id,
            extent,
            geometry_types,
        }
    }

    /// Slots, live and dead: the bound of every slot loop (skip dead ones with `is_live`).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Features that exist (slots minus deleted ones).
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// The union of the envelopes of every live feature (exact, unlike [`Layer::extent`]
    /// after deletes); `None` when there is none.
    pub fn live_extent(&self) -> Option<Rect<f64>> {
        self.block_extents.iter().flatten().copied().reduce(union)
    }

    /// Whether the feature in `slot` exists (was not deleted).
    pub fn is_live(&self, slot: usize) -> bool {
        !self.dead[slot]
    }

    /// Whether any feature was ever deleted (a slot loop must then skip dead slots).
    pub fn has_dead(&self) -> bool {
        self.live != self.len()
    }

    /// The live slots, in order.
    pub fn live_slots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&s| self.is_live(s))
    }

    /// The attribute indexes, which cover every slot but the [`Layer::stale_slots`].
    pub fn attributes(&self) -> &AttributeIndex {
        &self.attributes
    }

    /// Slots created, changed or deleted since the indexes were built: the attribute indexes
    /// know nothing (or something out of date) of them, so a query tests them one by one.
    pub fn stale_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.edited.iter().copied()
    }

    /// The text columns and live slots as an index of text may be built from: it holds for
    /// every slot but the [`Layer::text_stale_slots`].
    pub fn text_base(&self) -> &Base {
        &self.text_base
    }

    /// Slots whose text (any string column) changed, or that were created or deleted, since
    /// the [`Layer::text_base`].
    pub fn text_stale_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.text_stale.iter().copied()
    }

    /// How many [`Layer::stale_slots`] there are.
    pub fn stale_count(&self) -> usize {
        self.edited.len()
    }

    /// The slot of the live feature whose id reads `id` in a URL.
    pub fn slot_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).map(|s| *s as usize)
    }

    /// The index of the named field, which is also its column's index.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.field_index(name).map(|i| &self.columns[i])
    }

    pub fn envelope(&self, slot: usize) -> Rect<f64> {
        self.envelopes[slot]
    }

    /// Live slots whose envelope intersects the box `min`–`max`, in no order.
    fn intersecting(&self, aabb: AABB<[f64; 2]>) -> impl Iterator<Item = u32> + '_ {
        let edited = &self.edited;
        self.rtree
            .locate_in_envelope_intersecting(&aabb)
            .map(|e| e.data)
            .filter(move |s| !edited.contains(s))
            .chain(
                self.side
                    .locate_in_envelope_intersecting(&aabb)
                    .map(|e| e.data),
            )
    }

    /// Slots whose envelope intersects `bbox`, in ascending slot order (the layer's order).
    pub fn slots_in_bbox(&self, bbox: &Bbox) -> Vec<u32> {
        let mut slots: Vec<u32> = bbox
            .rects()
            .into_iter()
            .flat_map(|(min, max)| {
                self.intersecting(AABB::from_corners(min, max))
                    .collect::<Vec<_>>()
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Slots whose envelope intersects the rectangle, in R-tree order (unsorted).
    pub fn slots_intersecting_rect(&self, rect: Rect<f64>) -> impl Iterator<Item = u32> + '_ {
        self.intersecting(AABB::from_corners(
            [rect.min().x, rect.min().y],
            [rect.max().x, rect.max().y],
        ))
    }

    /// Every live slot with the squared distance (in degrees) from `point` to its envelope,
    /// nearest first: the main tree's and the side tree's streams merged.
    pub fn slots_by_envelope_distance(
        &self,
        point: [f64; 2],
    ) -> impl Iterator<Item = (usize, f64)> + '_ {
        let edited = &self.edited;
        let mut main = self
            .rtree
            .nearest_neighbor_iter_with_distance_2(&point)
            .filter(move |(e, _)| !edited.contains(&e.data))
            .map(|(e, d)| (e.data as usize, d))
            .peekable();
        let mut side = self
            .side
            .nearest_neighbor_iter_with_distance_2(&point)
            .map(|(e, d)| (e.data as usize, d))
            .peekable();
        std::iter::from_fn(move || match (main.peek(), side.peek()) {
            (Some(a), Some(b)) if b.1 < a.1 => side.next(),
            (Some(_), _) => main.next(),
            (None, _) => side.next(),
        })
    }

    /// The feature's properties as a JSON object, in field order, limited to `only` if given.
    pub fn properties_json(&self, slot: usize, only: Option<&[usize]>) -> Map<String, Json> {
        let mut props = Map::new();
        let mut put = |i: usize| {
            props.insert(self.fields[i].name.clone(), self.columns[i].json_at(slot));
        };
        match only {
            Some(indices) => indices.iter().copied().for_each(&mut put),
            None => (0..self.fields.len()).for_each(&mut put),
        }
        props
    }

    /// The next version of the layer, with `edits` applied in order. Shares everything the
    /// edits did not touch; leaves `self` as it was.
    pub fn apply(&self, edits: &[LayerEdit]) -> Result<Layer, EditMismatch> {
        self.check(edits)?;
        Ok(self.clone().applied(edits)?.settled())
    }

    /// Why `edits` cannot be applied, if they cannot: a cell that does not fit its column, or a
    /// delete of a feature that is not there. Changes nothing.
    pub fn check(&self, edits: &[LayerEdit]) -> Result<(), EditMismatch> {
        let mut put = std::collections::HashSet::new();
        let mut gone = std::collections::HashSet::new();
        for edit in edits {
            match edit {
                LayerEdit::Put { id, cells, .. } => {
                    if cells.len() != self.columns.len() {
                        return Err(EditMismatch::Cells {
                            expected: self.columns.len(),
                            got: cells.len(),
                        });
                    }
                    for ((column, field), cell) in self.columns.iter().zip(&self.fields).zip(cells)
                    {
                        column.accepts(cell).map_err(|source| EditMismatch::Cell {
                            field: field.name.clone(),
                            source,
                        })?;
                    }
                    let key = id.to_string();
                    gone.remove(&key);
                    put.insert(key);
                }
                LayerEdit::Delete { id } => {
                    let key = id.to_string();
                    let there = put.contains(&key)
                        || (self.by_id.contains_key(&key) && !gone.contains(&key));
                    if !there {
                        return Err(EditMismatch::NoSuchFeature(key));
                    }
                    put.remove(&key);
                    gone.insert(key);
                }
            }
        }
        Ok(())
    }

    /// This layer with `edits` applied in order, in place: a version only this batch holds
    /// has its chunks and side tree written where they are, not copied per edit (a 10,000-row
    /// change set copied a chunk of every column for every row). Call [`check`](Self::check)
    /// first: an edit it would refuse may leave the layer half-changed here. The main R-tree is
    /// not rebuilt: [`settled`](Self::settled) does that once the batch is done.
    pub fn applied(mut self, edits: &[LayerEdit]) -> Result<Layer, EditMismatch> {
        let next = &mut self;
        let mut edited = std::mem::take(Arc::make_mut(&mut next.edited));
        let mut side = std::mem::take(Arc::make_mut(&mut next.side));
        let mut text_stale = std::mem::take(Arc::make_mut(&mut next.text_stale));
        let mut touched = BTreeSet::new();
        for edit in edits {
            match edit {
                LayerEdit::Put {
                    id,
                    geometry,
                    cells,
                } => {
                    if cells.len() != next.columns.len() {
                        return Err(EditMismatch::Cells {
                            expected: next.columns.len(),
                            got: cells.len(),
                        });
                    }
                    let key = id.to_string();
                    let r = rect_of(geometry);
                    let slot = match next.by_id.get(&key) {
                        Some(s) => {
                            let s = *s as usize;
                            if text_changes(&next.columns, s, cells) {
                                text_stale.insert(s as u32);
                            }
                            if edited.contains(&(s as u32)) {
                                side.remove(&entry(s, &next.envelopes[s]));
                            }
                            next.geometries.set(s, Arc::new(geometry.clone()));
                            next.envelopes.set(s, r);
                            s
                        }
                        None => {
                            let s = next.len();
                            next.ids.push(id.clone());
                            next.geometries.push(Arc::new(geometry.clone()));
                            next.envelopes.push(r);
                            next.dead.push(false);
                            next.live += 1;
                            next.by_id.insert(key, s as u32);
                            text_stale.insert(s as u32);
                            s
                        }
                    };
                    for ((column, field), cell) in
                        next.columns.iter_mut().zip(&mut next.fields).zip(cells)
                    {
                        column
                            .put(slot, cell.clone())
                            .map_err(|source| EditMismatch::Cell {
                                field: field.name.clone(),
                                source,
                            })?;
                        // A property every seed feature left null now has a value: filters
                        // must compare it as text from here on (see `FilterCache`).
                        if field.nulls_only && *cell != Cell::Null {
                            field.nulls_only = false;
                        }
                    }
                    touched.insert(slot / EXTENT_BLOCK);
                    side.insert(entry(slot, &r));
                    next.geometry_types.insert(geometry_type_name(geometry));
                    next.extent = Some(next.extent.map_or(r, |e| union(e, r)));
                    edited.insert(slot as u32);
                }
                LayerEdit::Delete { id } => {
                    let key = id.to_string();
                    let slot = next
                        .by_id
                        .remove(&key)
                        .ok_or_else(|| EditMismatch::NoSuchFeature(key.clone()))?
                        as usize;
                    if edited.contains(&(slot as u32)) {
                        side.remove(&entry(slot, &next.envelopes[slot]));
                    }
                    next.dead.set(slot, true);
                    touched.insert(slot / EXTENT_BLOCK);
                    next.live -= 1;
                    edited.insert(slot as u32);
                    text_stale.insert(slot as u32);
                }
            }
        }
        next.side = Arc::new(side);
        let mut blocks = std::mem::take(Arc::make_mut(&mut next.block_extents));
        blocks.resize(next.len().div_ceil(EXTENT_BLOCK), None);
        for b in touched {
            blocks[b] = (b * EXTENT_BLOCK..((b + 1) * EXTENT_BLOCK).min(next.len()))
                .filter(|&s| next.is_live(s))
                .map(|s| next.envelopes[s])
                .reduce(union);
        }
        next.block_extents = Arc::new(blocks);
        next.edited = Arc::new(edited);
        next.text_stale = Arc::new(text_stale);
        Ok(self)
    }

    /// The layer with its main R-tree and attribute index rebuilt if enough slots were edited
    /// since they were built.
    pub fn settled(mut self) -> Layer {
        if self.edited.len() >= MERGE_AT {
            self.merge();
        }
        if self.text_stale.len() >= TEXT_MERGE_AT {
            self.text_base = Arc::new(Base::new(&self.columns, &self.dead));
            self.text_stale = Arc::new(imbl::HashSet::new());
        }
        self
    }

    /// Brings the main R-tree and the attribute index up to date with every live slot, so the
    /// edited slots no longer need testing one by one. The R-tree is kept when no edited
    /// feature moved (its entries are still exact), and only the attribute columns whose
    /// values changed are indexed again.
    fn merge(&mut self) {
        let edited: Vec<usize> = self.edited.iter().map(|&s| s as usize).collect();
        let unmoved = edited
            .iter()
            .all(|&s| self.is_live(s) && self.rtree.contains(&entry(s, &self.envelopes[s])));
        if !unmoved {
            let entries = self
                .live_slots()
                .map(|s| entry(s, &self.envelopes[s]))
                .collect();
            self.rtree = Arc::new(RTree::bulk_load(entries));
            self.extent = self.live_slots().map(|s| self.envelopes[s]).reduce(union);
        }
        self.side = Arc::new(RTree::new());
        self.attributes = Arc::new(self.attributes.rebuilt(
            &self.columns,
            self.len(),
            |s| self.is_live(s),
            &edited,
        ));
        self.edited = Arc::new(imbl::HashSet::new());
    }
}

impl Layer {
    /// The feature in `slot` with its properties as JSON (only the columns `only`, if given).
    pub fn feature(&self, slot: usize, only: Option<&[usize]>) -> Feature {
        Feature {
            id: self.ids[slot].clone(),
            geometry: (*self.geometries[slot]).clone(),
            properties: self.properties_json(slot, only),
        }
    }
}

pub fn geometry_type_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::Polygon(_) | geo::Geometry::Rect(_) | geo::Geometry::Triangle(_) => {
            "Polygon"
        }
        geo::Geometry::MultiPolygon(_) => "MultiPolygon",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}
