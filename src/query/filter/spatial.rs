//! Spatial predicates between a feature's geometry and a literal geometry.

use geo::{BoundingRect, CoordsIter, Intersects, Rect, Relate};

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
}

impl Literal {
    pub fn new(geometry: geo::Geometry<f64>) -> Result<Self, FilterError> {
        let envelope = geometry
            .bounding_rect()
            .ok_or_else(|| FilterError::Geometry("empty geometry".into()))?;
        let finite = geometry
            .coords_iter()
            .all(|c| c.x.is_finite() && c.y.is_finite());
        if !finite {
            return Err(FilterError::Geometry(
                "coordinates must be finite numbers".into(),
            ));
        }
        Ok(Literal { geometry, envelope })
    }

    pub fn vertices(&self) -> usize {
        self.geometry.coords_count()
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
    fn intersects(&self, feature: &geo::Geometry<f64>) -> bool {
        if let Some(first) = feature.coords_iter().next() {
            if self.geometry.intersects(&first) {
                return true;
            }
        }
        feature.intersects(&self.geometry)
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
            SpatialOp::Intersects => self.intersects(feature),
            SpatialOp::Disjoint => !self.intersects(feature),
            SpatialOp::Equals => feature.relate(g).is_equal_topo(),
            SpatialOp::Touches => feature.relate(g).is_touches(),
            SpatialOp::Within => feature.relate(g).is_within(),
            SpatialOp::Contains => feature.relate(g).is_contains(),
            SpatialOp::Overlaps => feature.relate(g).is_overlaps(),
            SpatialOp::Crosses => feature.relate(g).is_crosses(),
        }
    }
}
