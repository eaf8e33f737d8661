//! Geometries written as GeoJSON straight from their coordinates.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A geometry written as GeoJSON straight from its coordinates: converting to the `geojson`
/// crate's types first allocated a vector per position, a large share of a big page's time.
pub struct GeometryOut<'a>(pub &'a geo::Geometry<f64>);

struct Position(geo::Coord<f64>);
struct Positions<'a>(&'a [geo::Coord<f64>]);
struct Rings<'a>(&'a geo::Polygon<f64>);
struct Points<'a>(&'a [geo::Point<f64>]);
struct Lines<'a>(&'a [geo::LineString<f64>]);
struct Polygons<'a>(&'a [geo::Polygon<f64>]);
struct Geometries<'a>(&'a [geo::Geometry<f64>]);

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.0.x, self.0.y].serialize(s)
    }
}

impl Serialize for Positions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| Position(*c)))
    }
}

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rings = std::iter::once(self.0.exterior()).chain(self.0.interiors());
        s.collect_seq(rings.map(|r| Positions(&r.0)))
    }
}

impl Serialize for Points<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| Position(p.0)))
    }
}

impl Serialize for Lines<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|l| Positions(&l.0)))
    }
}

impl Serialize for Polygons<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Rings))
    }
}

impl Serialize for Geometries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(GeometryOut))
    }
}

impl Serialize for GeometryOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use geo::Geometry as G;
        let mut m = s.serialize_map(Some(2))?;
        match self.0 {
            G::Point(p) => {
                m.serialize_entry("type", "Point")?;
                m.serialize_entry("coordinates", &Position(p.0))?;
            }
            G::Line(l) => {
                m.serialize_entry("type", "LineString")?;
                m.serialize_entry("coordinates", &Positions(&[l.start, l.end]))?;
            }
            G::LineString(l) => {
                m.serialize_entry("type", "LineString")?;
                m.serialize_entry("coordinates", &Positions(&l.0))?;
            }
            G::Polygon(p) => {
                m.serialize_entry("type", "Polygon")?;
                m.serialize_entry("coordinates", &Rings(p))?;
            }
            G::Rect(r) => {
                m.serialize_entry("type", "Polygon")?;
                m.serialize_entry("coordinates", &Rings(&r.to_polygon()))?;
            }
            G::Triangle(t) => {
                m.serialize_entry("type", "Polygon")?;
                m.serialize_entry("coordinates", &Rings(&t.to_polygon()))?;
            }
            G::MultiPoint(mp) => {
                m.serialize_entry("type", "MultiPoint")?;
                m.serialize_entry("coordinates", &Points(&mp.0))?;
            }
            G::MultiLineString(ml) => {
                m.serialize_entry("type", "MultiLineString")?;
                m.serialize_entry("coordinates", &Lines(&ml.0))?;
            }
            G::MultiPolygon(mp) => {
                m.serialize_entry("type", "MultiPolygon")?;
                m.serialize_entry("coordinates", &Polygons(&mp.0))?;
            }
            G::GeometryCollection(gc) => {
                m.serialize_entry("type", "GeometryCollection")?;
                m.serialize_entry("geometries", &Geometries(&gc.0))?;
            }
        }
        m.end()
    }
}
