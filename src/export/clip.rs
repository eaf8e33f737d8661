//! Cutting an export to an area with `geo`'s boolean operations, recomputing what depends on
//! the geometry (the derived geodesic area).

use geo::{BooleanOps, Contains, GeodesicArea, Intersects};
use serde_json::Value as Json;

use super::ExportSource;
use crate::ingest::AREA_FIELD;
use crate::model::Feature;

/// The part of `g` inside `area`; `None` when nothing is left.
pub fn clip_geometry(
    g: &geo::Geometry<f64>,
    area: &geo::MultiPolygon<f64>,
) -> Option<geo::Geometry<f64>> {
    use geo::Geometry as G;
    let out = match g {
        G::Polygon(p) => G::MultiPolygon(p.intersection(area)),
        G::MultiPolygon(mp) => G::MultiPolygon(mp.intersection(area)),
        G::Rect(r) => G::MultiPolygon(r.to_polygon().intersection(area)),
        G::Triangle(t) => G::MultiPolygon(t.to_polygon().intersection(area)),
        G::LineString(l) => {
            G::MultiLineString(area.clip(&geo::MultiLineString(vec![l.clone()]), false))
        }
        G::MultiLineString(ml) => G::MultiLineString(area.clip(ml, false)),
        G::Line(l) => G::MultiLineString(area.clip(
            &geo::MultiLineString(vec![geo::LineString::from(*l)]),
            false,
        )),
        G::Point(p) => return area.intersects(p).then(|| g.clone()),
        G::MultiPoint(mp) => {
            let inside: Vec<_> = mp.iter().filter(|p| area.intersects(*p)).copied().collect();
            return (!inside.is_empty()).then(|| G::MultiPoint(inside.into()));
        }
        G::GeometryCollection(gc) => {
            let parts: Vec<_> = gc.iter().filter_map(|p| clip_geometry(p, area)).collect();
            return (!parts.is_empty()).then(|| G::GeometryCollection(parts.into()));
        }
    };
    let empty = match &out {
        G::MultiPolygon(mp) => mp.0.is_empty(),
        G::MultiLineString(ml) => ml.0.is_empty(),
        _ => false,
    };
    if empty {
        return None;
    }
    // A feature wholly inside keeps its own geometry exactly.
    if area.contains(g) {
        return Some(g.clone());
    }
    Some(out)
}

fn clip_feature(mut f: Feature, area: &geo::MultiPolygon<f64>) -> Option<Feature> {
    let g = clip_geometry(&f.geometry, area)?;
    if let Some(a) = f.properties.get_mut(AREA_FIELD) {
        *a = match &g {
            geo::Geometry::Polygon(p) => Json::from(p.geodesic_area_unsigned()),
            geo::Geometry::MultiPolygon(mp) => Json::from(mp.geodesic_area_unsigned()),
            _ => Json::Null,
        };
    }
    f.geometry = g;
    Some(f)
}

/// The source with every feature cut to `area` (features left with nothing are dropped).
pub fn clip_source(source: ExportSource, area: geo::MultiPolygon<f64>) -> ExportSource {
    let ExportSource {
        name,
        fields,
        features,
        workbook,
    } = source;
    ExportSource {
        name,
        fields,
        features: Box::new(features.filter_map(move |f| match f {
            Ok(f) => clip_feature(f, &area).map(Ok),
            Err(e) => Some(Err(e)),
        })),
        workbook,
    }
}
