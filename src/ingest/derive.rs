//! Properties computed at load: a polygon's geodesic area and the zones that contain a feature.
//!
//! They are columns like any other, so they can be filtered, sorted, summed and exported; the
//! `derived` flag tells `/queryables` (and people) that the server computed them.

use geo::{Contains, GeodesicArea};
use rayon::prelude::*;

use crate::index::{Column, Layer, LayerParts};
use crate::model::{Field, FieldType};

/// The geodesic area of each (multi)polygon on the WGS84 ellipsoid, in m².
pub const AREA_FIELD: &str = "geodesic_area_m2";
/// The ids of the zone features (features of layers whose metadata says `"zone": true`) that
/// contain the feature.
pub const ZONES_FIELD: &str = "zones";

/// Adds derived columns and builds every layer's index.
///
/// Zone layers are built first so that the containment join can use their R-trees: for each
/// feature of another layer, candidates come from the zone index by envelope, then `geo` decides
/// containment exactly. A source property with a derived field's name wins, and is logged.
pub fn derive_and_build(parts: Vec<LayerParts>) -> Vec<Layer> {
    let (zone_parts, other_parts): (Vec<_>, Vec<_>) = parts.into_iter().partition(|p| p.meta.zone);
    let zones: Vec<Layer> = zone_parts
        .into_iter()
        .map(|mut p| {
            add_area(&mut p);
            Layer::build(p)
        })
        .collect();
    let others: Vec<Layer> = other_parts
        .into_iter()
        .map(|mut p| {
            add_area(&mut p);
            if !zones.is_empty() {
                add_zones(&mut p, &zones);
            }
            Layer::build(p)
        })
        .collect();
    zones.into_iter().chain(others).collect()
}

fn has_field(p: &LayerParts, name: &str) -> bool {
    let exists = p.fields.iter().any(|f| f.name == name);
    if exists {
        tracing::warn!(layer = %p.id, property = name, "the file has its own {name}; the derived value is not added");
    }
    exists
}

fn add_area(p: &mut LayerParts) {
    let polygonal = |g: &geo::Geometry<f64>| {
        matches!(
            g,
            geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)
        )
    };
    if !p.geometries.iter().any(polygonal) || has_field(p, AREA_FIELD) {
        return;
    }
    let values = p
        .geometries
        .par_iter()
        .map(|g| match g {
            geo::Geometry::Polygon(poly) => Some(poly.geodesic_area_unsigned()),
            geo::Geometry::MultiPolygon(mp) => Some(mp.geodesic_area_unsigned()),
            _ => None,
        })
        .collect();
    p.fields.push(Field {
        name: AREA_FIELD.to_owned(),
        ty: FieldType::Number,
        derived: true,
        nulls_only: false,
    });
    p.columns.push(Column::Number(values));
}

fn add_zones(p: &mut LayerParts, zones: &[Layer]) {
    use geo::BoundingRect;
    if has_field(p, ZONES_FIELD) {
        return;
    }
    let values = p
        .geometries
        .par_iter()
        .map(|g| {
            let Some(env) = g.bounding_rect() else {
                return Some(Box::default());
            };
            let mut ids: Vec<Box<str>> = Vec::new();
            for zone in zones {
                let mut slots: Vec<u32> = zone.slots_intersecting_rect(env).collect();
                slots.sort_unstable();
                for slot in slots {
                    if zone.geometries[slot as usize].contains(g) {
                        ids.push(zone.ids[slot as usize].to_string().into());
                    }
                }
            }
            Some(ids.into_boxed_slice())
        })
        .collect();
    p.fields.push(Field {
        name: ZONES_FIELD.to_owned(),
        ty: FieldType::StringArray,
        derived: true,
        nulls_only: false,
    });
    p.columns.push(Column::StringArray(values));
}
