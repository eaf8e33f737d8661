//! Server settings. Each has a default that suits the shipped data on a workstation; the command
//! line (and the `ETOWN_ATLAS_*` environment variables named in `main.rs`) override them.

use std::time::Duration;

/// Settings the HTTP layer reads. Read once at start, never per request.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Base URL written into links (`https://atlas.example.gov.cn/`). Default: none, and links are
    /// built from the request's `Host` header, which is right unless a proxy rewrites it.
    pub public_url: Option<String>,
    /// Longest a request may run before it is answered 503. Default 30 s: long enough for a
    /// whole-layer export, short enough that a stuck client cannot pin a worker.
    pub request_timeout: Duration,
    /// Largest request body accepted (413 above it). Default 4 MiB: a drawn polygon of tens of
    /// thousands of vertices fits; nothing legitimate is bigger.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}
