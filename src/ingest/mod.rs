//! Reading a data directory into a [`Catalog`]: every `*.geojson` becomes a layer.
//!
//! The pipeline, for each file:
//! 1. parse the JSON and check the RFC 7946 structure (a FeatureCollection of Features);
//! 2. check each geometry (positions, ranges, closed rings of at least 4 positions) and its
//!    validity with `geo`, and each id (present in all features or in none; unique);
//! 3. infer one type per property and fill typed columns, rejecting inconsistent values;
//! 4. check vocabulary-bound properties against their `*.vocab.json`;
//!
//! then, across layers, derive each polygon's geodesic area and each feature's containing `zones`.
//! The first problem stops the load with an error naming the file, the feature and the reason:
//! nothing is served half-checked.

mod builder;
mod columns;
mod derive;
mod edit;
mod error;
pub(crate) mod formats;
mod geometry;
mod presentation;
pub mod snapshot;
mod source;
pub mod source_crs;
pub mod starter;

use source_crs::SourceCrs;
mod stream;
mod valid;
mod vocabulary;
mod zone_index;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

pub use derive::{
    area_of, cells_at, derive_cells, rezone_all, rezoned, role, AREA_FIELD, DERIVED, UPDATED_FIELD,
    ZONES_FIELD,
};
pub use edit::{
    check_feature, edit_geometry_to_crs84, BodyError, CheckedFeature, MAX_EDIT_VERTICES,
};
pub use error::{FeatureRef, IngestError};
pub use geometry::{area_polygon, parse_geometry};
pub use zone_index::{Scratch as ZoneScratch, ZoneIndex};

pub use source::{embedded_files, read_dir, SourceFile};

use crate::index::{Catalog, Layer, LayerParts};
use crate::model::{FeatureId, LayerId, LayerMeta, Vocabulary};
use builder::LayerBuilder;
use formats::Format;

const LAYER_SUFFIX: &str = ".geojson";
const META_SUFFIX: &str = ".meta.json";
const VOCAB_SUFFIX: &str = ".vocab.json";

/// The stem a data file belongs to, for fingerprints of a collection's seed: a layer file's
/// (any format), a Shapefile's or CSV's companion's, a sidecar's. `None` for vocabularies
/// and anything else.
pub fn seed_stem(name: &str) -> Option<&str> {
    if let Some((_, stem)) = Format::of(name) {
        return Some(stem);
    }
    if let Some(stem) = name.strip_suffix(META_SUFFIX) {
        return Some(stem);
    }
    let lower = name.to_ascii_lowercase();
    [".dbf", ".shx", ".prj", ".cpg", ".csvt"]
        .iter()
        .find(|e| lower.ends_with(*e))
        .map(|e| &name[..name.len() - e.len()])
}

/// How strict ingest is. The default refuses anything invalid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Serve geometries that `geo` finds invalid (a self-touching ring, say) with a warning
    /// instead of refusing the file. Structural problems (ranges, unclosed rings, too few
    /// positions) are refused regardless. For third-party data that cannot be fixed at source,
    /// such as the Natural Earth countries of the OGC CQL2 test suite (Sudan's ring touches itself).
    pub accept_invalid_geometry: bool,
}

/// Validates and indexes a set of files (a directory's or the embedded copy).
pub fn load(
    files: Vec<SourceFile>,
    origin: &str,
    options: LoadOptions,
) -> Result<Catalog, IngestError> {
    load_with_snapshot(files, origin, options, None).map(|(catalog, _)| catalog)
}

/// What became of the snapshot in [`load_with_snapshot`].
#[derive(Debug)]
pub enum SnapshotUse {
    /// No snapshot was asked for.
    None,
    /// The layers were read from it.
    Read,
    /// The files were ingested (there was no snapshot, or it was refused for the reason
    /// given), and a new snapshot was written.
    Written { refused: Option<String> },
    /// The files were ingested, and the snapshot could not be written.
    NotWritten {
        refused: Option<String>,
        error: String,
    },
}

