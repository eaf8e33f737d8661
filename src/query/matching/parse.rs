//! Reading a requirement document (README § Matching) into a checked [`Requirement`]: every
//! member known, every property in the layer with a type that fits, every refusal naming the
//! member at fault.

use geo::Point;
use serde_json::{Map, Value as Json};

use super::{
    bad, Criterion, Kind, Preference, Requirement, RequirementError, Resolve, Test, DEFAULT_LIMIT,
    DEFAULT_MARGIN, DEFAULT_NEAR_MISS_LIMIT, DEFAULT_WITHIN_M, MAX_LIMIT, MAX_TERMS, MAX_VALUES,
};
use crate::index::Layer;
use crate::model::{parse_date, FieldType};

const TOP_MEMBERS: &[&str] = &[
    "criteria",
    "area",
    "preferences",
    "margin",
    "limit",
    "nearMissLimit",
];

fn number(v: &Json, member: &str) -> Result<f64, RequirementError> {
    v.as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| bad(member, "must be a number"))
}

fn positive(v: &Json, member: &str) -> Result<f64, RequirementError> {
    let n = number(v, member)?;
    if n > 0.0 {
        Ok(n)
    } else {
        Err(bad(member, "must be greater than 0"))
    }
}

fn count(v: Option<&Json>, member: &str, default: usize) -> Result<usize, RequirementError> {
    match v {
        None => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
            _ => Err(bad(
                member,
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

fn object<'a>(v: &'a Json, member: &str) -> Result<&'a Map<String, Json>, RequirementError> {
    v.as_object()
        .ok_or_else(|| bad(member, "must be a JSON object"))
}

/// Refuses members other than `known`: a misspelt one would otherwise be silently ignored.
fn only(map: &Map<String, Json>, known: &[&str], at: &str) -> Result<(), RequirementError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(
            join(at, k),
            format!("unknown member; expected one of: {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn join(at: &str, k: &str) -> String {
    if at.is_empty() {
        k.to_owned()
    } else {
        format!("{at}.{k}")
    }
}

fn column_of(layer: &Layer, property: &str, member: &str) -> Result<usize, RequirementError> {
    layer.field_index(property).ok_or_else(|| {
        let known: Vec<&str> = layer.fields.iter().map(|f| f.name.as_str()).collect();
        bad(
            member,
            format!(
                "the collection has no property {property:?}; it has: {}",
                known.join(", ")
            ),
        )
    })
}

fn strings(v: &Json, member: &str) -> Result<Vec<String>, RequirementError> {
    let items = v
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= MAX_VALUES)
        .ok_or_else(|| {
            bad(
                member,
                format!("must be a list of 1 to {MAX_VALUES} values"),
            )
        })?;
    items
        .iter()
        .map(|x| match x {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            _ => Err(bad(member, "must hold strings")),
        })
        .collect()
}

/// A bound of a range criterion: a number, or a date (YYYY-MM-DD) for a date property.
fn bound(v: &Json, date: bool, member: &str) -> Result<f64, RequirementError> {
    if date {
        v.as_str()
            .and_then(parse_date)
            .map(f64::from)
            .ok_or_else(|| bad(member, "must be a date, YYYY-MM-DD"))
    } else {
        number(v, member)
    }
}

fn criterion(layer: &Layer, property: &str, spec: &Json) -> Result<Criterion, RequirementError> {
    let at = format!("criteria.{property}");
    let column = column_of(layer, property, &at)?;
    let spec = object(spec, &at)?;
    let ty = layer.fields[column].ty;
    let test = match ty {
        FieldType::Integer | FieldType::Number | FieldType::Date => {
            only(spec, &["min", "max", "margin"], &at)?;
            let date = ty == FieldType::Date;
            let min = spec
                .get("min")
                .map(|v| bound(v, date, &join(&at, "min")))
                .transpose()?;
            let max = spec
                .get("max")
                .map(|v| bound(v, date, &join(&at, "max")))
                .transpose()?;
            match (min, max) {
                (None, None) => return Err(bad(at, "give min, max or both")),
                (Some(a), Some(b)) if a > b => {
                    return Err(bad(
                        join(&at, "min"),
                        "min is above max: no feature can meet this",
                    ))
                }
                _ => {}
            }
            Test::Range { min, max, date }
        }
        FieldType::String | FieldType::StringArray => {
            only(spec, &["in"], &at)?;
            let values = spec
                .get("in")
                .ok_or_else(|| bad(&at, "give the allowed values as \"in\": [...]"))?;
            Test::OneOf(strings(values, &join(&at, "in"))?)
        }
        FieldType::Boolean => {
            only(spec, &["equals"], &at)?;
            match spec.get("equals") {
                Some(Json::Bool(b)) => Test::Equals(*b),
                _ => return Err(bad(join(&at, "equals"), "must be true or false")),
            }
        }
        FieldType::Timestamp | FieldType::Json => {
            return Err(bad(
                at,
                format!("a {} property cannot be a criterion", ty.name()),
            ))
        }
    };
    let margin = match spec.get("margin") {
        None => None,
        Some(v) => {
            let m = number(v, &join(&at, "margin"))?;
            if m < 0.0 {
                return Err(bad(join(&at, "margin"), "must be 0 or more"));
            }
            Some(m)
        }
    };
    Ok(Criterion {
        property: property.to_owned(),
        column,
        test,
        margin,
    })
}

fn preference(
    layer: &Layer,
    at: &str,
    spec: &Json,
    resolve: &dyn Resolve,
) -> Result<Preference, RequirementError> {
    let spec = object(spec, at)?;
    let weight = match spec.get("weight") {
        None => 1.0,
        Some(w) => positive(w, &join(at, "weight"))?,
    };
    let within = |spec: &Map<String, Json>| -> Result<f64, RequirementError> {
        spec.get("within_m")
            .map_or(Ok(DEFAULT_WITHIN_M), |v| positive(v, &join(at, "within_m")))
    };
    let kinds = ["near", "near_feature", "close_to", "sooner", "in"];
    let named: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| spec.contains_key(*k))
        .collect();
    let [kind] = named[..] else {
        return Err(bad(
            at,
            format!("give exactly one of: {}", kinds.join(", ")),
        ));
    };
    let m = join(at, kind);
    let v = &spec[kind];
    let kind = match kind {
        "near" => {
            only(spec, &["near", "within_m", "weight"], at)?;
            let xy = v
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| bad(&m, "must be [longitude, latitude]"))?;
            let (x, y) = (number(&xy[0], &m)?, number(&xy[1], &m)?);
            if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                return Err(bad(m, "longitude -180..180, latitude -90..90"));
            }
            Kind::Near {
                point: Point::new(x, y),
                within_m: within(spec)?,
            }
        }
        "near_feature" => {
            only(spec, &["near_feature", "within_m", "weight"], at)?;
            let f = object(v, &m)?;
            only(f, &["collection", "id"], &m)?;
            let (Some(c), Some(id)) = (
                f.get("collection").and_then(Json::as_str),
                f.get("id").and_then(|x| match x {
                    Json::String(s) => Some(s.clone()),
                    Json::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
            ) else {
                return Err(bad(m, "give {\"collection\": ..., \"id\": ...}"));
            };
            let geometry = resolve
                .feature_geometry(c, &id)
                .ok_or_else(|| bad(&m, format!("there is no feature {id:?} in {c:?}")))?;
            Kind::NearFeature {
                label: format!("{c}/{id}"),
                geometry,
                within_m: within(spec)?,
            }
        }
        "close_to" => {
            only(spec, &["close_to", "weight"], at)?;
            let f = object(v, &m)?;
            let [(property, target)] = f.iter().collect::<Vec<_>>()[..] else {
                return Err(bad(
                    m,
                    "give one property and its target: {\"power_kva\": 2000}",
                ));
            };
            let pm = join(&m, property);
            let column = column_of(layer, property, &pm)?;
            if !matches!(
                layer.fields[column].ty,
                FieldType::Integer | FieldType::Number
            ) {
                return Err(bad(pm, "must be a numeric property"));
            }
            let target = number(target, &pm)?;
            if target == 0.0 {
                return Err(bad(
                    pm,
                    "the target must not be 0 (closeness is relative to it)",
                ));
            }
            Kind::CloseTo {
                property: property.clone(),
                column,
                target,
            }
        }
        "sooner" => {
            only(spec, &["sooner", "from", "to", "weight"], at)?;
            let property = v
                .as_str()
                .ok_or_else(|| bad(&m, "must name a date property"))?;
            let column = column_of(layer, property, &m)?;
            if layer.fields[column].ty != FieldType::Date {
                return Err(bad(m, "must name a date property"));
            }
            let date = |k: &str| -> Result<i32, RequirementError> {
                spec.get(k)
                    .and_then(Json::as_str)
                    .and_then(parse_date)
                    .ok_or_else(|| bad(join(at, k), "must be a date, YYYY-MM-DD"))
            };
            let (from, to) = (date("from")?, date("to")?);
            if to <= from {
                return Err(bad(join(at, "to"), "must be after from"));
            }
            Kind::Sooner {
                property: property.to_owned(),
                column,
                from,
                to,
            }
        }
        _ => {
            only(spec, &["in", "weight"], at)?;
            let f = object(v, &m)?;
            let [(property, values)] = f.iter().collect::<Vec<_>>()[..] else {
                return Err(bad(
                    m,
                    "give one property and its values: {\"zones\": [\"...\"]}",
                ));
            };
            let pm = join(&m, property);
            let column = column_of(layer, property, &pm)?;
            if !matches!(
                layer.fields[column].ty,
                FieldType::String | FieldType::StringArray
            ) {
                return Err(bad(pm, "must be a text or list property"));
            }
            Kind::In {
                property: property.clone(),
                column,
                values: strings(values, &pm)?,
            }
        }
    };
    Ok(Preference { weight, kind })
}

impl Requirement {
    /// Reads and checks a requirement document against `layer`.
    pub fn parse(
        layer: &Layer,
        doc: &Json,
        resolve: &dyn Resolve,
    ) -> Result<Requirement, RequirementError> {
        let doc = object(doc, "requirement")?;
        only(doc, TOP_MEMBERS, "")?;
        let mut criteria = Vec::new();
        if let Some(c) = doc.get("criteria") {
            for (property, spec) in object(c, "criteria")? {
                criteria.push(criterion(layer, property, spec)?);
            }
        }
        let mut preferences = Vec::new();
        if let Some(p) = doc.get("preferences") {
            let list = p
                .as_array()
                .ok_or_else(|| bad("preferences", "must be a list"))?;
            for (i, spec) in list.iter().enumerate() {
                preferences.push(preference(
                    layer,
                    &format!("preferences[{i}]"),
                    spec,
                    resolve,
                )?);
            }
        }
        if criteria.len() + preferences.len() > MAX_TERMS {
            return Err(bad(
                "criteria",
                format!("at most {MAX_TERMS} criteria and preferences together"),
            ));
        }
        let area = match doc.get("area") {
            None => None,
            // Absent means no area; null would be a second way to say it, refused like any
            // value that is not a polygon.
            Some(Json::Null) => {
                return Err(bad(
                    "area",
                    "give a GeoJSON Polygon or MultiPolygon, or leave area out",
                ))
            }
            Some(g) => Some(resolve.area(layer, g).map_err(|e| bad("area", e))?),
        };
        let margin = match doc.get("margin") {
            None => DEFAULT_MARGIN,
            Some(v) => {
                let m = number(v, "margin")?;
                if !(0.0..=1.0).contains(&m) {
                    return Err(bad(
                        "margin",
                        "must be from 0 to 1 (a fraction of the bound)",
                    ));
                }
                m
            }
        };
        let mut order: Vec<usize> = (0..criteria.len()).collect();
        order.sort_by_key(|&i| criteria[i].cost());
        Ok(Requirement {
            criteria,
            order,
            area,
            preferences,
            margin,
            limit: count(doc.get("limit"), "limit", DEFAULT_LIMIT)?,
            near_miss_limit: count(
                doc.get("nearMissLimit"),
                "nearMissLimit",
                DEFAULT_NEAR_MISS_LIMIT,
            )?,
        })
    }
}
