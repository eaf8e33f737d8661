//! Export writers: features in, readable file out. The input is a layer file (first byte picks
//! the format); whatever ingest accepts, each writer must either refuse with an error or write
//! a file that its format's reader opens with every feature in it.
#![no_main]

use std::io::{Cursor, Read};

use etown_atlas::export::{self, ExportOptions, ExportSource, Format};
use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::model::Crs;
use flatgeobuf::FallibleStreamingIterator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, layer)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(selector) % Format::ALL.len()];
    let crs = if selector >= 128 {
        Crs::Epsg3857
    } else {
        Crs::Crs84
    };
    let file = SourceFile {
        name: "fuzz.geojson".to_owned(),
        bytes: layer.to_vec().into(),
        path: None,
    };
    let Ok(catalog) = ingest::load(vec![file], "fuzz", LoadOptions::default()) else {
        return;
    };
    let layer = catalog.layer("fuzz").expect("loaded").clone();
    let count = layer.len();
    let source = ExportSource::from_slots(layer, (0..count).collect(), None);
    let mut out = Vec::new();
    let crs = if format == Format::Kml {
        Crs::Crs84
    } else {
        crs
    };
    let options = ExportOptions {
        crs,
        csv_bom: selector % 2 == 0,
    };
    if export::write(format, source, options, &mut out).is_err() {
        return;
    }
    assert_eq!(
        read_back(format, &out),
        count,
        "{format:?} lost or invented features"
    );
});

/// The number of features a reader of `format` finds in `bytes`; panics if it cannot read them.
fn read_back(format: Format, bytes: &[u8]) -> usize {
    match format {
        Format::GeoJson => {
            let doc: serde_json::Value = serde_json::from_slice(bytes).expect("GeoJSON parses");
            doc["features"].as_array().expect("features array").len()
        }
        Format::Csv => {
            let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
            csv::Reader::from_reader(text)
                .records()
                .map(|r| r.expect("CSV record"))
                .count()
        }
        Format::GeoPackage => {
            let dir = tempfile_dir();
            let path = dir.join("fuzz.gpkg");
            std::fs::write(&path, bytes).expect("write gpkg");
            let db = rusqlite::Connection::open(&path).expect("GeoPackage opens");
            let n: i64 = db
                .query_row("SELECT count(*) FROM fuzz", [], |r| r.get(0))
                .expect("the layer table");
            usize::try_from(n).expect("count")
        }
        Format::FlatGeobuf => {
            let mut cursor = Cursor::new(bytes);
            let reader = flatgeobuf::FgbReader::open(&mut cursor).expect("FlatGeobuf header");
            let mut features = reader.select_all_seq().expect("FlatGeobuf features");
            let mut n = 0;
            while features.next().expect("FlatGeobuf feature").is_some() {
                n += 1;
            }
            n
        }
        Format::Kml => {
            let text = std::str::from_utf8(bytes).expect("KML is UTF-8");
            assert!(text.trim_end().ends_with("</kml>"), "KML is complete");
            text.matches("<Placemark").count()
        }
        Format::Xlsx => {
            // The first sheet's rows, read from the package's XML: two header rows (titles,
            // keys), then one row per feature.
            let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("xlsx is a zip");
            let mut sheet = String::new();
            zip.by_name("xl/worksheets/sheet1.xml")
                .expect("the first sheet")
                .read_to_string(&mut sheet)
                .expect("sheet XML is UTF-8");
            assert!(sheet.trim_end().ends_with("</worksheet>"), "the sheet is complete");
            sheet.matches("<row ").count().saturating_sub(2)
        }
        Format::Shapefile => {
            let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip opens");
            let mut entry = |ext: &str| {
                let name = (0..zip.len())
                    .filter_map(|i| zip.name_for_index(i).map(str::to_owned))
                    .find(|n| n.ends_with(ext))
                    .unwrap_or_else(|| panic!("no {ext} in the zip"));
                let mut buf = Vec::new();
                zip.by_name(&name)
                    .expect("entry")
                    .read_to_end(&mut buf)
                    .expect("read");
                buf
            };
            let (shp, dbf) = (entry(".shp"), entry(".dbf"));
            let shapes = shapefile::ShapeReader::new(Cursor::new(shp))
                .expect("shp header")
                .read()
                .expect("shapes");
            let records = shapefile::dbase::Reader::new(Cursor::new(dbf))
                .expect("dbf header")
                .read()
                .expect("records");
            assert_eq!(shapes.len(), records.len(), "one record per shape");
            shapes.len()
        }
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("etown-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
