//! Spatial predicates between a feature's geometry and a literal geometry.

use geo::{BoundingRect, CoordsIter, Intersects, Rect, Relate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::grid::Grid;
use super::FilterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialOp {
    Intersects,
    Disjoint,
    Equals,
    Touches,
    Within,
    Contains,
    Overlaps,
    Crosses,
}

impl SpatialOp {
    pub fn parse(op: &str) -> Option<Self> {
        Some(match op.to_ascii_lowercase().as_str() {
            "s_intersects" => SpatialOp::Intersects,
            "s_disjoint" => SpatialOp::Disjoint,
            "s_equals" => SpatialOp::Equals,
            "s_touches" => SpatialOp::Touches,
            "s_within" => SpatialOp::Within,
            "s_contains" => SpatialOp::Contains,
            "s_overlaps" => SpatialOp::Overlaps,
            "s_crosses" => SpatialOp::Crosses,
            _ => return None,
        })
    }

    /// The same relation with its arguments swapped.
    pub fn converse(self) -> Self {
        match self {
            SpatialOp::Within => SpatialOp::Contains,
            SpatialOp::Contains => SpatialOp::Within,
            other => other,
        }
    }

    /// Whether every feature the predicate selects has an envelope that meets the literal's, so
    /// that the R-tree may narrow the candidates.
    pub fn implies_intersection(self) -> bool {
        self != SpatialOp::Disjoint
    }
}

/// A literal geometry of a filter, with its envelope for the quick reject.
#[derive(Debug, Clone)]
pub struct Literal {
    pub geometry: geo::Geometry<f64>,
    pub envelope: Rect<f64>,
    /// The literal's segments with their boxes, for the intersection test.
    edges: Vec<(geo::Line<f64>, Rect<f64>)>,
    /// For a literal of many segments, an R-tree over their boxes: a feature is then tested
    /// against the few segments near it, not all of them (a drawn comb of 99,000 vertices made
    /// every candidate cost milliseconds).
    edge_index: Option<RTree<EdgeEntry>>,
    /// For an areal literal, which parts of its envelope are wholly inside or outside it.
    grid: Option<Grid>,
}

/// Above this many segments, the segments near a feature are found through an R-tree.
const MAX_SCANNED_EDGES: usize = 512;

/// An R-tree entry: a segment's box and its position in `edges`.
type EdgeEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

impl Literal {
    pub fn new(geometry: geo::Geometry<f64>) -> Result<Self, FilterError> {
        let envelope = geometry
            .bounding_rect()
            .ok_or_else(|| FilterError::Geometry("empty geometry".into()))?;
        // Checked before anything is built from them: a grid over a literal reaching 1e200 once
        // looped towards isize::MAX (filter-crs is CRS84, so nothing outside it is a place).
        if let Some(c) = geometry.coords_iter().find(|c| !in_crs84(*c)) {
            return Err(FilterError::Geometry(
                if c.x.is_finite() && c.y.is_finite() {
                    format!(
                    "the position ({}, {}) is outside CRS84 (longitude -180..180, latitude -90..90)",
                    short_number(c.x),
                    short_number(c.y)
                )
                } else {
                    "coordinates must be finite numbers".into()
                },
            ));
        }
        let mut edges = Vec::new();
        collect_edges(&geometry, &mut edges);
        edges.shrink_to_fit();
        let areal = matches!(
            geometry,
            geo::Geometry::Polygon(_)
                | geo::Geometry::MultiPolygon(_)
                | geo::Geometry::Rect(_)
                | geo::Geometry::Triangle(_)
        );
        let grid = areal
            .then(|| Grid::new(&geometry, envelope, edges.iter().map(|(l, _)| *l)))
            .flatten();
        let edge_index = (edges.len() > MAX_SCANNED_EDGES).then(|| {
            RTree::bulk_load(
                edges
                    .iter()
                    .enumerate()
                    .map(|(i, (_, r))| {
                        let rect =
                            Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                        GeomWithData::new(rect, i as u32)
                    })
                    .collect(),
            )
        });
        Ok(Literal {
            geometry,
            envelope,
            edges,
            edge_index,
            grid,
        })
    }

    pub fn vertices(&self) -> usize {
        self.geometry.coords_count()
    }

    /// About how much memory the literal holds: vertices, segments with their boxes, the grid.
    pub fn heap_bytes(&self) -> usize {
        let tree_entry = std::mem::size_of::<EdgeEntry>() * 3 / 2;
        self.vertices() * std::mem::size_of::<geo::Coord<f64>>()
            + self.edges.capacity() * std::mem::size_of::<(geo::Line<f64>, Rect<f64>)>()
            + self
                .edge_index
                .as_ref()
                .map_or(0, |t| t.size() * tree_entry)
            + self.grid.as_ref().map_or(0, Grid::heap_bytes)
    }

    /// A `BBOX(w, s, e, n)`; west above east crosses the antimeridian and becomes two boxes.
    pub fn bbox(w: f64, s: f64, e: f64, n: f64) -> Result<Self, FilterError> {
        if s > n {
            return Err(FilterError::Geometry(format!(
                "BBOX south {s} is above north {n}"
            )));
        }
        let rect = |w: f64, e: f64| Rect::new((w, s), (e, n)).to_polygon();
        let geometry = if w > e {
            geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![rect(w, 180.0), rect(-180.0, e)]))
        } else {
            geo::Geometry::Polygon(rect(w, e))
        };
        Literal::new(geometry)
    }

    /// Whether the feature meets the literal. A feature with a vertex in the literal does, so
    /// that is tried first: one point-in-polygon test instead of every edge against every edge,
    /// for the many features that lie wholly inside a drawn area.
    ///
    /// A feature meets a literal with segments if and only if a part of the feature has a
    /// vertex inside the literal, or a literal segment meets the feature (crossing its
    /// boundary, or lying inside it: a literal part wholly within the feature is found that
    /// way), or a point of the literal (which has no segments; a collection may hold one) lies
    /// in the feature. Only segments whose boxes overlap the feature's envelope can meet it.
    ///
    /// An areal literal's grid decides most features first, and most vertices of the rest.
    fn intersects(&self, feature: &geo::Geometry<f64>, feature_envelope: Rect<f64>) -> bool {
        let vertex_inside = |c: geo::Coord<f64>| match &self.grid {
            Some(grid) => grid
                .classify(Rect::new(c, c))
                .unwrap_or_else(|| self.geometry.intersects(&c)),
            None => self.geometry.intersects(&c),
        };
        if let Some(known) = self
            .grid
            .as_ref()
            .and_then(|g| g.classify(feature_envelope))
        {
            return known;
        }
        if any_part_vertex(feature, &mut |c| vertex_inside(c)) {
            return true;
        }
        if self.edges.is_empty() {
            return feature.intersects(&self.geometry);
        }
        let crosses = match &self.edge_index {
            Some(tree) => {
                let (lo, hi) = (feature_envelope.min(), feature_envelope.max());
                tree.locate_in_envelope_intersecting(&AABB::from_corners(
                    [lo.x, lo.y],
                    [hi.x, hi.y],
                ))
                .any(|e| feature.intersects(&self.edges[e.data as usize].0))
            }
            None => self
                .edges
                .iter()
                .filter(|(_, b)| b.intersects(&feature_envelope))
                .any(|(e, _)| feature.intersects(e)),
        };
        crosses || any_part_vertex(&self.geometry, &mut |c| feature.intersects(&c))
    }

    /// The predicate with the feature's geometry first.
    pub fn test(
        &self,
        op: SpatialOp,
        feature: &geo::Geometry<f64>,
        feature_envelope: Rect<f64>,
    ) -> bool {
        if !feature_envelope.intersects(&self.envelope) {
            return op == SpatialOp::Disjoint;
        }
        let g = &self.geometry;
        match op {
            SpatialOp::Intersects => self.intersects(feature, feature_envelope),
            SpatialOp::Disjoint => !self.intersects(feature, feature_envelope),
            SpatialOp::Equals => feature.relate(g).is_equal_topo(),
            SpatialOp::Touches => feature.relate(g).is_touches(),
            SpatialOp::Within => feature.relate(g).is_within(),
            SpatialOp::Contains => feature.relate(g).is_contains(),
            SpatialOp::Overlaps => feature.relate(g).is_overlaps(),
            SpatialOp::Crosses => feature.relate(g).is_crosses(),
        }
    }
}

