//! CQL2 text: parse, compile against each layer's schema and evaluate over its features.
//! Any input may be refused with an error; none may panic, overflow the stack or hang.
#![no_main]

#[path = "common.rs"]
mod common;

use etown_atlas::query::{FeatureQuery, FilterLang, FilterSpec};
use etown_atlas::store::FeatureStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let query = FeatureQuery {
        filter: Some(FilterSpec {
            text: text.to_owned(),
            lang: FilterLang::Cql2Text,
        }),
        ..FeatureQuery::default()
    };
    for collection in common::COLLECTIONS {
        let _ = common::shipped().query(collection, &query);
    }
});
