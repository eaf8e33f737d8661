//! Layers from the files offices and planners have, beside GeoJSON: GeoPackage, Shapefile
//! (plain or zipped), FlatGeobuf, KML, CSV and Excel. Each reader turns its file into
//! features and hands them, in file order, to the same [`LayerBuilder`] GeoJSON uses, so
//! sidecars, vocabularies, derived properties, ids and every check work alike; the reader
//! only says where the coordinates are (its `.prj`, `gpkg_spatial_ref_sys`, FlatGeobuf
//! header), and the builder transforms them to CRS84.
//!
//! Problems name the file, the layer (a GeoPackage table), the row or feature and the column,
//! in English and Chinese: an office's data manager may read either.

mod csv;
mod fgb;
mod gpkg;
pub(crate) mod grid;
mod kml;
mod prj;
mod shp;
pub(crate) mod table;
mod text;
mod xlsx;

use serde_json::{Map, Value as Json};

use super::builder::LayerBuilder;
use super::{FeatureRef, IngestError, LoadOptions, SourceFile};
use crate::index::LayerParts;
use crate::model::{FeatureId, LayerId, LayerMeta};

/// A layer file's format, from its name's ending (matched without regard to case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    GeoJson,
    GeoPackage,
    Shapefile,
    ZippedShapefile,
    FlatGeobuf,
    Kml,
    Csv,
    Xlsx,
}

impl Format {
    const ENDINGS: [(&'static str, Format); 8] = [
        (".geojson", Format::GeoJson),
        (".gpkg", Format::GeoPackage),
        (".shp", Format::Shapefile),
        (".zip", Format::ZippedShapefile),
        (".fgb", Format::FlatGeobuf),
        (".kml", Format::Kml),
        (".csv", Format::Csv),
        (".xlsx", Format::Xlsx),
    ];

    /// Whether its text may be in an encoding other than UTF-8, named by the sidecar.
    pub fn takes_encoding(self) -> bool {
        matches!(
            self,
            Format::Shapefile | Format::ZippedShapefile | Format::Csv
        )
    }

    /// The format of a layer file and its stem (the name without the ending); `None` for
    /// sidecars, vocabularies and a Shapefile's companions.
    pub fn of(name: &str) -> Option<(Format, &str)> {
        let lower = name.to_ascii_lowercase();
        Self::ENDINGS.iter().find_map(|(ending, format)| {
            lower
                .ends_with(ending)
                .then(|| (*format, &name[..name.len() - ending.len()]))
        })
    }
}

/// The other files of the directory, for a reader that needs companions (a Shapefile's
/// `.dbf`, `.prj`, `.cpg`; a CSV's `.csvt`), found by name without regard to the ending's case.
pub(crate) struct Companions<'a> {
    files: &'a [SourceFile],
}

impl<'a> Companions<'a> {
    pub fn new(files: &'a [SourceFile]) -> Self {
        Self { files }
    }

    /// The file named `stem` + `ending` (`.dbf`, `.DBF`, ...).
    pub fn get(&self, stem: &str, ending: &str) -> Option<&'a SourceFile> {
        self.files.iter().find(|f| {
            f.name.len() == stem.len() + ending.len()
                && f.name.starts_with(stem)
                && f.name[stem.len()..].eq_ignore_ascii_case(ending)
        })
    }
}

/// What a reader needs besides its file: the sidecars (taken as each layer claims its own,
/// so that a sidecar no layer claims can be named), the companions and the load options.
pub(crate) struct Context<'a, 'm> {
    pub companions: Companions<'a>,
    pub meta_for: &'m mut dyn FnMut(&str) -> LayerMeta,
    pub options: LoadOptions,
}