/// [`load`], reading the layers from the snapshot at `snapshot` when it was made from exactly
/// these files and options, and otherwise ingesting them and writing a new snapshot there.
/// A snapshot that cannot be used, or written, is logged, never an error: it is only a cache.
pub fn load_with_snapshot(
    files: Vec<SourceFile>,
    origin: &str,
    options: LoadOptions,
    snapshot: Option<&std::path::Path>,
) -> Result<(Catalog, SnapshotUse), IngestError> {
    let started = std::time::Instant::now();
    let cached = snapshot.map(|path| (path, snapshot::Fingerprint::of(&files, options)));
    let hashed = started.elapsed();
    let mut metas: BTreeMap<String, (String, LayerMeta)> = BTreeMap::new();
    let mut vocabularies: BTreeMap<String, Vocabulary> = BTreeMap::new();
    let mut layer_files = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if let Some(stem) = file.name.strip_suffix(META_SUFFIX) {
            let meta: LayerMeta = serde_json::from_slice(&file.bytes).map_err(|e| {
                IngestError::file(&file.name, format!("invalid layer metadata: {e}"))
            })?;
            metas.insert(stem.to_owned(), (file.name.clone(), meta));
        } else if let Some(stem) = file.name.strip_suffix(VOCAB_SUFFIX) {
            let vocab = Vocabulary::parse(stem, &file.bytes)
                .map_err(|reason| IngestError::file(&file.name, reason))?;
            vocabularies.insert(stem.to_owned(), vocab);
        } else if let Some((format, stem)) = Format::of(&file.name) {
            layer_files.push((i, format, stem.to_owned()));
        }
    }
    if layer_files.is_empty() {
        return Err(IngestError::NoLayers {
            dir: origin.to_owned(),
        });
    }
    let mut refused = None;
    if let Some((path, fingerprint)) = &cached {
        let meta_of = |id: &str| metas.get(id).map(|(_, m)| m.clone()).unwrap_or_default();
        match snapshot::read(path, fingerprint, meta_of) {
            Ok(parts) => {
                let read = started.elapsed();
                let catalog = assemble(parts, vocabularies)?;
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                tracing::info!(
                    snapshot = %path.display(),
                    hash_ms = ms(hashed),
                    decode_ms = ms(read - hashed),
                    index_ms = ms(started.elapsed() - read),
                    "layers read from the snapshot"
                );
                return Ok((catalog, SnapshotUse::Read));
            }
            Err(snapshot::SnapshotError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                tracing::info!(snapshot = %path.display(), "no snapshot yet: ingesting the files");
            }
            Err(e) => {
                tracing::warn!("snapshot not used, ingesting the files: {e}");
                refused = Some(e.to_string());
            }
        }
    }

    let mut parts: Vec<LayerParts> = Vec::with_capacity(layer_files.len());
    let mut sources: HashMap<String, String> = HashMap::new();
    for (i, format, stem) in &layer_files {
        let file = &files[*i];
        let read = if *format == Format::GeoJson {
            let id =
                LayerId::new(stem).map_err(|e| IngestError::file(&file.name, e.to_string()))?;
            let meta = metas
                .remove(stem.as_str())
                .map(|(_, m)| m)
                .unwrap_or_default();
            vec![parse_layer(&file.name, id, meta, &file.bytes, options)?]
        } else {
            let mut meta_for = |name: &str| metas.remove(name).map(|(_, m)| m).unwrap_or_default();
            let mut cx = formats::Context {
                companions: formats::Companions::new(&files),
                meta_for: &mut meta_for,
                options,
            };
            formats::read(*format, file, stem, &mut cx)?
        };
        for p in read {
            if p.meta.encoding.is_some() && !format.takes_encoding() {
                return Err(IngestError::file(
                    &file.name,
                    formats::bilingual(
                        &format!("the sidecar's \"encoding\" applies to Shapefiles and CSV only; this file's text is UTF-8 by its format (remove \"encoding\" from {}.meta.json)", p.id),
                        &format!("附属文件中的 \"encoding\" 只适用于 Shapefile 与 CSV；此格式的文本一律为 UTF-8（请从 {}.meta.json 中删去 \"encoding\"）", p.id),
                    ),
                ));
            }
            if let Some(other) = sources.insert(p.id.to_string(), file.name.clone()) {
                return Err(IngestError::file(
                    &file.name,
                    formats::bilingual(
                        &format!(
                            "a layer named {:?} also comes from {other}; rename one of them",
                            p.id.as_str()
                        ),
                        &format!(
                            "图层 {:?} 与 {other} 中的图层重名；请重命名其一",
                            p.id.as_str()
                        ),
                    ),
                ));
            }
            vocabulary::check_layer(&file.name, &p, &vocabularies)?;
            parts.push(p);
        }
    }
    if let Some((_, (name, _))) = metas.into_iter().next() {
        return Err(IngestError::file(
            &name,
            format!(
                "metadata for a layer that does not exist (no {}, and no layer of that name in another file)",
                name.replace(META_SUFFIX, LAYER_SUFFIX)
            ),
        ));
    }

    let layers: Vec<Layer> = derive::derive_and_build(parts);
    presentation::check(&layers, &vocabularies)?;
    let catalog = Catalog::new(layers, vocabularies);
    let used = match &cached {
        None => SnapshotUse::None,
        Some((path, fingerprint)) => match snapshot::write(path, fingerprint, &catalog) {
            Ok(()) => {
                tracing::info!(snapshot = %path.display(), "snapshot written");
                SnapshotUse::Written { refused }
            }
            Err(e) => {
                tracing::warn!(snapshot = %path.display(), "the snapshot cannot be written: {e}");
                SnapshotUse::NotWritten {
                    refused,
                    error: e.to_string(),
                }
            }
        },
    };
    Ok((catalog, used))
}

