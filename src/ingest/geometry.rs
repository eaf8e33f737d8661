//! RFC 7946 geometry checks on the raw JSON, building the `geo` geometry in the same walk, then
//! a validity check.
//!
//! Walking the JSON ourselves says exactly what is wrong ("ring 2 of polygon 0 has 3 positions")
//! where a generic parser would only say "invalid geometry", and it builds the geometry without
//! an intermediate copy.

use geo::{Coord, LineString, Polygon};
use serde_json::Value as Json;

/// Checks a GeoJSON geometry object and converts it to a `geo::Geometry`.
///
/// Structural errors are an `Err`; a structurally sound geometry that `geo` finds invalid comes
/// back with the reason beside it, and the caller decides (see `LoadOptions`).
pub fn parse_geometry(v: &Json) -> Result<(geo::Geometry<f64>, Option<String>), String> {
    let geom = geometry(v, 0)?;
    let invalid = super::valid::invalid_reason(&geom);
    Ok((right_hand_rule(geom), invalid))
}

/// An area to export (a GeoJSON Polygon or MultiPolygon), checked as ingest checks a
/// feature's geometry: the one reading of an area for the HTTP export and the CLI alike.
pub fn area_polygon(v: &Json) -> Result<geo::MultiPolygon<f64>, String> {
    let (geometry, invalid) = parse_geometry(v)?;
    if let Some(reason) = invalid {
        return Err(format!("invalid polygon: {reason}"));
    }
    match geometry {
        geo::Geometry::Polygon(p) => Ok(geo::MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        _ => Err("the area must be a Polygon or MultiPolygon".into()),
    }
}

/// Orients polygons as RFC 7946 asks (exterior rings counter-clockwise, holes clockwise), so that
/// every response and export follows the right-hand rule whatever the source file did.
fn right_hand_rule(g: geo::Geometry<f64>) -> geo::Geometry<f64> {
    use geo::orient::{Direction, Orient};
    match g {
        geo::Geometry::Polygon(p) => geo::Geometry::Polygon(p.orient(Direction::Default)),
        geo::Geometry::MultiPolygon(mp) => {
            geo::Geometry::MultiPolygon(mp.orient(Direction::Default))
        }
        geo::Geometry::GeometryCollection(gc) => {
            geo::Geometry::GeometryCollection(gc.into_iter().map(right_hand_rule).collect())
        }
        other => other,
    }
}

/// Collections nested deeper than this are refused: real data never needs it, and unbounded
/// recursion on hostile input must not overflow the stack.
const MAX_COLLECTION_DEPTH: usize = 8;

fn geometry(v: &Json, depth: usize) -> Result<geo::Geometry<f64>, String> {
    let obj = v.as_object().ok_or("geometry must be an object")?;
    let ty = obj
        .get("type")
        .and_then(Json::as_str)
        .ok_or("geometry has no \"type\"")?;
    if ty == "GeometryCollection" {
        if depth >= MAX_COLLECTION_DEPTH {
            return Err("geometry collections nested too deeply".into());
        }
        let parts = obj
            .get("geometries")
            .and_then(Json::as_array)
            .ok_or("GeometryCollection needs a \"geometries\" array")?;
        if parts.is_empty() {
            return Err("empty GeometryCollection".into());
        }
        let members = parts
            .iter()
            .enumerate()
            .map(|(i, g)| {
                geometry(g, depth + 1).map_err(|e| format!("geometry {i} of collection: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(geo::Geometry::GeometryCollection(geo::GeometryCollection(
            members,
        )));
    }
    let coords = obj
        .get("coordinates")
        .ok_or_else(|| format!("{ty} has no \"coordinates\""))?;
    Ok(match ty {
        "Point" => geo::Geometry::Point(position(coords)?.into()),
        "MultiPoint" => geo::Geometry::MultiPoint(
            non_empty(coords, ty)?
                .iter()
                .map(|p| position(p).map(geo::Point::from))
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        ),
        "LineString" => geo::Geometry::LineString(line(coords)?),
        "MultiLineString" => {
            geo::Geometry::MultiLineString(geo::MultiLineString(each(coords, ty, "line", line)?))
        }
        "Polygon" => geo::Geometry::Polygon(polygon(coords)?),
        "MultiPolygon" => {
            geo::Geometry::MultiPolygon(geo::MultiPolygon(each(coords, ty, "polygon", polygon)?))
        }
        other => return Err(format!("unknown geometry type {other:?}")),
    })
}

fn non_empty<'a>(v: &'a Json, what: &str) -> Result<&'a Vec<Json>, String> {
    match v.as_array() {
        Some(a) if !a.is_empty() => Ok(a),
        Some(_) => Err(format!("empty {what}")),
        None => Err(format!("{what} coordinates must be an array")),
    }
}

