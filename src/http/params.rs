//! Query-string handling shared by every route: each parameter is taken at most once, and whatever
//! is left over at the end is an unknown parameter and a 400 (never silently ignored).

use std::collections::BTreeMap;

use super::error::ApiError;

/// The decoded query string of one request.
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Decodes `application/x-www-form-urlencoded` pairs; a repeated parameter is a 400.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if k.is_empty() {
                continue;
            }
            if values.insert(k.to_string(), v.to_string()).is_some() {
                return Err(ApiError::parameter(
                    &k,
                    format!("parameter {k:?} is given more than once"),
                ));
            }
        }
        Ok(Params { values })
    }

    /// Parameters from already-decoded pairs (a POST body); a repeated name is a 400.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        for (k, v) in pairs {
            if values.insert(k.clone(), v).is_some() {
                return Err(ApiError::parameter(
                    &k,
                    format!("parameter {k:?} is given more than once"),
                ));
            }
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
                        format!("{name} must be a non-negative integer, got {raw:?}"),
                    )
                })
            })
            .transpose()
    }

    /// Removes every remaining parameter, in name order.
    pub fn drain(&mut self) -> impl Iterator<Item = (String, String)> {
        std::mem::take(&mut self.values).into_iter()
    }

    /// Fails on the first parameter nobody took.
    pub fn finish(self, known: &[&str]) -> Result<(), ApiError> {
        match self.values.into_keys().next() {
            None => Ok(()),
            Some(name) => Err(ApiError::unknown_parameter(&name, &known.join(", "))),
        }
    }
}
