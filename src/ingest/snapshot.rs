//! A binary copy of the ingested layers, so a restart reads it instead of parsing GeoJSON.
//!
//! Parsing and validating a 637 MB file of a million carriers takes about 15 s; decoding the
//! same layers from this snapshot takes a fraction of that, and the indexes are then built
//! as at any start.
//!
//! The snapshot is a cache, never a source: it holds the fingerprint of every source file it
//! was made from (name, size, and a 128-bit XXH3 hash of the content; not the modification
//! time, which a copy changes and an edit within the same second may not), the load options,
//! the program's version and the snapshot format, and a hash of its own payload. A snapshot
//! whose fingerprint differs from the files being loaded, or that is truncated, corrupt or of
//! another version, is ignored with a log line and the GeoJSON is ingested instead (and a new
//! snapshot written).
//!
//! Layout: 8 bytes of magic, a little-endian u64 header length, the header, the payload; the
//! header and payload in `postcard`, a compact serde format.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use super::{LoadOptions, SourceFile};
use crate::index::{Catalog, Chunked, Column, Layer, LayerParts};
use crate::model::{FeatureId, Field, LayerId, LayerMeta};

const MAGIC: &[u8; 8] = b"ETSNAP\x00\x01";
/// Bumped whenever the payload's shape changes.
const FORMAT: u32 = 1;

/// What a snapshot was made from: it is used only for exactly these files and options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    format: u32,
    program: String,
    accept_invalid_geometry: bool,
    /// `(name, size, XXH3-128 of the content)`, in name order.
    files: Vec<(String, u64, u128)>,
}

impl Fingerprint {
    /// The fingerprint of loading `files` with `options` (hashed on every core).
    pub fn of(files: &[SourceFile], options: LoadOptions) -> Self {
        let mut files: Vec<(String, u64, u128)> = files
            .par_iter()
            .map(|f| (f.name.clone(), f.bytes.len() as u64, xxh3_128(&f.bytes)))
            .collect();
        files.sort();
        Fingerprint {
            format: FORMAT,
            program: env!("CARGO_PKG_VERSION").to_owned(),
            accept_invalid_geometry: options.accept_invalid_geometry,
            files,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    fingerprint: Fingerprint,
    payload_len: u64,
    payload_hash: u128,
}

/// Why a snapshot was not used; the server logs it and ingests the GeoJSON.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not a snapshot of this program (wrong magic bytes)")]
    NotASnapshot(String),
    #[error("{0} is truncated")]
    Truncated(String),
    #[error("{0} is corrupt: its payload does not match its hash")]
    Corrupt(String),
    #[error("{path} cannot be decoded: {reason}")]
    Decode { path: String, reason: String },
    #[error("{0} was made from other files, options or a different version of the program")]
    Stale(String),
    #[error("{path} does not fit the layer files: {reason}")]
    Mismatch { path: String, reason: String },
}

/// One layer as stored: the parsed and derived columns, without the index (rebuilt at start)
/// and without the sidecar (read from its file, which the fingerprint covers).
#[derive(Serialize, Deserialize)]
struct StoredLayer {
    id: String,
    ids: Vec<StoredId>,
    geometries: Vec<geo::Geometry<f64>>,
    fields: Vec<StoredField>,
    columns: Vec<StoredColumn>,
}

#[derive(Serialize, Deserialize)]
enum StoredId {
    Int(i64),
    Str(String),
}

#[derive(Serialize, Deserialize)]
struct StoredField {
    name: String,
    derived: bool,
    nulls_only: bool,
}

/// No value, in a dictionary-coded column.
const NULL: u32 = u32::MAX;

/// A column as stored. Strings are dictionary-coded, so a value shared by many features is
/// stored, and allocated at load, once.
#[derive(Serialize, Deserialize)]
enum StoredColumn {
    Boolean(Vec<Option<bool>>),
    Integer(Vec<Option<i64>>),
    Number(Vec<Option<f64>>),
    String {
        dictionary: Vec<String>,
        codes: Vec<u32>,
    },
    Date(Vec<Option<i32>>),
    Timestamp {
        dictionary: Vec<(i64, String)>,
        codes: Vec<u32>,
    },
    StringArray(Vec<Option<Vec<String>>>),
    /// JSON values as text (postcard cannot carry a self-describing value).
    Json(Vec<Option<String>>),
}

/// Dictionary-codes `values`: the distinct values in first-seen order and a code per value.
fn code<T: Eq + std::hash::Hash + Clone>(
    values: impl Iterator<Item = Option<T>>,
) -> (Vec<T>, Vec<u32>) {
    let mut seen: HashMap<T, u32> = HashMap::new();
    let mut dictionary = Vec::new();
    let codes = values
        .map(|v| match v {
            None => NULL,
            Some(v) => *seen.entry(v.clone()).or_insert_with(|| {
                dictionary.push(v);
                (dictionary.len() - 1) as u32
            }),
        })
        .collect();
    (dictionary, codes)
}

impl StoredColumn {
    fn of(column: &Column) -> Self {
        match column {
            Column::Boolean(c) => StoredColumn::Boolean(c.iter().copied().collect()),
            Column::Integer(c) => StoredColumn::Integer(c.iter().copied().collect()),
            Column::Number(c) => StoredColumn::Number(c.iter().copied().collect()),
            Column::String(c) => {
                let (dictionary, codes) = code(c.iter().map(|v| v.as_deref().map(str::to_owned)));
                StoredColumn::String { dictionary, codes }
            }
            Column::Date(c) => StoredColumn::Date(c.iter().copied().collect()),
            Column::Timestamp(c) => {
                let (dictionary, codes) = code(
                    c.iter()
                        .map(|v| v.as_ref().map(|(t, s)| (*t, s.to_string()))),
                );
                StoredColumn::Timestamp { dictionary, codes }
            }
            Column::StringArray(c) => StoredColumn::StringArray(
                c.iter()
                    .map(|v| {
                        v.as_ref()
                            .map(|a| a.iter().map(|s| s.to_string()).collect())
                    })
                    .collect(),
            ),
            Column::Json(c) => StoredColumn::Json(
                c.iter()
                    .map(|v| v.as_ref().map(|j| j.to_string()))
                    .collect(),
            ),
        }
    }

