//! FlatGeobuf through the `flatgeobuf` crate (with its packed Hilbert R-tree index).

use std::io::Write;

use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::{ColumnValue, PropertyProcessor};

use super::values::text;
use super::ID_COLUMN;
use super::{ExportError, ExportOptions, ExportSource, Format};
use crate::model::FieldType;

fn err(e: impl ToString) -> ExportError {
    ExportError::format(Format::FlatGeobuf, e)
}

fn column_type(ty: FieldType) -> ColumnType {
    match ty {
        FieldType::Boolean => ColumnType::Bool,
        FieldType::Integer => ColumnType::Long,
        FieldType::Number => ColumnType::Double,
        FieldType::StringArray | FieldType::Json => ColumnType::Json,
        FieldType::String | FieldType::Date | FieldType::Timestamp => ColumnType::String,
    }
}

pub fn write(
    source: ExportSource,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let fgb_options = FgbWriterOptions {
        crs: FgbCrs {
            code: options.crs.epsg() as i32,
            ..Default::default()
        },
        promote_to_multi: false,
        ..Default::default()
    };
    let mut fgb = FgbWriter::create_with_options(&source.name, GeometryType::Unknown, fgb_options)
        .map_err(err)?;
    // The feature id first, so that every format carries it.
    fgb.add_column(ID_COLUMN, ColumnType::String, |_, col| col.nullable = false);
    for f in &source.fields {
        fgb.add_column(&f.name, column_type(f.ty), |_, col| col.nullable = true);
    }
    for f in source.features {
        let f = f?;
        let g = options.crs.project(&f.geometry);
        let mut failed = None;
        let id = f.id.to_string();
        fgb.add_feature_geom(g, |feat| {
            if let Err(e) = feat.property(0, ID_COLUMN, &ColumnValue::String(&id)) {
                failed = Some(e.to_string());
            }
            for (i, field) in source.fields.iter().enumerate() {
                let i = i + 1;
                let Some(v) = f.properties.get(&field.name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let s;
                let value = match (v, field.ty) {
                    (serde_json::Value::Bool(b), _) => ColumnValue::Bool(*b),
                    (serde_json::Value::Number(n), FieldType::Integer) => {
                        ColumnValue::Long(n.as_i64().unwrap_or_default())
                    }
                    (serde_json::Value::Number(n), _) => {
                        ColumnValue::Double(n.as_f64().unwrap_or_default())
                    }
                    (other, FieldType::StringArray | FieldType::Json) => {
                        s = other.to_string();
                        ColumnValue::Json(&s)
                    }
                    (other, _) => {
                        s = text(other);
                        ColumnValue::String(&s)
                    }
                };
                if let Err(e) = feat.property(i, &field.name, &value) {
                    failed = Some(e.to_string());
                }
            }
        })
        .map_err(err)?;
        if let Some(e) = failed {
            return Err(err(e));
        }
    }
    fgb.write(out).map_err(err)?;
    Ok(())
}
