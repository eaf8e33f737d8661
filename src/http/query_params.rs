//! The parameters shared by `/items`, `/search` (POST), `/stats`, `/nearest` and `/export`: from
//! the wire to a [`FeatureQuery`], each malformed value a 400 naming its parameter.

use serde_json::Value;

use super::error::ApiError;
use super::links::CRS84;
use super::params::{always, shorten, ParamSpec, Params};
use super::schema;
use crate::model::{Bbox, BboxError, Crs, FieldType};
use crate::query::{
    DateTimeFilter, FeatureQuery, FilterLang, FilterSpec, SortKey, DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::store::CollectionInfo;

pub static BBOX: ParamSpec = ParamSpec {
    name: "bbox",
    description: "west,south,east,north (or with heights, 6 numbers) in CRS84 or bbox-crs; west > east crosses the antimeridian",
    required: false,
    schema: |_| schema::bbox(),
    documented_for: always,
};
pub static BBOX_CRS: ParamSpec = ParamSpec {
    name: "bbox-crs",
    description: "the CRS of bbox (EPSG:4326 and 4490: latitude first)",
    required: false,
    schema: |_| schema::crs(),
    documented_for: always,
};
pub static LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    description:
        "page size (default 100); a larger value is served as 10000, with next links to continue",
    required: false,
    schema: |_| serde_json::json!({"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}),
    documented_for: always,
};
pub static OFFSET: ParamSpec = ParamSpec {
    name: "offset",
    description: "number of matching features to skip",
    required: false,
    schema: |_| serde_json::json!({"type": "integer", "minimum": 0, "default": 0}),
    documented_for: always,
};
pub static DATETIME: ParamSpec = ParamSpec {
    name: "datetime",
    description:
        "an RFC 3339 date or timestamp, or an interval start/end with '..' for an open end",
    required: false,
    schema: |_| schema::datetime(),
    documented_for: |c| c.is_some_and(|c| c.meta.temporal_property.is_some()),
};
pub static FILTER: ParamSpec = ParamSpec {
    name: "filter",
    description: "a CQL2 filter (text or JSON, see filter-lang)",
    required: false,
    schema: |_| schema::non_blank(),
    documented_for: always,
};
pub static FILTER_LANG: ParamSpec = ParamSpec {
    name: "filter-lang",
    description: "the encoding of filter",
    required: false,
    schema: |_| serde_json::json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
    documented_for: always,
};
pub static FILTER_CRS: ParamSpec = ParamSpec {
    name: "filter-crs",
    description: "the CRS of the filter's geometries (CRS84 only)",
    required: false,
    schema: |_| serde_json::json!({"type": "string", "enum": [CRS84]}),
    documented_for: always,
};
pub static SORTBY: ParamSpec = ParamSpec {
    name: "sortby",
    description: "comma-separated queryables, '-' for descending",
    required: false,
    schema: schema::sortby,
    documented_for: always,
};
pub static PROPERTIES: ParamSpec = ParamSpec {
    name: "properties",
    description: "comma-separated properties to return",
    required: false,
    schema: schema::properties,
    documented_for: always,
};
/// `crs` of the answer (OGC API - Features Part 2).
pub static CRS: ParamSpec = ParamSpec {
    name: "crs",
    description: "the CRS of the returned geometries (OGC API - Features Part 2); gcj02 is a non-standard option for AMap",
    required: false,
    schema: |_| schema::crs(),
    documented_for: always,
};

/// Every parameter of a features query, besides `property=value` on queryables.
pub static FEATURE_QUERY: [&ParamSpec; 10] = [
    &BBOX,
    &BBOX_CRS,
    &LIMIT,
    &OFFSET,
    &DATETIME,
    &FILTER,
    &FILTER_LANG,
    &FILTER_CRS,
    &SORTBY,
    &PROPERTIES,
];

/// The features-query parameters without those a route refuses or defines itself.
pub fn feature_query_except(except: &[&str]) -> Vec<&'static ParamSpec> {
    FEATURE_QUERY
        .iter()
        .copied()
        .filter(|p| !except.contains(&p.name))
        .collect()
}

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
                .ok_or_else(|| BboxError::NotANumber(shorten(p.trim()).into_owned()))
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
/// `route` the endpoint's own parameters (left unread). Public so that the fuzz targets
/// exercise exactly what the routes run.
pub fn feature_query_from_url(
    raw: Option<&str>,
    c: &CollectionInfo,
    route: &[&ParamSpec],
) -> Result<FeatureQuery, ApiError> {
    let mut params = Params::parse(raw)?;
    parse_feature_query(&mut params, c, route)
}

/// Takes every query parameter out of `params` and checks it against the collection's schema.
/// Whatever remains must be a queryable property (equality), or it is an unknown parameter;
/// `accepted` is the route's whole list, for that message.
pub fn parse_feature_query(
    params: &mut Params,
    c: &CollectionInfo,
    accepted: &[&ParamSpec],
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
                format!(
                    "filter-lang must be cql2-text or cql2-json, got {:?}",
                    shorten(&l)
                ),
            )
        })?,
    };
    if let Some(crs) = params.take("filter-crs") {
        if crs != CRS84 {
            return Err(ApiError::parameter(
                "filter-crs",
                format!("filter-crs must be {CRS84}, got {:?}", shorten(&crs)),
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
                    super::params::names(accepted).join(", "),
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
///
/// CPU work on a body of up to 4 MiB: call it on the compute boundary. The parsed body comes
/// back too, for links that repeat it.
pub fn params_from_body(body: &[u8], c: &CollectionInfo) -> Result<(Params, Value), ApiError> {
    let parsed = super::body::strict_json(body)?;
    let Value::Object(members) = parsed.clone() else {
        return Err(ApiError::invalid_body("the body must be a JSON object"));
    };
    let mut pairs = Vec::with_capacity(members.len() + 1);
    let filter_is_json = matches!(members.get("filter"), Some(Value::Object(_)));
    for (k, v) in members {
        if !FEATURE_QUERY.iter().any(|p| p.name == k) {
            if let Some(field) = c.fields.iter().find(|f| f.name == k) {
                check_member_type(&k, field.ty, &v)?;
            }
        }
        // `[false]` would otherwise be joined into the CQL2 text `false`.
        if k == "filter" && !matches!(v, Value::String(_) | Value::Object(_)) {
            return Err(ApiError::parameter(
                "filter",
                "filter must be CQL2 text (a string) or CQL2 JSON (an object)",
            ));
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
                    format!("{} must be a string, number or array", shorten(&k)),
                ));
            }
        };
        pairs.push((k, text));
    }
    if filter_is_json && !pairs.iter().any(|(k, _)| k == "filter-lang") {
        pairs.push(("filter-lang".into(), "cql2-json".into()));
    }
    Ok((Params::from_pairs(pairs)?, parsed))
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
        format!("{name} must be {expected}, got {}", shorten(&v.to_string())),
    ))
}

/// The non-empty names of a comma-separated list parameter (`properties`, `sum`).
pub fn names_in(raw: &str) -> Vec<String> {
    crate::query::comma_list(raw)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `crs` parameter (OGC API - Features Part 2): the CRS of the returned geometries.
pub fn output_crs(params: &mut Params) -> Result<Crs, ApiError> {
    match params.take("crs") {
        None => Ok(Crs::Crs84),
        Some(c) => Crs::parse(&c).map_err(|e| ApiError::parameter("crs", e.to_string())),
    }
}
