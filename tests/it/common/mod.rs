//! Shared test helpers: build the app on a fixture directory or the shipped data, call it
//! in-process, or serve it on a real loopback socket.
#![allow(dead_code)]

pub mod postgres;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::WorkHook;
use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, LoadOptions};
use etown_atlas::store::MemoryStore;
use etown_atlas::{app, AppState};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fixtures")
        .join(name)
}

pub fn geodata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata")
}

pub fn catalog_for(dir: &Path, options: LoadOptions) -> Catalog {
    ingest::load(
        ingest::read_dir(dir).unwrap(),
        &dir.display().to_string(),
        options,
    )
    .unwrap()
}

/// The shipped geodata, as the binary embeds it.
pub fn shipped_catalog() -> Catalog {
    ingest::load(ingest::embedded_files(), "embedded", LoadOptions::default()).unwrap()
}

pub fn state_for(dir: &Path, options: LoadOptions) -> AppState {
    AppState::new(
        Arc::new(MemoryStore::new(catalog_for(dir, options))),
        ServerConfig::default(),
    )
}

/// The shipped data with `config`, and `hook` run inside every computation (to slow it or
/// count it).
pub fn shipped_app_with(config: ServerConfig, hook: Option<WorkHook>) -> Router {
    app(AppState::with_work_hook(
        Arc::new(MemoryStore::new(shipped_catalog())),
        config,
        hook,
    ))
}

/// The app on a fixture directory under tests/fixtures.
pub fn fixture_app(name: &str) -> Router {
    app(state_for(&fixture_dir(name), LoadOptions::default()))
}

/// The app on the data embedded in the binary (the shipped geodata).
pub fn shipped_app() -> Router {
    shipped_app_with(ServerConfig::default(), None)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// Asserts a 4xx/5xx problem+json with the given status and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        let body: String = String::from_utf8_lossy(&self.bytes)
            .chars()
            .take(400)
            .collect();
        assert_eq!(self.status.as_u16(), status, "body: {body}");
        assert_eq!(self.content_type(), "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["code"].as_str().is_some_and(|c| !c.is_empty()));
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
        p
    }
}

pub async fn request(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        bytes,
    }
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    request(
        app,
        Request::get(uri)
            .header("host", "atlas.test")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A GET of `uri` with `headers`, as a client on host `atlas.test` sends it.
pub fn get_with(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(uri).header("host", "atlas.test");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).unwrap()
}

/// A gzip body, decoded.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut decoded).unwrap();
    decoded
}

/// Serves the app on 127.0.0.1 with an OS-chosen port; the server lives as long as the runtime.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The features of a GeoJSON file, read with serde_json only (independent of the server).
pub fn file_features(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

/// The ellipsoidal (WGS84) area of a lon/lat ring in m², by the cylindrical equal-area
/// projection, which preserves area exactly: independent of the server's geographiclib.
pub fn cea_area_m2(ring: &[(f64, f64)]) -> f64 {
    let (a, f): (f64, f64) = (6_378_137.0, 1.0 / 298.257_223_563);
    let e2 = f * (2.0 - f);
    let e = e2.sqrt();
    let q = |lat: f64| {
        let s = lat.to_radians().sin();
        (1.0 - e2)
            * (s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * ((1.0 - e * s) / (1.0 + e * s)).ln())
    };
    let p: Vec<(f64, f64)> = ring
        .iter()
        .map(|&(x, y)| (a * x.to_radians(), a * q(y) / 2.0))
        .collect();
    (p.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum::<f64>()
        / 2.0)
        .abs()
}

/// The Python that runs the real Python clients (OWSLib): `$ETOWN_ATLAS_PYTHON`, else the venv
/// in `target/venv`, made by `scripts/venv.sh` (once per test run) if it is missing or stale.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ETOWN_ATLAS_PYTHON") {
        return PathBuf::from(p);
    }
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new("bash")
            .arg(root.join("scripts/venv.sh"))
            .status()
            .expect("bash runs scripts/venv.sh");
        assert!(
            status.success(),
            "scripts/venv.sh could not make target/venv (it needs python3-venv and PyPI)"
        );
        root.join("target/venv/bin/python3")
    })
    .clone()
}