fn each<T>(
    v: &Json,
    ty: &str,
    part: &str,
    parse: fn(&Json) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    non_empty(v, ty)?
        .iter()
        .enumerate()
        .map(|(i, p)| parse(p).map_err(|e| format!("{part} {i}: {e}")))
        .collect()
}

/// A position: 2 or 3 finite numbers, longitude and latitude in range. A height is accepted and
/// not kept (the server is two-dimensional).
fn position(v: &Json) -> Result<Coord<f64>, String> {
    let a = v
        .as_array()
        .ok_or("a position must be an array of numbers")?;
    if !(2..=3).contains(&a.len()) {
        return Err(format!(
            "a position needs 2 or 3 numbers, found {}",
            a.len()
        ));
    }
    let mut n = [0.0f64; 3];
    for (slot, x) in n.iter_mut().zip(a) {
        *slot = x
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or("a position must hold finite numbers")?;
    }
    if !(-180.0..=180.0).contains(&n[0]) {
        return Err(format!(
            "longitude {} is outside -180..180 (is the file in a projected CRS, or lat/lon swapped?)",
            n[0]
        ));
    }
    if !(-90.0..=90.0).contains(&n[1]) {
        return Err(format!("latitude {} is outside -90..90", n[1]));
    }
    Ok(Coord { x: n[0], y: n[1] })
}

fn line(v: &Json) -> Result<LineString<f64>, String> {
    let pts = non_empty(v, "LineString")?;
    if pts.len() < 2 {
        return Err(format!(
            "a line needs at least 2 positions, found {}",
            pts.len()
        ));
    }
    Ok(LineString(
        pts.iter().map(position).collect::<Result<_, _>>()?,
    ))
}

fn polygon(v: &Json) -> Result<Polygon<f64>, String> {
    let mut rings = Vec::new();
    for (i, ring) in non_empty(v, "Polygon")?.iter().enumerate() {
        let pts = ring
            .as_array()
            .ok_or_else(|| format!("ring {i} must be an array of positions"))?;
        let coords: Vec<Coord<f64>> = pts
            .iter()
            .map(position)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("ring {i}: {e}"))?;
        if coords.len() < 4 {
            return Err(format!(
                "ring {i} has {} positions; a linear ring needs at least 4",
                coords.len()
            ));
        }
        if coords.first() != coords.last() {
            return Err(format!(
                "ring {i} is not closed (first and last positions differ)"
            ));
        }
        rings.push(LineString(coords));
    }
    let mut rings = rings.into_iter();
    let exterior = rings.next().ok_or("empty Polygon")?;
    Ok(Polygon::new(exterior, rings.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Json) -> String {
        match parse_geometry(&v) {
            Err(e) => e,
            Ok((_, Some(invalid))) => format!("invalid geometry: {invalid}"),
            Ok((_, None)) => panic!("{v} should be refused"),
        }
    }

    #[test]
    fn accepts_valid_geometries() {
        for v in [
            json!({"type": "Point", "coordinates": [116.5, 39.8]}),
            json!({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
            json!({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2, 3]}]}),
        ] {
            assert!(matches!(parse_geometry(&v), Ok((_, None))), "{v}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(err(json!({"type": "Point", "coordinates": [200, 0]})).contains("longitude 200"));
        assert!(err(json!({"type": "Point", "coordinates": [0, 95]})).contains("latitude 95"));
        assert!(err(json!({"type": "Point", "coordinates": [0]})).contains("2 or 3"));
        assert!(err(json!({"type": "LineString", "coordinates": [[0, 0]]})).contains("at least 2"));
        assert!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}))
                .contains("at least 4")
        );
        assert!(
            err(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}))
                .contains("not closed")
        );
        assert!(
            err(json!({"type": "Circle", "coordinates": [0, 0]})).contains("unknown geometry type")
        );
        // A bow-tie ring is structurally fine but geometrically invalid.
        assert!(err(
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]})
        )
        .contains("invalid geometry"));
    }
}
