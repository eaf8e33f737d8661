//! GeoJSON ingest: any bytes as a layer file. Either the load fails with an error (naming the
//! file and feature), or the layer it builds answers a query over every feature.
#![no_main]


use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::query::{exec, Budget, FeatureQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for accept_invalid_geometry in [false, true] {
        let file = SourceFile {
            name: "fuzz.geojson".to_owned(),
            bytes: data.to_vec().into(),
            path: None,
        };
        let options = LoadOptions {
            accept_invalid_geometry,
        };
        if let Ok(catalog) = ingest::load(vec![file], "fuzz", options) {
            let layer = catalog.layer("fuzz").expect("a loaded layer is listed");
            let query = FeatureQuery {
                limit: layer.len().max(1),
                ..FeatureQuery::default()
            };
            let page = exec::run(layer, &query, &Budget::unlimited()).expect("a plain query succeeds");
            assert_eq!(page.number_matched, layer.len());
            assert_eq!(page.slots.len(), layer.len());
        }
    }
});
