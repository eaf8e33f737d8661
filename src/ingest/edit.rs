//! A feature sent by an edit, checked as ingest checks a file's features: the same geometry
//! rules (ranges, closed rings, validity, the right-hand rule), the layer's fixed schema
//! (every property a field of the layer, of the field's type), and the vocabularies. Derived
//! properties are the server's to compute and are refused in a body.

use serde_json::{Map, Value as Json};

use crate::index::{Cell, Layer};
use crate::model::{parse_date, parse_timestamp, Crs, FieldType, Vocabulary};

/// Why a body cannot be stored. Each names what is wrong; nothing has changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    NotAFeature(String),
    #[error("geometry: {0}")]
    Geometry(String),
    #[error("property {name:?}: {reason}")]
    Property { name: String, reason: String },
    #[error("property {0:?} is computed by the server and cannot be set")]
    Derived(String),
    #[error("property {name:?} is not in the collection's schema; its properties are: {known}")]
    Unknown { name: String, known: String },
    #[error("member {0:?} is not part of a feature (type, id, geometry, properties, bbox, links); properties go under \"properties\"")]
    Member(String),
}

impl BodyError {
    /// The property at fault, if one is.
    pub fn property(&self) -> Option<&str> {
        match self {
            BodyError::Property { name, .. } | BodyError::Unknown { name, .. } => Some(name),
            BodyError::Derived(n) | BodyError::Member(n) => Some(n),
            _ => None,
        }
    }
}

/// A feature ready to store: its geometry in CRS84, and a cell per field (derived fields
/// `None`: the store fills them).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFeature {
    pub geometry: geo::Geometry<f64>,
    pub cells: Vec<Option<Cell>>,
}

/// The most positions a geometry sent by an edit may have. Every edit of a zone re-zones the
/// features around it, and every version is kept in the history: a surveyed park outline has
/// hundreds to a few thousand vertices, and this leaves room for ten times that.
pub const MAX_EDIT_VERTICES: usize = 20_000;

/// An edit's geometry, read in `crs` (`Content-Crs`), as CRS84: refused when it has more than
/// [`MAX_EDIT_VERTICES`] positions or a position outside the CRS's domain.
pub fn edit_geometry_to_crs84(geometry: &Json, crs: Crs) -> Result<Json, BodyError> {
    fn walk(v: &Json, crs: Crs, count: &mut usize) -> Result<Json, BodyError> {
        match v {
            Json::Array(items) if items.len() >= 2 && items.iter().all(Json::is_number) => {
                *count += 1;
                if *count > MAX_EDIT_VERTICES {
                    return Err(BodyError::Geometry(format!(
                        "more than {MAX_EDIT_VERTICES} positions (simplify the outline first)"
                    )));
                }
                let a = items[0].as_f64().unwrap_or(f64::NAN);
                let b = items[1].as_f64().unwrap_or(f64::NAN);
                if let Some(reason) = crs.out_of_range(a, b) {
                    return Err(BodyError::Geometry(reason));
                }
                let (x, y) = crs.to_crs84(a, b);
                let mut out = vec![Json::from(x), Json::from(y)];
                out.extend(items[2..].iter().cloned());
                Ok(Json::Array(out))
            }
            Json::Array(items) => Ok(Json::Array(
                items
                    .iter()
                    .map(|i| walk(i, crs, count))
                    .collect::<Result<_, _>>()?,
            )),
            Json::Object(o) => Ok(Json::Object(
                o.iter()
                    .map(|(k, v)| {
                        let v = if k == "coordinates" || k == "geometries" {
                            walk(v, crs, count)?
                        } else {
                            v.clone()
                        };
                        Ok((k.clone(), v))
                    })
                    .collect::<Result<_, BodyError>>()?,
            )),
            other => Ok(other.clone()),
        }
    }
    walk(geometry, crs, &mut 0)
}

/// The most bytes one property of an edited feature may hold (its text, or its JSON): a
/// source note or a description fits many times over; a 4 MB `source` is not a property.
pub const MAX_PROPERTY_BYTES: usize = 64 * 1024;

/// The size of a property's value: a string's bytes, else its JSON text's, counted without
/// writing it out (and stopping early past the limit).
fn property_bytes(v: &Json) -> usize {
    match v {
        Json::String(s) => s.len(),
        Json::Array(items) => items
            .iter()
            .try_fold(2usize, |n, i| {
                let n = n + property_bytes(i) + 1;
                (n <= MAX_PROPERTY_BYTES).then_some(n).ok_or(n)
            })
            .unwrap_or_else(|n| n),
        Json::Object(o) => o
            .iter()
            .try_fold(2usize, |n, (k, v)| {
                let n = n + k.len() + 4 + property_bytes(v);
                (n <= MAX_PROPERTY_BYTES).then_some(n).ok_or(n)
            })
            .unwrap_or_else(|n| n),
        Json::Number(_) | Json::Bool(_) | Json::Null => 8,
    }
}

/// Whether a geometry of type `ty` may join a layer holding `types`.
fn fits(types: &std::collections::BTreeSet<&'static str>, ty: &str) -> bool {
    if types.is_empty() || types.contains(ty) {
        return true;
    }
    let polygonal = |t: &str| t == "Polygon" || t == "MultiPolygon";
    let linear = |t: &str| t == "LineString" || t == "MultiLineString";
    let punctual = |t: &str| t == "Point" || t == "MultiPoint";
    types.iter().any(|t| {
        (polygonal(t) && polygonal(ty))
            || (linear(t) && linear(ty))
            || (punctual(t) && punctual(ty))
    })
}

