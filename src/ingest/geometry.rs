//! RFC 7946 geometry checks on the raw JSON, then conversion to `geo` types and a validity check.
//!
//! The raw walk comes first because it can say exactly what is wrong ("ring 2 of polygon 0 has 3
//! positions") where a generic parser would only say "invalid geometry".

use geo::Validation;
use serde_json::Value as Json;

/// Checks a GeoJSON geometry object and converts it to a `geo::Geometry`.
///
/// Structural errors are an `Err`; a structurally sound geometry that `geo` finds invalid comes
/// back with the reason beside it, and the caller decides (see `LoadOptions`).
pub fn parse_geometry(v: &Json) -> Result<(geo::Geometry<f64>, Option<String>), String> {
    check_geometry(v, 0)?;
    let gj = geojson::Geometry::from_json_value(v.clone()).map_err(|e| e.to_string())?;
    let geom = geo::Geometry::<f64>::try_from(gj.value).map_err(|e| e.to_string())?;
    let invalid = geom.check_validation().err().map(|e| e.to_string());
    Ok((right_hand_rule(geom), invalid))
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

fn check_geometry(v: &Json, depth: usize) -> Result<(), String> {
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
        for (i, g) in parts.iter().enumerate() {
            check_geometry(g, depth + 1).map_err(|e| format!("geometry {i} of collection: {e}"))?;
        }
        return Ok(());
    }
    let coords = obj
        .get("coordinates")
        .ok_or_else(|| format!("{ty} has no \"coordinates\""))?;
    match ty {
        "Point" => position(coords),
        "MultiPoint" => non_empty(coords, ty)?.iter().try_for_each(position),
        "LineString" => line(coords),
        "MultiLineString" => each(coords, ty, "line", line),
        "Polygon" => polygon(coords),
        "MultiPolygon" => each(coords, ty, "polygon", polygon),
        other => Err(format!("unknown geometry type {other:?}")),
    }
}

fn non_empty<'a>(v: &'a Json, what: &str) -> Result<&'a Vec<Json>, String> {
    match v.as_array() {
        Some(a) if !a.is_empty() => Ok(a),
        Some(_) => Err(format!("empty {what}")),
        None => Err(format!("{what} coordinates must be an array")),
    }
}

fn each(
    v: &Json,
    ty: &str,
    part: &str,
    check: fn(&Json) -> Result<(), String>,
) -> Result<(), String> {
    for (i, p) in non_empty(v, ty)?.iter().enumerate() {
        check(p).map_err(|e| format!("{part} {i}: {e}"))?;
    }
    Ok(())
}

fn position(v: &Json) -> Result<(), String> {
    let a = v
        .as_array()
        .ok_or("a position must be an array of numbers")?;
    if !(2..=3).contains(&a.len()) {
        return Err(format!(
            "a position needs 2 or 3 numbers, found {}",
            a.len()
        ));
    }
    let n: Vec<f64> = a
        .iter()
        .map(|x| x.as_f64().filter(|f| f.is_finite()))
        .collect::<Option<_>>()
        .ok_or("a position must hold finite numbers")?;
    if !(-180.0..=180.0).contains(&n[0]) {
        return Err(format!(
            "longitude {} is outside -180..180 (is the file in a projected CRS, or lat/lon swapped?)",
            n[0]
        ));
    }
    if !(-90.0..=90.0).contains(&n[1]) {
        return Err(format!("latitude {} is outside -90..90", n[1]));
    }
    Ok(())
}

fn line(v: &Json) -> Result<(), String> {
    let pts = non_empty(v, "LineString")?;
    if pts.len() < 2 {
        return Err(format!(
            "a line needs at least 2 positions, found {}",
            pts.len()
        ));
    }
    pts.iter().try_for_each(position)
}

fn polygon(v: &Json) -> Result<(), String> {
    for (i, ring) in non_empty(v, "Polygon")?.iter().enumerate() {
        let pts = ring
            .as_array()
            .ok_or_else(|| format!("ring {i} must be an array of positions"))?;
        pts.iter()
            .try_for_each(position)
            .map_err(|e| format!("ring {i}: {e}"))?;
        if pts.len() < 4 {
            return Err(format!(
                "ring {i} has {} positions; a linear ring needs at least 4",
                pts.len()
            ));
        }
        if pts.first() != pts.last() {
            return Err(format!(
                "ring {i} is not closed (first and last positions differ)"
            ));
        }
    }
    Ok(())
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
