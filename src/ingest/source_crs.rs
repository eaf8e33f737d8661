//! The coordinate systems a data file may come in, and the way from each to CRS84 at load.
//!
//! A GeoJSON file names its CRS in the legacy `crs` member (desktop GIS still writes it) or its
//! sidecar says `"crs"`. Accepted: CRS84, EPSG:4326 and EPSG:4490 (CGCS2000) in longitude,
//! latitude order; the CGCS2000 Gauss-Krüger zones (6-degree EPSG:4491–4512, 3-degree
//! EPSG:4513–4554, with or without the zone number in the easting); the WGS 84 UTM zones
//! (EPSG:32601–32660, 32701–32760); EPSG:3857; and the coordinates Chinese web maps and phone
//! apps give out, `gcj02` and `bd09`.
//!
//! The transverse Mercator zones go through `proj4rs`, a pure-Rust transcription of PROJ's
//! projections (its exact Poder/Engsager transverse Mercator), so the binary needs no system
//! PROJ. CGCS2000 is taken as WGS 84 (they differ by centimetres), as everywhere in this server.

use std::sync::Arc;

use proj4rs::proj::Proj;
use serde_json::Value as Json;

use crate::model::{invert_offset, Crs};

/// How a file's coordinates become CRS84.
#[derive(Clone)]
pub enum SourceCrs {
    /// Already longitude, latitude in degrees.
    Crs84,
    /// A projection (Gauss-Krüger, UTM), inverted through PROJ's formulas.
    Projected {
        epsg: u32,
        from: Arc<Proj>,
        to: Arc<Proj>,
    },
    /// EPSG:3857, spherical Web Mercator metres.
    WebMercator,
    /// GCJ-02, the offset coordinates of AMap, Tencent and Apple Maps in China.
    Gcj02,
    /// BD-09, Baidu's further offset of GCJ-02.
    Bd09,
}

/// Two names of the same system are equal (`EPSG:4548` and its URN), whatever was parsed.
impl PartialEq for SourceCrs {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SourceCrs::Projected { epsg: a, .. }, SourceCrs::Projected { epsg: b, .. }) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl std::fmt::Debug for SourceCrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceCrs::Crs84 => f.write_str("CRS84"),
            SourceCrs::Projected { epsg, .. } => write!(f, "EPSG:{epsg}"),
            SourceCrs::WebMercator => f.write_str("EPSG:3857"),
            SourceCrs::Gcj02 => f.write_str("gcj02"),
            SourceCrs::Bd09 => f.write_str("bd09"),
        }
    }
}

/// The PROJ definition of an EPSG code this server inverts, if it is one.
fn proj_definition(code: u32) -> Option<String> {
    let tm = |lon_0: u32, x_0: u64| {
        format!("+proj=tmerc +lat_0=0 +lon_0={lon_0} +k=1 +x_0={x_0} +y_0=0 +ellps=GRS80 +units=m +no_defs")
    };
    Some(match code {
        // CGCS2000 / Gauss-Kruger zone 13..23 (6-degree, the zone number leads the easting).
        4491..=4501 => {
            let zone = code - 4491 + 13;
            tm(zone * 6 - 3, u64::from(zone) * 1_000_000 + 500_000)
        }
        // CGCS2000 / Gauss-Kruger CM 75E..135E (6-degree).
        4502..=4512 => tm(75 + 6 * (code - 4502), 500_000),
        // CGCS2000 / 3-degree Gauss-Kruger zone 25..45.
        4513..=4533 => {
            let zone = code - 4513 + 25;
            tm(zone * 3, u64::from(zone) * 1_000_000 + 500_000)
        }
        // CGCS2000 / 3-degree Gauss-Kruger CM 75E..135E.
        4534..=4554 => tm(75 + 3 * (code - 4534), 500_000),
        32601..=32660 => format!(
            "+proj=utm +zone={} +datum=WGS84 +units=m +no_defs",
            code - 32600
        ),
        32701..=32760 => format!(
            "+proj=utm +zone={} +south +datum=WGS84 +units=m +no_defs",
            code - 32700
        ),
        _ => return None,
    })
}

