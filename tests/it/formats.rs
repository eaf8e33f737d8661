//! Layers in the formats an office and its planners have (GeoPackage, Shapefile plain and
//! zipped in GBK, FlatGeobuf, KML, CSV, Excel), converted from the shipped layers by GDAL,
//! served, and compared feature by feature with the original GeoJSON files, read with
//! serde_json alone.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// What a format cannot keep, as GDAL writes it: the expected value follows from the
/// original by that rule, never from the server.
#[derive(Clone, Copy, Default)]
struct Loses {
    /// Booleans become integers 0/1 (Shapefile, KML: no boolean type).
    booleans: bool,
    /// Lists become their JSON text (Shapefile, GDAL 3.6's FlatGeobuf).
    lists: bool,
    /// Names longer than 10 bytes are cut to 10 (DBF).
    long_names: bool,
}

struct Case {
    name: &'static str,
    driver: &'static str,
    ending: &'static str,
    args: &'static [&'static str],
    t_srs: Option<u32>,
    sidecars: bool,
    loses: Loses,
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr runs");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn shipped_layers() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(geodata_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".geojson").map(str::to_owned)
        })
        .collect();
    stems.sort();
    stems
}

/// Converts every shipped layer into `dir` as `case` says (one file per layer, named by the
/// layer), with the sidecars and vocabularies when the case keeps the property names.
fn convert(case: &Case, dir: &Path) {
    for stem in shipped_layers() {
        let src = geodata_dir().join(format!("{stem}.geojson"));
        let out = dir.join(format!("{stem}{}", case.ending));
        let srs = case.t_srs.map(|c| format!("EPSG:{c}"));
        let sql = format!("SELECT AsText(geometry) AS wkt, * FROM \"{stem}\"");
        let mut args = vec!["-oo", "ARRAY_AS_STRING=YES", "-f", case.driver];
        args.extend(case.args);
        if let Some(s) = &srs {
            args.extend(["-t_srs", s]);
        }
        if case.driver == "XLSX" {
            args.extend(["-dialect", "SQLite", "-sql", &sql]);
        }
        args.extend([out.to_str().unwrap(), src.to_str().unwrap()]);
        ogr2ogr(&args);
    }
    copy_sidecars(dir, case.sidecars);
}