    fn len(&self) -> usize {
        match self {
            StoredColumn::Boolean(v) => v.len(),
            StoredColumn::Integer(v) => v.len(),
            StoredColumn::Number(v) => v.len(),
            StoredColumn::String { codes, .. } | StoredColumn::Timestamp { codes, .. } => {
                codes.len()
            }
            StoredColumn::Date(v) => v.len(),
            StoredColumn::StringArray(v) => v.len(),
            StoredColumn::Json(v) => v.len(),
        }
    }

    /// The column, or why the stored one is not a valid column.
    fn into_column(self) -> Result<Column, String> {
        fn decode<T: Clone>(dictionary: &[T], codes: &[u32]) -> Result<Vec<Option<T>>, String> {
            codes
                .iter()
                .map(|&c| match c {
                    NULL => Ok(None),
                    c => dictionary
                        .get(c as usize)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| {
                            format!("code {c} outside a dictionary of {}", dictionary.len())
                        }),
                })
                .collect()
        }
        Ok(match self {
            StoredColumn::Boolean(v) => Column::Boolean(v.into()),
            StoredColumn::Integer(v) => Column::Integer(v.into()),
            StoredColumn::Number(v) => Column::Number(v.into()),
            StoredColumn::String { dictionary, codes } => {
                let shared: Vec<Arc<str>> = dictionary.into_iter().map(Arc::from).collect();
                Column::String(Chunked::from(decode(&shared, &codes)?))
            }
            StoredColumn::Date(v) => Column::Date(v.into()),
            StoredColumn::Timestamp { dictionary, codes } => {
                let d: Vec<(i64, std::sync::Arc<str>)> =
                    dictionary.into_iter().map(|(t, s)| (t, s.into())).collect();
                Column::Timestamp(Chunked::from(decode(&d, &codes)?))
            }
            StoredColumn::StringArray(v) => Column::StringArray(
                v.into_iter()
                    .map(|a| a.map(|a| a.into_iter().map(Box::from).collect()))
                    .collect(),
            ),
            StoredColumn::Json(v) => Column::Json(
                v.into_iter()
                    .map(|t| t.map(|t| serde_json::from_str(&t)).transpose())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("a JSON value: {e}"))?
                    .into(),
            ),
        })
    }
}

impl StoredLayer {
    fn of(layer: &Layer) -> Self {
        // Deleted features never reach a snapshot: it is made right after ingest.
        StoredLayer {
            id: layer.id.to_string(),
            ids: layer
                .ids
                .iter()
                .map(|id| match id {
                    FeatureId::Int(i) => StoredId::Int(*i),
                    FeatureId::Str(s) => StoredId::Str(s.clone()),
                })
                .collect(),
            geometries: layer.geometries.iter().map(|g| (**g).clone()).collect(),
            fields: layer
                .fields
                .iter()
                .map(|f| StoredField {
                    name: f.name.clone(),
                    derived: f.derived,
                    nulls_only: f.nulls_only,
                })
                .collect(),
            columns: layer.columns.par_iter().map(StoredColumn::of).collect(),
        }
    }