/// Whether a position lies within CRS84's range.
fn in_crs84(c: geo::Coord<f64>) -> bool {
    (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)
}

/// A number as a message shows it: short, whatever its digits (`1e200`, not 200 zeros).
fn short_number(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() <= 24 {
        plain
    } else {
        format!("{v:e}")
    }
}

/// Every segment of `g` (rings and lines), with its box.
fn collect_edges(g: &geo::Geometry<f64>, out: &mut Vec<(geo::Line<f64>, Rect<f64>)>) {
    use geo::LinesIter;
    let mut push = |l: geo::Line<f64>| out.push((l, Rect::new(l.start, l.end)));
    match g {
        geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => {}
        geo::Geometry::Line(l) => push(*l),
        geo::Geometry::LineString(l) => l.lines_iter().for_each(push),
        geo::Geometry::MultiLineString(l) => l.lines_iter().for_each(push),
        geo::Geometry::Polygon(p) => p.lines_iter().for_each(push),
        geo::Geometry::MultiPolygon(p) => p.lines_iter().for_each(push),
        geo::Geometry::Rect(r) => r.lines_iter().for_each(push),
        geo::Geometry::Triangle(t) => t.lines_iter().for_each(push),
        geo::Geometry::GeometryCollection(gc) => gc.iter().for_each(|g| collect_edges(g, out)),
    }
}

