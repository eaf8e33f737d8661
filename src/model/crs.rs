//! Output coordinate systems (OGC API - Features Part 2): CRS84 by default, EPSG:4326 and
//! EPSG:4490 (CGCS2000, latitude first as their definitions say), EPSG:3857, and GCJ-02 as a
//! documented non-standard option for AMap users.

use geo::MapCoords;

pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crs {
    #[default]
    Crs84,
    Epsg4326,
    /// CGCS2000: the same coordinates as WGS84 to within centimetres, latitude first.
    Epsg4490,
    /// Web Mercator, metres.
    Epsg3857,
    /// The Chinese "Mars" datum of AMap/Gaode; not an EPSG CRS.
    Gcj02,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unsupported crs {0:?}; use one of: {list}", list = Crs::SUPPORTED.join(", "))]
pub struct CrsError(pub String);

impl Crs {
    pub const SUPPORTED: [&'static str; 5] = [
        CRS84_URI,
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "http://www.opengis.net/def/crs/EPSG/0/4490",
        "http://www.opengis.net/def/crs/EPSG/0/3857",
        "gcj02",
    ];

    /// Reads a `crs` parameter: a URI, or the short forms `EPSG:4490`, `CRS84`, `gcj02`.
    pub fn parse(s: &str) -> Result<Self, CrsError> {
        let t = s.trim();
        let code = t
            .strip_prefix("http://www.opengis.net/def/crs/EPSG/0/")
            .or_else(|| t.strip_prefix("EPSG:"))
            .or_else(|| t.strip_prefix("epsg:"));
        Ok(match (t, code) {
            (_, Some("4326")) => Crs::Epsg4326,
            (_, Some("4490")) => Crs::Epsg4490,
            (_, Some("3857")) => Crs::Epsg3857,
            (CRS84_URI | "CRS84" | "OGC:CRS84", _) => Crs::Crs84,
            ("gcj02" | "GCJ-02" | "gcj-02", _) => Crs::Gcj02,
            _ => return Err(CrsError(s.to_owned())),
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => CRS84_URI,
            Crs::Epsg4326 => Crs::SUPPORTED[1],
            Crs::Epsg4490 => Crs::SUPPORTED[2],
            Crs::Epsg3857 => Crs::SUPPORTED[3],
            Crs::Gcj02 => "gcj02",
        }
    }

    /// The EPSG code written into file formats' CRS tables (GCJ-02 has none; it is labelled as
    /// WGS84, which its coordinates are not: the README says so).
    pub fn epsg(self) -> u32 {
        match self {
            Crs::Crs84 | Crs::Epsg4326 | Crs::Gcj02 => 4326,
            Crs::Epsg4490 => 4490,
            Crs::Epsg3857 => 3857,
        }
    }

    /// Whether text formats (GeoJSON, CSV) write latitude first, as the EPSG definitions of
    /// 4326 and 4490 order their axes. File formats with their own CRS tables (GeoPackage,
    /// FlatGeobuf, Shapefile) always store x = longitude.
    pub fn latitude_first(self) -> bool {
        matches!(self, Crs::Epsg4326 | Crs::Epsg4490)
    }

    /// The geometry in this CRS, longitude (or easting) first.
    pub fn project(self, g: &geo::Geometry<f64>) -> geo::Geometry<f64> {
        match self {
            Crs::Crs84 | Crs::Epsg4326 | Crs::Epsg4490 => g.clone(),
            Crs::Epsg3857 => g.map_coords(|c| {
                let (x, y) = web_mercator(c.x, c.y);
                geo::coord! { x: x, y: y }
            }),
            Crs::Gcj02 => g.map_coords(|c| {
                let (x, y) = wgs84_to_gcj02(c.x, c.y);
                geo::coord! { x: x, y: y }
            }),
        }
    }

    /// The geometry as text formats write it: projected, then with axes swapped if the CRS
    /// puts latitude first.
    pub fn for_text(self, g: &geo::Geometry<f64>) -> geo::Geometry<f64> {
        let p = self.project(g);
        if self.latitude_first() {
            p.map_coords(|c| geo::coord! { x: c.y, y: c.x })
        } else {
            p
        }
    }
}

impl Crs {
    /// Why position `(a, b)` (in this CRS's axis order) lies outside the CRS's domain, if it
    /// does. Web Mercator's square ends at ±20,037,508.34 m on both axes: past it, a position
    /// would be clamped to the pole (y = 1e308 became latitude 90), not refused.
    pub fn out_of_range(self, a: f64, b: f64) -> Option<String> {
        const MERCATOR_EDGE: f64 = 20_037_508.342_789_244;
        let (what, ok) = match self {
            Crs::Crs84 | Crs::Gcj02 => (
                "longitude within ±180 and latitude within ±90",
                a.abs() <= 180.0 && b.abs() <= 90.0,
            ),
            Crs::Epsg4326 | Crs::Epsg4490 => (
                "latitude within ±90 and longitude within ±180 (latitude first)",
                a.abs() <= 90.0 && b.abs() <= 180.0,
            ),
            Crs::Epsg3857 => (
                "x and y within ±20037508.34 m",
                a.abs() <= MERCATOR_EDGE && b.abs() <= MERCATOR_EDGE,
            ),
        };
        (!ok).then(|| format!("position [{a}, {b}] is outside {}: {what}", self.uri()))
    }

    /// The CRS84 longitude/latitude of a position given in this CRS (in its axis order), for
    /// `bbox-crs`.
    pub fn to_crs84(self, a: f64, b: f64) -> (f64, f64) {
        match self {
            Crs::Crs84 => (a, b),
            Crs::Epsg4326 | Crs::Epsg4490 => (b, a),
            Crs::Epsg3857 => {
                const R: f64 = 6_378_137.0;
                (
                    (a / R).to_degrees(),
                    (2.0 * (b / R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
                )
            }
            Crs::Gcj02 => gcj02_to_wgs84(a, b),
        }
    }
}

/// GCJ-02 back to WGS84 by fixed-point iteration (to better than 1e-9°).
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    invert_offset(wgs84_to_gcj02, lon, lat, (lon, lat))
}

/// The position `forward` moves to (`lon`, `lat`), by fixed-point iteration from `start`: how
/// the Chinese offset datums (GCJ-02, BD-09), published only as forward formulas, are undone
/// (to better than 1e-9°; their offsets change slowly, so each step gains digits).
pub fn invert_offset(
    forward: impl Fn(f64, f64) -> (f64, f64),
    lon: f64,
    lat: f64,
    start: (f64, f64),
) -> (f64, f64) {
    let (mut x, mut y) = start;
    for _ in 0..30 {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (fx - lon, fy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < 1e-10 && dy.abs() < 1e-10 {
            break;
        }
    }
    (x, y)
}

/// Spherical Web Mercator (EPSG:3857), latitudes clamped to its ±85.0511° limit.
pub fn web_mercator(lon: f64, lat: f64) -> (f64, f64) {
    const R: f64 = 6_378_137.0;
    let lat = lat.clamp(-85.051_128_779_806_59, 85.051_128_779_806_59);
    (
        R * lon.to_radians(),
        R * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln(),
    )
}

const GCJ_A: f64 = 6_378_245.0;
const GCJ_EE: f64 = 0.006_693_421_622_965_943;

fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// WGS84 to GCJ-02 (the published algorithm, Krasovsky constants); unchanged outside China.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    d_lat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    d_lat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    d_lon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    d_lon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - GCJ_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    d_lat = (d_lat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    d_lon = (d_lon * 180.0) / (GCJ_A / sqrt_magic * rad_lat.cos() * PI);
    (lon + d_lon, lat + d_lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published test vectors of the eviltransform project: (wgsLat, wgsLon, gcjLat, gcjLon).
    const VECTORS: [(f64, f64, f64, f64); 3] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
    ];

    #[test]
    fn gcj02_matches_the_published_pairs() {
        for (w_lat, w_lon, g_lat, g_lon) in VECTORS {
            let (lon, lat) = wgs84_to_gcj02(w_lon, w_lat);
            assert!(
                (lon - g_lon).abs() < 1e-9 && (lat - g_lat).abs() < 1e-9,
                "{lon},{lat}"
            );
        }
        assert_eq!(
            wgs84_to_gcj02(-0.1015987, 51.5286416),
            (-0.1015987, 51.5286416)
        );
    }

    #[test]
    fn bbox_crs_positions_come_back_to_crs84() {
        let (x, y) = web_mercator(116.5, 39.8);
        let (lon, lat) = Crs::Epsg3857.to_crs84(x, y);
        assert!((lon - 116.5).abs() < 1e-9 && (lat - 39.8).abs() < 1e-9);
        assert_eq!(Crs::Epsg4490.to_crs84(39.8, 116.5), (116.5, 39.8));
        for (w_lat, w_lon, g_lat, g_lon) in VECTORS {
            let (lon, lat) = Crs::Gcj02.to_crs84(g_lon, g_lat);
            assert!((lon - w_lon).abs() < 1e-8 && (lat - w_lat).abs() < 1e-8);
        }
    }

    #[test]
    fn web_mercator_known_points() {
        let (x, y) = web_mercator(180.0, 0.0);
        assert!((x - 20_037_508.342_789_244).abs() < 1e-6 && y.abs() < 1e-9);
        let (_, y) = web_mercator(0.0, 85.051_128_779_806_59);
        assert!((y - 20_037_508.342_789_244).abs() < 1e-3);
    }

    #[test]
    fn parses_uris_and_short_forms() {
        assert_eq!(Crs::parse("EPSG:4490"), Ok(Crs::Epsg4490));
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/3857"),
            Ok(Crs::Epsg3857)
        );
        assert_eq!(Crs::parse(CRS84_URI), Ok(Crs::Crs84));
        assert_eq!(Crs::parse("gcj02"), Ok(Crs::Gcj02));
        assert!(Crs::parse("EPSG:2385").is_err());
    }
}
