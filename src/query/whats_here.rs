//! "What's here": every feature of every layer at a point, top-most layer first.

use geo::Point;

use super::budget::{Budget, Exceeded};
use super::nearest::geodesic_distance;
use crate::index::Catalog;

/// A feature found at the point: the index of its layer in the catalog, its slot, and its
/// geodesic distance in metres (0 inside a polygon).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Here {
    pub layer: usize,
    pub slot: usize,
    pub distance_m: f64,
}

/// Every feature within `tolerance_m` of `(lon, lat)` (0: that contain or touch it), layers in
/// reverse draw order (the top-most first), features in layer order.
pub fn features_at(
    catalog: &Catalog,
    lon: f64,
    lat: f64,
    tolerance_m: f64,
    budget: &Budget,
) -> Result<Vec<Here>, Exceeded> {
    let p = Point::new(lon, lat);
    // A box that surely holds everything within the tolerance: a degree is at least 110 km of
    // latitude and 111 km·cos(lat) of longitude.
    let dlat = tolerance_m / 110_000.0;
    let dlon = tolerance_m / (111_000.0 * lat.to_radians().cos().max(0.01));
    let search = geo::Rect::new((lon - dlon, lat - dlat), (lon + dlon, lat + dlat));
    let mut out = Vec::new();
    for (index, layer) in catalog.layers().iter().enumerate().rev() {
        let mut slots: Vec<usize> = layer
            .slots_intersecting_rect(search)
            .map(|s| s as usize)
            .collect();
        slots.sort_unstable();
        for (i, slot) in slots.into_iter().enumerate() {
            budget.check_every(i)?;
            let d = geodesic_distance(p, &layer.geometries[slot]);
            if d <= tolerance_m {
                out.push(Here {
                    layer: index,
                    slot,
                    distance_m: d,
                });
            }
        }
    }
    Ok(out)
}
