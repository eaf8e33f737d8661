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
pub(super) enum ImportFailure {
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

/// The COPY line of the feature in `slot`, at `order` in the layer.
fn row(line: &mut String, layer: &Layer, slot: usize, order: i64) {
    line.clear();
    quoted(line, &layer.ids[slot].to_string());
    line.push(',');
    line.push_str(&order.to_string());
    line.push(',');
    let ewkb = layer.geometries[slot]
        .to_ewkb(CoordDimensions::xy(), Some(4326))
        .unwrap_or_default();
    for b in ewkb {
        line.push_str(&format!("{b:02X}"));
    }
    for c in &layer.columns {
        line.push(',');
        text(line, c.cell_at(slot));
    }
    line.push('\n');
}

/// The columns of a COPY into `layer`'s table, in the order [`row`] writes them.
fn copy_statement(layer: &Layer) -> String {
    let names: Vec<String> = layer.fields.iter().map(|f| ident(&f.name)).collect();
    let comma = if names.is_empty() { "" } else { ", " };
    format!(
        "COPY {} (feature_id, atlas_order, geom{comma}{}) FROM STDIN WITH (FORMAT csv)",
        ident(layer.id.as_str()),
        names.join(", "),
    )
}

/// Writes the features `ids` of `layer` as they now are into its table, inside the caller's
/// transaction: each row is replaced (keeping its place in the order), a new one goes last,
/// and one the layer no longer has is deleted.
pub(super) fn write_rows(
    client: &mut postgres::Client,
    layer: &Layer,
    ids: &[String],
) -> Result<(), ImportFailure> {
    let table = ident(layer.id.as_str());
    let mut orders = std::collections::HashMap::new();
    for r in client.query(
        &format!("SELECT feature_id, atlas_order FROM {table} WHERE feature_id = ANY($1)"),
        &[&ids],
    )? {
        orders.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
    }
    let mut last: i64 = client
        .query_one(
            &format!("SELECT coalesce(max(atlas_order), -1) FROM {table}"),
            &[],
        )?
        .get(0);
    client.execute(
        &format!("DELETE FROM {table} WHERE feature_id = ANY($1)"),
        &[&ids],
    )?;
    let copy = client.copy_in(&copy_statement(layer))?;
    let mut out = std::io::BufWriter::new(copy);
    let mut line = String::new();
    for id in ids {
        let Some(slot) = layer.slot_of(id) else {
            continue;
        };
        let order = orders.get(id).copied().unwrap_or_else(|| {
            last += 1;
            last
        });
        row(&mut line, layer, slot, order);
        out.write_all(line.as_bytes())?;
    }
    out.into_inner().map_err(|e| e.into_error())?.finish()?;
    Ok(())
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
    // COPY, not an INSERT per feature: a million carriers in a minute rather than an hour.
    let copy = tx.copy_in(&copy_statement(layer))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, copy);
    let mut n = 0;
    let mut line = String::new();
    for slot in layer.live_slots() {
        row(&mut line, layer, slot, slot as i64);
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
