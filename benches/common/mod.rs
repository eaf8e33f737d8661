//! What the benchmarks share: the synthetic carriers they run on and the queries of issue 7.

use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, LoadOptions, SourceFile};

/// Issue 7's attribute query: 17 % of the carriers, answered by two indexes.
pub const ATTRIBUTE: &str = "industry = 'future_health' AND available_floor_area_m2 >= 3000";

/// `n` deterministic synthetic carriers (seed 1), loaded as the server loads them.
pub fn catalog(n: usize) -> Catalog {
    let file = SourceFile {
        name: "carriers.geojson".into(),
        bytes: etown_atlas::synth::carriers_geojson(n, 1).into(),
        path: None,
    };
    ingest::load(vec![file], "synthetic", LoadOptions::default()).expect("synthetic data loads")
}
