use std::borrow::Cow;
use std::path::Path;

use super::IngestError;

/// One data file by name (relative to its directory), from disk or embedded in the binary.
#[derive(Clone)]
pub struct SourceFile {
    pub name: String,
    pub bytes: Cow<'static, [u8]>,
}

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
                bytes: f.data,
            })
        })
        .collect()
}

/// The data files (`*.geojson`, `*.json`) directly inside `dir`, sorted by name.
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
        if !(name.ends_with(".geojson") || name.ends_with(".json")) || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| read_err(&path, e))?;
        files.push(SourceFile {
            name: name.to_owned(),
            bytes: Cow::Owned(bytes),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}
