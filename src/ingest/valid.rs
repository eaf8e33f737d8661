//! Geometry validity with geo's rules, at geo's cost for small geometries and without its
//! quadratic cost for large ones.
//!
//! geo's `Validation` tests every pair of a ring's segments for intersection, every pair of
//! interior rings, and every pair of a multipolygon's parts: a drawn area of 100,000 vertices
//! took longer than a request may run. Here the same predicates are applied only to the pairs
//! whose boxes meet, found through an R-tree: two segments (or rings, or parts) whose boxes do
//! not meet cannot intersect, so the answers are the same (a property test compares them with
//! geo's). Points, lines and collections are left to geo, whose checks for them are linear.

use geo::algorithm::validation::{
    GeometryIndex, InvalidGeometry, InvalidMultiPolygon, InvalidPolygon, RingRole, Validation,
};
use geo::{coordinate_position::CoordPos, dimensions::Dimensions, RemoveRepeatedPoints};
use geo::{BoundingRect, Coord, Intersects, LineString, MultiPolygon, Polygon, Rect, Relate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

type Boxed = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn boxed(r: Rect<f64>, i: usize) -> Boxed {
    GeomWithData::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        i,
    )
}

fn aabb(r: Rect<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}

/// The first reason `g` is invalid, in geo's words; `None` when it is valid.
pub fn invalid_reason(g: &geo::Geometry<f64>) -> Option<String> {
    match g {
        geo::Geometry::Polygon(p) => {
            polygon(p).map(|e| InvalidGeometry::InvalidPolygon(e).to_string())
        }
        geo::Geometry::MultiPolygon(mp) => {
            multi_polygon(mp).map(|e| InvalidGeometry::InvalidMultiPolygon(e).to_string())
        }
        geo::Geometry::GeometryCollection(gc) => gc.iter().find_map(invalid_reason),
        other => other.check_validation().err().map(|e| e.to_string()),
    }
}

/// Whether two segments of one ring cross or overlap, other than where they join: geo's test,
/// on the pairs whose boxes meet.
fn has_self_intersection(ring: &LineString<f64>) -> bool {
    let lines: Vec<geo::Line<f64>> = ring.lines().collect();
    let meets = |i: usize, j: usize| {
        let (a, b) = (lines[i], lines[j]);
        i != j && a.intersects(&b) && a.start != b.end && a.end != b.start
    };
    if lines.len() <= 32 {
        return (0..lines.len()).any(|i| (0..lines.len()).any(|j| meets(i, j)));
    }
    let tree = RTree::bulk_load(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| boxed(Rect::new(l.start, l.end), i))
            .collect(),
    );
    lines.iter().enumerate().any(|(i, l)| {
        tree.locate_in_envelope_intersecting(&aabb(Rect::new(l.start, l.end)))
            .any(|e| meets(i, e.data))
    })
}

fn not_finite(c: &Coord<f64>) -> bool {
    !(c.x.is_finite() && c.y.is_finite())
}

fn polygon(p: &Polygon<f64>) -> Option<InvalidPolygon> {
    use geo::algorithm::validation::CoordIndex;
    if p.exterior().0.is_empty() {
        return None;
    }
    for (i, ring) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        if ring.0.is_empty() {
            continue;
        }
        let role = if i == 0 {
            RingRole::Exterior
        } else {
            RingRole::Interior(i - 1)
        };
        if ring.remove_repeated_points().0.len() < 4 {
            return Some(InvalidPolygon::TooFewPointsInRing(role));
        }
        if has_self_intersection(ring) {
            return Some(InvalidPolygon::SelfIntersection(role));
        }
        if let Some(at) = ring.0.iter().position(not_finite) {
            return Some(InvalidPolygon::NonFiniteCoord(role, CoordIndex(at)));
        }
    }
    let interiors: Vec<(usize, Polygon<f64>)> = p
        .interiors()
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.0.is_empty())
        .map(|(i, r)| (i, Polygon::new(r.clone(), vec![])))
        .collect();
    if interiors.is_empty() {
        return None;
    }
    let exterior = geo::PreparedGeometry::from(Polygon::new(p.exterior().clone(), vec![]));
    for (i, hole) in &interiors {
        let m = exterior.relate(hole);
        if !m.is_contains() {
            return Some(InvalidPolygon::InteriorRingNotContainedInExteriorRing(
                RingRole::Interior(*i),
            ));
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Some(InvalidPolygon::IntersectingRingsOnALine(
                RingRole::Exterior,
                RingRole::Interior(*i),
            ));
        }
    }
    // Pairs of holes whose boxes meet, in geo's order (first hole, then the later one).
    let boxes: Vec<Rect<f64>> = interiors
        .iter()
        .filter_map(|(_, h)| h.bounding_rect())
        .collect();
    let tree = RTree::bulk_load(
        boxes
            .iter()
            .enumerate()
            .map(|(k, r)| boxed(*r, k))
            .collect(),
    );
    for (k, (i, hole)) in interiors.iter().enumerate() {
        let mut later: Vec<usize> = tree
            .locate_in_envelope_intersecting(&aabb(boxes[k]))
            .map(|e| e.data)
            .filter(|l| *l > k)
            .collect();
        later.sort_unstable();
        for l in later {
            let (j, other) = &interiors[l];
            let m = hole.relate(other);
            if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                return Some(InvalidPolygon::IntersectingRingsOnAnArea(
                    RingRole::Interior(*i),
                    RingRole::Interior(*j),
                ));
            }
            if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                return Some(InvalidPolygon::IntersectingRingsOnALine(
                    RingRole::Interior(*i),
                    RingRole::Interior(*j),
                ));
            }
        }
    }
    None
}

