//! A drawn or chosen area as a typed term of a query: the features whose geometry meets it.
//!
//! An area comes as a geometry (a polygon drawn on the map, a zone's outline, a file given to
//! the CLI) and goes straight into the plan: it is checked once (inside CRS84, at most
//! [`MAX_VERTICES`](super::MAX_VERTICES) vertices) and tested with the same prepared literal
//! a CQL2 `S_INTERSECTS` uses, without being written out as filter text and parsed back.

use std::sync::Arc;

use geo::{CoordsIter, Rect};

use super::spatial::{Literal, SpatialOp};
use super::{FilterError, MAX_VERTICES};
use crate::index::Layer;

/// An area a query's features must intersect.
#[derive(Debug, Clone)]
pub struct Area(Arc<Literal>);

impl Area {
    /// The area of `geometry`, refused when a position is outside CRS84 or it has more vertices
    /// than a filter's literals may.
    pub fn new(geometry: geo::Geometry<f64>) -> Result<Self, FilterError> {
        let vertices = geometry.coords_count();
        if vertices > MAX_VERTICES {
            return Err(FilterError::TooComplex(format!(
                "the area has {vertices} vertices, more than the {MAX_VERTICES} allowed"
            )));
        }
        Ok(Area(Arc::new(Literal::new(geometry)?)))
    }

    pub fn geometry(&self) -> &geo::Geometry<f64> {
        &self.0.geometry
    }

    /// Its bounding box: candidates come from the R-tree within it.
    pub fn envelope(&self) -> Rect<f64> {
        self.0.envelope
    }

    /// Whether the feature in `slot` intersects the area (its geometry, not its envelope).
    pub fn meets(&self, layer: &Layer, slot: usize) -> bool {
        self.0.test(
            SpatialOp::Intersects,
            &layer.geometries[slot],
            layer.envelope(slot),
        )
    }
}

impl PartialEq for Area {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.geometry == other.0.geometry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn an_area_outside_crs84_or_too_detailed_is_refused() {
        let far = polygon![(x: 0.0, y: 0.0), (x: 1e200, y: 0.0), (x: 0.0, y: 1.0)];
        assert!(matches!(
            Area::new(far.into()),
            Err(FilterError::Geometry(_))
        ));
        let n = MAX_VERTICES + 1;
        let ring: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                (a.cos(), a.sin())
            })
            .collect();
        let busy = geo::Polygon::new(ring.into(), vec![]);
        assert!(matches!(
            Area::new(busy.into()),
            Err(FilterError::TooComplex(_))
        ));
    }
}
