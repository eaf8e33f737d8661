//! What every fuzz target shares: the shipped layers, loaded once per process.
// Each fuzz target includes this file and uses only part of it.
#![allow(dead_code)]

use std::sync::OnceLock;

use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::store::Snapshot;

/// The embedded geodata: six layers with every property type the server knows.
pub fn shipped() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let catalog = ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default())
            .expect("the shipped geodata loads");
        Snapshot::new(catalog, 1)
    })
}

/// Runs `query` on `collection` as the server would (with no time limit).
pub fn query(collection: &str, query: &etown_atlas::query::FeatureQuery) {
    if let Some(layer) = shipped().layer(collection) {
        let _ = etown_atlas::query::exec::run(layer, query, &etown_atlas::query::Budget::unlimited());
    }
}

/// The layers a filter is run against: the attribute-rich one and a zone layer.
pub const COLLECTIONS: [&str; 2] = ["spatial-carriers", "parks"];

/// Runs `data` (if UTF-8) as a filter in `lang` against every fuzzed layer: refusals are fine,
/// panics, stack overflows and hangs are not.
pub fn run_filter(data: &[u8], lang: etown_atlas::query::FilterLang) {
    use etown_atlas::query::{FeatureQuery, FilterSpec};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let query = FeatureQuery {
        filter: Some(FilterSpec {
            text: text.to_owned(),
            lang,
        }),
        ..FeatureQuery::default()
    };
    for collection in COLLECTIONS {
        self::query(collection, &query);
    }
}
