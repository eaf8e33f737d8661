//! GeoPackage (`.gpkg`): every feature table a layer, named by the table, or by the file's
//! stem when it holds one. Columns are typed as the table declares them (`BOOLEAN` 0/1 as
//! booleans, `DATE` and `DATETIME` as their text, JSON columns of `gpkg_data_columns` as
//! JSON); the id is an `id` column when there is one, else the integer primary key. The
//! coordinate system is the table's `gpkg_spatial_ref_sys` row: its EPSG code, else its WKT.

use geozero::wkb::GpkgWkb;
use geozero::ToGeo;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value as Json};

use super::{at, bilingual, build_layer, geo_json, prj, take_id, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::source_crs::SourceCrs;
use crate::ingest::{IngestError, SourceFile};
use crate::model::FeatureId;

/// A feature table and its geometry column.
struct Table {
    name: String,
    geometry: String,
    srs_id: i64,
}

/// How a column's values are read.
#[derive(Clone, Copy, PartialEq)]
enum Declared {
    Bool,
    Json,
    Other,
}

pub(crate) fn read(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<Vec<LayerParts>, IngestError> {
    let label = file.name.as_str();
    let sql = |e: rusqlite::Error| unreadable(label, ("GeoPackage", "GeoPackage"), &e);
    // SQLite opens files by path; a copy that is not on disk (stored in PostgreSQL, say)
    // goes through a temporary file that lives until the layers are read.
    let mut scratch = None;
    let path = match &file.path {
        Some(p) => p.clone(),
        None => {
            let mut t = tempfile::NamedTempFile::new().map_err(|e| IngestError::Read {
                path: label.to_owned(),
                source: e,
            })?;
            std::io::Write::write_all(&mut t, &file.bytes).map_err(|e| IngestError::Read {
                path: label.to_owned(),
                source: e,
            })?;
            let p = t.path().to_owned();
            scratch = Some(t);
            p
        }
    };
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let tables: Vec<Table> = conn
        .prepare(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
             JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
             WHERE c.data_type = 'features' ORDER BY c.table_name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Table {
                    name: r.get(0)?,
                    geometry: r.get(1)?,
                    srs_id: r.get(2)?,
                })
            })?
            .collect()
        })
        .map_err(sql)?;
    if tables.is_empty() {
        return Err(IngestError::file(
            label,
            bilingual("holds no feature table", "不含要素表"),
        ));
    }
    let single = tables.len() == 1;
    let mut layers = Vec::with_capacity(tables.len());
    for table in &tables {
        let name = if single { stem } else { table.name.as_str() };
        let here = if single {
            label.to_owned()
        } else {
            format!("{label}, table {:?}", table.name)
        };
        layers.push(
            read_table(&conn, &here, name, table, cx).map_err(|e| match e {
                Err(e) => IngestError::file(
                    &here,
                    bilingual(&format!("cannot be read: {e}"), &format!("无法读取：{e}")),
                ),
                Ok(e) => e,
            })?,
        );
    }
    drop(conn);
    drop(scratch);
    Ok(layers)
}

