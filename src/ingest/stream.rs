//! Reading a GeoJSON FeatureCollection one feature at a time.
//!
//! The document is never held as one JSON tree: serde hands each element of `features` to a
//! callback as soon as it is parsed, and the callback keeps only what the layer needs. A file
//! of a million features costs its columns, not ten times its size.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value as Json;

use super::IngestError;

/// Calls `each(index, feature)` for every element of the top-level `features` array, checking
/// the top level is a FeatureCollection (and any legacy `crs` with `check_crs`).
pub fn for_each_feature(
    file: &str,
    bytes: &[u8],
    check_crs: impl Fn(&Json) -> Result<(), String>,
    each: impl FnMut(usize, Json) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let failure: RefCell<Option<IngestError>> = RefCell::new(None);
    let each = RefCell::new(each);
    let seed = Root {
        file,
        check_crs: &check_crs,
        each: &each,
        failure: &failure,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    result.map_err(|e| IngestError::file(file, format!("not valid GeoJSON: {e}")))
}

struct Root<'a, C, F> {
    file: &'a str,
    check_crs: &'a C,
    each: &'a RefCell<F>,
    failure: &'a RefCell<Option<IngestError>>,
}

impl<'de, C, F> DeserializeSeed<'de> for Root<'_, C, F>
where
    C: Fn(&Json) -> Result<(), String>,
    F: FnMut(usize, Json) -> Result<(), IngestError>,
{
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, C, F> Visitor<'de> for Root<'_, C, F>
where
    C: Fn(&Json) -> Result<(), String>,
    F: FnMut(usize, Json) -> Result<(), IngestError>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fail = |e: IngestError| -> A::Error {
            let msg = e.to_string();
            self.failure.borrow_mut().get_or_insert(e);
            de::Error::custom(msg)
        };
        let mut ty: Option<String> = None;
        let mut saw_features = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        return Err(fail(IngestError::file(
                            self.file,
                            format!("the top level is a {t}; a layer must be a FeatureCollection"),
                        )));
                    }
                    ty = Some(t);
                }
                "crs" => {
                    let crs: Json = map.next_value()?;
                    (self.check_crs)(&crs)
                        .map_err(|reason| fail(IngestError::file(self.file, reason)))?;
                }
                "features" => {
                    saw_features = true;
                    map.next_value_seed(Features {
                        file: self.file,
                        each: self.each,
                        failure: self.failure,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if ty.is_none() {
            return Err(fail(IngestError::file(
                self.file,
                "the top level has no \"type\"",
            )));
        }
        if !saw_features {
            return Err(fail(IngestError::file(
                self.file,
                "a FeatureCollection needs a \"features\" array",
            )));
        }
        Ok(())
    }
}

/// Features are read in batches of this many: the batch's JSON trees are built on every core.
pub(super) const PARSE_BATCH: usize = 4096;

struct Features<'a, F> {
    file: &'a str,
    each: &'a RefCell<F>,
    failure: &'a RefCell<Option<IngestError>>,
}

impl<'de, F: FnMut(usize, Json) -> Result<(), IngestError>> DeserializeSeed<'de>
    for Features<'_, F>
{
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Json) -> Result<(), IngestError>> Visitor<'de> for Features<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    /// The array is scanned for each feature's extent (which checks its syntax without building
    /// anything); each batch of extents is then parsed into JSON trees on every core and handed
    /// to the callback in file order. Building the trees one by one was a third of the time
    /// to load a million features, all of it on one core.
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let mut batch: Vec<&'de RawValue> = Vec::with_capacity(PARSE_BATCH);
        let mut first_index = 0;
        loop {
            let next = seq.next_element::<&'de RawValue>();
            let done = !matches!(next, Ok(Some(_)));
            if let Ok(Some(raw)) = next {
                batch.push(raw);
            }
            if batch.len() >= PARSE_BATCH || done {
                // Earlier features are handled before a syntax error further on is reported,
                // so the first problem in file order is the one named.
                self.flush(first_index, &batch).map_err(de::Error::custom)?;
                first_index += batch.len();
                batch.clear();
            }
            match next {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

impl<F: FnMut(usize, Json) -> Result<(), IngestError>> Features<'_, F> {
    fn flush(&self, first_index: usize, batch: &[&RawValue]) -> Result<(), String> {
        use rayon::prelude::*;
        let parsed: Vec<serde_json::Result<Json>> = batch
            .par_iter()
            .map(|raw| serde_json::from_str(raw.get()))
            .collect();
        let mut each = self.each.borrow_mut();
        for (offset, feature) in parsed.into_iter().enumerate() {
            let index = first_index + offset;
            // The callback's error goes to the failure slot, where `for_each_feature` finds it;
            // serde's error only stops the parse.
            let result = feature
                .map_err(|e| {
                    let at = super::FeatureRef { index, id: None };
                    IngestError::feature(self.file, at, format!("not valid JSON: {e}"))
                })
                .and_then(|f| each(index, f));
            if let Err(e) = result {
                let msg = e.to_string();
                self.failure.borrow_mut().get_or_insert(e);
                return Err(msg);
            }
        }
        Ok(())
    }
}
