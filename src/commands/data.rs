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

/// Each collection's seed fingerprint: SHA-256 of its layer file (with a Shapefile's or CSV's
/// companions) and its sidecar, by file stem (a GeoPackage of several tables is one seed).
pub(crate) fn fingerprints(files: &[ingest::SourceFile]) -> Vec<(String, String)> {
    use sha2::Digest;
    let mut out: std::collections::BTreeMap<String, sha2::Sha256> =
        std::collections::BTreeMap::new();
    for f in files {
        if let Some(stem) = ingest::seed_stem(&f.name) {
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

/// `etown-atlas init DIR`: a starting sidecar for every layer without one (see
/// `ingest::starter`), then the directory loaded again to show that what was written loads.
/// Existing files are never overwritten: a layer with a sidecar is left as it is, and a
/// vocabulary whose file exists is not bound.
#[allow(clippy::print_stdout)]
pub(crate) fn init(dir: &std::path::Path, options: LoadOptions) -> ExitCode {
    let owned = dir.to_path_buf();
    let catalog = match load(Some(&owned), options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for layer in catalog.layers() {
        let meta_path = dir.join(format!("{}.meta.json", layer.id));
        if meta_path.exists() {
            println!("kept     {} (it has a sidecar)", meta_path.display());
            continue;
        }
        let mut starter = ingest::starter::starter(layer);
        let mut written = Vec::new();
        for (stem, vocab) in &starter.vocabularies {
            let path = dir.join(format!("{stem}.vocab.json"));
            if path.exists() {
                println!("kept     {} (not bound: it exists)", path.display());
                if let Some(bound) = starter
                    .meta
                    .get_mut("vocabularies")
                    .and_then(|v| v.as_object_mut())
                {
                    bound.retain(|_, v| v.as_str() != Some(stem));
                }
                continue;
            }
            if let Err(e) = write_json(&path, vocab) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            written.push(path);
        }
        strip_unbound(&mut starter.meta);
        if let Err(e) = write_json(&meta_path, &starter.meta) {
            eprintln!("error: {}: {e}", meta_path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote    {}", meta_path.display());
        for p in written {
            println!("wrote    {}", p.display());
        }
    }
    match load(Some(&owned), options) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the written sidecars do not load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Drops the `in` filters and the colouring of properties whose vocabulary was not bound.
fn strip_unbound(meta: &mut serde_json::Value) {
    let bound: Vec<String> = meta
        .get("vocabularies")
        .and_then(|v| v.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(fields) = meta.get_mut("fields").and_then(|f| f.as_object_mut()) {
        for (name, f) in fields.iter_mut() {
            if f.get("filter").and_then(|v| v.as_str()) == Some("in") && !bound.contains(name) {
                f.as_object_mut().map(|o| o.remove("filter"));
            }
        }
    }
    let colour_by = meta
        .pointer("/style/color_by")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if let Some(c) = colour_by {
        if !bound.contains(&c) {
            meta.as_object_mut().map(|o| o.remove("style"));
        }
    }
}

fn write_json(path: &std::path::Path, value: &serde_json::Value) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    // create_new: a file that appeared meanwhile is not overwritten either.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// `etown-atlas synth`: a synthetic data directory (see `synth::write_dir`).
pub(crate) fn synth(count: usize, out: &std::path::Path, seed: u64) -> std::io::Result<()> {
    etown_atlas::synth::write_dir(out, count, seed)?;
    tracing::info!(count, seed, dir = %out.display(), "synthetic carriers written");
    Ok(())
}
