//! GeoPackage 1.3 written with SQLite (bundled, through rusqlite): the required metadata tables,
//! one feature table per layer, geometries as GeoPackage binary (a header with the envelope,
//! then WKB from geozero). Built in a temporary file, then copied to the output.

use std::io::Write;

use geo::BoundingRect;
use geozero::{CoordDimensions, ToWkb};
use rusqlite::{params, Connection};

use super::{ExportError, ExportOptions, ExportSource, Format, ID_COLUMN};
use crate::export::values::text;
use crate::model::FieldType;

fn err(e: impl ToString) -> ExportError {
    ExportError::format(Format::GeoPackage, e)
}

fn srs_row(code: u32) -> (&'static str, &'static str) {
    match code {
        4490 => (
            "China Geodetic Coordinate System 2000",
            r#"GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4490"]]"#,
        ),
        3857 => (
            "WGS 84 / Pseudo-Mercator",
            r#"PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","3857"]]"#,
        ),
        _ => (
            "WGS 84 geodetic",
            r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]"#,
        ),
    }
}

/// GeoPackage binary: "GP", version 0, flags (little-endian, xy envelope), srs id, envelope
/// (minx, maxx, miny, maxy), then the WKB.
fn gpkg_geometry(g: &geo::Geometry<f64>, srs: u32) -> Result<Vec<u8>, ExportError> {
    let wkb = g.to_wkb(CoordDimensions::xy()).map_err(err)?;
    let mut out = Vec::with_capacity(8 + 32 + wkb.len());
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(0b0000_0011);
    out.extend_from_slice(&(srs as i32).to_le_bytes());
    let r = g.bounding_rect().ok_or_else(|| err("empty geometry"))?;
    for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&wkb);
    Ok(out)
}

fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Boolean => "BOOLEAN",
        FieldType::Integer => "INTEGER",
        FieldType::Number => "REAL",
        FieldType::Date => "DATE",
        FieldType::Timestamp => "DATETIME",
        FieldType::String | FieldType::StringArray | FieldType::Json => "TEXT",
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn write(
    sources: Vec<ExportSource>,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("export.gpkg");
    let srs = options.crs.epsg();
    {
        let mut db = Connection::open(&path).map_err(err)?;
        db.execute_batch(
            "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
               organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
             CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
               description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
             CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
               srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name));
             INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL);
             INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL);",
        )
        .map_err(err)?;
        let (name, wkt) = srs_row(srs);
        db.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, NULL)",
            params![name, srs, wkt],
        )
        .map_err(err)?;
        for source in sources {
            let table = quote(&source.name);
            let columns: String = source
                .fields
                .iter()
                .map(|f| format!(", {} {}", quote(&f.name), sql_type(f.ty)))
                .collect();
            db.execute_batch(&format!("CREATE TABLE {table} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom GEOMETRY, {} TEXT{columns});", ID_COLUMN)).map_err(err)?;
            let placeholders: String = (0..source.fields.len())
                .map(|i| format!(", ?{}", i + 3))
                .collect();
            let insert = format!(
                "INSERT INTO {table} (geom, {ID_COLUMN}{}) VALUES (?1, ?2{placeholders})",
                source
                    .fields
                    .iter()
                    .map(|f| format!(", {}", quote(&f.name)))
                    .collect::<String>()
            );
            let tx = db.transaction().map_err(err)?;
            let mut extent: Option<geo::Rect<f64>> = None;
            {
                let mut stmt = tx.prepare(&insert).map_err(err)?;
                for f in source.features {
                    let f = f?;
                    let g = options.crs.project(&f.geometry);
                    if let Some(r) = g.bounding_rect() {
                        extent = Some(match extent {
                            None => r,
                            Some(e) => geo::Rect::new(
                                (e.min().x.min(r.min().x), e.min().y.min(r.min().y)),
                                (e.max().x.max(r.max().x), e.max().y.max(r.max().y)),
                            ),
                        });
                    }
                    let mut values: Vec<rusqlite::types::Value> =
                        vec![gpkg_geometry(&g, srs)?.into(), f.id.to_string().into()];
                    for field in &source.fields {
                        let v = f
                            .properties
                            .get(&field.name)
                            .cloned()
                            .unwrap_or(serde_json::Value::Null);
                        values.push(match (&v, field.ty) {
                            (serde_json::Value::Null, _) => rusqlite::types::Value::Null,
                            (serde_json::Value::Bool(b), _) => i64::from(*b).into(),
                            (serde_json::Value::Number(n), FieldType::Integer) => {
                                n.as_i64().map_or(rusqlite::types::Value::Null, Into::into)
                            }
                            (serde_json::Value::Number(n), _) => {
                                n.as_f64().map_or(rusqlite::types::Value::Null, Into::into)
                            }
                            (other, _) => text(other).into(),
                        });
                    }
                    stmt.execute(rusqlite::params_from_iter(values))
                        .map_err(err)?;
                }
            }
            let e = extent.unwrap_or_else(|| geo::Rect::new((0.0, 0.0), (0.0, 0.0)));
            tx.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6)",
                params![source.name, e.min().x, e.min().y, e.max().x, e.max().y, srs],
            )
            .map_err(err)?;
            tx.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', 'GEOMETRY', ?2, 0, 0)",
                params![source.name, srs],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
        }
    }
    std::io::copy(&mut std::fs::File::open(&path)?, out)?;
    Ok(())
}
