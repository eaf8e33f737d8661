//! The parameters shared by `/items`, `/search` (POST) and `/stats`: from the wire to a
//! [`FeatureQuery`], each malformed value a 400 naming its parameter.

use serde_json::Value;

use super::error::ApiError;
use super::links::CRS84;
use super::params::Params;
use crate::domain::{Bbox, BboxError, FieldType};
use crate::export::Crs;
use crate::query::{DateTimeFilter, FeatureQuery, FilterLang, FilterSpec, SortKey, MAX_LIMIT};
use crate::store::CollectionInfo;

/// The parameters a features query understands besides `property=value` on queryables.
pub const QUERY_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "limit",
    "offset",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "properties",
];

/// A `bbox` in `crs` (its axis order), as a CRS84 box: the corners are converted, then checked
/// as any CRS84 box is.
fn parse_bbox(raw: &str, crs: Crs) -> Result<Bbox, BboxError> {
    if crs == Crs::Crs84 {
        return Bbox::parse(raw);
    }
    let n: Vec<f64> = raw
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| BboxError::NotANumber(p.trim().to_owned()))
        })
        .collect::<Result<_, _>>()?;
    let (a0, b0, a1, b1) = match n.len() {
        4 => (n[0], n[1], n[2], n[3]),
        6 => (n[0], n[1], n[3], n[4]),
        k => return Err(BboxError::Arity(k)),
    };
    let (w, s) = crs.to_crs84(a0, b0);
    let (e, no) = crs.to_crs84(a1, b1);
    Bbox::new(w, s, e, no)
}

/// A raw URL query string (`bbox=...&filter=...`) as a [`FeatureQuery`] on collection `c`, with
/// `extra_known` the endpoint's own parameters (left unread). Public so that the fuzz targets
/// exercise exactly what the routes run.
pub fn feature_query_from_url(
    raw: Option<&str>,
    c: &CollectionInfo,
    extra_known: &[&str],
) -> Result<FeatureQuery, ApiError> {
    let mut params = Params::parse(raw)?;
    parse_feature_query(&mut params, c, extra_known)
}

/// Takes every query parameter out of `params` and checks it against the collection's schema.
/// Whatever remains must be a queryable property (equality), or it is an unknown parameter.
pub fn parse_feature_query(
    params: &mut Params,
    c: &CollectionInfo,
    extra_known: &[&str],
) -> Result<FeatureQuery, ApiError> {
    let mut q = FeatureQuery::default();
    let bbox_crs = match params.take("bbox-crs") {
        None => Crs::Crs84,
        Some(c) => Crs::parse(&c).map_err(|e| ApiError::parameter("bbox-crs", e.to_string()))?,
    };
    if let Some(raw) = params.take("bbox") {
        q.bbox = Some(
            parse_bbox(&raw, bbox_crs).map_err(|e| ApiError::parameter("bbox", e.to_string()))?,
        );
    }
    if let Some(limit) = params.take_usize("limit")? {
        if limit == 0 {
            return Err(ApiError::parameter("limit", "limit must be at least 1"));
        }
        // Above the maximum, the page is the maximum: OGC API - Features allows it, and the
        // `next` link lets a client continue.
        q.limit = limit.min(MAX_LIMIT);
    }
    q.offset = params.take_usize("offset")?.unwrap_or(0);
    if let Some(raw) = params.take("datetime") {
        q.datetime = Some(
            DateTimeFilter::parse(&raw)
                .map_err(|e| ApiError::parameter("datetime", e.to_string()))?,
        );
    }
    let lang = match params.take("filter-lang") {
        None => FilterLang::Cql2Text,
        Some(l) => FilterLang::parse(&l).ok_or_else(|| {
            ApiError::parameter(
                "filter-lang",
                format!("filter-lang must be cql2-text or cql2-json, got {l:?}"),
            )
        })?,
    };
    if let Some(crs) = params.take("filter-crs") {
        if crs != CRS84 {
            return Err(ApiError::parameter(
                "filter-crs",
                format!("filter-crs must be {CRS84}, got {crs:?}"),
            ));
        }
    }
    if let Some(text) = params.take("filter") {
        if text.trim().is_empty() {
            return Err(ApiError::parameter("filter", "filter is empty"));
        }
        q.filter = Some(FilterSpec { text, lang });
    }
    if let Some(raw) = params.take("sortby") {
        q.sortby = SortKey::parse_list(&raw).map_err(|e| ApiError::parameter("sortby", e))?;
    }
    if let Some(raw) = params.take("properties") {
        q.properties = Some(names_in(&raw));
    }
    for (name, value) in params.drain() {
        match c.fields.iter().find(|f| f.name == name) {
            Some(f) if f.ty != FieldType::Json => q.equals.push((name, value)),
            _ => {
                let queryables: Vec<&str> = c
                    .fields
                    .iter()
                    .filter(|f| f.ty != FieldType::Json)
                    .map(|f| f.name.as_str())
                    .collect();
                let known = format!(
                    "{}, or a queryable property ({})",
                    extra_known
                        .iter()
                        .chain(QUERY_PARAMS)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                    queryables.join(", ")
                );
                return Err(ApiError::unknown_parameter(&name, &known));
            }
        }
    }
    Ok(q)
}

/// A POST body (a JSON object with the same members as the query string) as parameters.
/// Arrays become comma-separated lists, and a `filter` object is CQL2 JSON. A member named
/// after a property of `c` must have that property's JSON type: `"source": 5` is refused
/// rather than compared as the text "5".
pub fn params_from_body(body: &[u8], c: &CollectionInfo) -> Result<Params, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let Value::Object(members) = value else {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body must be a JSON object",
        ));
    };
    let mut pairs = Vec::with_capacity(members.len() + 1);
    let filter_is_json = matches!(members.get("filter"), Some(Value::Object(_)));
    for (k, v) in members {
        if !QUERY_PARAMS.contains(&k.as_str()) {
            if let Some(field) = c.fields.iter().find(|f| f.name == k) {
                check_member_type(&k, field.ty, &v)?;
            }
        }
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            Value::Object(_) if k == "filter" => v.to_string(),
            Value::Object(_) | Value::Null => {
                return Err(ApiError::parameter(
                    &k,
                    format!("{k} must be a string, number or array"),
                ));
            }
        };
        pairs.push((k, text));
    }
    if filter_is_json && !pairs.iter().any(|(k, _)| k == "filter-lang") {
        pairs.push(("filter-lang".into(), "cql2-json".into()));
    }
    Params::from_pairs(pairs)
}

/// A queryable given in a JSON body has its own JSON type (dates and timestamps as strings).
fn check_member_type(name: &str, ty: FieldType, v: &Value) -> Result<(), ApiError> {
    let ok = match ty {
        FieldType::Boolean => v.is_boolean(),
        FieldType::Integer => v.is_i64() || v.is_u64(),
        FieldType::Number => v.is_number(),
        FieldType::String | FieldType::Date | FieldType::Timestamp | FieldType::StringArray => {
            v.is_string()
        }
        FieldType::Json => true,
    };
    if ok {
        return Ok(());
    }
    let expected = match ty {
        FieldType::Boolean => "true or false",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        _ => "a string",
    };
    Err(ApiError::parameter(
        name,
        format!("{name} must be {expected}, got {v}"),
    ))
}

/// The non-empty names of a comma-separated list parameter (`properties`, `sum`).
pub fn names_in(raw: &str) -> Vec<String> {
    crate::query::comma_list(raw)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
