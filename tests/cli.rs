//! The command line: `validate` and `serve` refuse broken data with a message naming the file,
//! the feature and the reason, and exit non-zero.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_etown-atlas");

fn assert_names_the_broken_feature(stderr: &str) {
    assert!(
        stderr.contains("unclosed-ring.geojson"),
        "file not named: {stderr}"
    );
    assert!(stderr.contains("\"b-2\""), "feature not named: {stderr}");
    assert!(
        stderr.contains("index 1"),
        "feature index not named: {stderr}"
    );
    assert!(stderr.contains("not closed"), "reason not given: {stderr}");
}

#[test]
fn validate_refuses_a_broken_file_naming_file_and_feature() {
    let out = Command::new(BIN)
        .args(["validate"])
        .arg(fixture_dir("broken"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_names_the_broken_feature(&String::from_utf8_lossy(&out.stderr));
}

#[test]
fn serve_refuses_a_broken_file_and_never_listens() {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(fixture_dir("broken"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_names_the_broken_feature(&stderr);
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[test]
fn validate_accepts_every_shipped_layer() {
    let out = Command::new(BIN)
        .arg("validate")
        .arg(geodata_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in [
        "ftz-etown-cluster",
        "data-pilot-zone",
        "bonded-zone",
        "spatial-carriers",
        "parks",
        "new-town",
    ] {
        assert!(stdout.contains(id), "{stdout}");
    }
    // With no directory, the embedded copy is validated, and it is the same data.
    let embedded = Command::new(BIN).arg("validate").output().unwrap();
    assert!(embedded.status.success());
    assert_eq!(String::from_utf8_lossy(&embedded.stdout), stdout);
}

#[test]
fn invalid_geometry_is_refused_unless_explicitly_accepted() {
    let dir = std::env::temp_dir().join(format!("etown-atlas-bowtie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bowtie.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","properties":{},
           "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}"#,
    )
    .unwrap();
    let strict = Command::new(BIN)
        .arg("validate")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!strict.status.success());
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert!(
        stderr.contains("bowtie.geojson")
            && stderr.contains("\"x\"")
            && stderr.contains("invalid geometry"),
        "{stderr}"
    );
    let lenient = Command::new(BIN)
        .args(["validate", "--accept-invalid-geometry"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        lenient.status.success(),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it says it is listening.
    let mut stderr = child.stderr.take().unwrap();
    let mut log = String::new();
    let mut buf = [0u8; 4096];
    while !log.contains("listening") {
        let n = std::io::Read::read(&mut stderr, &mut buf).unwrap();
        assert!(n > 0, "server exited early: {log}");
        log.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            waited < Duration::from_secs(30),
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(exit.success(), "exit status {exit:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("shutdown signal received"), "{rest}");
}

#[test]
fn export_writes_the_same_files_without_a_server() {
    let dir = std::env::temp_dir().join(format!("etown-atlas-cli-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gpkg = dir.join("health.gpkg");
    let out = Command::new(BIN)
        .args([
            "export",
            "--collection",
            "spatial-carriers",
            "--format",
            "gpkg",
            "--filter",
            "industry = 'future_health'",
            "--out",
        ])
        .arg(&gpkg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = file_features(&geodata_dir().join("spatial-carriers.geojson"))
        .iter()
        .filter(|f| f["properties"]["industry"] == "future_health")
        .count();
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(&gpkg)
        .arg("spatial-carriers")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains(&format!("Feature Count: {expected}")));

    // An area, clipped, as GeoJSON with a layer property.
    let area = dir.join("area.geojson");
    std::fs::write(&area, r#"{"type":"Polygon","coordinates":[[[116.50,39.76],[116.53,39.76],[116.53,39.80],[116.50,39.80],[116.50,39.76]]]}"#).unwrap();
    let geojson = dir.join("area-out.geojson");
    let out = Command::new(BIN)
        .args([
            "export",
            "--collection",
            "spatial-carriers",
            "--collection",
            "parks",
            "--clip",
            "--area",
        ])
        .arg(&area)
        .arg("--out")
        .arg(&geojson)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    let feats = doc["features"].as_array().unwrap();
    assert!(
        feats.iter().any(|f| f["properties"]["layer"] == "parks")
            && feats
                .iter()
                .any(|f| f["properties"]["layer"] == "spatial-carriers")
    );
    let bad = Command::new(BIN)
        .args([
            "export",
            "--collection",
            "spatial-carriers",
            "--format",
            "xls",
            "--out",
        ])
        .arg(dir.join("x"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