/// The geographic CRS a projection's coordinates come back in: its own ellipsoid, so no datum
/// shift is applied (CGCS2000's GRS80 and WGS 84 differ by less than a millimetre here).
fn geographic_of(code: u32) -> &'static str {
    if code >= 32601 {
        "+proj=longlat +datum=WGS84 +no_defs"
    } else {
        "+proj=longlat +ellps=GRS80 +no_defs"
    }
}

impl SourceCrs {
    /// The CRS a name gives: `EPSG:4548`, `urn:ogc:def:crs:EPSG::4548` (what GDAL writes),
    /// `http://www.opengis.net/def/crs/EPSG/0/4548`, `CRS84`, `gcj02` or `bd09`.
    pub fn parse(name: &str) -> Result<SourceCrs, String> {
        let t = name.trim();
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "gcj02" | "gcj-02" => return Ok(SourceCrs::Gcj02),
            "bd09" | "bd-09" => return Ok(SourceCrs::Bd09),
            _ => {}
        }
        if lower.ends_with("crs84") {
            return Ok(SourceCrs::Crs84);
        }
        let code = [
            "urn:ogc:def:crs:epsg::",
            "urn:ogc:def:crs:epsg:",
            "http://www.opengis.net/def/crs/epsg/0/",
            "epsg:",
        ]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .and_then(|c| c.rsplit(':').next())
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| unknown(t))?;
        match code {
            4326 | 4490 => Ok(SourceCrs::Crs84),
            3857 => Ok(SourceCrs::WebMercator),
            _ => {
                let definition = proj_definition(code).ok_or_else(|| unknown(t))?;
                let from =
                    Proj::from_proj_string(&definition).map_err(|e| format!("EPSG:{code}: {e}"))?;
                let to = Proj::from_proj_string(geographic_of(code))
                    .map_err(|e| format!("EPSG:{code}: {e}"))?;
                Ok(SourceCrs::Projected {
                    epsg: code,
                    from: Arc::new(from),
                    to: Arc::new(to),
                })
            }
        }
    }

    pub fn is_crs84(&self) -> bool {
        matches!(self, SourceCrs::Crs84)
    }

    /// One position as longitude, latitude; an error names it when it cannot be one (a
    /// projected position far outside its zone, say, or not finite).
    pub fn to_crs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        if !(x.is_finite() && y.is_finite()) {
            return Err("coordinates must be finite numbers".into());
        }
        let (lon, lat) = match self {
            SourceCrs::Crs84 => (x, y),
            SourceCrs::Projected { epsg, from, to } => {
                let mut p = (x, y, 0.0);
                proj4rs::transform::transform(from, to, &mut p)
                    .map_err(|e| format!("({x}, {y}) is not a position of EPSG:{epsg}: {e}"))?;
                (p.0.to_degrees(), p.1.to_degrees())
            }
            // The same inverses, and Web Mercator's square, as `bbox-crs` and `Content-Crs` use.
            SourceCrs::WebMercator => {
                if let Some(reason) = Crs::Epsg3857.out_of_range(x, y) {
                    return Err(reason);
                }
                Crs::Epsg3857.to_crs84(x, y)
            }
            SourceCrs::Gcj02 => Crs::Gcj02.to_crs84(x, y),
            SourceCrs::Bd09 => {
                let (gx, gy) = invert_offset(gcj02_to_bd09, x, y, (x - 0.0065, y - 0.006));
                Crs::Gcj02.to_crs84(gx, gy)
            }
        };
        if !(lon.is_finite() && lat.is_finite()) || lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(format!("({x}, {y}) in {self:?} is not a place on Earth"));
        }
        Ok((lon, lat))
    }

    /// Rewrites a GeoJSON geometry's positions in place as CRS84 (a third coordinate is kept).
    pub fn reproject(&self, geometry: &mut Json) -> Result<(), String> {
        if self.is_crs84() {
            return Ok(());
        }
        match geometry.get_mut("geometries") {
            Some(Json::Array(parts)) => {
                for g in parts {
                    self.reproject(g)?;
                }
                Ok(())
            }
            _ => match geometry.get_mut("coordinates") {
                Some(c) => self.positions(c),
                None => Ok(()),
            },
        }
    }

    fn positions(&self, v: &mut Json) -> Result<(), String> {
        let Json::Array(items) = v else {
            return Ok(()); // not coordinates: the geometry check says what is wrong
        };
        if items.first().is_some_and(Json::is_number) {
            if let (Some(x), Some(y)) = (items[0].as_f64(), items.get(1).and_then(Json::as_f64)) {
                let (lon, lat) = self.to_crs84(x, y)?;
                items[0] = Json::from(lon);
                items[1] = Json::from(lat);
            }
            return Ok(());
        }
        for item in items {
            self.positions(item)?;
        }
        Ok(())
    }
}