/// Every layer in `file` (one, or a GeoPackage's tables). GeoJSON is read by the caller.
pub(crate) fn read(
    format: Format,
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<Vec<LayerParts>, IngestError> {
    // A file that is one layer is named by its stem: a name that cannot be a collection id
    // is said first, before the content is read.
    if !matches!(format, Format::GeoPackage | Format::ZippedShapefile) {
        layer_id(&file.name, stem)?;
    }
    match format {
        Format::GeoJson => Err(IngestError::file(
            &file.name,
            "GeoJSON is read by the streaming parser",
        )),
        Format::GeoPackage => gpkg::read(file, stem, cx),
        Format::Shapefile => shp::read_loose(file, stem, cx).map(|l| vec![l]),
        Format::ZippedShapefile => shp::read_zip(file, stem, cx),
        Format::FlatGeobuf => fgb::read(file, stem, cx).map(|l| vec![l]),
        Format::Kml => kml::read(file, stem, cx).map(|l| vec![l]),
        Format::Csv => csv::read(file, stem, cx).map(|l| vec![l]),
        Format::Xlsx => xlsx::read(file, stem, cx).map(|l| vec![l]),
    }
}

impl Context<'_, '_> {
    /// The sidecar of layer `name` (empty when there is none), claimed by that layer.
    pub fn meta(&mut self, name: &str) -> LayerMeta {
        (self.meta_for)(name)
    }
}

/// One layer named `name` from `label` (the file, or file and table), its features supplied
/// by `fill`; the file's own coordinate system, if it declares one, in `crs`.
pub(crate) fn build_layer(
    label: &str,
    name: &str,
    meta: LayerMeta,
    options: LoadOptions,
    crs: Option<super::source_crs::SourceCrs>,
    fill: impl FnOnce(&mut LayerBuilder) -> Result<(), IngestError>,
) -> Result<LayerParts, IngestError> {
    let id = layer_id(label, name)?;
    let mut builder = LayerBuilder::new(label, &meta, options)?;
    if let Some(crs) = crs {
        builder
            .declare(crs)
            .map_err(|reason| IngestError::file(label, reason))?;
    }
    fill(&mut builder)?;
    builder.finish(id, meta)
}

/// The collection id a layer name makes, or why it cannot be one.
fn layer_id(label: &str, name: &str) -> Result<LayerId, IngestError> {
    LayerId::new(name).map_err(|e| {
        IngestError::file(
            label,
            bilingual(
                &format!("{e}; rename the file or table"),
                &format!("图层名 {name:?} 只能由 1–64 个 ASCII 字母、数字、“-”“_”“.”组成；请重命名文件或表"),
            ),
        )
    })
}

/// A file its reader cannot read as `what` (in English and Chinese): "not a readable Excel
/// workbook: …".
pub(crate) fn unreadable(
    label: &str,
    what: (&str, &str),
    e: &dyn std::fmt::Display,
) -> IngestError {
    IngestError::file(
        label,
        bilingual(
            &format!("not a readable {}: {e}", what.0),
            &format!("无法读取的 {}：{e}", what.1),
        ),
    )
}

/// A reason in both languages, English first: "… / …".
pub(crate) fn bilingual(en: &str, zh: &str) -> String {
    format!("{en} / {zh}")
}

/// A feature's place in a file: its 0-based index (rows are numbered by the caller).
pub(crate) fn at(index: usize, id: &Option<FeatureId>) -> FeatureRef {
    FeatureRef {
        index,
        id: id.as_ref().map(ToString::to_string),
    }
}

/// A geometry as the GeoJSON the builder checks and transforms.
pub(crate) fn geo_json(g: &geo::Geometry<f64>) -> Json {
    let value = geojson::Value::from(g);
    serde_json::to_value(geojson::Geometry::new(value)).unwrap_or(Json::Null)
}

/// Takes the column named `id` (any case) out of a row's properties as the feature id:
/// GDAL writes a GeoJSON id there, and offices name their key column so. Whole numbers are
/// integer ids, anything else its text; an empty cell is no id.
pub(crate) fn take_id(properties: &mut Map<String, Json>) -> Option<FeatureId> {
    let key = properties
        .keys()
        .find(|k| k.eq_ignore_ascii_case("id"))?
        .clone();
    match properties.remove(&key)? {
        Json::Number(n) => Some(
            n.as_i64()
                .map_or_else(|| FeatureId::Str(n.to_string()), FeatureId::Int),
        ),
        Json::String(s) if s.is_empty() => None,
        Json::String(s) => Some(FeatureId::Str(s)),
        Json::Null => None,
        other => Some(FeatureId::Str(other.to_string())),
    }
}
