//! Whole-result downloads in the formats planners open: GeoJSON, CSV, GeoPackage, FlatGeobuf,
//! KML and zipped Shapefile.
//!
//! Writers take an [`ExportSource`] (a schema and an iterator of features), never HTTP types, so
//! the server and the `export` command share them. GeoJSON, CSV and KML stream feature by
//! feature; GeoPackage, FlatGeobuf and Shapefile are built in a temporary directory (their
//! formats need the whole file before it can be read) and then streamed from disk, so memory
//! stays bounded whatever the size.

pub mod clip;
mod csv;
mod fgb;
mod geojson;
mod gpkg;
mod kml;
mod shp;
mod values;
pub mod xlsx;

pub use self::csv::inert as inert_cell;
pub use kml::escape as escape_markup;

use std::io::Write;
use std::sync::Arc;

use crate::index::Layer;
use crate::model::{Crs, CrsError, Feature, Field};
use crate::query::Exceeded;

/// The attribute that carries each feature's id in the tabular formats (GeoJSON has `id`, CSV
/// its first column `id`).
pub const ID_COLUMN: &str = "feature_id";

/// The download formats, with their `f=` names, media types and file extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    GeoPackage,
    FlatGeobuf,
    Kml,
    Shapefile,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::GeoJson,
        Format::Csv,
        Format::GeoPackage,
        Format::FlatGeobuf,
        Format::Kml,
        Format::Shapefile,
        Format::Xlsx,
    ];

    pub fn parse(f: &str) -> Option<Self> {
        Some(match f {
            "geojson" | "json" => Format::GeoJson,
            "csv" => Format::Csv,
            "gpkg" | "geopackage" => Format::GeoPackage,
            "fgb" | "flatgeobuf" => Format::FlatGeobuf,
            "kml" => Format::Kml,
            "shp" | "shapefile" => Format::Shapefile,
            "xlsx" | "excel" => Format::Xlsx,
            _ => return None,
        })
    }

    /// The format a media type names, for `Accept` negotiation.
    pub fn from_media_type(m: &str) -> Option<Self> {
        let essence = |t: &str| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        Format::ALL
            .into_iter()
            .find(|f| essence(f.media_type()) == essence(m))
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Csv => "csv",
            Format::GeoPackage => "gpkg",
            Format::FlatGeobuf => "fgb",
            Format::Kml => "kml",
            Format::Shapefile => "shp",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoPackage => "application/geopackage+sqlite3",
            Format::FlatGeobuf => "application/flatgeobuf",
            Format::Kml => "application/vnd.google-earth.kml+xml",
            Format::Shapefile => "application/zip",
            Format::Xlsx => xlsx::MEDIA_TYPE,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Csv => "csv",
            Format::GeoPackage => "gpkg",
            Format::FlatGeobuf => "fgb",
            Format::Kml => "kml",
            Format::Shapefile => "shp.zip",
            Format::Xlsx => "xlsx",
        }
    }

    /// Whether the format is written straight to the output as features come (else it is built
    /// in a temporary file first).
    pub fn streams(self) -> bool {
        matches!(self, Format::GeoJson | Format::Csv | Format::Kml)
    }
}

/// Options of a download.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExportOptions {
    pub crs: Crs,
    /// Start a CSV with a UTF-8 byte-order mark, so that Excel reads Chinese text correctly.
    pub csv_bom: bool,
}

/// One layer to write: its name, its properties' schema, and its features. The features may be
/// found only as the writer asks for them (an area export matches each layer when it reaches
/// it), so finding them can fail midway: the writer then stops with the error.
pub struct ExportSource {
    pub name: String,
    pub fields: Vec<Field>,
    pub features: Box<dyn Iterator<Item = Result<Feature, ExportError>> + Send>,
    /// Titles and vocabularies for a workbook (`None`: the keys are the titles).
    pub workbook: Option<xlsx::Workbook>,
}

