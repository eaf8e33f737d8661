//! Request bodies: what a POST must say about itself, and JSON read strictly.

use crate::http::problem::Problem;
use std::fmt;

use axum::http::{header, HeaderMap, StatusCode};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::error::ApiError;

/// The media types a JSON body may declare (parameters such as `charset` allowed).
pub const JSON_TYPES: &[&str] = &["application/json", "application/query-cql-json"];

/// Checks that the body is declared as one of `accepted` (compared by essence: `type/subtype`,
/// case-insensitive, parameters ignored) and is not content-encoded; else 415.
pub fn require_media_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), ApiError> {
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?").trim();
        if !enc.eq_ignore_ascii_case("identity") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Problem::UnsupportedMediaType,
                format!("request bodies are not decoded; send it without Content-Encoding ({enc})"),
            ));
        }
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if accepted.iter().any(|a| a.eq_ignore_ascii_case(essence)) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::UnsupportedMediaType,
            format!(
                "the body must be {}, not {:?}",
                accepted.join(" or "),
                super::params::shorten(ct)
            ),
        ))
    }
}

/// A POST body that must be JSON.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    require_media_type(headers, JSON_TYPES)
}

/// Parses JSON, refusing an object that names a member twice: RFC 8259 leaves the meaning
/// undefined, and taking the last silently would answer a question the client did not ask.
pub fn strict_json(body: &[u8]) -> Result<Value, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ApiError::invalid_body(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Deserialises a `Value` the way serde_json does, but fails on a repeated object member.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the member {:?} is given twice",
                    super::params::shorten(&key)
                )));
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_repeated_members_at_any_depth() {
        assert!(strict_json(br#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#).is_ok());
        assert!(strict_json(br#"{"a": 1, "a": 2}"#).is_err());
        assert!(strict_json(br#"{"x": [{"a": 1, "a": 1}]}"#).is_err());
        assert!(strict_json(br#"{"a": 1} trailing"#).is_err());
        let v = strict_json(br#"{"n": 12345678901234567890, "f": 1.5}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"n": 12345678901234567890u64, "f": 1.5})
        );
    }

    #[test]
    fn media_types_compare_by_essence() {
        let h = |ct: &str, enc: Option<&str>| {
            let mut m = HeaderMap::new();
            m.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            if let Some(e) = enc {
                m.insert(header::CONTENT_ENCODING, e.parse().unwrap());
            }
            m
        };
        assert!(require_json(&h("application/json", None)).is_ok());
        assert!(require_json(&h("Application/JSON; charset=utf-8", None)).is_ok());
        assert!(require_json(&h("application/jsonp", None)).is_err());
        assert!(require_json(&h("application/json-seq", None)).is_err());
        assert!(require_json(&h("application/json", Some("gzip"))).is_err());
    }
}
