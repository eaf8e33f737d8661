//! Local basemaps: MBTiles files the operator provides (a Tianditu or surveying-bureau export,
//! raster or vector), served by this server so that an intranet with no internet has roads and
//! place names under the data. MBTiles 1.3: an SQLite file with a `metadata` table (name, format,
//! bounds, zooms, attribution, and for vector tiles the `json` describing their layers) and a
//! `tiles` table addressed in TMS order (rows counted from the south).
//!
//! Files are opened read-only at start, so a missing or malformed file is an error then, naming
//! it, rather than a grey map later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error("{path}: cannot open as MBTiles: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("{path}: not an MBTiles file: {reason}")]
    Invalid { path: String, reason: String },
    #[error("basemap {id}: cannot read a tile: {source}")]
    Read { id: String, source: rusqlite::Error },
}

/// What tiles a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    Png,
    Jpeg,
    Webp,
    /// Mapbox vector tiles, usually gzip-compressed in the file.
    Pbf,
}

impl TileFormat {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "png" => TileFormat::Png,
            "jpg" | "jpeg" => TileFormat::Jpeg,
            "webp" => TileFormat::Webp,
            "pbf" | "mvt" => TileFormat::Pbf,
            _ => return None,
        })
    }

    pub fn media_type(self) -> &'static str {
        match self {
            TileFormat::Png => "image/png",
            TileFormat::Jpeg => "image/jpeg",
            TileFormat::Webp => "image/webp",
            TileFormat::Pbf => "application/vnd.mapbox-vector-tile",
        }
    }

    pub fn is_vector(self) -> bool {
        self == TileFormat::Pbf
    }
}

/// The metadata a map needs to draw a file.
#[derive(Debug, Clone, PartialEq)]
pub struct TilesetInfo {
    pub format: TileFormat,
    pub name: Option<String>,
    pub attribution: Option<String>,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// `[west, south, east, north]`, when the file says.
    pub bounds: Option<[f64; 4]>,
    /// For vector tiles, the `vector_layers` of the file's `json` metadata.
    pub vector_layers: Option<serde_json::Value>,
}

/// One open MBTiles file.
pub struct MbTiles {
    connection: Mutex<Connection>,
    pub info: TilesetInfo,
}

impl MbTiles {
    pub fn open(path: &Path) -> Result<Self, BasemapError> {
        let shown = path.display().to_string();
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| BasemapError::Open {
            path: shown.clone(),
            source,
        })?;
        let invalid = |reason: String| BasemapError::Invalid {
            path: shown.clone(),
            reason,
        };
        let mut metadata = BTreeMap::new();
        {
            let mut stmt = connection
                .prepare("SELECT name, value FROM metadata")
                .map_err(|e| invalid(format!("no metadata table ({e})")))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| invalid(e.to_string()))?;
            for row in rows {
                let (k, v) = row.map_err(|e| invalid(e.to_string()))?;
                metadata.insert(k, v);
            }
        }
        connection
            .query_row("SELECT count(*) FROM tiles WHERE 0", [], |_| Ok(()))
            .optional()
            .map_err(|e| invalid(format!("no tiles table ({e})")))?;
        let format = metadata
            .get("format")
            .ok_or_else(|| invalid("metadata has no format".into()))?;
        let format = TileFormat::parse(format).ok_or_else(|| {
            invalid(format!(
                "tile format {format:?} is not png, jpg, webp or pbf"
            ))
        })?;
        let zoom = |key: &str, default: u8| -> Result<u8, BasemapError> {
            match metadata.get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|z| *z <= 30)
                    .ok_or_else(|| invalid(format!("{key} {v:?} is not a zoom level"))),
            }
        };
        let (minzoom, maxzoom) = (zoom("minzoom", 0)?, zoom("maxzoom", 22)?);
        let bounds = match metadata.get("bounds") {
            None => None,
            Some(b) => {
                let v: Vec<f64> = b.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                match v.as_slice() {
                    [w, s, e, n]
                        if w < e
                            && s < n
                            && w.abs() <= 180.0
                            && e.abs() <= 180.0
                            && s.abs() <= 90.0
                            && n.abs() <= 90.0 =>
                    {
                        Some([*w, *s, *e, *n])
                    }
                    _ => {
                        return Err(invalid(format!(
                            "bounds {b:?} is not west,south,east,north"
                        )))
                    }
                }
            }
        };
        let vector_layers = match (format, metadata.get("json")) {
            (TileFormat::Pbf, Some(j)) => serde_json::from_str::<serde_json::Value>(j)
                .map_err(|e| invalid(format!("metadata json is not JSON: {e}")))?
                .get("vector_layers")
                .cloned(),
            _ => None,
        };
        Ok(MbTiles {
            connection: Mutex::new(connection),
            info: TilesetInfo {
                format,
                name: metadata.get("name").cloned(),
                attribution: metadata.get("attribution").cloned(),
                minzoom,
                maxzoom,
                bounds,
                vector_layers,
            },
        })
    }

    /// The tile at `z/x/y` (XYZ, rows from the north), or `None` where the file has none.
    /// Blocking: call it off the async workers.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, rusqlite::Error> {
        if z > 30 || u64::from(x) >= 1u64 << z || u64::from(y) >= 1u64 << z {
            return Ok(None);
        }
        // z ≤ 30, so the row fits an i64.
        let tms_row = ((1u64 << z) - 1 - u64::from(y)) as i64;
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stmt = connection.prepare_cached(
            "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
        )?;
        stmt.query_row((z, x, tms_row), |r| r.get::<_, Vec<u8>>(0))
            .optional()
    }
}

/// Every local basemap, by id.
#[derive(Default)]
pub struct Basemaps {
    files: BTreeMap<String, MbTiles>,
}

impl Basemaps {
    /// Opens each `(id, path)`.
    pub fn open<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a PathBuf)>,
    ) -> Result<Self, BasemapError> {
        let mut out = BTreeMap::new();
        for (id, path) in files {
            out.insert(id.to_owned(), MbTiles::open(path)?);
        }
        Ok(Basemaps { files: out })
    }

    pub fn get(&self, id: &str) -> Option<&MbTiles> {
        self.files.get(id)
    }
}

/// Whether `bytes` start like gzip (vector tiles in MBTiles usually are).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}
