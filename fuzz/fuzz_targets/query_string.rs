//! The query string of `/items` (bbox, bbox-crs, datetime, sortby, properties, limit, offset,
//! filter, property=value): parsed as the route parses it, then run. Refusals are fine; panics
//! are not.
#![no_main]

#[path = "common.rs"]
mod common;

use etown_atlas::http::extract::RouteParams;
use etown_atlas::http::feature_query_from_url;
use etown_atlas::http::routes::items::ItemsParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for collection in common::COLLECTIONS {
        let Some(info) = common::shipped().collection(collection) else {
            return;
        };
        if let Ok(query) = feature_query_from_url(Some(raw), info, &ItemsParams::specs()) {
            common::query(collection, &query);
        }
    }
});
