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

mod derive;
mod error;
mod geometry;
mod source;
mod vocabulary;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

pub use derive::{AREA_FIELD, ZONES_FIELD};
pub use error::{FeatureRef, IngestError};
pub use geometry::parse_geometry;

pub use source::{embedded_files, read_dir, SourceFile};
pub use vocabulary::{Term, Vocabulary};

use crate::domain::{FeatureId, LayerId, LayerMeta};
use crate::index::{infer_type, Column, Field, Layer, LayerParts};
use crate::store::Catalog;

const LAYER_SUFFIX: &str = ".geojson";
const META_SUFFIX: &str = ".meta.json";
const VOCAB_SUFFIX: &str = ".vocab.json";

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
    let mut metas: BTreeMap<String, (String, LayerMeta)> = BTreeMap::new();
    let mut vocabularies: BTreeMap<String, Vocabulary> = BTreeMap::new();
    let mut layer_files = Vec::new();
    for file in files {
        if let Some(stem) = file.name.strip_suffix(META_SUFFIX) {
            let meta: LayerMeta = serde_json::from_slice(&file.bytes).map_err(|e| {
                IngestError::file(&file.name, format!("invalid layer metadata: {e}"))
            })?;
            metas.insert(stem.to_owned(), (file.name.clone(), meta));
        } else if let Some(stem) = file.name.strip_suffix(VOCAB_SUFFIX) {
            let vocab = Vocabulary::parse(stem, &file.bytes)
                .map_err(|reason| IngestError::file(&file.name, reason))?;
            vocabularies.insert(stem.to_owned(), vocab);
        } else if file.name.ends_with(LAYER_SUFFIX) {
            layer_files.push(file);
        }
    }
    if layer_files.is_empty() {
        return Err(IngestError::NoLayers {
            dir: origin.to_owned(),
        });
    }

    let mut parts = Vec::with_capacity(layer_files.len());
    for file in &layer_files {
        let stem = &file.name[..file.name.len() - LAYER_SUFFIX.len()];
        let id = LayerId::new(stem).map_err(|e| IngestError::file(&file.name, e.to_string()))?;
        let meta = metas.remove(stem).map(|(_, m)| m).unwrap_or_default();
        let p = parse_layer(&file.name, id, meta, &file.bytes, options)?;
        vocabulary::check_layer(&file.name, &p, &vocabularies)?;
        parts.push(p);
    }
    if let Some((_, (name, _))) = metas.into_iter().next() {
        return Err(IngestError::file(
            &name,
            format!(
                "metadata for a layer that does not exist (no {})",
                name.replace(META_SUFFIX, LAYER_SUFFIX)
            ),
        ));
    }

    let layers: Vec<Layer> = derive::derive_and_build(parts);
    Ok(Catalog::new(layers, vocabularies))
}

/// Steps 1-3 of the pipeline for one file.
fn parse_layer(
    file: &str,
    id: LayerId,
    meta: LayerMeta,
    bytes: &[u8],
    options: LoadOptions,
) -> Result<LayerParts, IngestError> {
    let root: Json = serde_json::from_slice(bytes)
        .map_err(|e| IngestError::file(file, format!("not valid JSON: {e}")))?;
    // Features are taken out of the document, so nothing is copied on the way to the columns.
    let features = check_root(file, root)?;

    let mut ids: Vec<Option<FeatureId>> = Vec::with_capacity(features.len());
    let mut geometries = Vec::with_capacity(features.len());
    let mut property_maps = Vec::with_capacity(features.len());
    for (index, f) in features.into_iter().enumerate() {
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
        let geometry = match obj.get("geometry") {
            None | Some(Json::Null) => {
                return Err(IngestError::feature(
                    file,
                    at,
                    "has no geometry (null geometries cannot be mapped)",
                ))
            }
            Some(g) => {
                let (geometry, invalid) = parse_geometry(g)
                    .map_err(|reason| IngestError::feature(file, at.clone(), reason))?;
                if let Some(reason) = invalid {
                    if !options.accept_invalid_geometry {
                        return Err(IngestError::feature(
                            file,
                            at,
                            format!("invalid geometry: {reason}"),
                        ));
                    }
                    tracing::warn!(file, feature = %at, "served despite an invalid geometry: {reason}");
                }
                geometry
            }
        };
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
        ids.push(id);
        geometries.push(geometry);
        property_maps.push(props);
    }
    let ids = assign_ids(file, ids)?;
    let (fields, columns) = build_columns(file, &ids, &property_maps)?;
    Ok(LayerParts {
        id,
        meta,
        ids,
        geometries,
        fields,
        columns,
    })
}

fn check_root(file: &str, root: Json) -> Result<Vec<Json>, IngestError> {
    let Json::Object(mut obj) = root else {
        return Err(IngestError::file(
            file,
            "the top level must be a GeoJSON object",
        ));
    };
    match obj.get("type").and_then(Json::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(IngestError::file(
                file,
                format!("the top level is a {other}; a layer must be a FeatureCollection"),
            ))
        }
        None => return Err(IngestError::file(file, "the top level has no \"type\"")),
    }
    if let Some(crs) = obj.get("crs") {
        check_legacy_crs(crs).map_err(|reason| IngestError::file(file, reason))?;
    }
    match obj.remove("features") {
        Some(Json::Array(features)) => Ok(features),
        _ => Err(IngestError::file(
            file,
            "a FeatureCollection needs a \"features\" array",
        )),
    }
}

/// RFC 7946 removed the `crs` member, but desktop GIS still writes it. A geographic CRS whose axes
/// GeoJSON writes as lon/lat (CRS84, EPSG:4326, CGCS2000 EPSG:4490) is accepted; anything else
/// (a projected CRS such as a Gauss-Krüger zone) is refused rather than served in the wrong place.
fn check_legacy_crs(crs: &Json) -> Result<(), String> {
    let name = crs
        .pointer("/properties/name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let accepted = [
        "CRS84",
        "EPSG::4326",
        "EPSG:4326",
        "EPSG::4490",
        "EPSG:4490",
    ];
    if accepted.iter().any(|a| name.ends_with(a)) {
        Ok(())
    } else {
        Err(format!(
            "the file declares crs {name:?}; only WGS84/CGCS2000 longitude-latitude data can be served (reproject it, e.g. ogr2ogr -t_srs EPSG:4326)"
        ))
    }
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

fn build_columns(
    file: &str,
    ids: &[FeatureId],
    maps: &[serde_json::Map<String, Json>],
) -> Result<(Vec<Field>, Vec<Column>), IngestError> {
    let mut names: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in maps {
        for k in m.keys() {
            if seen.insert(k.as_str()) {
                names.push(k);
            }
        }
    }
    let mut fields = Vec::with_capacity(names.len());
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let ty = infer_type(maps.iter().filter_map(|m| m.get(name))).map_err(|(a, b)| {
            IngestError::file(file, format!("property {name:?} mixes types: {a} and {b}"))
        })?;
        let mut column = Column::with_capacity(ty, maps.len());
        for (index, m) in maps.iter().enumerate() {
            column.push_json(m.get(name)).map_err(|e| {
                let at = FeatureRef {
                    index,
                    id: Some(ids[index].to_string()),
                };
                IngestError::feature(file, at, format!("property {name:?}: {e}"))
            })?;
        }
        fields.push(Field {
            name: name.to_owned(),
            ty,
            derived: false,
            nulls_only: maps.iter().all(|m| m.get(name).is_none_or(Json::is_null)),
        });
        columns.push(column);
    }
    Ok((fields, columns))
}
