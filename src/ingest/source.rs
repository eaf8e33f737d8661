use std::borrow::Cow;
use std::path::Path;

use bytes::Bytes;

use super::IngestError;

/// One data file by name (relative to its directory), from disk or embedded in the binary.
#[derive(Clone)]
pub struct SourceFile {
    pub name: String,
    /// The content: embedded, read, or mapped (see [`read_dir`]).
    pub bytes: Bytes,
    /// Where it was read from, for the formats a library opens by path (GeoPackage);
    /// `None` for embedded or stored copies, which are then written to a temporary file.
    pub path: Option<std::path::PathBuf>,
}

/// The endings of the files a data directory is read for: layers in every format ingest
/// reads (see `formats`), a Shapefile's companions, and the JSON sidecars and vocabularies.
pub const DATA_FILE_ENDINGS: &[&str] = &[
    ".geojson", ".json", ".gpkg", ".shp", ".shx", ".dbf", ".prj", ".cpg", ".zip", ".fgb", ".kml",
    ".csv", ".csvt", ".xlsx",
];

/// Files at least this large are mapped instead of read.
const MAP_FROM: u64 = 1 << 20;

/// The shipped `geodata/`, compiled into the binary so that it runs from any directory.
#[derive(rust_embed::Embed)]
#[folder = "geodata/"]
#[include = "*.json"]
#[include = "*.geojson"]
struct EmbeddedGeodata;

/// The embedded geodata files, sorted by name.
pub fn embedded_files() -> Vec<SourceFile> {
    let mut names: Vec<_> = EmbeddedGeodata::iter().collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            EmbeddedGeodata::get(&name).map(|f| SourceFile {
                name: name.into_owned(),
                bytes: match f.data {
                    Cow::Borrowed(b) => Bytes::from_static(b),
                    Cow::Owned(v) => Bytes::from(v),
                },
                path: None,
            })
        })
        .collect()
}

/// The data files (see [`DATA_FILE_ENDINGS`]) directly inside `dir`, sorted by name. Endings
/// are matched without regard to case (`.SHP` and `.DBF` are common).
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let read_err = |path: &Path, source| IngestError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
        let entry = entry.map_err(|e| read_err(dir, e))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if !DATA_FILE_ENDINGS.iter().any(|e| lower.ends_with(e)) || !path.is_file() {
            continue;
        }
        let bytes = read_or_map(&path).map_err(|e| read_err(&path, e))?;
        files.push(SourceFile {
            name: name.to_owned(),
            bytes,
            path: Some(path.clone()),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// A large file is mapped rather than read: a million carriers are 637 MB, which reading
/// would copy into fresh memory (and keep in the process's resident set) only to parse once,
/// or only to hash when a snapshot answers. The mapping lives as long as the bytes.
///
/// A mapped file that another program truncates while it is being loaded makes the process
/// fail (SIGBUS); loading happens once, at start, and data files are replaced by renaming
/// (as editors and `cp` to a new name do), which leaves the mapped copy intact.
pub(crate) fn read_or_map(path: &Path) -> std::io::Result<Bytes> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() < MAP_FROM {
        return Ok(Bytes::from(std::fs::read(path)?));
    }
    // SAFETY: the map is read-only and private; see above for a file truncated meanwhile.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Bytes::from_owner(map))
}
