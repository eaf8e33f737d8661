//! KML (`.kml`): every Placemark in the document, its folders included, in document order.
//! Properties come from `ExtendedData` (`SchemaData`/`SimpleData` as GDAL and Google Earth
//! write them, or `Data`/`value`) plus `name` and `description`; they are typed by the
//! document's `Schema` where it declares a type, otherwise from their values as a CSV's are.
//! A `MultiGeometry` of one kind becomes the matching multi-geometry. Positions are
//! longitude/latitude, as KML requires. Read with `quick-xml` events rather than the `kml`
//! crate, whose 0.15 reader never returns on some malformed documents (found by fuzzing).

use serde_json::Map;

use super::table::{refined, typed, Cell, Kind};
use super::{at, bilingual, build_layer, geo_json, take_id, unreadable, Context};
use crate::index::LayerParts;
use crate::ingest::{IngestError, SourceFile};

/// The field types a document's `Schema` declares, by name.
type Schema = Vec<(String, Kind)>;

struct Placemark {
    values: Vec<(String, String)>,
    geometry: Option<geo::Geometry<f64>>,
}

pub(crate) fn read(
    file: &SourceFile,
    stem: &str,
    cx: &mut Context,
) -> Result<LayerParts, IngestError> {
    let label = file.name.as_str();
    let text = std::str::from_utf8(&file.bytes).map_err(|e| {
        IngestError::file(
            label,
            bilingual(
                &format!("not UTF-8 text: {e}"),
                &format!("不是 UTF-8 文本：{e}"),
            ),
        )
    })?;
    let (schema, placemarks) = parse(text).map_err(|e| unreadable(label, ("KML", "KML"), &e))?;
    // Columns in the order they first appear; typed by the schema, else by their values.
    let mut columns: Vec<String> = Vec::new();
    for p in &placemarks {
        for (k, _) in &p.values {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let cell_of = |p: &Placemark, c: &str| -> Cell {
        match p.values.iter().find(|(k, _)| k == c) {
            Some((_, v)) if !v.is_empty() => Cell::Text(v.clone()),
            _ => Cell::Empty,
        }
    };
    let kinds: Vec<Kind> = columns
        .iter()
        .map(|c| {
            let cells: Vec<Cell> = placemarks.iter().map(|p| cell_of(p, c)).collect();
            refined(
                schema.iter().find(|(n, _)| n == c).map(|(_, k)| *k),
                cells.iter(),
            )
        })
        .collect();
    let meta = cx.meta(stem);
    build_layer(label, stem, meta, cx.options, None, |builder| {
        for (index, p) in placemarks.iter().enumerate() {
            let mut properties = Map::new();
            for (c, column) in columns.iter().enumerate() {
                let v = typed(&cell_of(p, column), kinds[c]).map_err(|(en, zh)| {
                    IngestError::feature(
                        label,
                        at(index, &None),
                        bilingual(
                            &format!("Placemark {}, {column:?}: {en}", index + 1),
                            &format!("第 {} 个 Placemark“{column}”：{zh}", index + 1),
                        ),
                    )
                })?;
                properties.insert(column.clone(), v);
            }
            let id = take_id(&mut properties);
            let geometry = p.geometry.as_ref().map(geo_json);
            builder.push(at(index, &id), id, geometry, properties)?;
        }
        Ok(())
    })
}

/// A geometry being read: its kind and the parts read so far.
enum Open {
    Point(Vec<geo::Coord<f64>>),
    Line(Vec<geo::Coord<f64>>),
    Ring(Vec<geo::Coord<f64>>),
    Polygon(Vec<geo::LineString<f64>>),
    Multi(Vec<geo::Geometry<f64>>),
}

/// KML's `coordinates`: `lon,lat[,alt]` tuples separated by white space.
fn coordinates(text: &str) -> Result<Vec<geo::Coord<f64>>, String> {
    text.split_whitespace()
        .map(|t| {
            let mut parts = t.split(',').map(str::parse::<f64>);
            match (parts.next(), parts.next()) {
                (Some(Ok(x)), Some(Ok(y))) => Ok(geo::Coord { x, y }),
                _ => Err(format!("{t:?} is not a position")),
            }
        })
        .collect()
}

/// The document's schema (field types) and its Placemarks, in document order, read with
/// `quick-xml` events: malformed XML is an error at the first problem, and the end of the
/// text ends the reading.
fn parse(text: &str) -> Result<(Schema, Vec<Placemark>), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut schema = Vec::new();
    let mut placemarks = Vec::new();
    let mut current: Option<Placemark> = None;
    let mut open: Vec<Open> = Vec::new();
    // The element whose text is being collected, with its `name` attribute, and the text.
    let mut capture: Option<(String, Option<String>, String)> = None;
    let mut data_name: Option<String> = None;
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name().as_ref().to_owned();
                let attr = |wanted: &str| -> Result<Option<String>, String> {
                    for a in e.attributes() {
                        let a = a.map_err(|e| e.to_string())?;
                        if a.key.local_name().as_ref() == wanted {
                            return Ok(Some(
                                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                    .map_err(|e| e.to_string())?
                                    .into_owned(),
                            ));
                        }
                    }
                    Ok(None)
                };
                if !empty {
                    depth += 1;
                    if depth > 64 {
                        return Err("elements nested more than 64 deep".into());
                    }
                }
                match name.as_str() {
                    "SimpleField" => {
                        if let (Some(n), Some(t)) = (attr("name")?, attr("type")?) {
                            let kind = match t.as_str() {
                                "int" | "uint" | "short" | "ushort" => Kind::Int,
                                "float" | "double" => Kind::Num,
                                "bool" => Kind::Bool,
                                _ => Kind::Text,
                            };
                            schema.push((n, kind));
                        }
                    }
                    "Placemark" if !empty => {
                        current = Some(Placemark {
                            values: Vec::new(),
                            geometry: None,
                        });
                        open.clear();
                    }
                    "Data" => data_name = attr("name")?,
                    "Point" if !empty => open.push(Open::Point(Vec::new())),
                    "LineString" if !empty => open.push(Open::Line(Vec::new())),
                    "LinearRing" if !empty => open.push(Open::Ring(Vec::new())),
                    "Polygon" if !empty => open.push(Open::Polygon(Vec::new())),
                    "MultiGeometry" if !empty => open.push(Open::Multi(Vec::new())),
                    "name" | "description" | "SimpleData" | "value" | "coordinates"
                        if current.is_some() && !empty =>
                    {
                        let key = if name == "SimpleData" {
                            attr("name")?
                        } else {
                            None
                        };
                        capture = Some((name, key, String::new()));
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some((_, _, buf)) = capture.as_mut() {
                    buf.push_str(&t);
                }
            }
            Event::CData(c) => {
                if let Some((_, _, buf)) = capture.as_mut() {
                    buf.push_str(&c);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, _, buf)) = capture.as_mut() {
                    if r.is_char_ref() {
                        if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                            buf.push(c);
                        }
                    } else {
                        let name = r.to_string();
                        let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?;
                        buf.push_str(resolved);
                    }
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name().as_ref().to_owned();
                if capture.as_ref().is_some_and(|(n, _, _)| *n == name) {
                    let (n, key, text) = capture.take().unwrap_or_default();
                    let Some(p) = current.as_mut() else { continue };
                    match n.as_str() {
                        "coordinates" => {
                            let positions = coordinates(&text)?;
                            match open.last_mut() {
                                Some(Open::Point(v) | Open::Line(v) | Open::Ring(v)) => {
                                    *v = positions
                                }
                                _ => {
                                    return Err(
                                        "coordinates outside a Point, LineString or LinearRing"
                                            .into(),
                                    )
                                }
                            }
                        }
                        "SimpleData" => {
                            if let Some(k) = key {
                                p.values.push((k, text));
                            }
                        }
                        "value" => {
                            if let Some(k) = data_name.take() {
                                p.values.push((k, text));
                            }
                        }
                        // A Placemark's own name and description (not a Data's or a folder's).
                        "name" | "description" if open.is_empty() => p.values.push((n, text)),
                        _ => {}
                    }
                    continue;
                }
                let closed = match name.as_str() {
                    "Point" => match open.pop() {
                        Some(Open::Point(v)) => {
                            v.first().map(|c| geo::Geometry::Point((*c).into()))
                        }
                        _ => None,
                    },
                    "LineString" => match open.pop() {
                        Some(Open::Line(v)) => Some(geo::Geometry::LineString(geo::LineString(v))),
                        _ => None,
                    },
                    "LinearRing" => match open.pop() {
                        Some(Open::Ring(v)) => {
                            let ring = geo::LineString(v);
                            match open.last_mut() {
                                Some(Open::Polygon(rings)) => {
                                    rings.push(ring);
                                    None
                                }
                                _ => Some(geo::Geometry::LineString(ring)),
                            }
                        }
                        _ => None,
                    },
                    "Polygon" => match open.pop() {
                        Some(Open::Polygon(mut rings)) if !rings.is_empty() => {
                            let outer = rings.remove(0);
                            Some(geo::Geometry::Polygon(geo::Polygon::new(outer, rings)))
                        }
                        _ => None,
                    },
                    "MultiGeometry" => match open.pop() {
                        Some(Open::Multi(parts)) => Some(homogeneous(
                            geo::Geometry::GeometryCollection(geo::GeometryCollection(parts)),
                        )),
                        _ => None,
                    },
                    "Placemark" => {
                        if let Some(p) = current.take() {
                            placemarks.push(p);
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(g) = closed {
                    match open.last_mut() {
                        Some(Open::Multi(parts)) => parts.push(g),
                        _ => {
                            if let Some(p) = current.as_mut() {
                                p.geometry = Some(g);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if current.is_some() || depth > 0 {
        return Err("the document ends inside an element".into());
    }
    Ok((schema, placemarks))
}

/// A collection of polygons, lines or points only, as the multi-geometry of that kind.
fn homogeneous(g: geo::Geometry<f64>) -> geo::Geometry<f64> {
    use geo::Geometry as G;
    let geo::Geometry::GeometryCollection(c) = g else {
        return g;
    };
    if c.0.iter().all(|g| matches!(g, G::Polygon(_))) {
        G::MultiPolygon(geo::MultiPolygon(
            c.0.into_iter().filter_map(|g| g.try_into().ok()).collect(),
        ))
    } else if c.0.iter().all(|g| matches!(g, G::LineString(_))) {
        G::MultiLineString(geo::MultiLineString(
            c.0.into_iter().filter_map(|g| g.try_into().ok()).collect(),
        ))
    } else if c.0.iter().all(|g| matches!(g, G::Point(_))) {
        G::MultiPoint(geo::MultiPoint(
            c.0.into_iter().filter_map(|g| g.try_into().ok()).collect(),
        ))
    } else {
        G::GeometryCollection(c)
    }
}
