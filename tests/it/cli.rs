//! The command line: `validate` and `serve` refuse broken data with a message naming the file,
//! the feature and the reason, and exit non-zero.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

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

/// The settings file's `[store]` section is checked against the same bounds as the flags, and
/// a value out of them stops `serve` at once, naming its key, before any connection is tried;
/// a flag given for the same setting wins over the file.
#[test]
fn serve_names_a_store_setting_out_of_bounds_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("atlas.toml");
    std::fs::write(&config, "[store]\npool = 0\n").unwrap();
    // Port 1 on loopback: nothing listens there, so a connection attempt would fail differently.
    let store = "postgres://nobody@127.0.0.1:1/none";
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store,
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("store.pool = 0"), "{stderr}");
    assert!(stderr.contains("1 to 256"), "{stderr}");
    // With the flag, the file's value is not used: the server goes on to connect, and fails there.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store,
            "--store-pool",
            "2",
            "--store-connect-timeout-ms",
            "500",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("store.pool"), "{stderr}");
    assert!(
        stderr.contains("127.0.0.1"),
        "the failure names where it tried to connect: {stderr}"
    );
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
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("bowtie.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","properties":{},
           "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}"#,
    )
    .unwrap();
    let strict = Command::new(BIN).arg("validate").arg(dir).output().unwrap();
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
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        lenient.status.success(),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
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
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
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

    // A self-intersecting area (a bow tie) is refused as the HTTP area export refuses it, and
    // no file is written.
    let bowtie = dir.join("bowtie.geojson");
    std::fs::write(&bowtie, r#"{"type":"Polygon","coordinates":[[[116.50,39.76],[116.53,39.80],[116.53,39.76],[116.50,39.80],[116.50,39.76]]]}"#).unwrap();
    let refused = dir.join("bowtie-out.geojson");
    let out = Command::new(BIN)
        .args(["export", "--collection", "parks", "--area"])
        .arg(&bowtie)
        .arg("--out")
        .arg(&refused)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("invalid polygon"), "{stderr}");
    assert!(stderr.contains("bowtie.geojson"), "{stderr}");
    assert!(!refused.exists());
}

/// A server on `data` with `config` (TOML), its address read from its log.
fn start_server(data: &std::path::Path, config: &std::path::Path) -> (std::process::Child, String) {
    crate::common::spawn_server(&[
        "--data".as_ref(),
        data.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ])
}

/// Reads an HTTP/1.1 chunked response to its end: the body, and whether it ended with the
/// last-chunk marker (a complete transfer) rather than a closed or reset connection.
fn read_chunked_body(reader: &mut impl std::io::BufRead) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        match reader.read_line(&mut size_line) {
            Ok(0) | Err(_) => return (body, false),
            Ok(_) => {}
        }
        let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else {
            return (body, false);
        };
        if size == 0 {
            let mut end = String::new();
            let complete = reader.read_line(&mut end).is_ok() && end == "\r\n";
            return (body, complete);
        }
        let mut chunk = vec![0u8; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return (body, false);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Sends an export request and reads its status line and headers.
fn start_export(addr: &str) -> std::io::BufReader<std::net::TcpStream> {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /collections/spatial-carriers/export?f=geojson HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    reader
}

fn sigterm_and_wait(child: &mut std::process::Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut rest).unwrap();
    rest
}

/// 40,000 synthetic carriers make a GeoJSON download of about 22 MB: several times what the
/// loopback socket buffers hold, so a client that stops reading keeps the export running.
fn big_export_setup(grace_s: u64) -> (tempfile::TempDir, std::process::Child, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = Command::new(BIN)
        .args(["synth", "--count", "40000", "--out"])
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("atlas.toml");
    std::fs::write(&config, format!("shutdown_grace_s = {grace_s}\n")).unwrap();
    let (child, addr) = start_server(&dir.join("data"), &config);
    (tmp, child, addr)
}

#[test]
fn sigterm_during_an_export_that_outlives_the_grace_period_cuts_it_visibly() {
    let (dir, mut child, addr) = big_export_setup(1);
    let mut reader = start_export(&addr);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first).unwrap(); // the first chunk's size
                                                                   // The client stops reading, so the export cannot finish within the 1 s grace period.
    let log = sigterm_and_wait(&mut child);
    assert!(log.contains("cutting their connections"), "{log}");
    let (body, complete) = read_chunked_body(&mut reader);
    assert!(!complete, "a cut download must not end like a complete one");
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_err(),
        "the truncated body must not parse as a whole GeoJSON document"
    );
    drop(dir);
}

#[test]
fn sigterm_during_an_export_within_the_grace_period_lets_it_finish() {
    let (dir, mut child, addr) = big_export_setup(120);
    let mut reader = start_export(&addr);
    let kill = {
        let pid = child.id().to_string();
        std::thread::spawn(move || Command::new("kill").args(["-TERM", &pid]).status().unwrap())
    };
    let (body, complete) = read_chunked_body(&mut reader);
    assert!(kill.join().unwrap().success());
    assert!(complete, "the drained download ends with the last chunk");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), 40_000);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    drop(dir);
}
