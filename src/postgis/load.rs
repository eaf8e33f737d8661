//! The layers read back from the database: what a server started with `--store` serves from
//! memory. Everything is read in one read-only, repeatable-read transaction, so the layers are
//! one consistent version even while another server writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use geozero::wkb::Wkb;
use geozero::ToGeo;

use super::{ident, PgError};
use crate::index::{Catalog, Column, LayerParts};
use crate::ingest::IngestError;
use crate::model::{parse_date, FeatureId, Field, FieldType, LayerId, LayerMeta, Vocabulary};

/// Why the database's layers cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Db(#[from] PgError),
    #[error("collection {collection}: {reason}")]
    Invalid { collection: String, reason: String },
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl From<postgres::Error> for LoadError {
    fn from(e: postgres::Error) -> Self {
        LoadError::Db(PgError::Other(e))
    }
}

/// The `SELECT` expression that reads a field as the type the column builder takes.
fn read_as(name: &str, ty: FieldType) -> String {
    let c = ident(name);
    match ty {
        FieldType::Date | FieldType::Json => format!("{c}::text"),
        // The instant in milliseconds; its text is written back in RFC 3339 (UTC).
        FieldType::Timestamp => format!("(extract(epoch FROM {c}) * 1000)::bigint"),
        _ => c,
    }
}

fn field_type(name: &str) -> Option<FieldType> {
    [
        FieldType::Boolean,
        FieldType::Integer,
        FieldType::Number,
        FieldType::String,
        FieldType::Date,
        FieldType::Timestamp,
        FieldType::StringArray,
        FieldType::Json,
    ]
    .into_iter()
    .find(|t| t.name() == name)
}

/// Every collection of the database, indexed, with its sidecar and the vocabularies; and the
/// last recorded change they reflect (the follower goes on from there).
/// `tables` are PostGIS tables of the database's own, served read-only beside them (see
/// `tables`).
pub fn load(
    client: &mut postgres::Client,
    tables: &[super::TableSource],
) -> Result<(Catalog, i64), LoadError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let mut metas: BTreeMap<String, LayerMeta> = BTreeMap::new();
    let mut vocabularies: BTreeMap<String, Vocabulary> = BTreeMap::new();
    for row in tx.query("SELECT name, content FROM atlas_files", &[])? {
        let name: String = row.get(0);
        let content: Vec<u8> = row.get(1);
        let invalid = |reason: String| LoadError::Invalid {
            collection: name.clone(),
            reason,
        };
        if let Some(stem) = name.strip_suffix(".meta.json") {
            let meta = serde_json::from_slice(&content)
                .map_err(|e| invalid(format!("invalid layer metadata: {e}")))?;
            metas.insert(stem.to_owned(), meta);
        } else if let Some(stem) = name.strip_suffix(".vocab.json") {
            vocabularies.insert(
                stem.to_owned(),
                Vocabulary::parse(stem, &content).map_err(invalid)?,
            );
        }
    }
    let collections = tx.query(
        "SELECT id, fields::text, integer_ids FROM atlas_collections ORDER BY id",
        &[],
    )?;
    let mut parts = Vec::with_capacity(collections.len());
    for row in collections {
        let id: String = row.get(0);
        let fields_json: String = row.get(1);
        let integer_ids: bool = row.get(2);
        let invalid = |reason: String| LoadError::Invalid {
            collection: id.clone(),
            reason,
        };
        let described: Vec<serde_json::Value> =
            serde_json::from_str(&fields_json).map_err(|e| invalid(e.to_string()))?;
        let mut fields: Vec<Field> = described
            .iter()
            .map(|f| {
                let name = f["name"].as_str().unwrap_or_default().to_owned();
                let ty = f["type"]
                    .as_str()
                    .and_then(field_type)
                    .ok_or_else(|| invalid(format!("field {name} has no known type")))?;
                Ok(Field {
                    name,
                    ty,
                    derived: f["derived"].as_bool().unwrap_or(false),
                    nulls_only: false,
                })
            })
            .collect::<Result<_, LoadError>>()?;
        let select: Vec<String> = fields.iter().map(|f| read_as(&f.name, f.ty)).collect();
        let sql = format!(
            "SELECT feature_id, ST_AsBinary(geom){}{} FROM {} ORDER BY atlas_order",
            if select.is_empty() { "" } else { ", " },
            select.join(", "),
            ident(&id)
        );
        let mut ids = Vec::new();
        let mut geometries = Vec::new();
        let mut values: Vec<Vec<crate::index::Cell>> = vec![Vec::new(); fields.len()];
        for r in tx.query(&sql, &[])? {
            let fid: String = r.get(0);
            ids.push(match fid.parse::<i64>() {
                Ok(i) if integer_ids => FeatureId::Int(i),
                _ => FeatureId::Str(fid.clone()),
            });
            let wkb: Vec<u8> = r.get(1);
            geometries.push(
                Wkb(wkb)
                    .to_geo()
                    .map_err(|e| invalid(format!("feature {fid}: geometry: {e}")))?,
            );
            for (i, f) in fields.iter().enumerate() {
                values[i].push(
                    cell(&r, i + 2, f.ty).map_err(|reason| {
                        invalid(format!("feature {fid}, {}: {reason}", f.name))
                    })?,
                );
            }
        }
        let mut columns = Vec::with_capacity(fields.len());
        for (f, cells) in fields.iter_mut().zip(values) {
            let mut column = Column::empty(f.ty);
            f.nulls_only = cells.iter().all(|c| *c == crate::index::Cell::Null);
            for (slot, c) in cells.into_iter().enumerate() {
                column
                    .put(slot, c)
                    .map_err(|e| invalid(format!("{}: {e}", f.name)))?;
            }
            columns.push(column);
        }
        parts.push(LayerParts {
            id: LayerId::new(&id).map_err(|e| invalid(e.to_string()))?,
            meta: metas.remove(&id).unwrap_or_default(),
            ids,
            geometries,
            fields,
            columns,
        });
    }
    for source in tables {
        if parts.iter().any(|p| p.id.as_str() == source.collection) {
            return Err(LoadError::Invalid {
                collection: source.collection.clone(),
                reason: "the store has a collection of this name already".into(),
            });
        }
        parts.push(super::tables::read_table(&mut tx, source)?);
    }
    let version: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM atlas_changes", &[])?
        .get(0);
    tx.commit()?;
    Ok((crate::ingest::assemble(parts, vocabularies)?, version))
}