fn copy_sidecars(dir: &Path, metas: bool) {
    for entry in std::fs::read_dir(geodata_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".vocab.json") || (metas && name.ends_with(".meta.json")) {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
}

/// All distinct positions of a geometry: rings may come back re-oriented (a Shapefile's
/// outer rings run clockwise), the positions may not move.
fn positions(g: &Value) -> Vec<(f64, f64)> {
    fn walk(v: &Value, out: &mut Vec<(f64, f64)>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a.iter().all(Value::is_number) => {
                out.push((a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
            }
            Some(a) => a.iter().for_each(|i| walk(i, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&g["coordinates"], &mut out);
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out.dedup();
    out
}

fn same_value(expected: &Value, served: &Value, loses: Loses) -> bool {
    match (expected, served) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-9 * a.abs().max(1.0)
        }
        (Value::Bool(b), Value::Number(n)) if loses.booleans => n.as_i64() == Some(i64::from(*b)),
        (Value::Array(_), Value::String(s)) if loses.lists => {
            serde_json::from_str::<Value>(s).ok().as_ref() == Some(expected)
        }
        _ => expected == served,
    }
}

/// The served layer equals the original file: the same ids, positions within 1e-7° (about
/// 1 cm), every property (Chinese text included) equal under the format's `loses`.
async fn compare(app: &axum::Router, stem: &str, loses: Loses, case: &str) {
    let original = file_features(&geodata_dir().join(format!("{stem}.geojson")));
    let served = get(app, &format!("/collections/{stem}/items?limit=10000"))
        .await
        .json();
    let served = served["features"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: {stem} is served"));
    assert_eq!(served.len(), original.len(), "{case}: {stem}");
    // By id: a FlatGeobuf with a spatial index holds its features in index order.
    for o in &original {
        let id = o["id"].as_str().unwrap();
        let s = served
            .iter()
            .find(|s| s["id"] == o["id"])
            .unwrap_or_else(|| panic!("{case}: {stem}/{id} is not served"));
        let (po, ps) = (positions(&o["geometry"]), positions(&s["geometry"]));
        assert_eq!(po.len(), ps.len(), "{case}: {stem}/{id} positions");
        for a in &po {
            let near = ps
                .iter()
                .any(|b| (a.0 - b.0).abs() <= 1e-7 && (a.1 - b.1).abs() <= 1e-7);
            assert!(
                near,
                "{case}: {stem}/{id}: {a:?} did not come back within 1e-7°: {ps:?}"
            );
        }
        for (key, expected) in o["properties"].as_object().unwrap() {
            let name = if loses.long_names {
                &key[..key.len().min(10)]
            } else {
                key.as_str()
            };
            let got = s["properties"].get(name).unwrap_or(&Value::Null);
            assert!(
                same_value(expected, got, loses),
                "{case}: {stem}/{id}: {key} is {expected} in the original, {got} served"
            );
        }
    }
}

async fn serve_and_compare(dir: &Path, loses: Loses, case: &str) {
    let app = etown_atlas::http::app(state_for(dir, etown_atlas::ingest::LoadOptions::default()));
    for stem in shipped_layers() {
        compare(&app, &stem, loses, case).await;
    }
}

const GBK_SHAPEFILE: &[&str] = &["-lco", "ENCODING=GBK"];
const CSV_WKT: &[&str] = &["-lco", "GEOMETRY=AS_WKT", "-lco", "CREATE_CSVT=YES"];

#[tokio::test]
async fn every_shipped_layer_converted_by_gdal_serves_as_the_original() {
    let dbf = Loses {
        booleans: true,
        lists: true,
        long_names: true,
    };
    let cases = [
        Case {
            name: "GeoPackage",
            driver: "GPKG",
            ending: ".gpkg",
            args: &[],
            t_srs: None,
            sidecars: true,
            loses: Loses::default(),
        },
        Case {
            name: "GeoPackage in CGCS2000 3° GK CM 117E",
            driver: "GPKG",
            ending: ".gpkg",
            args: &[],
            t_srs: Some(4548),
            sidecars: true,
            loses: Loses::default(),
        },
        Case {
            name: "FlatGeobuf in CGCS2000 3° GK zone 39",
            driver: "FlatGeobuf",
            ending: ".fgb",
            args: &[],
            t_srs: Some(4527),
            sidecars: false,
            loses: Loses {
                lists: true,
                ..Loses::default()
            },
        },
        Case {
            name: "CSV with WKT and .csvt, in UTM 50N (.prj)",
            driver: "CSV",
            ending: ".csv",
            args: CSV_WKT,
            t_srs: Some(32650),
            sidecars: true,
            loses: Loses::default(),
        },
        Case {
            name: "Excel with a WKT column",
            driver: "XLSX",
            ending: ".xlsx",
            args: &[],
            t_srs: None,
            sidecars: true,
            loses: Loses::default(),
        },
        Case {
            name: "KML",
            driver: "KML",
            ending: ".kml",
            args: &[],
            t_srs: None,
            sidecars: false,
            loses: Loses {
                booleans: true,
                ..Loses::default()
            },
        },
        Case {
            name: "Shapefile in GBK, CGCS2000 6° GK zone 19",
            driver: "ESRI Shapefile",
            ending: ".shp",
            args: GBK_SHAPEFILE,
            t_srs: Some(4497),
            sidecars: false,
            loses: dbf,
        },
    ];
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        convert(case, dir.path());
        serve_and_compare(dir.path(), case.loses, case.name).await;
    }
}

/// The GBK Shapefiles zipped (what a planner e-mails), without their `.cpg`: the sidecar's
/// `"encoding"` says GBK. Without it, the GBK bytes are refused as UTF-8, by record and column.
#[tokio::test]
async fn zipped_gbk_shapefiles_load_with_the_encoding_the_sidecar_names() {
    let case = Case {
        name: "zipped Shapefile",
        driver: "ESRI Shapefile",
        ending: ".shp",
        args: GBK_SHAPEFILE,
        t_srs: Some(4548),
        sidecars: false,
        loses: Loses::default(),
    };
    let loose = tempfile::tempdir().unwrap();
    convert(&case, loose.path());
    let dir = tempfile::tempdir().unwrap();
    copy_sidecars(dir.path(), false);
    for stem in shipped_layers() {
        let file = std::fs::File::create(dir.path().join(format!("{stem}.zip"))).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        for ending in ["shp", "shx", "dbf", "prj"] {
            let part = loose.path().join(format!("{stem}.{ending}"));
            zip.start_file(
                format!("{stem}/{stem}.{ending}"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(&mut zip, &std::fs::read(part).unwrap()).unwrap();
        }
        zip.finish().unwrap();
    }
    let refused = etown_atlas::ingest::load(
        etown_atlas::ingest::read_dir(dir.path()).unwrap(),
        "test",
        etown_atlas::ingest::LoadOptions::default(),
    )
    .err()
    .expect("GBK read as UTF-8 is refused")
    .to_string();
    assert!(
        refused.contains(".zip")
            && refused.contains("not valid UTF-8")
            && refused.contains("GBK")
            && refused.contains("column"),
        "{refused}"
    );
    for stem in shipped_layers() {
        std::fs::write(
            dir.path().join(format!("{stem}.meta.json")),
            r#"{"encoding": "GBK"}"#,
        )
        .unwrap();
    }
    let dbf = Loses {
        booleans: true,
        lists: true,
        long_names: true,
    };
    serve_and_compare(dir.path(), dbf, "zipped Shapefile, GBK by the sidecar").await;
}

/// Every shipped layer as a table of one GeoPackage, each named by its table, in CGCS2000
/// Gauss-Krüger: sidecars apply by table name.
#[tokio::test]
async fn one_geopackage_of_many_tables_serves_each_table_by_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("etown.gpkg");
    for (i, stem) in shipped_layers().iter().enumerate() {
        let src = geodata_dir().join(format!("{stem}.geojson"));
        let mut args = vec![
            "-oo",
            "ARRAY_AS_STRING=YES",
            "-f",
            "GPKG",
            "-t_srs",
            "EPSG:4548",
            "-nln",
            stem,
        ];
        if i > 0 {
            args.push("-update");
        }
        args.extend([gpkg.to_str().unwrap(), src.to_str().unwrap()]);
        ogr2ogr(&args);
    }
    copy_sidecars(dir.path(), true);
    serve_and_compare(dir.path(), Loses::default(), "one GeoPackage").await;
    let collections = get(
        &etown_atlas::http::app(state_for(
            dir.path(),
            etown_atlas::ingest::LoadOptions::default(),
        )),
        "/collections/spatial-carriers",
    )
    .await
    .json();
    assert!(
        collections["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty() && t != "spatial-carriers"),
        "the sidecar's title: {collections}"
    );
}

fn refusal(dir: &Path) -> String {
    etown_atlas::ingest::load(
        etown_atlas::ingest::read_dir(dir).unwrap(),
        "test",
        etown_atlas::ingest::LoadOptions::default(),
    )
    .err()
    .expect("refused")
    .to_string()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// An office's sheet saved as CSV from a Chinese Excel: GBK, Chinese column names, slashed
/// dates, TRUE/FALSE. Served typed as GeoJSON's would be, with the values the text says.
#[tokio::test]
async fn an_office_csv_in_gbk_with_chinese_columns_is_served_typed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,名称,经度,纬度,面积,交付日期,在租\r\n\
                7,亦庄一号楼,116.5,39.79,3000,2025/3/31,TRUE\r\n\
                9,亦庄二号楼,116.51,39.8,4500.5,2026-01-01,FALSE\r\n";
    std::fs::write(dir.path().join("楼宇.csv"), gbk(text)).unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("楼宇.csv") && e.contains("layer id"),
        "a layer id must be URL-safe: {e}"
    );
    std::fs::rename(
        dir.path().join("楼宇.csv"),
        dir.path().join("buildings.csv"),
    )
    .unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("buildings.csv")
            && e.contains("line 1")
            && e.contains("GBK")
            && e.contains("编码"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("buildings.meta.json"),
        r#"{"encoding": "GBK"}"#,
    )
    .unwrap();
    let app = etown_atlas::http::app(state_for(
        dir.path(),
        etown_atlas::ingest::LoadOptions::default(),
    ));
    let doc = get(&app, "/collections/buildings/items").await.json();
    let f = &doc["features"];
    assert_eq!(f[0]["id"], 7);
    assert_eq!(
        f[0]["geometry"]["coordinates"],
        serde_json::json!([116.5, 39.79])
    );
    assert_eq!(f[0]["properties"]["名称"], "亦庄一号楼");
    assert_eq!(f[0]["properties"]["面积"], 3000.0);
    assert_eq!(f[1]["properties"]["面积"], 4500.5);
    assert_eq!(f[0]["properties"]["交付日期"], "2025-03-31");
    assert_eq!(f[1]["properties"]["在租"], false);
    let q = get(&app, "/collections/buildings/queryables").await.json();
    assert_eq!(q["properties"]["交付日期"]["format"], "date", "{q}");
}

/// Every refusal of a file names the file, the row or record, the column and the reason, in
/// English and Chinese.
#[test]
fn a_file_that_cannot_be_served_as_it_is_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sites.csv");
    std::fs::write(&csv, "id,name,lon,lat\n1,A,116.5,39.79\n2,B,,39.8\n").unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("sites.csv")
            && e.contains("row 3, column \"lon\": empty coordinate")
            && e.contains("第 3 行“lon”列：坐标为空"),
        "{e}"
    );
    std::fs::write(&csv, "id,name,x,y\n1,A,116.5,39.79\n").unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("sites.csv") && e.contains("经度") && e.contains("wkt"),
        "{e}"
    );
    std::fs::write(
        &csv,
        "id,name,wkt\n1,A,POINT(116.5 39.79)\n2,B,\"POLYGON((1 2,3\"\n",
    )
    .unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("row 3, column \"wkt\": not WKT") && e.contains("不是有效的 WKT"),
        "{e}"
    );
    std::fs::write(&csv, "id,name,lon,lat\n1,A,116.5,39.79\n").unwrap();
    std::fs::write(
        dir.path().join("sites.meta.json"),
        r#"{"encoding": "latin1"}"#,
    )
    .unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("sites.csv") && e.contains("\"latin1\"") && e.contains("不受支持"),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("sites.meta.json")).unwrap();
    std::fs::remove_file(&csv).unwrap();
    // An encoding for a format whose text is UTF-8 by definition is not silently ignored.
    let kml = dir.path().join("zone.kml");
    ogr2ogr(&[
        "-f",
        "KML",
        kml.to_str().unwrap(),
        geodata_dir().join("bonded-zone.geojson").to_str().unwrap(),
    ]);
    std::fs::write(dir.path().join("zone.meta.json"), r#"{"encoding": "GBK"}"#).unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("zone.kml") && e.contains("Shapefiles and CSV only"),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("zone.meta.json")).unwrap();
    std::fs::remove_file(&kml).unwrap();

    // A FlatGeobuf cut short (a copy that did not finish): its last feature runs past the end.
    let fgb = dir.path().join("zone.fgb");
    ogr2ogr(&[
        "-f",
        "FlatGeobuf",
        fgb.to_str().unwrap(),
        geodata_dir().join("bonded-zone.geojson").to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&fgb).unwrap();
    std::fs::write(&fgb, &bytes[..bytes.len() - 10]).unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("zone.fgb") && e.contains("runs past the end of the file"),
        "{e}"
    );
    std::fs::remove_file(&fgb).unwrap();
    // A Shapefile in Beijing 1954 (not a system the server transforms): named from its .prj.
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:4214",
        dir.path().join("parks.shp").to_str().unwrap(),
        geodata_dir().join("parks.geojson").to_str().unwrap(),
    ]);
    let e = refusal(dir.path());
    assert!(
        e.contains("parks.shp") && e.contains("Beijing") && e.contains("无法转换坐标系"),
        "{e}"
    );
    // A .cpg and a sidecar that disagree.
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-overwrite",
        "-lco",
        "ENCODING=GBK",
        dir.path().join("parks.shp").to_str().unwrap(),
        geodata_dir().join("parks.geojson").to_str().unwrap(),
    ]);
    std::fs::write(
        dir.path().join("parks.meta.json"),
        r#"{"encoding": "UTF-8"}"#,
    )
    .unwrap();
    let e = refusal(dir.path());
    assert!(
        e.contains("parks.shp") && e.contains(".cpg says GBK but the sidecar says UTF-8"),
        "{e}"
    );
}

