//! The readers of an office's files (CSV, KML, FlatGeobuf, Excel, Shapefile loose and
//! zipped): any bytes as such a file. The first byte picks the format; for a loose Shapefile
//! the rest is split in half into the `.shp` and the `.dbf`. Either the load fails with an
//! error, or the layer it builds answers a query over every feature.
#![no_main]

use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::query::{exec, Budget, FeatureQuery};
use libfuzzer_sys::fuzz_target;

const ENDINGS: [&str; 6] = ["csv", "kml", "fgb", "xlsx", "zip", "shp"];

fn file(name: String, bytes: &[u8]) -> SourceFile {
    SourceFile {
        name,
        bytes: bytes.to_vec().into(),
        path: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let ending = ENDINGS[pick as usize % ENDINGS.len()];
    let files = if ending == "shp" {
        let (shp, dbf) = rest.split_at(rest.len() / 2);
        vec![file("fuzz.dbf".into(), dbf), file("fuzz.shp".into(), shp)]
    } else {
        vec![file(format!("fuzz.{ending}"), rest)]
    };
    if let Ok(catalog) = ingest::load(files, "fuzz", LoadOptions::default()) {
        let layer = catalog.layer("fuzz").expect("a loaded layer is listed");
        let query = FeatureQuery {
            limit: layer.len().max(1),
            ..FeatureQuery::default()
        };
        let page = exec::run(layer, &query, &Budget::unlimited()).expect("a plain query succeeds");
        assert_eq!(page.number_matched, layer.len());
    }
});
