//! The tile matrix sets (OGC 17-083r4): WebMercatorQuad (annex D.1), what web maps use, and
//! WorldCRS84Quad (annex D.2), tiles in longitude and latitude, which GIS desktop clients such as
//! GDAL prefer. Tile addresses, their bounds, and positions in a tile's own coordinates.

use geo::Rect;

/// Units across a tile (MVT's default extent).
pub const EXTENT: u32 = 4096;
/// Units around a tile that each tile also holds, so lines and outlines do not stop at the edge.
pub const BUFFER: u32 = 64;
/// The deepest zoom served.
pub const MAX_ZOOM: u8 = 24;
/// The latitude where Web Mercator's square world ends.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;
/// Half the Web Mercator world, in metres.
pub const HALF_WORLD: f64 = 20_037_508.342_789_244;

/// A tile matrix set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tms {
    WebMercatorQuad,
    WorldCrs84Quad,
}

impl Tms {
    pub const ALL: [Tms; 2] = [Tms::WebMercatorQuad, Tms::WorldCrs84Quad];

    pub fn parse(id: &str) -> Option<Self> {
        Tms::ALL.into_iter().find(|t| t.id() == id)
    }

    pub fn id(self) -> &'static str {
        match self {
            Tms::WebMercatorQuad => "WebMercatorQuad",
            Tms::WorldCrs84Quad => "WorldCRS84Quad",
        }
    }

    /// The registered URI of the set.
    pub fn uri(self) -> &'static str {
        match self {
            Tms::WebMercatorQuad => {
                "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
            }
            Tms::WorldCrs84Quad => {
                "http://www.opengis.net/def/tilematrixset/OGC/1.0/WorldCRS84Quad"
            }
        }
    }

    pub fn crs(self) -> &'static str {
        match self {
            Tms::WebMercatorQuad => "http://www.opengis.net/def/crs/EPSG/0/3857",
            Tms::WorldCrs84Quad => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    }

    /// Columns at zoom `z` (WorldCRS84Quad is two tiles wide at zoom 0).
    pub fn columns(self, z: u8) -> u32 {
        match self {
            Tms::WebMercatorQuad => 1 << z,
            Tms::WorldCrs84Quad => 2 << z,
        }
    }

    pub fn rows(self, z: u8) -> u32 {
        1 << z
    }

    /// A CRS84 position as a fraction of the set's world, `(0, 0)` at its north-west corner
    /// (WorldCRS84Quad's world is two zoom-0 tiles wide: x runs to 2).
    fn world(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Tms::WebMercatorQuad => world(lon, lat),
            Tms::WorldCrs84Quad => ((lon + 180.0) / 180.0, (90.0 - lat) / 180.0),
        }
    }

    fn unworld(self, x: f64, y: f64) -> (f64, f64) {
        match self {
            Tms::WebMercatorQuad => unworld(x, y),
            Tms::WorldCrs84Quad => (x * 180.0 - 180.0, 90.0 - y * 180.0),
        }
    }

    /// How wide the set's world is, in zoom-0 tiles.
    fn width(self) -> f64 {
        match self {
            Tms::WebMercatorQuad => 1.0,
            Tms::WorldCrs84Quad => 2.0,
        }
    }
}