impl ExportSource {
    /// The features of `layer` in `slots`, materialised one at a time as the writer asks, with
    /// only the columns `only` if given.
    pub fn from_slots(layer: Arc<Layer>, slots: Vec<usize>, only: Option<Vec<usize>>) -> Self {
        let fields = match &only {
            Some(only) => only.iter().map(|i| layer.fields[*i].clone()).collect(),
            None => layer.fields.clone(),
        };
        ExportSource {
            name: layer.id.to_string(),
            fields,
            features: Box::new(
                slots
                    .into_iter()
                    .map(move |slot| Ok(layer.feature(slot, only.as_deref()))),
            ),
            workbook: None,
        }
    }

    /// The source with a workbook's titles and vocabularies.
    pub fn with_workbook(mut self, workbook: xlsx::Workbook) -> Self {
        self.workbook = Some(workbook);
        self
    }

    /// The source, stopped with an error once `budget` runs out (checked before each feature,
    /// which is where clipping and writing spend their time).
    pub fn within(self, budget: crate::query::Budget) -> Self {
        let ExportSource {
            name,
            fields,
            features,
            workbook,
        } = self;
        let checked = features.map(move |f| {
            budget.check()?;
            f
        });
        ExportSource {
            name,
            fields,
            features: Box::new(checked),
            workbook,
        }
    }

    /// A source whose features are found only when the writer first asks: `find` runs then
    /// (on the writer's thread), so several layers of one download do not all hold their
    /// matches before the first byte is sent.
    pub fn deferred(
        name: String,
        fields: Vec<Field>,
        find: impl FnOnce() -> Result<ExportSource, ExportError> + Send + 'static,
    ) -> Self {
        let features = std::iter::once(find).flat_map(|find| {
            let found: Box<dyn Iterator<Item = Result<Feature, ExportError>> + Send> = match find()
            {
                Ok(source) => source.features,
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
            found
        });
        ExportSource {
            name,
            fields,
            features: Box::new(features),
            workbook: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{format}: {reason}")]
    Format {
        format: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Crs(#[from] CrsError),
    #[error("finding the features to write: {0}")]
    Stopped(#[from] Exceeded),
}

impl ExportError {
    fn format(format: Format, reason: impl ToString) -> Self {
        ExportError::Format {
            format: format.name(),
            reason: reason.to_string(),
        }
    }
}

/// Writes one layer in `format` to `out`.
pub fn write(
    format: Format,
    source: ExportSource,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    if format == Format::Kml && options.crs != Crs::Crs84 {
        return Err(ExportError::format(
            format,
            "KML is always WGS84 longitude/latitude; ask for crs=CRS84",
        ));
    }
    match format {
        Format::GeoJson => geojson::write(std::iter::once(source), false, options, out),
        Format::Csv => csv::write(source, options, out),
        Format::Kml => kml::write(source, out),
        Format::GeoPackage => gpkg::write(vec![source], options, out),
        Format::FlatGeobuf => fgb::write(source, options, out),
        Format::Shapefile => shp::write(source, options, out),
        Format::Xlsx => xlsx::write(source, out),
    }
}

/// Writes several layers into one file: a GeoJSON FeatureCollection with a `layer` property on
/// each feature, or a GeoPackage with one table per layer.
pub fn write_layers(
    format: Format,
    sources: Vec<ExportSource>,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    match format {
        Format::GeoJson => geojson::write(sources.into_iter(), true, options, out),
        Format::GeoPackage => gpkg::write(sources, options, out),
        other => Err(ExportError::format(
            other,
            "a multi-layer export is GeoJSON or GeoPackage",
        )),
    }
}

/// A download's file name: the collection and the date (`spatial-carriers-2026-11-22.gpkg`).
pub fn file_name(collection: &str, format: Format) -> String {
    format!(
        "{collection}-{}.{}",
        chrono::Utc::now().format("%Y-%m-%d"),
        format.extension()
    )
}
