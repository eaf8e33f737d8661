//! Derived properties, in one place: a polygon's geodesic area, the zones that contain a
//! feature, and when it last changed. Computed here for the whole seed at load
//! ([`derive_and_build`]), for one feature when it is edited, replayed or laid over the seed
//! ([`derive_cells`]), and for the features a zone's edit moves in or out ([`rezoned`]).
//!
//! They are columns like any other, so they can be filtered, sorted, summed and exported; the
//! `derived` flag tells `/queryables` (and people) that the server computed them.

use geo::GeodesicArea;
use rayon::prelude::*;

use super::ZoneIndex;
use crate::index::{Catalog, Cell, Column, Layer, LayerEdit, LayerParts};
use crate::model::{Field, FieldType};

/// The geodesic area of each (multi)polygon on the WGS84 ellipsoid, in m².
pub const AREA_FIELD: &str = "geodesic_area_m2";
/// The ids of the zone features (features of layers whose metadata says `"zone": true`) that
/// contain the feature.
pub const ZONES_FIELD: &str = "zones";
/// When the feature last changed: the sidecar's `as_of` for seed features, the edit's time
/// after an edit. Only in editable layers.
pub const UPDATED_FIELD: &str = "updated_at";

/// What a derived property is, by role, for clients that work on any data and so must not
/// recognise it by its name: `area` (the geodesic area), `zones` (the zones that contain the
/// feature) or `updated` (when it last changed).
pub fn role(name: &str) -> Option<&'static str> {
    match name {
        AREA_FIELD => Some("area"),
        ZONES_FIELD => Some("zones"),
        UPDATED_FIELD => Some("updated"),
        _ => None,
    }
}

/// The derived fields, which a body may not set.
pub const DERIVED: [&str; 3] = [AREA_FIELD, ZONES_FIELD, UPDATED_FIELD];

/// The geodesic area of a (multi)polygon in m²; `None` for other geometries.
pub fn area_of(g: &geo::Geometry<f64>) -> Option<f64> {
    match g {
        geo::Geometry::Polygon(poly) => Some(poly.geodesic_area_unsigned()),
        geo::Geometry::MultiPolygon(mp) => Some(mp.geodesic_area_unsigned()),
        _ => None,
    }
}

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
            add_updated(&mut p);
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
            add_updated(&mut p);
            Layer::build(p)
        })
        .collect();
    zones.into_iter().chain(others).collect()
}

/// `updated_at` for an editable layer: every seed feature as of the sidecar's `as_of` (null
/// without one).
fn add_updated(p: &mut LayerParts) {
    if !p.meta.editable || has_field(p, UPDATED_FIELD) {
        return;
    }
    let seed = p.meta.as_of.as_deref().map(|d| format!("{d}T00:00:00Z"));
    let value = seed.and_then(|s| Some((crate::model::parse_timestamp(&s)?, Box::<str>::from(s))));
    let values: Vec<Option<(i64, Box<str>)>> = std::iter::repeat_n(value, p.ids.len()).collect();
    p.fields.push(Field {
        name: UPDATED_FIELD.to_owned(),
        ty: FieldType::Timestamp,
        derived: true,
        nulls_only: false,
    });
    p.columns.push(Column::Timestamp(
        values
            .into_iter()
            .map(|v| v.map(|(t, s)| (t, s.into())))
            .collect(),
    ));
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
    let values: Vec<Option<f64>> = p.geometries.par_iter().map(area_of).collect();
    p.fields.push(Field {
        name: AREA_FIELD.to_owned(),
        ty: FieldType::Number,
        derived: true,
        nulls_only: false,
    });
    p.columns.push(Column::Number(values.into()));
}

fn add_zones(p: &mut LayerParts, zones: &[Layer]) {
    if has_field(p, ZONES_FIELD) {
        return;
    }
    let zones: Vec<&Layer> = zones.iter().collect();
    let index = ZoneIndex::new(&zones);
    let values: Vec<Option<Box<[Box<str>]>>> = p
        .geometries
        .par_iter()
        .with_min_len(4096)
        .map_init(
            || index.scratch(),
            |scratch, g| Some(index.zones_of(g, scratch)),
        )
        .collect();
    p.fields.push(Field {
        name: ZONES_FIELD.to_owned(),
        ty: FieldType::StringArray,
        derived: true,
        nulls_only: false,
    });
    p.columns.push(Column::StringArray(
        values.into_iter().map(|v| v.map(Into::into)).collect(),
    ));
}

/// The edits that give each of `slots` (live features of `layer`) the zones they lie in now,
/// where those changed: after a zone's edit, these are the features whose derived `zones`
/// moved (a ledger that keeps rows rewrites them). Empty for a layer without derived `zones`.
/// The slots are shared among threads, each with its own prepared zone geometries.
pub fn rezoned(layer: &Layer, slots: &[usize], zones: &ZoneIndex) -> Vec<LayerEdit> {
    let Some(zi) = layer
        .field_index(ZONES_FIELD)
        .filter(|&i| layer.fields[i].derived)
    else {
        return Vec::new();
    };
    slots
        .par_iter()
        .with_min_len(1024)
        .map_init(
            || zones.scratch(),
            |scratch, &slot| {
                let fresh = Cell::StringArray(zones.zones_of(&layer.geometries[slot], scratch));
                (layer.columns[zi].cell_at(slot) != fresh).then(|| {
                    let mut cells = cells_at(layer, slot);
                    cells[zi] = fresh;
                    LayerEdit::Put {
                        id: layer.ids[slot].clone(),
                        geometry: (*layer.geometries[slot]).clone(),
                        cells,
                    }
                })
            },
        )
        .flatten()
        .collect()
}

/// The cells of the feature in `slot`, read back from its columns.
pub fn cells_at(layer: &Layer, slot: usize) -> Vec<Cell> {
    layer.columns.iter().map(|c| c.cell_at(slot)).collect()
}

/// The derived cells of one feature with `geometry`, changed at `stamp` (ms, text): the values
/// load computes for every seed feature, computed the same way for an edit, a replayed change
/// and a stored one laid over the seed.
pub fn derive_cells(
    layer: &Layer,
    cells: &mut [Option<Cell>],
    geometry: &geo::Geometry<f64>,
    zones: &ZoneIndex,
    stamp: &(i64, String),
) {
    for (i, f) in layer.fields.iter().enumerate() {
        if !f.derived {
            continue;
        }
        cells[i] = Some(match f.name.as_str() {
            AREA_FIELD => area_of(geometry).map_or(Cell::Null, Cell::Number),
            ZONES_FIELD => Cell::StringArray(zones.zones_of(geometry, &mut zones.scratch())),
            UPDATED_FIELD => Cell::Timestamp(stamp.0, stamp.1.clone().into()),
            _ => Cell::Null,
        });
    }
}

/// Recomputes every non-zone layer's `zones` (after edited zones were laid over the seed).
pub fn rezone_all(mut catalog: Catalog) -> Catalog {
    let zone_layers = catalog.zone_layers();
    let zones: Vec<&Layer> = zone_layers.iter().map(|l| &**l).collect();
    let zones = ZoneIndex::new(&zones);
    let others: Vec<Layer> = catalog
        .layers()
        .iter()
        .filter(|l| !l.meta.zone)
        .map(|l| (**l).clone())
        .collect();
    for layer in others {
        let slots: Vec<usize> = layer.live_slots().collect();
        let edits = rezoned(&layer, &slots, &zones);
        if !edits.is_empty() {
            if let Ok(next) = layer.apply(&edits) {
                catalog = catalog.with_layer(next);
            }
        }
    }
    catalog
}
