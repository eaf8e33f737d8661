//! KML 2.2: a Placemark per feature with its properties as typed ExtendedData (a Schema and
//! SimpleData), which GDAL, QGIS and Google Earth read as attributes. Written directly: the
//! structure is small, and the XML escaping is the only subtle part.

use std::io::Write;

use geo::Geometry;

use super::values::text;
use super::{ExportError, ExportSource, ID_COLUMN};
use crate::model::FieldType;

/// Text as XML (and HTML) character data or an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn coords(ls: &geo::LineString<f64>) -> String {
    ls.0.iter()
        .map(|c| format!("{},{}", c.x, c.y))
        .collect::<Vec<_>>()
        .join(" ")
}

fn polygon(p: &geo::Polygon<f64>) -> String {
    let mut s = format!("<Polygon><outerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></outerBoundaryIs>", coords(p.exterior()));
    for hole in p.interiors() {
        s.push_str(&format!("<innerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></innerBoundaryIs>", coords(hole)));
    }
    s.push_str("</Polygon>");
    s
}

fn geometry(g: &Geometry<f64>) -> String {
    let multi = |parts: Vec<String>| format!("<MultiGeometry>{}</MultiGeometry>", parts.concat());
    match g {
        Geometry::Point(p) => format!(
            "<Point><coordinates>{},{}</coordinates></Point>",
            p.x(),
            p.y()
        ),
        Geometry::Line(l) => format!(
            "<LineString><coordinates>{},{} {},{}</coordinates></LineString>",
            l.start.x, l.start.y, l.end.x, l.end.y
        ),
        Geometry::LineString(ls) => format!(
            "<LineString><coordinates>{}</coordinates></LineString>",
            coords(ls)
        ),
        Geometry::Polygon(p) => polygon(p),
        Geometry::Rect(r) => polygon(&r.to_polygon()),
        Geometry::Triangle(t) => polygon(&t.to_polygon()),
        Geometry::MultiPoint(mp) => {
            multi(mp.iter().map(|p| geometry(&Geometry::Point(*p))).collect())
        }
        Geometry::MultiLineString(ml) => multi(
            ml.iter()
                .map(|l| geometry(&Geometry::LineString(l.clone())))
                .collect(),
        ),
        Geometry::MultiPolygon(mp) => multi(mp.iter().map(polygon).collect()),
        Geometry::GeometryCollection(gc) => multi(gc.iter().map(geometry).collect()),
    }
}

fn kml_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer => "int",
        FieldType::Number => "double",
        FieldType::Boolean => "bool",
        _ => "string",
    }
}

pub fn write(source: ExportSource, out: &mut dyn Write) -> Result<(), ExportError> {
    let schema_id = "atlas";
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>{}</name>"#,
        escape(&source.name)
    )?;
    write!(
        out,
        r#"<Schema name="{}" id="{schema_id}">"#,
        escape(&source.name)
    )?;
    write!(out, r#"<SimpleField name="{ID_COLUMN}" type="string"/>"#)?;
    for f in &source.fields {
        write!(
            out,
            r#"<SimpleField name="{}" type="{}"/>"#,
            escape(&f.name),
            kml_type(f.ty)
        )?;
    }
    writeln!(out, "</Schema>")?;
    let name_field = source
        .fields
        .iter()
        .find(|f| f.name.starts_with("name"))
        .map(|f| f.name.clone());
    for f in source.features {
        let f = f?;
        write!(out, r#"<Placemark id="{}">"#, escape(&f.id.to_string()))?;
        if let Some(n) = name_field
            .as_ref()
            .and_then(|n| f.properties.get(n))
            .and_then(|v| v.as_str())
        {
            write!(out, "<name>{}</name>", escape(n))?;
        }
        write!(
            out,
            r##"<ExtendedData><SchemaData schemaUrl="#{schema_id}">"##
        )?;
        write!(
            out,
            r#"<SimpleData name="{ID_COLUMN}">{}</SimpleData>"#,
            escape(&f.id.to_string())
        )?;
        for field in &source.fields {
            if let Some(v) = f.properties.get(&field.name).filter(|v| !v.is_null()) {
                // KML's bool is written 1 or 0, which every reader parses.
                let value = match v {
                    serde_json::Value::Bool(b) => u8::from(*b).to_string(),
                    other => text(other),
                };
                write!(
                    out,
                    r#"<SimpleData name="{}">{}</SimpleData>"#,
                    escape(&field.name),
                    escape(&value)
                )?;
            }
        }
        write!(out, "</SchemaData></ExtendedData>")?;
        writeln!(out, "{}</Placemark>", geometry(&f.geometry))?;
    }
    writeln!(out, "</Document></kml>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;"
        );
        assert_eq!(escape("火箭大街"), "火箭大街");
    }
}
