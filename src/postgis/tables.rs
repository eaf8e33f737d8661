//! PostGIS tables this program did not create (a municipality's own), served read-only by
//! configuration: which table, which column is the id, which is the geometry, and which
//! columns become properties. They are read with the collections of the store, in the same
//! transaction, and served from memory like them.
//!
//! Column types are read from the catalog and mapped to the API's types (booleans, integers,
//! numbers, dates, instants, text arrays and JSON as themselves; anything else as its text).
//! Geometries are transformed to EPSG:4326 by PostGIS, whatever their SRID.

use super::ident;
use super::load::{cell, LoadError};
use crate::index::{Cell, Column, LayerParts};
use crate::model::{FeatureId, Field, FieldType, LayerId, LayerMeta, Localized};

/// One configured table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSource {
    /// The collection it is served as.
    pub collection: String,
    /// `schema.table`, or `table` in `public`.
    pub table: String,
    pub id_column: String,
    pub geometry_column: String,
    /// The columns served as properties (and queryable); `None`: every other column.
    pub columns: Option<Vec<String>>,
    pub title: Option<Localized>,
}

impl TableSource {
    fn schema_and_name(&self) -> (&str, &str) {
        self.table
            .split_once('.')
            .unwrap_or(("public", &self.table))
    }
}

/// The API type of a column of PostgreSQL type `udt` (its `udt_name`), and the expression
/// that reads it as [`cell`] expects.
fn mapped(column: &str, udt: &str) -> (FieldType, String) {
    let c = ident(column);
    match udt {
        "bool" => (FieldType::Boolean, c),
        "int2" | "int4" | "int8" => (FieldType::Integer, format!("{c}::bigint")),
        "float4" | "float8" | "numeric" => (FieldType::Number, format!("{c}::double precision")),
        "date" => (FieldType::Date, format!("{c}::text")),
        "timestamp" | "timestamptz" => (
            FieldType::Timestamp,
            format!("(extract(epoch FROM {c}) * 1000)::bigint"),
        ),
        "_text" | "_varchar" | "_bpchar" => (FieldType::StringArray, format!("{c}::text[]")),
        "json" | "jsonb" => (FieldType::Json, format!("{c}::text")),
        _ => (FieldType::String, format!("{c}::text")),
    }
}

/// Reads the configured `source` (inside the caller's transaction) as a layer's parts.
pub(super) fn read_table(
    tx: &mut postgres::Transaction<'_>,
    source: &TableSource,
) -> Result<LayerParts, LoadError> {
    let invalid = |reason: String| LoadError::Invalid {
        collection: source.collection.clone(),
        reason,
    };
    let (schema, name) = source.schema_and_name();
    let described: Vec<(String, String)> = tx
        .query(
            "SELECT column_name::text, udt_name::text FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&schema, &name],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if described.is_empty() {
        return Err(invalid(format!(
            "table {schema}.{name} does not exist or has no columns"
        )));
    }
    let udt_of = |column: &str| {
        described
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, t)| t.as_str())
    };
    let id_type = udt_of(&source.id_column)
        .ok_or_else(|| invalid(format!("no id column {:?}", source.id_column)))?;
    if udt_of(&source.geometry_column) != Some("geometry") {
        return Err(invalid(format!(
            "{:?} is not a geometry column",
            source.geometry_column
        )));
    }
    let wanted: Vec<String> = match &source.columns {
        Some(list) => {
            for c in list {
                if udt_of(c).is_none() {
                    return Err(invalid(format!("no column {c:?} in {schema}.{name}")));
                }
            }
            list.clone()
        }
        None => described
            .iter()
            .map(|(c, _)| c.clone())
            .filter(|c| c != &source.id_column && c != &source.geometry_column)
            .collect(),
    };
    let mut fields = Vec::with_capacity(wanted.len());
    let mut select = Vec::with_capacity(wanted.len());
    for c in &wanted {
        let (ty, expr) = mapped(c, udt_of(c).unwrap_or("text"));
        fields.push(Field {
            name: c.clone(),
            ty,
            derived: false,
            nulls_only: false,
        });
        select.push(expr);
    }
    let integer_ids = matches!(id_type, "int2" | "int4" | "int8");
    let sql = format!(
        "SELECT {id}::text, ST_AsBinary(ST_Transform({geom}, 4326)){comma}{cols} FROM {schema}.{table} ORDER BY {id}",
        id = ident(&source.id_column),
        geom = ident(&source.geometry_column),
        comma = if select.is_empty() { "" } else { ", " },
        cols = select.join(", "),
        schema = ident(schema),
        table = ident(name),
    );
    let rows = tx
        .query(&sql, &[])
        .map_err(|e| invalid(format!("reading {schema}.{name}: {e}")))?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut geometries = Vec::with_capacity(rows.len());
    let mut values: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows.len()); fields.len()];
    for r in &rows {
        let fid: Option<String> = r.get(0);
        let fid = fid.ok_or_else(|| invalid("a row has no id (NULL)".into()))?;
        ids.push(match fid.parse::<i64>() {
            Ok(i) if integer_ids => FeatureId::Int(i),
            _ => FeatureId::Str(fid.clone()),
        });
        let wkb: Option<Vec<u8>> = r.get(1);
        let wkb = wkb.ok_or_else(|| invalid(format!("feature {fid}: no geometry (NULL)")))?;
        geometries.push(
            geozero::ToGeo::to_geo(&geozero::wkb::Wkb(wkb))
                .map_err(|e| invalid(format!("feature {fid}: geometry: {e}")))?,
        );
        for (i, f) in fields.iter().enumerate() {
            values[i].push(
                cell(r, i + 2, f.ty)
                    .map_err(|reason| invalid(format!("feature {fid}, {}: {reason}", f.name)))?,
            );
        }
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (f, cells) in fields.iter_mut().zip(values) {
        let mut column = Column::empty(f.ty);
        f.nulls_only = cells.iter().all(|c| *c == Cell::Null);
        for (slot, c) in cells.into_iter().enumerate() {
            column
                .put(slot, c)
                .map_err(|e| invalid(format!("{}: {e}", f.name)))?;
        }
        columns.push(column);
    }
    Ok(LayerParts {
        id: LayerId::new(&source.collection).map_err(|e| invalid(e.to_string()))?,
        meta: LayerMeta {
            title: source.title.clone(),
            ..LayerMeta::default()
        },
        ids,
        geometries,
        fields,
        columns,
    })
}
