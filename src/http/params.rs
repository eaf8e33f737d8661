//! Query strings: decoded strictly, each parameter taken at most once, and whatever is left over
//! at the end an unknown parameter and a 400 (never silently ignored).
//!
//! Every route declares the parameters it accepts as [`ParamSpec`]s. The same list names the
//! known parameters in a 400 and describes them in the API document (`routes::api`), so the two
//! cannot drift apart.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::ApiError;
use crate::store::CollectionInfo;

/// One query parameter a route accepts.
pub struct ParamSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Its JSON Schema in the API document; collection routes pass their collection, whose
    /// properties some schemas list (`sortby`, `group-by`).
    pub schema: fn(Option<&CollectionInfo>) -> Value,
    /// Whether the API document lists it for a collection (`datetime` only where there is a
    /// temporal property to filter on).
    pub documented_for: fn(Option<&CollectionInfo>) -> bool,
}

/// For [`ParamSpec::documented_for`]: everywhere.
pub fn always(_: Option<&CollectionInfo>) -> bool {
    true
}

impl ParamSpec {
    /// The OpenAPI parameter object.
    pub fn doc(&self, c: Option<&CollectionInfo>) -> Value {
        let mut p = json!({"name": self.name, "in": "query", "required": self.required,
                           "description": self.description, "schema": (self.schema)(c)});
        if p["schema"]["type"] == "array" {
            p["style"] = json!("form");
            p["explode"] = json!(false);
        }
        p
    }
}

/// The names of `specs`, for "this resource accepts: …".
pub fn names(specs: &[&ParamSpec]) -> Vec<&'static str> {
    specs.iter().map(|s| s.name).collect()
}

/// The decoded query string of one request.
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte, and
/// the bytes must be UTF-8. A `%` without two hex digits, or bytes that are not UTF-8, are
/// refused rather than read as something the client did not send.
fn decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => return Err("holds a '%' that is not followed by two hex digits".into()),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "is not UTF-8 once decoded (a stray %XX escape?)".into())
}

impl Params {
    /// Decodes the query string; a repeated parameter or a bad escape is a 400.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(k)
                .map_err(|e| ApiError::parameter(&shorten(k), format!("a parameter name {e}")))?;
            let value =
                decode(v).map_err(|e| ApiError::parameter(&name, format!("the value {e}")))?;
            if !name.is_empty() {
                pairs.push((name, value));
            }
        }
        Self::from_pairs(pairs)
    }

    /// Parameters from already-decoded pairs (a POST body); a repeated name is a 400.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        for (k, v) in pairs {
            if values.contains_key(&k) {
                return Err(ApiError::parameter(
                    &k,
                    format!("parameter {:?} is given more than once", shorten(&k)),
                ));
            }
            values.insert(k, v);
        }
        Ok(Params { values })
    }

    /// Whether a parameter is present (without taking it).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Removes and returns a parameter.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// Removes a parameter and parses it as a non-negative integer.
    pub fn take_usize(&mut self, name: &str) -> Result<Option<usize>, ApiError> {
        self.take(name)
            .map(|raw| {
                raw.trim().parse::<usize>().map_err(|_| {
                    ApiError::parameter(
                        name,
                        format!(
                            "{name} must be a non-negative integer, got {:?}",
                            shorten(&raw)
                        ),
                    )
                })
            })
            .transpose()
    }

    /// Removes a parameter and parses it as `true` or `false`.
    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.take(name).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::parameter(
                name,
                format!("{name} must be true or false, got {:?}", shorten(other)),
            )),
        }
    }

    /// Removes every remaining parameter, in name order.
    pub fn drain(&mut self) -> impl Iterator<Item = (String, String)> {
        std::mem::take(&mut self.values).into_iter()
    }

    /// Fails on the first parameter nobody took, naming what the route accepts.
    pub fn finish(self, accepted: &[&ParamSpec]) -> Result<(), ApiError> {
        match self.values.into_keys().next() {
            None => Ok(()),
            Some(name) => Err(ApiError::unknown_parameter(
                &name,
                &names(accepted).join(", "),
            )),
        }
    }
}

/// User input echoed in a message, cut to a readable length: a 309-digit number or a 2 MB
/// filter is named by its start.
pub fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} characters)", &s[..at], s.chars().count()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode("a+b%20c%E8%BD%BD").unwrap(), "a b c载");
        assert!(decode("%ff").is_err(), "not UTF-8");
        assert!(decode("100%").is_err(), "a lone %");
        assert!(decode("%zz").is_err(), "not hex");
        let p = Params::parse(Some("a=1&&b=&c")).unwrap();
        assert_eq!(p.values.len(), 3);
        assert!(Params::parse(Some("a=1&a=2")).is_err());
    }

    #[test]
    fn shortens_long_input() {
        assert_eq!(shorten("short"), "short");
        let long = "9".repeat(309);
        let s = shorten(&long);
        assert!(s.len() < 80 && s.contains("309 characters"), "{s}");
    }
}