/// Whether `test` holds for one vertex of some part of `g`: every point of a multi-point, the
/// first vertex of every line, ring-bearing polygon and collection member.
fn any_part_vertex(g: &geo::Geometry<f64>, test: &mut impl FnMut(geo::Coord<f64>) -> bool) -> bool {
    match g {
        geo::Geometry::Point(p) => test(p.0),
        geo::Geometry::MultiPoint(mp) => mp.iter().any(|p| test(p.0)),
        geo::Geometry::Line(l) => test(l.start),
        geo::Geometry::LineString(l) => l.0.first().is_some_and(|c| test(*c)),
        geo::Geometry::MultiLineString(ml) => {
            ml.iter().any(|l| l.0.first().is_some_and(|c| test(*c)))
        }
        geo::Geometry::Polygon(p) => p.exterior().0.first().is_some_and(|c| test(*c)),
        geo::Geometry::MultiPolygon(mp) => mp
            .iter()
            .any(|p| p.exterior().0.first().is_some_and(|c| test(*c))),
        geo::Geometry::Rect(r) => test(r.min()),
        geo::Geometry::Triangle(t) => test(t.v1()),
        geo::Geometry::GeometryCollection(gc) => gc.iter().any(|g| any_part_vertex(g, test)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
    use proptest::prelude::*;

    /// A star-shaped ring (so never self-intersecting) around a centre.
    fn ring(cx: f64, cy: f64, radii: &[f64], turn: f64) -> LineString<f64> {
        let n = radii.len() as f64;
        let mut pts: Vec<Coord<f64>> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = turn + i as f64 / n * std::f64::consts::TAU;
                Coord {
                    x: cx + r * a.cos(),
                    y: cy + r * a.sin(),
                }
            })
            .collect();
        pts.push(pts[0]);
        LineString(pts)
    }

    fn polygon() -> impl Strategy<Value = Polygon<f64>> {
        (
            -5.0..5.0f64,
            -5.0..5.0f64,
            prop::collection::vec(0.5..4.0f64, 3..16),
            0.0..6.3f64,
            prop::bool::ANY,
        )
            .prop_map(|(cx, cy, radii, turn, hole)| {
                let exterior = ring(cx, cy, &radii, turn);
                let min = radii.iter().copied().fold(f64::INFINITY, f64::min);
                let interiors = if hole {
                    vec![ring(cx, cy, &[min * 0.4; 6], turn)]
                } else {
                    vec![]
                };
                Polygon::new(exterior, interiors)
            })
    }

    fn geometry() -> impl Strategy<Value = geo::Geometry<f64>> {
        prop_oneof![
            polygon().prop_map(geo::Geometry::Polygon),
            (polygon(), polygon())
                .prop_map(|(a, b)| geo::Geometry::MultiPolygon(MultiPolygon(vec![a, b]))),
            (-9.0..9.0f64, -9.0..9.0f64).prop_map(|(x, y)| geo::Geometry::Point(Point::new(x, y))),
            // A collection mixing a point (no segments) with a polygon, as in the CQL2 suite.
            (-9.0..9.0f64, -9.0..9.0f64, polygon()).prop_map(|(x, y, p)| {
                geo::Geometry::GeometryCollection(geo::GeometryCollection(vec![
                    geo::Geometry::Point(Point::new(x, y)),
                    geo::Geometry::Polygon(p),
                ]))
            }),
            prop::collection::vec((-9.0..9.0f64, -9.0..9.0f64), 2..6)
                .prop_map(|pts| { geo::Geometry::LineString(LineString::from(pts)) }),
        ]
    }

    /// Pairs where one geometry (or one part of it) lies wholly inside the other, boundaries
    /// apart: the cases a vertex test must catch, rare among random pairs.
    fn nested() -> impl Strategy<Value = (geo::Geometry<f64>, geo::Geometry<f64>)> {
        (
            -5.0..5.0f64,
            -5.0..5.0f64,
            prop::collection::vec(2.0..4.0f64, 3..12),
            prop::collection::vec(0.1..0.5f64, 3..12),
            0.0..6.3f64,
            0..4usize,
        )
            .prop_map(|(cx, cy, big, small, turn, case)| {
                let outer = Polygon::new(ring(cx, cy, &big, turn), vec![]);
                let inner = Polygon::new(ring(cx + 0.5, cy - 0.5, &small, turn), vec![]);
                let far = Polygon::new(ring(cx + 20.0, cy, &small, turn), vec![]);
                let parts = geo::Geometry::MultiPolygon(MultiPolygon(vec![far, inner.clone()]));
                let (outer, inner) = (geo::Geometry::Polygon(outer), geo::Geometry::Polygon(inner));
                match case {
                    0 => (outer, inner),
                    1 => (inner, outer),
                    2 => (parts, outer),
                    _ => (outer, parts),
                }
            })
    }

    /// Small features (points, short segments, small squares) scattered over a literal's
    /// envelope, some placed exactly on its vertices and edges: what the grid must get right.
    fn small_features() -> impl Strategy<Value = Vec<geo::Geometry<f64>>> {
        prop::collection::vec(
            (-10.0..10.0f64, -10.0..10.0f64, 0.0..0.3f64, 0..3usize).prop_map(|(x, y, d, kind)| {
                match kind {
                    0 => geo::Geometry::Point(Point::new(x, y)),
                    1 => geo::Geometry::LineString(LineString::from(vec![(x, y), (x + d, y - d)])),
                    _ => geo::Geometry::Polygon(Rect::new((x, y), (x + d, y + d)).to_polygon()),
                }
            }),
            50,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The grid's quick answers agree with `geo` for many small features, including ones
        /// that touch the literal's outline exactly.
        #[test]
        fn grid_answers_agree_with_geo(literal in polygon(), mut features in small_features(), at in 0.0..1.0f64) {
            use geo::LinesIter;
            for (i, line) in literal.lines_iter().enumerate() {
                if i % 3 == 0 {
                    features.push(geo::Geometry::Point(Point(line.start)));
                    let on = line.start + (line.end - line.start) * at;
                    features.push(geo::Geometry::Polygon(Rect::new(on, on + Coord { x: 0.01, y: 0.01 }).to_polygon()));
                }
            }
            let lit = Literal::new(geo::Geometry::Polygon(literal)).unwrap();
            prop_assert!(lit.grid.is_some());
            for feature in &features {
                let envelope = feature.bounding_rect().unwrap();
                let expected = feature.intersects(&lit.geometry);
                prop_assert_eq!(lit.test(SpatialOp::Intersects, feature, envelope), expected, "{:?}", feature);
            }
        }

        #[test]
        fn intersects_agrees_with_geo_when_nested((feature, literal) in nested()) {
            let lit = Literal::new(literal).unwrap();
            let envelope = feature.bounding_rect().unwrap();
            prop_assert!(feature.intersects(&lit.geometry));
            prop_assert!(lit.test(SpatialOp::Intersects, &feature, envelope));
        }

        /// The segment-scan intersection agrees with `geo`'s own on every kind of pair,
        /// holes and multi-part geometries included.
        #[test]
        fn intersects_agrees_with_geo(feature in geometry(), literal in geometry()) {
            let lit = Literal::new(literal).unwrap();
            let envelope = feature.bounding_rect().unwrap();
            let expected = feature.intersects(&lit.geometry);
            prop_assert_eq!(lit.test(SpatialOp::Intersects, &feature, envelope), expected);
            prop_assert_eq!(lit.test(SpatialOp::Disjoint, &feature, envelope), !expected);
        }
    }
}
