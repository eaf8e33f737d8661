//! Geodesic distances from a point to features, and the nearest features through the R-tree.

use geo::{Closest, ClosestPoint, Contains, Distance, Geodesic, MapCoords, Point};

use super::budget::{Budget, Exceeded};
use crate::index::Layer;

/// Geodesic distance in metres on the WGS84 ellipsoid from `p` to the nearest point of `g`
/// (0 inside a polygon).
///
/// The nearest point is found in a local equirectangular frame centred on `p` (longitudes scaled
/// by cos(latitude)), which matches the geodesic nearest point closely at city scale; the
/// distance to it is then exact (Karney's geodesic).
pub fn geodesic_distance(p: Point<f64>, g: &geo::Geometry<f64>) -> f64 {
    if g.contains(&p) {
        return 0.0;
    }
    let k = p.y().to_radians().cos().max(1e-9);
    let local = g.map_coords(|c| geo::coord! { x: (c.x - p.x()) * k, y: c.y - p.y() });
    let nearest = match local.closest_point(&Point::new(0.0, 0.0)) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => q,
        Closest::Indeterminate => return f64::INFINITY,
    };
    let back = Point::new(nearest.x() / k + p.x(), nearest.y() + p.y());
    Geodesic.distance(p, back)
}

/// A lower bound in metres for a distance of `d` degrees (Euclidean in lon/lat) near latitude
/// `lat`: a degree of latitude is at least 110,574 m, a degree of longitude 111,320·cos φ m at
/// the highest latitude φ the distance can reach.
fn metres_lower_bound(d_deg: f64, lat: f64) -> f64 {
    let phi = (lat.abs() + d_deg).min(90.0);
    d_deg * (111_320.0 * phi.to_radians().cos()).min(110_574.0)
}

/// The `k` slots nearest to `p` among those `accept` allows, with their distances, nearest first.
///
/// Candidates come from the R-tree in order of envelope distance; the walk stops once even the
/// most optimistic distance of the next envelope cannot beat the k-th best found.
pub fn nearest(
    layer: &Layer,
    p: Point<f64>,
    k: usize,
    accept: impl Fn(usize) -> bool,
    budget: &Budget,
) -> Result<Vec<(usize, f64)>, Exceeded> {
    let mut best: Vec<(usize, f64)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Ok(best);
    }
    // A filter that few features pass makes the walk visit many: check the budget as it goes.
    for (i, (slot, envelope_d2)) in layer.slots_by_envelope_distance([p.x(), p.y()]).enumerate() {
        if i % 64 == 0 {
            budget.check()?;
        }
        if best.len() == k && metres_lower_bound(envelope_d2.sqrt(), p.y()) > best[k - 1].1 {
            break;
        }
        if !accept(slot) {
            continue;
        }
        let d = geodesic_distance(p, &layer.geometries[slot]);
        let at = best.partition_point(|(s, x)| (*x, *s) <= (d, slot));
        best.insert(at, (slot, d));
        best.truncate(k);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_to_a_point_is_the_geodesic_distance() {
        // One degree of latitude at the equator: 110,574 m (WGS84), to within a metre.
        let d = geodesic_distance(
            Point::new(0.0, 0.0),
            &geo::Geometry::Point(Point::new(0.0, 1.0)),
        );
        assert!((d - 110_574.0).abs() < 1.0, "{d}");
    }

    #[test]
    fn inside_a_polygon_is_zero() {
        let square =
            geo::Geometry::Polygon(geo::Rect::new((116.0, 39.0), (117.0, 40.0)).to_polygon());
        assert_eq!(geodesic_distance(Point::new(116.5, 39.5), &square), 0.0);
        // From 0.01° east of the square's east edge at 39.5°N: about 858 m.
        let d = geodesic_distance(Point::new(117.01, 39.5), &square);
        assert!((d - 859.0).abs() < 3.0, "{d}");
    }
}