/// Serves the app on 127.0.0.1 through the server's own connection handling (timeouts, the
/// connection cap), as `etown-atlas serve` does.
pub async fn serve_bounded(
    app: Router,
    limits: etown_atlas::http::server::ConnectionLimits,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(etown_atlas::http::server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    addr
}

/// The connection limits of a default server.
pub fn default_limits() -> etown_atlas::http::server::ConnectionLimits {
    let c = ServerConfig::default();
    etown_atlas::http::server::ConnectionLimits {
        max_connections: c.max_connections,
        max_connections_per_address: c.max_connections_per_address,
        header_read_timeout: c.header_read_timeout,
        write_timeout: c.write_timeout,
        shutdown_grace: c.shutdown_grace,
    }
}

/// Sends raw bytes on a new connection and reads until the server closes it (or `wait` passes).
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], wait: std::time::Duration) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    out
}

/// A temporary directory of `n` synthetic carriers (with their sidecar and vocabularies).
pub fn synth_dir(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    etown_atlas::synth::write_dir(dir.path(), n, 1).unwrap();
    dir
}

/// The app on `n` synthetic carriers with `config` (and a work hook).
pub fn synth_app(
    n: usize,
    config: ServerConfig,
    hook: Option<WorkHook>,
) -> (Router, tempfile::TempDir) {
    let dir = synth_dir(n);
    let catalog = catalog_for(dir.path(), LoadOptions::default());
    let app = app(AppState::with_work_hook(
        Arc::new(MemoryStore::new(catalog)),
        config,
        hook,
    ));
    (app, dir)
}

/// A POST with a JSON body.
pub fn post_json(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("host", "atlas.test")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

/// Every layer's features as the API would serve them (ids, geometries, properties), its fields
/// and extent: what must not differ between two ways of loading the same data.
pub fn served(catalog: &Catalog) -> Vec<String> {
    catalog
        .layers()
        .iter()
        .map(|l| {
            let features: Vec<String> = l
                .live_slots()
                .map(|s| {
                    let f = l.feature(s, None);
                    format!("{:?} {:?} {:?}", f.id, f.geometry, f.properties)
                })
                .collect();
            format!(
                "{} {:?} {:?} {}",
                l.id,
                l.fields,
                l.extent,
                features.join("\n")
            )
        })
        .collect()
}

/// Starts the binary's server on a free loopback port with `args` after `serve --listen`;
/// returns it with its address once it says it listens (its stderr stays piped).
pub fn spawn_server(args: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_etown-atlas"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut log = String::new();
    let mut buf = [0u8; 4096];
    let addr = loop {
        if let Some(rest) = log.split("the map is at http://").nth(1) {
            if let Some(addr) = rest.split('/').next().filter(|_| rest.contains('/')) {
                break addr.to_owned();
            }
        }
        let n = std::io::Read::read(&mut stderr, &mut buf).unwrap();
        assert!(n > 0, "server exited early: {log}");
        log.push_str(&String::from_utf8_lossy(&buf[..n]));
    };
    child.stderr = Some(stderr);
    (child, addr)
}

/// The Web Mercator tile `(z, x, y)` holding a longitude and latitude (computed here, from the
/// projection's formula, not by the server's tile code).
pub fn tile_of(z: u32, lon: f64, lat: f64) -> (u32, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0;
    let s = lat.to_radians().sin();
    let y = 0.5 - ((1.0 + s) / (1.0 - s)).ln() / (4.0 * std::f64::consts::PI);
    (z, (x * n) as u32, (y * n) as u32)
}

/// An editor's token named `name`, made through `store`'s writer (either backend).
pub fn editor_token(store: &etown_atlas::store::JournaledStore, name: &str) -> String {
    let new = etown_atlas::record::NewToken {
        name: name.into(),
        role: "editor".into(),
        collections: None,
        scopes: Default::default(),
        expires_at: None,
    };
    store
        .with_tokens(move |book| {
            etown_atlas::record::tokens::create(book, &new, "2026-12-07T00:00:00Z")
        })
        .unwrap()
        .0
}
