//! Layers into PostGIS tables (see the module above for their shape). A collection is
//! replaced as a whole, in one transaction: a reader sees the old table or the new one.

use std::io::Write;

use geozero::{CoordDimensions, ToWkb};

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
        let n = import_layer(client, layer).map_err(|e| PgError::Import {
            collection: collection.clone(),
            reason: match e {
                ImportFailure::Db(e) => e.to_string(),
                ImportFailure::Stream(e) => e.to_string(),
            },
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

/// What stopped a layer's import: the database, or the stream of rows to it (where the
/// database's refusal of a row also surfaces).
#[derive(Debug, thiserror::Error)]
enum ImportFailure {
    #[error(transparent)]
    Db(#[from] postgres::Error),
    #[error(transparent)]
    Stream(#[from] std::io::Error),
}

/// A field of a CSV row for COPY: always quoted, so that only an absent value (written as
/// nothing) is NULL and an empty string stays a string.
fn quoted(line: &mut String, value: &str) {
    line.push('"');
    line.push_str(&value.replace('"', "\"\""));
    line.push('"');
}

/// A cell as COPY reads it into its column: the text form of each type (Rust writes floats so
/// that they read back exactly; arrays as array literals with every item quoted).
fn text(line: &mut String, cell: Cell) {
    match cell {
        Cell::Null => {}
        Cell::Boolean(b) => quoted(line, if b { "true" } else { "false" }),
        Cell::Integer(i) => quoted(line, &i.to_string()),
        Cell::Number(v) => quoted(line, &v.to_string()),
        Cell::String(s) => quoted(line, &s),
        Cell::Date(d) => quoted(line, &format_date(d)),
        Cell::Timestamp(_, t) => quoted(line, &t),
        Cell::StringArray(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            quoted(line, &format!("{{{}}}", items.join(",")));
        }
        Cell::Json(j) => quoted(line, &j.to_string()),
    }
}

fn import_layer(client: &mut postgres::Client, layer: &Layer) -> Result<usize, ImportFailure> {
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
    let comma = if names.is_empty() { "" } else { ", " };
    // COPY, not an INSERT per feature: a million carriers in a minute rather than an hour.
    let copy = tx.copy_in(&format!(
        "COPY {table} (feature_id, atlas_order, geom{comma}{}) FROM STDIN WITH (FORMAT csv)",
        names.join(", "),
    ))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, copy);
    let mut n = 0;
    let mut line = String::new();
    for slot in layer.live_slots() {
        line.clear();
        quoted(&mut line, &layer.ids[slot].to_string());
        line.push(',');
        line.push_str(&slot.to_string());
        line.push(',');
        let ewkb = layer.geometries[slot]
            .to_ewkb(CoordDimensions::xy(), Some(4326))
            .unwrap_or_default();
        for b in ewkb {
            line.push_str(&format!("{b:02X}"));
        }
        for c in &layer.columns {
            line.push(',');
            text(&mut line, c.cell_at(slot));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        n += 1;
    }
    out.into_inner().map_err(|e| e.into_error())?.finish()?;
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