/// The table's coordinate system: its EPSG code, else its WKT; the undefined systems of the
/// standard (ids 0 and -1) are taken as longitude/latitude.
fn table_crs(
    conn: &Connection,
    srs_id: i64,
) -> Result<Result<Option<SourceCrs>, String>, rusqlite::Error> {
    if srs_id <= 0 {
        return Ok(Ok(None));
    }
    let (org, code, definition): (String, i64, String) = conn.query_row(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
        [srs_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(if org.eq_ignore_ascii_case("EPSG") {
        SourceCrs::parse(&format!("EPSG:{code}")).map(Some)
    } else {
        prj::source_crs(&definition).map(Some)
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One table as a layer. The outer error is SQLite's (the caller names the file), the inner
/// one already named.
fn read_table(
    conn: &Connection,
    label: &str,
    name: &str,
    table: &Table,
    cx: &mut Context,
) -> Result<LayerParts, Result<IngestError, rusqlite::Error>> {
    let crs = table_crs(conn, table.srs_id)
        .map_err(Err)?
        .map_err(|r| Ok(IngestError::file(label, r)))?;
    let json_columns: Vec<String> = conn
        .prepare("SELECT column_name FROM gpkg_data_columns WHERE table_name = ?1 AND mime_type = 'application/json'")
        .and_then(|mut s| s.query_map([&table.name], |r| r.get(0))?.collect())
        .unwrap_or_default();
    // (name, declared type, primary key)
    let info: Vec<(String, String, bool)> = conn
        .prepare(&format!("PRAGMA table_info({})", quote(&table.name)))
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((r.get(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(5)? > 0))
            })?
            .collect()
        })
        .map_err(Err)?;
    let key = info
        .iter()
        .find(|(_, ty, pk)| *pk && ty.eq_ignore_ascii_case("INTEGER"))
        .map(|(n, _, _)| n.clone());
    let columns: Vec<(String, Declared)> = info
        .iter()
        .filter(|(n, _, _)| Some(n) != key.as_ref() && *n != table.geometry)
        .map(|(n, ty, _)| {
            let declared = if ty.eq_ignore_ascii_case("BOOLEAN") {
                Declared::Bool
            } else if json_columns.contains(n) {
                Declared::Json
            } else {
                Declared::Other
            };
            (n.clone(), declared)
        })
        .collect();
    let select: Vec<String> = std::iter::once(key.as_deref().map_or("rowid".to_owned(), quote))
        .chain(std::iter::once(quote(&table.geometry)))
        .chain(columns.iter().map(|(n, _)| quote(n)))
        .collect();
    let mut statement = conn
        .prepare(&format!(
            "SELECT {} FROM {} ORDER BY 1",
            select.join(", "),
            quote(&table.name)
        ))
        .map_err(Err)?;
    let mut rows = statement.query([]).map_err(Err)?;
    let meta = cx.meta(name);
    let mut failure: Option<rusqlite::Error> = None;
    let built = build_layer(label, name, meta, cx.options, crs, |builder| {
        let mut index = 0;
        loop {
            let row = match rows.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    return Err(IngestError::file(label, "unreadable row"));
                }
            };
            let fid = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
            let mut properties = Map::new();
            for (c, (column, declared)) in columns.iter().enumerate() {
                let value = row.get_ref(c + 2).map_err(|e| {
                    IngestError::feature(label, at(index, &fid.map(FeatureId::Int)), e.to_string())
                })?;
                let v = value_of(value, *declared).map_err(|(en, zh)| {
                    IngestError::feature(
                        label,
                        at(index, &fid.map(FeatureId::Int)),
                        bilingual(
                            &format!("column {column:?}: {en}"),
                            &format!("“{column}”列：{zh}"),
                        ),
                    )
                })?;
                properties.insert(column.clone(), v);
            }
            let id = take_id(&mut properties).or(fid.map(FeatureId::Int));
            let geometry = match row.get_ref(1) {
                Ok(ValueRef::Blob(b)) => Some(geo_json(&GpkgWkb(b).to_geo().map_err(|e| {
                    IngestError::feature(
                        label,
                        at(index, &id),
                        bilingual(
                            &format!("unreadable geometry: {e}"),
                            &format!("几何无法读取：{e}"),
                        ),
                    )
                })?)),
                _ => None,
            };
            builder.push(at(index, &id), id, geometry, properties)?;
            index += 1;
        }
        Ok(())
    });
    match (built, failure) {
        (_, Some(e)) => Err(Err(e)),
        (Ok(parts), None) => Ok(parts),
        (Err(e), None) => Err(Ok(e)),
    }
}

fn value_of(value: ValueRef, declared: Declared) -> Result<Json, (String, String)> {
    Ok(match (value, declared) {
        (ValueRef::Null, _) => Json::Null,
        (ValueRef::Integer(i), Declared::Bool) => Json::Bool(i != 0),
        (ValueRef::Integer(i), _) => Json::from(i),
        (ValueRef::Real(x), _) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
        (ValueRef::Text(t), declared) => {
            // GeoPackage text is UTF-8 by the standard; anything else is named, not mended.
            let s = std::str::from_utf8(t)
                .map_err(|e| {
                    (
                        format!("text that is not UTF-8 ({e})"),
                        format!("文本不是 UTF-8 编码（{e}）"),
                    )
                })?
                .to_owned();
            match declared {
                Declared::Json => serde_json::from_str(&s).unwrap_or(Json::String(s)),
                _ => Json::String(s),
            }
        }
        (ValueRef::Blob(_), _) => {
            return Err((
                "binary data (a BLOB), which cannot be served".into(),
                "二进制数据（BLOB），无法发布".into(),
            ))
        }
    })
}
