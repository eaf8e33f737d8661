//! One layer assembled from features in file order, whatever the file's format: ids,
//! properties into typed columns, geometries transformed to CRS84 and checked in parallel
//! batches. Every reader (GeoJSON's streaming parser, GeoPackage, Shapefile, ...) hands its
//! features here, so every format gets the same checks and the same error messages.

use serde_json::{Map, Value as Json};

use super::columns::ColumnsBuilder;
use super::source_crs::SourceCrs;
use super::{assign_ids, parse_geometries, FeatureRef, IngestError, LoadOptions};
use crate::index::LayerParts;
use crate::model::{FeatureId, LayerId, LayerMeta};

/// Geometries parsed and validated in parallel, this many at a time.
const GEOMETRY_BATCH: usize = 4096;

pub(crate) struct LayerBuilder<'a> {
    file: &'a str,
    options: LoadOptions,
    /// The sidecar's `crs`, which a file's own declaration must agree with.
    sidecar: Option<SourceCrs>,
    /// Where the positions are: the sidecar's, else the file's, else CRS84.
    source: SourceCrs,
    ids: Vec<Option<FeatureId>>,
    geometries: Vec<geo::Geometry<f64>>,
    columns: ColumnsBuilder,
    batch: Vec<(FeatureRef, Json)>,
}

impl<'a> LayerBuilder<'a> {
    /// A builder for one layer of `file`, with the sidecar's `crs` (if any) in force.
    pub fn new(file: &'a str, meta: &LayerMeta, options: LoadOptions) -> Result<Self, IngestError> {
        let sidecar = meta
            .crs
            .as_deref()
            .map(SourceCrs::parse)
            .transpose()
            .map_err(|e| IngestError::file(file, format!("sidecar \"crs\": {e}")))?;
        Ok(Self {
            file,
            options,
            source: sidecar.clone().unwrap_or(SourceCrs::Crs84),
            sidecar,
            ids: Vec::new(),
            geometries: Vec::new(),
            columns: ColumnsBuilder::default(),
            batch: Vec::with_capacity(GEOMETRY_BATCH),
        })
    }

    /// The coordinate system the file itself declares (a `.prj`, a GeoPackage's
    /// `gpkg_spatial_ref_sys`, a legacy GeoJSON `crs`). It must agree with the sidecar's, and
    /// come before the first feature: positions already read cannot be moved.
    pub fn declare(&mut self, found: SourceCrs) -> Result<(), String> {
        match &self.sidecar {
            Some(s) if *s != found => Err(format!(
                "the file declares crs {found:?} but its sidecar says {s:?}; remove one of them"
            )),
            Some(_) => Ok(()),
            None if !self.ids.is_empty() && !found.is_crs84() => Err(format!(
                "the file declares crs {found:?} after its first features; put \"crs\" before \"features\", or in the sidecar"
            )),
            None => {
                self.source = found;
                Ok(())
            }
        }
    }

    /// Adds the feature at `index` (0-based, in file order). A missing geometry is refused:
    /// a feature that cannot be placed cannot be mapped.
    pub fn push(
        &mut self,
        at: FeatureRef,
        id: Option<FeatureId>,
        geometry: Option<Json>,
        properties: Map<String, Json>,
    ) -> Result<(), IngestError> {
        let file = self.file;
        match geometry {
            None | Some(Json::Null) => {
                return Err(IngestError::feature(
                    file,
                    at,
                    "has no geometry (null geometries cannot be mapped)",
                ))
            }
            Some(g) => self.batch.push((at.clone(), g)),
        }
        self.columns.push_row(properties).map_err(|m| {
            IngestError::feature(
                file,
                at,
                format!(
                    "property {:?} is a {} here but a {} in earlier features",
                    m.property, m.now, m.was
                ),
            )
        })?;
        self.ids.push(id);
        if self.batch.len() >= GEOMETRY_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        parse_geometries(
            self.file,
            &mut self.batch,
            &mut self.geometries,
            self.options,
            &self.source,
        )
    }

    /// The layer: ids checked (all or none, unique), columns typed.
    pub fn finish(mut self, id: LayerId, meta: LayerMeta) -> Result<LayerParts, IngestError> {
        self.flush()?;
        let ids = assign_ids(self.file, self.ids)?;
        let (fields, columns) = self.columns.finish();
        Ok(LayerParts {
            id,
            meta,
            ids,
            geometries: self.geometries,
            fields,
            columns,
        })
    }
}
