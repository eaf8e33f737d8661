//! Reading a data directory: the seed files, their fingerprints, the layers (through a snapshot
//! when one is current); `etown-atlas validate` and `etown-atlas synth`.

use std::path::PathBuf;
use std::process::ExitCode;

use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, IngestError, LoadOptions};

pub(crate) fn load(dir: Option<&PathBuf>, options: LoadOptions) -> Result<Catalog, IngestError> {
    let files = seed_files(dir)?;
    load_files(dir, files, options)
}

pub(crate) fn seed_files(dir: Option<&PathBuf>) -> Result<Vec<ingest::SourceFile>, IngestError> {
    match dir {
        Some(dir) => ingest::read_dir(dir),
        None => Ok(ingest::embedded_files()),
    }
}

pub(crate) fn load_files(
    dir: Option<&PathBuf>,
    files: Vec<ingest::SourceFile>,
    options: LoadOptions,
) -> Result<Catalog, IngestError> {
    load_files_with_snapshot(dir, files, options, None)
}

pub(crate) fn load_files_with_snapshot(
    dir: Option<&PathBuf>,
    files: Vec<ingest::SourceFile>,
    options: LoadOptions,
    snapshot: Option<&std::path::Path>,
) -> Result<Catalog, IngestError> {
    let origin = dir.map_or_else(
        || "the embedded geodata".to_owned(),
        |d| d.display().to_string(),
    );
    ingest::load_with_snapshot(files, &origin, options, snapshot).map(|(catalog, _)| catalog)
}

/// Each collection's seed fingerprint: SHA-256 of its GeoJSON and its sidecar.
pub(crate) fn fingerprints(files: &[ingest::SourceFile]) -> Vec<(String, String)> {
    use sha2::Digest;
    let mut out: std::collections::BTreeMap<String, sha2::Sha256> =
        std::collections::BTreeMap::new();
    for f in files {
        let stem = f
            .name
            .strip_suffix(".geojson")
            .or_else(|| f.name.strip_suffix(".meta.json"));
        if let Some(stem) = stem {
            out.entry(stem.to_owned()).or_default().update(&f.bytes);
        }
    }
    out.into_iter()
        .map(|(k, h)| (k, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
        .collect()
}

/// Prints one line per valid layer on stdout: the report is the command's output.
#[allow(clippy::print_stdout)]
pub(crate) fn validate(dir: Option<&PathBuf>, options: LoadOptions) -> ExitCode {
    match load(dir, options) {
        Ok(catalog) => {
            for layer in catalog.layers() {
                println!("ok  {:<40} {:>8} features", layer.id, layer.len());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `etown-atlas synth`: a synthetic data directory (see `synth::write_dir`).
pub(crate) fn synth(count: usize, out: &std::path::Path, seed: u64) -> std::io::Result<()> {
    etown_atlas::synth::write_dir(out, count, seed)?;
    tracing::info!(count, seed, dir = %out.display(), "synthetic carriers written");
    Ok(())
}