/// `init` writes a sidecar a person can start from for every layer without one, which loads
/// as it is: the display property from the name columns, a vocabulary of the statuses the
/// data holds, filters that fit the types. A second run, and a layer that has a sidecar, are
/// left alone.
#[test]
fn init_writes_a_starting_sidecar_that_loads_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT AsText(geometry) AS wkt, * FROM \"spatial-carriers\"";
    ogr2ogr(&[
        "-oo",
        "ARRAY_AS_STRING=YES",
        "-f",
        "XLSX",
        "-dialect",
        "SQLite",
        "-sql",
        sql,
        dir.path().join("carriers.xlsx").to_str().unwrap(),
        geodata_dir()
            .join("spatial-carriers.geojson")
            .to_str()
            .unwrap(),
    ]);
    ogr2ogr(&[
        "-f",
        "GPKG",
        dir.path().join("parks.gpkg").to_str().unwrap(),
        geodata_dir().join("parks.geojson").to_str().unwrap(),
    ]);
    let kept = r#"{"title": {"zh": "园区", "en": "Parks"}}"#;
    std::fs::write(dir.path().join("parks.meta.json"), kept).unwrap();
    let run = |cmd: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
            .arg(cmd)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run("init");
    assert!(
        said.contains("carriers.meta.json") && said.contains("kept"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("parks.meta.json")).unwrap(),
        kept
    );
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("carriers.meta.json")).unwrap())
            .unwrap();
    assert_eq!(
        meta["display_property"],
        serde_json::json!({"zh": "name_zh", "en": "name_en"})
    );
    assert_eq!(meta["fields"]["available_floor_area_m2"]["filter"], "range");
    assert_eq!(meta["fields"]["schematic"]["filter"], "flag");
    assert_eq!(meta["fields"]["delivery_date"]["filter"], "range");
    let stem = meta["vocabularies"]["status"]
        .as_str()
        .expect("status is a category");
    let vocab: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("{stem}.vocab.json"))).unwrap(),
    )
    .unwrap();
    let mut terms: Vec<&str> = vocab["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let mut statuses: Vec<String> = file_features(&geodata_dir().join("spatial-carriers.geojson"))
        .iter()
        .map(|f| f["properties"]["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort();
    statuses.dedup();
    terms.sort();
    assert_eq!(terms, statuses);
    assert!(vocab["terms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["color"].as_str().is_some_and(|c| c.len() == 7)));
    assert!(
        meta["vocabularies"].get("name_zh").is_none(),
        "names are not categories"
    );
    let before = std::fs::read(dir.path().join("carriers.meta.json")).unwrap();
    let again = run("init");
    assert!(!again.contains("wrote"), "{again}");
    assert_eq!(
        std::fs::read(dir.path().join("carriers.meta.json")).unwrap(),
        before
    );
    let valid = run("validate");
    assert!(
        valid.contains("carriers") && valid.contains("58 features"),
        "{valid}"
    );
}