/// Each part in turn, then that part against the later ones: geo's order, so the first reason
/// is the one geo gives.
fn multi_polygon(mp: &MultiPolygon<f64>) -> Option<InvalidMultiPolygon> {
    let boxes: Vec<Option<Rect<f64>>> = mp.0.iter().map(|p| p.bounding_rect()).collect();
    let tree = RTree::bulk_load(
        boxes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|r| boxed(r, i)))
            .collect(),
    );
    for (i, p) in mp.0.iter().enumerate() {
        if let Some(e) = polygon(p) {
            return Some(InvalidMultiPolygon::InvalidPolygon(GeometryIndex(i), e));
        }
        let Some(b) = boxes[i] else { continue };
        let mut later: Vec<usize> = tree
            .locate_in_envelope_intersecting(&aabb(b))
            .map(|e| e.data)
            .filter(|j| *j > i)
            .collect();
        later.sort_unstable();
        for j in later {
            let m = p.relate(&mp.0[j]);
            if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                return Some(InvalidMultiPolygon::ElementsOverlaps(
                    GeometryIndex(i),
                    GeometryIndex(j),
                ));
            }
            if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                return Some(InvalidMultiPolygon::ElementsTouchOnALine(
                    GeometryIndex(i),
                    GeometryIndex(j),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ring of `n` points around a centre, radii jittered (sometimes enough to cross itself).
    fn ring(cx: f64, cy: f64, radii: &[f64], order: &[usize]) -> LineString<f64> {
        let n = radii.len();
        let mut pts: Vec<Coord<f64>> = order
            .iter()
            .map(|&i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                Coord {
                    x: cx + radii[i] * a.cos(),
                    y: cy + radii[i] * a.sin(),
                }
            })
            .collect();
        pts.push(pts[0]);
        LineString(pts)
    }

    fn geometry() -> impl Strategy<Value = geo::Geometry<f64>> {
        let poly = (
            3usize..60,
            -3.0..3.0f64,
            -3.0..3.0f64,
            any::<u64>(),
            prop::bool::ANY,
            prop::bool::ANY,
        )
            .prop_map(|(n, cx, cy, seed, shuffle, hole)| {
                let mut rng = etown_atlas_rng(seed);
                let radii: Vec<f64> = (0..n).map(|_| 0.5 + rng() * 2.0).collect();
                let mut order: Vec<usize> = (0..n).collect();
                if shuffle {
                    // Swap two points: often a self-intersection.
                    let (a, b) = (
                        (rng() * n as f64) as usize % n,
                        (rng() * n as f64) as usize % n,
                    );
                    order.swap(a, b);
                }
                let holes = if hole {
                    let r = rng() * 1.5;
                    vec![ring(
                        cx + rng() - 0.5,
                        cy + rng() - 0.5,
                        &[r; 6],
                        &[0, 1, 2, 3, 4, 5],
                    )]
                } else {
                    vec![]
                };
                Polygon::new(ring(cx, cy, &radii, &order), holes)
            });
        prop_oneof![
            poly.clone().prop_map(geo::Geometry::Polygon),
            (poly.clone(), poly)
                .prop_map(|(a, b)| geo::Geometry::MultiPolygon(MultiPolygon(vec![a, b]))),
        ]
    }

    /// A tiny deterministic generator, so the strategy needs nothing else.
    fn etown_atlas_rng(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// Valid exactly when geo says so, for the same reason.
        #[test]
        fn agrees_with_geo(g in geometry()) {
            let ours = invalid_reason(&g);
            let theirs = g.check_validation().err().map(|e| e.to_string());
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn a_ring_of_a_hundred_thousand_vertices_is_checked_quickly() {
        let n = 100_000;
        let pts: Vec<Coord<f64>> = (0..=n)
            .map(|i| {
                let a = (i % n) as f64 / n as f64 * std::f64::consts::TAU;
                Coord {
                    x: 116.5 + 0.05 * a.cos(),
                    y: 39.8 + 0.05 * a.sin(),
                }
            })
            .collect();
        let g = geo::Geometry::Polygon(Polygon::new(LineString(pts), vec![]));
        assert_eq!(invalid_reason(&g), None);
    }
}