/// One value of a row as a cell of its field's type.
pub(super) fn cell(
    row: &postgres::Row,
    i: usize,
    ty: FieldType,
) -> Result<crate::index::Cell, String> {
    use crate::index::Cell;
    let e = |e: postgres::Error| e.to_string();
    Ok(match ty {
        FieldType::Boolean => row
            .try_get::<_, Option<bool>>(i)
            .map_err(e)?
            .map_or(Cell::Null, Cell::Boolean),
        FieldType::Integer => row
            .try_get::<_, Option<i64>>(i)
            .map_err(e)?
            .map_or(Cell::Null, Cell::Integer),
        FieldType::Number => row
            .try_get::<_, Option<f64>>(i)
            .map_err(e)?
            .map_or(Cell::Null, Cell::Number),
        FieldType::String => row
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map_or(Cell::Null, |s| Cell::String(Arc::from(s))),
        FieldType::Date => match row.try_get::<_, Option<String>>(i).map_err(e)? {
            None => Cell::Null,
            Some(s) => Cell::Date(parse_date(&s).ok_or_else(|| format!("{s:?} is not a date"))?),
        },
        FieldType::Timestamp => match row.try_get::<_, Option<i64>>(i).map_err(e)? {
            None => Cell::Null,
            Some(ms) => {
                let t = chrono::DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| format!("{ms} ms is out of range"))?;
                let text = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
                Cell::Timestamp(ms, text.into())
            }
        },
        FieldType::StringArray => row
            .try_get::<_, Option<Vec<String>>>(i)
            .map_err(e)?
            .map_or(Cell::Null, |v| {
                Cell::StringArray(v.into_iter().map(Box::from).collect())
            }),
        FieldType::Json => match row.try_get::<_, Option<String>>(i).map_err(e)? {
            None => Cell::Null,
            Some(s) => Cell::Json(serde_json::from_str(&s).map_err(|e| e.to_string())?),
        },
    })
}

/// The sidecars and vocabularies kept in the store (`atlas_files`), as the files they were.
pub fn files(client: &mut postgres::Client) -> Result<Vec<crate::ingest::SourceFile>, LoadError> {
    Ok(client
        .query("SELECT name, content FROM atlas_files ORDER BY name", &[])?
        .iter()
        .map(|r| crate::ingest::SourceFile {
            name: r.get(0),
            bytes: bytes::Bytes::from(r.get::<_, Vec<u8>>(1)),
            path: None,
        })
        .collect())
}