/// Layers already parsed, validated and derived elsewhere (a database): indexed, and their
/// presentation checked against the vocabularies, as at any load.
pub fn assemble(
    parts: Vec<LayerParts>,
    vocabularies: BTreeMap<String, Vocabulary>,
) -> Result<Catalog, IngestError> {
    let layers: Vec<Layer> = parts.into_iter().map(Layer::build).collect();
    presentation::check(&layers, &vocabularies)?;
    Ok(Catalog::new(layers, vocabularies))
}

/// Steps 1-3 of the pipeline for one GeoJSON file: features stream in one at a time and go
/// to a [`LayerBuilder`] (properties into typed columns, geometries checked in batches).
fn parse_layer(
    file: &str,
    id: LayerId,
    meta: LayerMeta,
    bytes: &[u8],
    options: LoadOptions,
) -> Result<LayerParts, IngestError> {
    // The legacy `crs` member is known before the first geometry is converted (GDAL writes
    // `crs` before `features`); the builder refuses one that comes later.
    let builder = std::cell::RefCell::new(LayerBuilder::new(file, &meta, options)?);
    let declared = |crs: &Json| builder.borrow_mut().declare(legacy_crs(crs)?);
    stream::for_each_feature(file, bytes, declared, |index, f| {
        let mut at = FeatureRef { index, id: None };
        let mut obj = match f {
            Json::Object(o) if o.get("type").and_then(Json::as_str) == Some("Feature") => o,
            _ => {
                return Err(IngestError::feature(
                    file,
                    at,
                    "not a GeoJSON Feature object",
                ))
            }
        };
        let id = match obj.get("id") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(FeatureId::Str(s.clone())),
            Some(Json::Number(n)) => Some(
                n.as_i64()
                    .map_or_else(|| FeatureId::Str(n.to_string()), FeatureId::Int),
            ),
            Some(_) => {
                return Err(IngestError::feature(
                    file,
                    at,
                    "\"id\" must be a string or a number",
                ))
            }
        };
        at.id = id.as_ref().map(ToString::to_string);
        let props = match obj.remove("properties") {
            None | Some(Json::Null) => serde_json::Map::new(),
            Some(Json::Object(m)) => m,
            Some(_) => {
                return Err(IngestError::feature(
                    file,
                    at,
                    "\"properties\" must be an object or null",
                ))
            }
        };
        builder
            .borrow_mut()
            .push(at, id, obj.remove("geometry"), props)
    })?;
    builder.into_inner().finish(id, meta)
}