fn unknown(name: &str) -> String {
    format!(
        "unknown crs {name:?}: give EPSG:4326, EPSG:4490, a CGCS2000 Gauss-Krüger zone (EPSG:4491 to 4554), a WGS 84 UTM zone (EPSG:32601 to 32660, 32701 to 32760), EPSG:3857, gcj02 or bd09"
    )
}

/// GCJ-02 to BD-09: Baidu's published offset.
fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_gdal_and_people_write_them() {
        for name in [
            "EPSG:4548",
            "urn:ogc:def:crs:EPSG::4548",
            "http://www.opengis.net/def/crs/EPSG/0/4548",
            "epsg:4548",
        ] {
            assert!(
                matches!(
                    SourceCrs::parse(name),
                    Ok(SourceCrs::Projected { epsg: 4548, .. })
                ),
                "{name}"
            );
        }
        for name in [
            "CRS84",
            "urn:ogc:def:crs:OGC:1.3:CRS84",
            "EPSG:4326",
            "EPSG:4490",
        ] {
            assert!(SourceCrs::parse(name).unwrap().is_crs84(), "{name}");
        }
        assert!(matches!(
            SourceCrs::parse("EPSG:3857"),
            Ok(SourceCrs::WebMercator)
        ));
        assert!(matches!(SourceCrs::parse("bd09"), Ok(SourceCrs::Bd09)));
        for bad in [
            "EPSG:2385",
            "EPSG:4555",
            "EPSG:32661",
            "EPSG:x",
            "Beijing 1954",
        ] {
            let e = SourceCrs::parse(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("Gauss-Krüger"), "{e}");
        }
    }

    /// GCJ-02 and BD-09 positions made from WGS 84 by the published forward offsets come back
    /// to where they were. (No published BD-09 test point was at hand offline: this checks the
    /// inversion, not the constants.)
    #[test]
    fn offset_coordinates_come_back() {
        for (lon, lat) in [(116.404, 39.915), (121.4737, 31.2304), (113.2644, 23.1291)] {
            let gcj = crate::model::wgs84_to_gcj02(lon, lat);
            let bd = gcj02_to_bd09(gcj.0, gcj.1);
            for (crs, (x, y)) in [(SourceCrs::Gcj02, gcj), (SourceCrs::Bd09, bd)] {
                let (back_lon, back_lat) = crs.to_crs84(x, y).unwrap();
                assert!(
                    (back_lon - lon).abs() < 1e-8 && (back_lat - lat).abs() < 1e-8,
                    "{crs:?}: {back_lon}, {back_lat}"
                );
            }
            // The offsets are real: hundreds of metres, not nothing.
            assert!((bd.0 - lon).abs() > 1e-3 && (gcj.0 - lon).abs() > 1e-3);
        }
    }

    #[test]
    fn a_position_that_is_nowhere_is_refused_with_its_numbers() {
        let e = SourceCrs::WebMercator.to_crs84(1e300, 0.0).unwrap_err();
        assert!(e.contains("EPSG/0/3857") && e.contains("outside"), "{e}");
        assert!(SourceCrs::Crs84.to_crs84(f64::NAN, 0.0).is_err());
    }
}
