//! Zipped Shapefile (.shp, .shx, .dbf, .prj, and .cpg declaring UTF-8), through the `shapefile`
//! and `dbase` crates, zipped with `zip`. A Shapefile holds one kind of geometry and field names
//! of at most 10 bytes: longer names are shortened (and kept unique), which the README notes.

use std::collections::HashSet;
use std::io::Write;

use dbase::{FieldName, FieldValue, Record, TableWriterBuilder};

use super::{ExportError, ExportOptions, ExportSource, Format, ID_COLUMN};
use crate::export::values::text;
use crate::model::FieldType;

fn err(e: impl ToString) -> ExportError {
    ExportError::format(Format::Shapefile, e)
}

/// The .prj (ESRI WKT) of the output CRS.
fn prj(code: u32) -> &'static str {
    match code {
        4490 => {
            r#"GEOGCS["China Geodetic Coordinate System 2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#
        }
        3857 => {
            r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]"#
        }
        _ => {
            r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#
        }
    }
}

/// Field names of at most 10 bytes, unique: `available_floor_area_m2` becomes `available_`, a
/// second one `availabl_1`.
pub fn dbf_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut used = HashSet::new();
    names
        .map(|n| {
            let ascii: String = n
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let base: String = ascii.chars().take(10).collect();
            let mut candidate = if base.is_empty() {
                "field".to_owned()
            } else {
                base.clone()
            };
            let mut i = 1;
            while !used.insert(candidate.clone()) {
                let suffix = format!("_{i}");
                candidate = format!(
                    "{}{suffix}",
                    base.chars().take(10 - suffix.len()).collect::<String>()
                );
                i += 1;
            }
            candidate
        })
        .collect()
}

/// Cuts a string to at most `max` bytes on a character boundary (dBase character fields hold
/// 254 bytes).
fn clip(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

enum Kind {
    Point,
    Line,
    Polygon,
}

fn kind(g: &geo::Geometry<f64>) -> Option<Kind> {
    match g {
        geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => Some(Kind::Point),
        geo::Geometry::Line(_)
        | geo::Geometry::LineString(_)
        | geo::Geometry::MultiLineString(_) => Some(Kind::Line),
        geo::Geometry::Polygon(_)
        | geo::Geometry::MultiPolygon(_)
        | geo::Geometry::Rect(_)
        | geo::Geometry::Triangle(_) => Some(Kind::Polygon),
        geo::Geometry::GeometryCollection(_) => None,
    }
}

pub fn write(
    source: ExportSource,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let dir = tempfile::tempdir()?;
    let stem = "layer";
    let shp_path = dir.path().join(format!("{stem}.shp"));
    let names =
        dbf_names(std::iter::once(ID_COLUMN).chain(source.fields.iter().map(|f| f.name.as_str())));
    let (id_name, names) = (names[0].clone(), names[1..].to_vec());
    let mut builder = TableWriterBuilder::new().add_character_field(
        FieldName::try_from(id_name.as_str()).map_err(|e| err(format!("{e:?}")))?,
        254,
    );
    for (f, n) in source.fields.iter().zip(&names) {
        let name = FieldName::try_from(n.as_str()).map_err(|e| err(format!("{e:?}")))?;
        builder = match f.ty {
            FieldType::Integer => builder.add_numeric_field(name, 18, 0),
            FieldType::Number => builder.add_numeric_field(name, 20, 6),
            FieldType::Boolean => builder.add_logical_field(name),
            _ => builder.add_character_field(name, 254),
        };
    }
    let mut features = source.features.peekable();
    let first_kind = match features.peek() {
        Some(Ok(f)) => Some(kind(&f.geometry)),
        _ => None,
    };
    {
        let mut writer = shapefile::Writer::from_path(&shp_path, builder).map_err(err)?;
        for f in features {
            let f = f?;
            let g = options.crs.project(&f.geometry);
            let mut record = Record::default();
            record.insert(
                id_name.clone(),
                FieldValue::Character(Some(clip(f.id.to_string(), 254))),
            );
            for (field, n) in source.fields.iter().zip(&names) {
                let v = f
                    .properties
                    .get(&field.name)
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                let value = match field.ty {
                    FieldType::Integer | FieldType::Number => FieldValue::Numeric(v.as_f64()),
                    FieldType::Boolean => FieldValue::Logical(v.as_bool()),
                    _ => FieldValue::Character((!v.is_null()).then(|| clip(text(&v), 254))),
                };
                record.insert(n.clone(), value);
            }
            let mismatch = || {
                err("a Shapefile holds one kind of geometry; this result mixes points, lines or polygons (use GeoPackage)")
            };
            match (&first_kind, g) {
                (Some(Some(Kind::Polygon)), geo::Geometry::Polygon(p)) => {
                    writer.write_shape_and_record(&shapefile::Polygon::from(p), &record)
                }
                (Some(Some(Kind::Polygon)), geo::Geometry::MultiPolygon(p)) => {
                    writer.write_shape_and_record(&shapefile::Polygon::from(p), &record)
                }
                (Some(Some(Kind::Line)), geo::Geometry::LineString(l)) => writer
                    .write_shape_and_record(
                        &shapefile::Polyline::from(geo::MultiLineString(vec![l])),
                        &record,
                    ),
                (Some(Some(Kind::Line)), geo::Geometry::MultiLineString(l)) => {
                    writer.write_shape_and_record(&shapefile::Polyline::from(l), &record)
                }
                (Some(Some(Kind::Point)), geo::Geometry::Point(p)) => {
                    writer.write_shape_and_record(&shapefile::Point::from(p), &record)
                }
                _ => return Err(mismatch()),
            }
            .map_err(err)?;
        }
    }
    std::fs::write(
        dir.path().join(format!("{stem}.prj")),
        prj(options.crs.epsg()),
    )?;
    std::fs::write(dir.path().join(format!("{stem}.cpg")), "UTF-8")?;
    let zip_path = dir.path().join("export.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
            let path = dir.path().join(format!("{stem}.{ext}"));
            if !path.exists() {
                continue;
            }
            zip.start_file(format!("{}.{ext}", source.name), opts)
                .map_err(err)?;
            std::io::copy(&mut std::fs::File::open(&path)?, &mut zip)?;
        }
        zip.finish().map_err(err)?;
    }
    std::io::copy(&mut std::fs::File::open(&zip_path)?, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_fit_and_stay_unique() {
        let n = dbf_names(
            [
                "floor_area_m2",
                "available_floor_area_m2",
                "available_floor_area_x",
                "名称",
            ]
            .into_iter(),
        );
        assert_eq!(n, ["floor_area", "available_", "availabl_1", "field"]);
    }

    #[test]
    fn clips_on_a_character_boundary() {
        assert_eq!(clip("亦庄".repeat(100), 254).len(), 252);
    }
}