/// Checks and converts a batch of geometries on every core, keeping file order; the first
/// failure in file order is the one reported.
fn parse_geometries(
    file: &str,
    batch: &mut Vec<(FeatureRef, Json)>,
    out: &mut Vec<geo::Geometry<f64>>,
    options: LoadOptions,
    source: &SourceCrs,
) -> Result<(), IngestError> {
    use rayon::prelude::*;
    let parsed: Vec<Result<geo::Geometry<f64>, IngestError>> = batch
        .par_iter_mut()
        .map(|(at, g)| {
            source
                .reproject(g)
                .map_err(|reason| IngestError::feature(file, at.clone(), reason))?;
            let (geometry, invalid) = parse_geometry(g)
                .map_err(|reason| IngestError::feature(file, at.clone(), reason))?;
            if let Some(reason) = invalid {
                if !options.accept_invalid_geometry {
                    return Err(IngestError::feature(
                        file,
                        at.clone(),
                        format!("invalid geometry: {reason}"),
                    ));
                }
                tracing::warn!(file, feature = %at, "served despite an invalid geometry: {reason}");
            }
            Ok(geometry)
        })
        .collect();
    batch.clear();
    for g in parsed {
        out.push(g?);
    }
    Ok(())
}

/// The CRS a legacy `crs` member names (RFC 7946 removed it, but desktop GIS still writes
/// it): one of those `SourceCrs` knows, transformed at load; anything else is refused rather
/// than served in the wrong place.
fn legacy_crs(crs: &Json) -> Result<SourceCrs, String> {
    let name = crs
        .pointer("/properties/name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    SourceCrs::parse(name).map_err(|e| format!("the file declares crs {name:?}: {e}"))
}

/// Ids must be present in every feature or in none. When none has one, each gets its 1-based
/// position in the file, which is stable as long as the file's order is.
fn assign_ids(file: &str, ids: Vec<Option<FeatureId>>) -> Result<Vec<FeatureId>, IngestError> {
    if ids.iter().all(Option::is_none) {
        return Ok((1..=ids.len() as i64).map(FeatureId::Int).collect());
    }
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(ids.len());
    ids.into_iter()
        .enumerate()
        .map(|(index, id)| {
            let id = id.ok_or_else(|| {
                IngestError::feature(
                    file,
                    FeatureRef { index, id: None },
                    "has no id while other features do (give every feature an id, or none)",
                )
            })?;
            if let Some(first) = seen.insert(id.to_string(), index) {
                return Err(IngestError::feature(
                    file,
                    FeatureRef {
                        index,
                        id: Some(id.to_string()),
                    },
                    format!("duplicate id (also used by the feature at index {first})"),
                ));
            }
            Ok(id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(text: &str) -> Result<Catalog, IngestError> {
        let file = SourceFile {
            name: "t.geojson".into(),
            bytes: text.as_bytes().to_vec().into(),
            path: None,
        };
        load(vec![file], "test", LoadOptions::default())
    }

    fn message(text: &str) -> String {
        match load_one(text) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{text} should be refused"),
        }
    }

    #[test]
    fn names_file_feature_and_reason() {
        assert!(
            message(r#"{"type":"Feature","geometry":null,"properties":{}}"#)
                .contains("t.geojson: the top level is a Feature")
        );
        assert!(message(r#"{"type":"FeatureCollection"}"#).contains("needs a \"features\" array"));
        assert!(message(r#"{"features":[]}"#).contains("no \"type\""));
        assert!(
            message(r#"{"type":"FeatureCollection","features":[{"type":"Feature""#)
                .contains("not valid GeoJSON")
        );
        let mixed = message(
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":1}},
              {"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":"one"}}]}"#,
        );
        assert!(
            mixed.contains("feature \"b\" (index 1)")
                && mixed.contains("property \"n\" is a string here but a number"),
            "{mixed}"
        );
        let late = message(
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}},
              {"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[1,200]},"properties":{}}]}"#,
        );
        assert!(
            late.contains("feature \"b\" (index 1)") && late.contains("latitude 200"),
            "{late}"
        );
        // A CRS the loader cannot transform (Xian 1980 / Gauss-Krüger) is named, never guessed.
        let crs = message(
            r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:2385"}},"features":[]}"#,
        );
        assert!(
            crs.contains("EPSG:2385") && crs.contains("unknown crs"),
            "{crs}"
        );
        // A Web Mercator position outside its square is named with its feature.
        let nowhere = message(
            r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"features":[{"type":"Feature","id":"x","properties":{},"geometry":{"type":"Point","coordinates":[1e300,0]}}]}"#,
        );
        assert!(
            nowhere.contains("feature \"x\"") && nowhere.contains("outside"),
            "{nowhere}"
        );
        // The crs after the features cannot move them any more: refused, and said why.
        let late_crs = message(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","properties":{},"geometry":{"type":"Point","coordinates":[457178.67,4407442.09]}}],"crs":{"type":"name","properties":{"name":"EPSG:4548"}}}"#,
        );
        assert!(late_crs.contains("after its first features"), "{late_crs}");
    }

    /// A file of `n` point features with `bad` put in place of feature `at`, and `tail` after
    /// the last feature (before the closing brackets).
    fn many_with(n: usize, at: usize, bad: &str, tail: &str) -> String {
        let features: Vec<String> = (0..n)
            .map(|i| {
                if i == at {
                    bad.to_owned()
                } else {
                    format!(r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[1,2]}},"properties":{{"n":{i}}}}}"#)
                }
            })
            .collect();
        format!(
            r#"{{"type":"FeatureCollection","features":[{}{tail}]}}"#,
            features.join(",")
        )
    }

    #[test]
    fn the_first_problem_in_file_order_is_named_across_parse_batches() {
        let n = 3 * stream::PARSE_BATCH;
        // Well-formed files of several batches load whole and in order.
        let ok = load_one(&many_with(n, usize::MAX, "", "")).unwrap();
        assert_eq!(ok.feature_count(), n);
        // A semantic problem in a later batch names its feature.
        let at = 2 * stream::PARSE_BATCH + 7;
        let text = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":"x"}}"#;
        let m = message(&many_with(n, at, text, ""));
        assert!(
            m.contains(&format!("index {at}")) && m.contains("\"n\""),
            "{m}"
        );
        // It still comes first when the same batch ends in broken JSON.
        let m = message(&many_with(n, at, text, r#",{"type":"#));
        assert!(m.contains(&format!("index {at}")), "{m}");
        // Broken JSON alone is a syntax error with its position.
        let m = message(&many_with(n, usize::MAX, "", r#",{"type":"#));
        assert!(
            m.contains("not valid GeoJSON") && m.contains("line 1"),
            "{m}"
        );
        // A number too large for a double passes the scan but not the parse: still named.
        let huge = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":1e400}}"#;
        let m = message(&many_with(n, at, huge, ""));
        assert!(m.contains(&format!("index {at}")), "{m}");
    }

    #[test]
    fn the_order_of_top_level_members_does_not_matter() {
        let c = load_one(r#"{"features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"k":"v"}}],"type":"FeatureCollection"}"#).unwrap();
        assert_eq!(c.feature_count(), 1);
    }
}