    fn into_parts(self, meta: LayerMeta) -> Result<LayerParts, String> {
        let n = self.ids.len();
        if self.geometries.len() != n || self.fields.len() != self.columns.len() {
            return Err(format!("layer {}: its vectors differ in length", self.id));
        }
        if let Some(c) = self.columns.iter().find(|c| c.len() != n) {
            return Err(format!(
                "layer {}: a column of {} values for {n} features",
                self.id,
                c.len()
            ));
        }
        let id = LayerId::new(&self.id).map_err(|e| e.to_string())?;
        let columns = self
            .columns
            .into_par_iter()
            .map(StoredColumn::into_column)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("layer {}: {e}", self.id))?;
        let fields = self
            .fields
            .into_iter()
            .zip(&columns)
            .map(|(f, c)| Field {
                name: f.name,
                ty: c.field_type(),
                derived: f.derived,
                nulls_only: f.nulls_only,
            })
            .collect();
        Ok(LayerParts {
            id,
            meta,
            ids: self
                .ids
                .into_iter()
                .map(|id| match id {
                    StoredId::Int(i) => FeatureId::Int(i),
                    StoredId::Str(s) => FeatureId::Str(s),
                })
                .collect(),
            geometries: self.geometries,
            fields,
            columns,
        })
    }
}

/// Writes the snapshot of `catalog` (as just ingested from the files of `fingerprint`) to
/// `path`, through a temporary file renamed into place, so a reader never meets half a file.
pub fn write(path: &Path, fingerprint: &Fingerprint, catalog: &Catalog) -> std::io::Result<()> {
    let layers: Vec<StoredLayer> = catalog
        .layers()
        .iter()
        .map(|l| StoredLayer::of(l))
        .collect();
    let payload = postcard::to_stdvec(&layers).map_err(std::io::Error::other)?;
    let header = postcard::to_stdvec(&Header {
        fingerprint: fingerprint.clone(),
        payload_len: payload.len() as u64,
        payload_hash: xxh3_128(&payload),
    })
    .map_err(std::io::Error::other)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    // Named so that one left by a crash mid-write is recognisable (and safe to delete).
    let mut tmp = tempfile::Builder::new()
        .prefix(".snapshot-being-written-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        w.write_all(MAGIC)?;
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(&payload)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The layers stored in the snapshot at `path`, if it was made from exactly the files and
/// options of `fingerprint`; each gets its sidecar from `metas` (by layer id).
pub fn read(
    path: &Path,
    fingerprint: &Fingerprint,
    mut metas: impl FnMut(&str) -> LayerMeta,
) -> Result<Vec<LayerParts>, SnapshotError> {
    let name = path.display().to_string();
    let bytes = super::source::read_or_map(path).map_err(|source| SnapshotError::Read {
        path: name.clone(),
        source,
    })?;
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| SnapshotError::NotASnapshot(name.clone()))?;
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| SnapshotError::Truncated(name.clone()))?;
    let header_len = usize::try_from(u64::from_le_bytes(*len)).unwrap_or(usize::MAX);
    if rest.len() < header_len {
        return Err(SnapshotError::Truncated(name));
    }
    let (header, payload) = rest.split_at(header_len);
    let header: Header = postcard::from_bytes(header).map_err(|e| SnapshotError::Decode {
        path: name.clone(),
        reason: format!("header: {e}"),
    })?;
    if header.fingerprint != *fingerprint {
        return Err(SnapshotError::Stale(name));
    }
    if (payload.len() as u64) < header.payload_len {
        return Err(SnapshotError::Truncated(name));
    }
    if payload.len() as u64 != header.payload_len || xxh3_128(payload) != header.payload_hash {
        return Err(SnapshotError::Corrupt(name));
    }
    let layers: Vec<StoredLayer> =
        postcard::from_bytes(payload).map_err(|e| SnapshotError::Decode {
            path: name.clone(),
            reason: e.to_string(),
        })?;
    drop(bytes);
    layers
        .into_iter()
        .map(|l| {
            let meta = metas(&l.id);
            l.into_parts(meta)
                .map_err(|reason| SnapshotError::Mismatch {
                    path: name.clone(),
                    reason,
                })
        })
        .collect()
}