/// The members an edited feature may have.
const FEATURE_MEMBERS: &[&str] = &["type", "id", "geometry", "properties", "bbox", "links"];

/// Checks `feature` (a GeoJSON Feature, geometry already in CRS84) for `layer`.
pub fn check_feature<'v>(
    layer: &Layer,
    vocabulary: impl Fn(&str) -> Option<&'v Vocabulary>,
    feature: &Map<String, Json>,
) -> Result<CheckedFeature, BodyError> {
    if feature.get("type").and_then(Json::as_str) != Some("Feature") {
        return Err(BodyError::NotAFeature(
            "the body must be a GeoJSON Feature (\"type\": \"Feature\")".into(),
        ));
    }
    // A member the store would drop is refused, not ignored: a merge patch that sends
    // properties at the top level would otherwise be acknowledged and change nothing.
    // `bbox` and `links` are what a client sends back from a GET; the server makes its own.
    if let Some(member) = feature
        .keys()
        .find(|k| !FEATURE_MEMBERS.contains(&k.as_str()))
    {
        return Err(BodyError::Member(member.clone()));
    }
    let geometry = match feature.get("geometry") {
        None | Some(Json::Null) => {
            return Err(BodyError::Geometry(
                "a feature needs a geometry (null geometries cannot be mapped)".into(),
            ))
        }
        Some(g) => g,
    };
    let (geometry, invalid) = super::parse_geometry(geometry).map_err(BodyError::Geometry)?;
    if let Some(reason) = invalid {
        return Err(BodyError::Geometry(format!("invalid geometry: {reason}")));
    }
    let ty = crate::index::geometry_type_name(&geometry);
    if !fits(&layer.geometry_types, ty) {
        return Err(BodyError::Geometry(format!(
            "a {ty} cannot join this collection, which holds {}",
            layer
                .geometry_types
                .iter()
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let empty = Map::new();
    let props = match feature.get("properties") {
        None | Some(Json::Null) => &empty,
        Some(Json::Object(m)) => m,
        Some(_) => {
            return Err(BodyError::NotAFeature(
                "\"properties\" must be an object or null".into(),
            ))
        }
    };
    for name in props.keys() {
        match layer.fields.iter().find(|f| &f.name == name) {
            Some(f) if f.derived => return Err(BodyError::Derived(name.clone())),
            Some(_) => {}
            None => {
                let known: Vec<&str> = layer
                    .fields
                    .iter()
                    .filter(|f| !f.derived)
                    .map(|f| f.name.as_str())
                    .collect();
                return Err(BodyError::Unknown {
                    name: name.clone(),
                    known: known.join(", "),
                });
            }
        }
    }
    let mut cells = Vec::with_capacity(layer.fields.len());
    for field in &layer.fields {
        if field.derived {
            cells.push(None);
            continue;
        }
        let value = props.get(&field.name).unwrap_or(&Json::Null);
        let bad = |reason: String| BodyError::Property {
            name: field.name.clone(),
            reason,
        };
        let size = property_bytes(value);
        if size > MAX_PROPERTY_BYTES {
            return Err(bad(format!(
                "{size} bytes; a property may hold at most {MAX_PROPERTY_BYTES}"
            )));
        }
        let vocab = layer
            .meta
            .vocabularies
            .get(&field.name)
            .and_then(|v| vocabulary(v));
        let term = |s: &str| -> Result<(), BodyError> {
            match &vocab {
                Some(v) if v.term(s).is_none() => {
                    Err(bad(format!("{s:?} is not a term of vocabulary {:?}", v.id)))
                }
                _ => Ok(()),
            }
        };
        let cell = match (field.ty, value) {
            (_, Json::Null) => Cell::Null,
            (FieldType::Boolean, Json::Bool(b)) => Cell::Boolean(*b),
            (FieldType::Integer, Json::Number(n)) => match n.as_i64() {
                Some(i) => Cell::Integer(i),
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Cell::Integer(f as i64),
                    _ => return Err(bad(format!("{n} is not a whole number"))),
                },
            },
            (FieldType::Number, Json::Number(n)) => Cell::Number(
                n.as_f64()
                    .ok_or_else(|| bad(format!("{n} is not a number")))?,
            ),
            (FieldType::String, Json::String(s)) => {
                term(s)?;
                Cell::String(s.as_str().into())
            }
            (FieldType::Date, Json::String(s)) => Cell::Date(
                parse_date(s).ok_or_else(|| bad(format!("{s:?} is not a date (YYYY-MM-DD)")))?,
            ),
            (FieldType::Timestamp, Json::String(s)) => Cell::Timestamp(
                parse_timestamp(s)
                    .ok_or_else(|| bad(format!("{s:?} is not an RFC 3339 timestamp")))?,
                s.as_str().into(),
            ),
            (FieldType::StringArray, Json::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let s = item
                        .as_str()
                        .ok_or_else(|| bad("must be an array of strings".into()))?;
                    term(s)?;
                    out.push(Box::<str>::from(s));
                }
                Cell::StringArray(out.into_boxed_slice())
            }
            (FieldType::Json, v) => Cell::Json(v.clone()),
            (ty, v) => {
                return Err(bad(format!(
                    "must be a {} (or null), not {}",
                    ty.name(),
                    match v {
                        Json::Bool(_) => "a boolean",
                        Json::Number(_) => "a number",
                        Json::String(_) => "a string",
                        Json::Array(_) => "an array",
                        Json::Object(_) => "an object",
                        Json::Null => "null",
                    }
                )))
            }
        };
        cells.push(Some(cell));
    }
    Ok(CheckedFeature { geometry, cells })
}