/// One tile: its tile matrix set, zoom (the tile matrix), column and row (rows counted from the
/// north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub tms: Tms,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// The WebMercatorQuad tile if it exists (zoom 0 to 24, column and row within it).
    pub fn new(z: u32, x: u32, y: u32) -> Option<Self> {
        Self::in_set(Tms::WebMercatorQuad, z, x, y)
    }

    /// The tile of `tms` if it exists.
    pub fn in_set(tms: Tms, z: u32, x: u32, y: u32) -> Option<Self> {
        let z = u8::try_from(z).ok().filter(|z| *z <= MAX_ZOOM)?;
        (x < tms.columns(z) && y < tms.rows(z)).then_some(TileId { tms, z, x, y })
    }

    fn size(&self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// Where a CRS84 position falls in this tile's coordinates: x right and y down from the
    /// tile's north-west corner, `EXTENT` units across.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (wx, wy) = self.tms.world(lon, lat);
        let scale = self.size() * f64::from(EXTENT);
        (
            wx * scale - f64::from(self.x) * f64::from(EXTENT),
            wy * scale - f64::from(self.y) * f64::from(EXTENT),
        )
    }

    /// The CRS84 box of the tile widened by `buffer` tile units on every side (clamped to the
    /// world): what the R-tree is asked for.
    pub fn lonlat_bounds(&self, buffer: u32) -> Rect<f64> {
        let e = f64::from(EXTENT);
        let b = f64::from(buffer) / e;
        let n = self.size();
        let (x0, x1) = (
            (f64::from(self.x) - b) / n,
            (f64::from(self.x) + 1.0 + b) / n,
        );
        let (y0, y1) = (
            (f64::from(self.y) - b) / n,
            (f64::from(self.y) + 1.0 + b) / n,
        );
        let (w, north) = self.tms.unworld(x0.max(0.0), y0.max(0.0));
        let (east, s) = self.tms.unworld(x1.min(self.tms.width()), y1.min(1.0));
        Rect::new((w, s), (east, north))
    }

    /// The tile's bounds in Web Mercator metres `[west, south, east, north]`.
    pub fn mercator_bounds(&self) -> [f64; 4] {
        let span = 2.0 * HALF_WORLD / self.size();
        let west = -HALF_WORLD + f64::from(self.x) * span;
        let north = HALF_WORLD - f64::from(self.y) * span;
        [west, north - span, west + span, north]
    }

    /// Metres on the ground per tile unit at the equator (and along the parallels of the
    /// tile's latitude, in Mercator's scale): the simplification tolerance in map terms.
    pub fn unit_metres(&self) -> f64 {
        2.0 * HALF_WORLD / self.size() / f64::from(EXTENT)
    }

    /// The WebMercatorQuad tiles of `z` that a CRS84 box touches, as a column and a row range.
    pub fn range_at(
        z: u8,
        bbox: Rect<f64>,
    ) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
        Self::range_in(Tms::WebMercatorQuad, z, bbox)
    }

    /// The tiles of `tms` at `z` that a CRS84 box touches, as a column and a row range.
    pub fn range_in(
        tms: Tms,
        z: u8,
        bbox: Rect<f64>,
    ) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
        let n = f64::from(1u32 << z);
        let (x0, y0) = tms.world(bbox.min().x, bbox.max().y);
        let (x1, y1) = tms.world(bbox.max().x, bbox.min().y);
        let cell = |v: f64, last: u32| ((v * n).floor().max(0.0) as u32).min(last);
        let (cols, rows) = (tms.columns(z) - 1, tms.rows(z) - 1);
        (
            cell(x0, cols)..=cell(x1, cols),
            cell(y0, rows)..=cell(y1, rows),
        )
    }
}

/// A CRS84 position as a fraction of the Web Mercator world, `(0, 0)` at its north-west corner.
pub fn world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

/// The inverse of [`world`].
pub fn unworld(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * y))
        .sinh()
        .atan()
        .to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_exist_only_within_the_matrix() {
        assert!(TileId::new(0, 0, 0).is_some());
        assert!(TileId::new(0, 1, 0).is_none());
        assert!(TileId::new(3, 7, 7).is_some());
        assert!(TileId::new(3, 8, 0).is_none());
        assert!(TileId::new(25, 0, 0).is_none());
    }

    #[test]
    fn corners_project_to_the_tile_edges() {
        // Zoom 1, tile (1, 0): the north-east quarter of the world.
        let t = TileId::new(1, 1, 0).unwrap();
        let (x, y) = t.project(0.0, 0.0);
        assert!(
            (x - 0.0).abs() < 1e-6 && (y - 4096.0).abs() < 1e-6,
            "{x} {y}"
        );
        let (x, y) = t.project(180.0, MAX_LATITUDE);
        assert!((x - 4096.0).abs() < 1e-6 && y.abs() < 1e-6, "{x} {y}");
        let b = t.lonlat_bounds(0);
        assert!((b.min().x - 0.0).abs() < 1e-9 && (b.max().y - MAX_LATITUDE).abs() < 1e-9);
        // Beijing (116.4 E, 39.9 N) at zoom 10, by hand: column (116.4 + 180) / 360 · 1024 =
        // 843.1; row (1 - ln(tan φ + sec φ) / π) / 2 · 1024 = (1 - 0.76061 / π) / 2 · 1024 = 388.0.
        let (cols, rows) = TileId::range_at(10, Rect::new((116.4, 39.9), (116.4, 39.9)));
        assert_eq!((*cols.start(), *rows.start()), (843, 388));
    }

    #[test]
    fn crs84_tiles_are_linear_in_degrees() {
        assert!(TileId::in_set(Tms::WorldCrs84Quad, 0, 1, 0).is_some());
        assert!(TileId::in_set(Tms::WorldCrs84Quad, 0, 2, 0).is_none());
        // Zoom 1, column 3, row 0: 90..180 E, 0..90 N.
        let t = TileId::in_set(Tms::WorldCrs84Quad, 1, 3, 0).unwrap();
        let b = t.lonlat_bounds(0);
        assert_eq!(
            (b.min().x, b.min().y, b.max().x, b.max().y),
            (90.0, 0.0, 180.0, 90.0)
        );
        let (x, y) = t.project(135.0, 45.0);
        assert!((x - 2048.0).abs() < 1e-9 && (y - 2048.0).abs() < 1e-9);
    }

    #[test]
    fn world_and_back() {
        for (lon, lat) in [(116.5, 39.8), (-70.0, -33.0), (0.0, 0.0)] {
            let (x, y) = world(lon, lat);
            let (lo, la) = unworld(x, y);
            assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9);
        }
    }
}
