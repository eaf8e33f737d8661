//! Layers into PostGIS tables (see the module above for their shape). A collection is
//! replaced as a whole, in one transaction: a reader sees the old table or the new one.

use geozero::{CoordDimensions, ToWkb};
use postgres::types::ToSql;

use super::{ident, migrate, PgError};
use crate::index::{Catalog, Cell, Layer};
use crate::ingest::SourceFile;
use crate::model::{format_date, FeatureId, FieldType};

/// Column names the table itself uses: the feature's id, its place in the layer's order (the
/// order of the source file, in which the API lists features) and its geometry.
pub(super) const RESERVED: [&str; 3] = ["feature_id", "atlas_order", "geom"];

/// What an import wrote: each collection with its number of features.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub collections: Vec<(String, usize)>,
}

/// Migrates the schema if needed, then writes every layer of `catalog` as its table, and the
/// sidecars and vocabularies among `files` (what the layers were loaded from) as they are.
pub fn import(
    client: &mut postgres::Client,
    catalog: &Catalog,
    files: &[SourceFile],
) -> Result<ImportReport, PgError> {
    migrate(client)?;
    let mut tx = client.transaction()?;
    tx.execute("DELETE FROM atlas_files", &[])?;
    for f in files.iter().filter(|f| f.name.ends_with(".json")) {
        tx.execute(
            "INSERT INTO atlas_files (name, content) VALUES ($1, $2)",
            &[&f.name, &f.bytes.as_ref()],
        )?;
    }
    tx.commit()?;
    let mut report = ImportReport::default();
    for layer in catalog.layers() {
        let collection = layer.id.to_string();
        if let Some(f) = layer
            .fields
            .iter()
            .find(|f| RESERVED.contains(&f.name.as_str()))
        {
            return Err(PgError::Reserved {
                collection,
                field: f.name.clone(),
            });
        }
        let n = import_layer(client, layer).map_err(|source| PgError::Import {
            collection: collection.clone(),
            source,
        })?;
        report.collections.push((collection, n));
    }
    Ok(report)
}

/// The SQL type of a field, and the cast its text parameter goes through.
fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Boolean => "boolean",
        FieldType::Integer => "bigint",
        FieldType::Number => "double precision",
        FieldType::String => "text",
        FieldType::Date => "date",
        FieldType::Timestamp => "timestamptz",
        FieldType::StringArray => "text[]",
        FieldType::Json => "jsonb",
    }
}

/// A cell as a bind parameter: scalars as text (cast to the column's type by the statement, so
/// nothing is lost: Rust writes floats so that they read back exactly), arrays as text arrays.
fn param(cell: Cell) -> Box<dyn ToSql + Sync> {
    match cell {
        Cell::Null => Box::new(None::<String>),
        Cell::Boolean(b) => Box::new(Some(b.to_string())),
        Cell::Integer(i) => Box::new(Some(i.to_string())),
        Cell::Number(n) => Box::new(Some(n.to_string())),
        Cell::String(s) => Box::new(Some(s.to_string())),
        Cell::Date(d) => Box::new(Some(format_date(d))),
        Cell::Timestamp(_, text) => Box::new(Some(text.to_string())),
        Cell::StringArray(items) => Box::new(Some(
            items.iter().map(|s| s.to_string()).collect::<Vec<String>>(),
        )),
        Cell::Json(j) => Box::new(Some(j.to_string())),
    }
}

fn import_layer(client: &mut postgres::Client, layer: &Layer) -> Result<usize, postgres::Error> {
    let id = layer.id.to_string();
    let table = ident(&id);
    let mut tx = client.transaction()?;
    tx.execute("DELETE FROM atlas_collections WHERE id = $1", &[&id])?;
    let columns: Vec<String> = layer
        .fields
        .iter()
        .map(|f| format!("{} {}", ident(&f.name), sql_type(f.ty)))
        .collect();
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table};
         CREATE TABLE {table} (feature_id text PRIMARY KEY, atlas_order bigint NOT NULL, {}{}geom geometry(Geometry, 4326) NOT NULL)",
        columns.join(", "),
        if columns.is_empty() { "" } else { ", " },
    ))?;
    let names: Vec<String> = layer.fields.iter().map(|f| ident(&f.name)).collect();
    let values: Vec<String> = layer
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| match f.ty {
            FieldType::StringArray => format!("${}::text[]", i + 4),
            ty => format!("${}::text::{}", i + 4, sql_type(ty)),
        })
        .collect();
    let comma = if names.is_empty() { "" } else { ", " };
    let insert = tx.prepare(&format!(
        "INSERT INTO {table} (feature_id, atlas_order, geom{comma}{}) VALUES ($1, $2, ST_GeomFromWKB($3, 4326){comma}{})",
        names.join(", "),
        values.join(", "),
    ))?;
    let mut n = 0;
    for slot in layer.live_slots() {
        let wkb = layer.geometries[slot]
            .to_wkb(CoordDimensions::xy())
            .unwrap_or_default();
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(layer.fields.len() + 2);
        params.push(Box::new(layer.ids[slot].to_string()));
        params.push(Box::new(slot as i64));
        params.push(Box::new(wkb));
        params.extend(layer.columns.iter().map(|c| param(c.cell_at(slot))));
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        tx.execute(&insert, &refs)?;
        n += 1;
    }
    let fields = serde_json::Value::Array(
        layer
            .fields
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "type": f.ty.name(), "derived": f.derived}))
            .collect(),
    )
    .to_string();
    tx.batch_execute(&format!(
        "CREATE INDEX ON {table} USING gist (geom); CREATE INDEX ON {table} (atlas_order); \
         ANALYZE {table}"
    ))?;
    let integer_ids = layer.ids.iter().all(|i| matches!(i, FeatureId::Int(_)));
    tx.execute(
        "INSERT INTO atlas_collections (id, table_name, fields, features, integer_ids) \
         VALUES ($1, $2, $3::text::jsonb, $4, $5)",
        &[&id, &id, &fields, &(n as i64), &integer_ids],
    )?;
    tx.commit()?;
    Ok(n)
}
