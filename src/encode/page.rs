//! FeatureCollection pages.

use std::io::Write;

use serde_json::Value as Json;

use super::feature::{write_feature, Properties};
use crate::index::Layer;
use crate::model::Crs;

/// Writes the features in `slots` as the comma-separated members of a `features` array.
pub fn write_slots(
    out: &mut Vec<u8>,
    layer: &Layer,
    slots: &[usize],
    only: Option<&[usize]>,
    crs: Crs,
) {
    out.reserve(slots.len() * 1024);
    for (i, &slot) in slots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let properties = Properties::Slot { layer, slot, only };
        write_feature(
            out,
            &layer.ids[slot],
            &layer.geometries[slot],
            properties,
            crs,
            &[],
        );
    }
}

/// A FeatureCollection page and its validator.
pub struct PageBody {
    pub bytes: Vec<u8>,
    /// A strong ETag over everything but the closing `timeStamp`: that member says when the page
    /// was written, and hashing it would give the same content a new ETag every second, so a
    /// client's `If-None-Match` would never match once the response cache no longer held it.
    pub etag: String,
}

/// A FeatureCollection around features already written (see [`write_slots`]): the features,
/// the links, the counts, then the time stamp.
pub fn page_body(
    features: &[u8],
    links: &[Json],
    number_matched: usize,
    number_returned: usize,
    etag_of: impl FnOnce(&[u8]) -> String,
) -> PageBody {
    let mut out = Vec::with_capacity(features.len() + 1024);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    out.extend_from_slice(features);
    out.extend_from_slice(b"],\"links\":");
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, links);
    let _ = write!(
        out,
        ",\"numberMatched\":{number_matched},\"numberReturned\":{number_returned}"
    );
    let etag = etag_of(&out);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _ = write!(out, ",\"timeStamp\":\"{now}\"}}");
    PageBody { bytes: out, etag }
}
