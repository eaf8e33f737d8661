use std::collections::{BTreeSet, HashMap};

use geo::{BoundingRect, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde_json::{Map, Value as Json};

use crate::model::Feature;

use super::Column;
use crate::model::{Bbox, FeatureId, Field, LayerId, LayerMeta};

/// An R-tree entry: a feature's envelope and its slot in the layer's vectors.
pub type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// What ingest hands over to build a layer; every vector is indexed by slot.
pub struct LayerParts {
    pub id: LayerId,
    pub meta: LayerMeta,
    pub ids: Vec<FeatureId>,
    pub geometries: Vec<geo::Geometry<f64>>,
    pub fields: Vec<Field>,
    pub columns: Vec<Column>,
}

/// A loaded, indexed layer. Slots are the features' positions in the source file, which is the
/// layer's natural, stable order.
pub struct Layer {
    pub id: LayerId,
    pub meta: LayerMeta,
    pub ids: Vec<FeatureId>,
    pub geometries: Vec<geo::Geometry<f64>>,
    pub fields: Vec<Field>,
    pub columns: Vec<Column>,
    envelopes: Vec<Rect<f64>>,
    rtree: RTree<Entry>,
    by_id: HashMap<String, u32>,
    /// The union of every envelope; `None` for an empty layer.
    pub extent: Option<Rect<f64>>,
    /// The GeoJSON geometry types present, for the collection description.
    pub geometry_types: BTreeSet<&'static str>,
}

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
        let envelopes: Vec<Rect<f64>> = geometries
            .iter()
            .map(|g| {
                g.bounding_rect()
                    .unwrap_or_else(|| Rect::new((0.0, 0.0), (0.0, 0.0)))
            })
            .collect();
        let entries = envelopes
            .iter()
            .enumerate()
            .map(|(slot, r)| {
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                GeomWithData::new(rect, slot as u32)
            })
            .collect();
        let rtree = RTree::bulk_load(entries);
        let by_id = ids
            .iter()
            .enumerate()
            .map(|(slot, id)| (id.to_string(), slot as u32))
            .collect();
        let extent = envelopes.iter().copied().reduce(|a, b| {
            Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        });
        let geometry_types = geometries.iter().map(geometry_type_name).collect();
        Layer {
            id,
            meta,
            ids,
            geometries,
            fields,
            columns,
            envelopes,
            rtree,
            by_id,
            extent,
            geometry_types,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The slot of the feature whose id reads `id` in a URL.
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

    /// Slots whose envelope intersects `bbox`, in ascending slot order (the layer's order).
    pub fn slots_in_bbox(&self, bbox: &Bbox) -> Vec<u32> {
        let mut slots: Vec<u32> = bbox
            .rects()
            .into_iter()
            .flat_map(|(min, max)| {
                self.rtree
                    .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
                    .map(|e| e.data)
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Slots whose envelope intersects the rectangle, in R-tree order (unsorted).
    pub fn slots_intersecting_rect(&self, rect: Rect<f64>) -> impl Iterator<Item = u32> + '_ {
        let aabb = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        self.rtree
            .locate_in_envelope_intersecting(&aabb)
            .map(|e| e.data)
    }

    /// Every slot with the squared distance (in degrees) from `point` to its envelope, nearest
    /// first.
    pub fn slots_by_envelope_distance(
        &self,
        point: [f64; 2],
    ) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.rtree
            .nearest_neighbor_iter_with_distance_2(&point)
            .map(|(e, d2)| (e.data as usize, d2))
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
}

impl Layer {
    /// The feature in `slot` with its properties as JSON (only the columns `only`, if given).
    pub fn feature(&self, slot: usize, only: Option<&[usize]>) -> Feature {
        Feature {
            id: self.ids[slot].clone(),
            geometry: self.geometries[slot].clone(),
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
