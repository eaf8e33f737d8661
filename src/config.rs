//! Server settings. Each has a default that suits the shipped data on a workstation; a TOML file
//! (`--config`), the command line and the `ETOWN_ATLAS_*` environment variables (listed in
//! `main.rs`) override them. Read once at start, never per request.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Localized;

/// Settings the HTTP layer reads.
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
    /// What the web map shows besides the data: basemaps (none by default), the map review
    /// number and the attribution line.
    pub map: MapConfig,
    /// Origins allowed to call the API from other sites' pages (CORS). Default: none, so
    /// browsers only let the server's own page read its answers.
    pub cors_origins: Vec<String>,
    /// Longest request URL (path and query) accepted; 414 above it. Default 16 KiB: every GET
    /// filter a person writes fits, and drawn polygons go by POST.
    pub max_uri_bytes: usize,
    /// Expensive requests (downloads, statistics) allowed at once; past it the answer is 503
    /// with Retry-After instead of a pile-up. Default 4, twice the cores of the reference machine.
    pub max_concurrent_heavy: usize,
    /// Computed answers (pages, searches, nearest, statistics, tiles) running at once; the rest
    /// wait in line. Default 16: eight per core of the reference machine, enough to keep both
    /// cores busy while some wait on slow clients, few enough that each gets its share.
    pub max_concurrent_queries: usize,
    /// How long a request waits for a free slot (computed or expensive) before the 503. Default
    /// 2 s: a burst of map users queues briefly instead of failing; a sustained overload is
    /// still turned away rather than piling up.
    pub queue_wait: Duration,
    /// Open connections at once; one more is answered 503 and closed at once. Default 1,024:
    /// far more than the browsers of an office, far fewer than the process's file descriptors.
    pub max_connections: usize,
    /// Open connections at once from one client address; one more is refused as above. Default
    /// 256, a quarter of `max_connections`, so one client cannot take every connection. Behind
    /// a reverse proxy every connection comes from the proxy: raise it to `max_connections`.
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request's headers, and how long an idle keep-alive
    /// connection stays open. Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a response may wait for the client to read before the connection is cut, so a
    /// client that never reads cannot hold a slot. Default 30 s.
    pub write_timeout: Duration,
    /// Memory for compiled filters (see `query::FilterCache`). Default 16 MiB.
    pub filter_cache_bytes: u64,
    /// Queries whose `numberMatched` is kept per data version, so later pages of the same
    /// query do not count again (see `query::CountCache`). Default 4,096 (about 300 KiB); 0
    /// turns it off.
    pub count_cache_entries: usize,
    /// Memory for built vector tiles (see `http::tile_cache`). Default 64 MiB; 0 turns it off.
    pub tile_cache_bytes: u64,
    /// Collections with more features than this are drawn by the web map from vector tiles,
    /// the others as GeoJSON (the collection description says which). Default 20,000.
    pub tiles_above: usize,
    /// Reads need a token too (default false: reads are anonymous, writes need a token).
    pub require_token_for_reads: bool,
    /// Single sign-on: bearer JWTs of an OpenID Connect server (see `oidc`); default none.
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
    /// Days after which the web map marks a feature's figures as stale (default 90).
    pub stale_after_days: u32,
    /// Longest a download may take to write, clipping included; past it the transfer is cut
    /// (visibly: no last chunk, or a short body against its length). Default 600 s: a million
    /// carriers as GeoJSON take under a minute on the reference machine.
    pub download_timeout: Duration,
    /// After SIGTERM, how long in-flight requests may run on before their connections are cut.
    /// Default 10 s: a page or a statistic finishes; a download still streaming is aborted, and
    /// its client sees a broken transfer, never a short file that looks complete.
    pub shutdown_grace: Duration,
    /// Memory for whole answers kept for the next identical request (see `http::response_cache`).
    /// Default 64 MiB: a few thousand items pages. Zero turns the cache off.
    pub response_cache_bytes: u64,
}

impl ServerConfig {
    /// The Content-Security-Policy of every response: the server's own origin only, plus the
    /// hosts of configured basemaps for tiles. Inline styles are allowed (MapLibre positions
    /// its elements with them); inline scripts, eval and plugins are not.
    pub fn content_security_policy(&self) -> String {
        let basemap_origins: Vec<String> = self
            .map
            .basemaps
            .iter()
            .filter_map(Basemap::origin)
            .collect();
        let extra = if basemap_origins.is_empty() {
            String::new()
        } else {
            format!(" {}", basemap_origins.join(" "))
        };
        // The web map trades a sign-in's code for a token at the identity server itself.
        let sso = self
            .oidc
            .as_ref()
            .filter(|o| o.config.client_id.is_some())
            .and_then(|o| crate::oidc::origin(&o.config.issuer))
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{extra}; \
             connect-src 'self'{extra}{sso}; worker-src 'self' blob:; child-src 'self' blob:; font-src 'self'; object-src 'none'; \
             base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
        )
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 4 * 1024 * 1024,
            map: MapConfig::default(),
            cors_origins: Vec::new(),
            max_uri_bytes: 16 * 1024,
            max_concurrent_heavy: 4,
            max_concurrent_queries: 16,
            queue_wait: Duration::from_secs(2),
            max_connections: 1024,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            filter_cache_bytes: 16 * 1024 * 1024,
            count_cache_entries: 4096,
            download_timeout: Duration::from_secs(600),
            tile_cache_bytes: 64 * 1024 * 1024,
            tiles_above: 20_000,
            require_token_for_reads: false,
            oidc: None,
            stale_after_days: 90,
            shutdown_grace: Duration::from_secs(10),
            response_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The web map's settings, served at `/map-config`. The default has no basemap, so the page asks
/// no host but its own server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    /// Online basemaps the user may switch on. Each names its host, so nothing reaches out unless
    /// an administrator wrote it here.
    #[serde(default)]
    pub basemaps: Vec<Basemap>,
    /// The map review number (审图号) printed on the map, when the published map has one.
    pub review_number: Option<String>,
    /// An attribution line for the data, printed bottom-left beside the schematic notice.
    pub attribution: Option<String>,
    /// Whom a company asks about space: shown in a feature's details and on a shortlist's
    /// printed dossier.
    pub contact: Option<Contact>,
}

/// The investment-promotion office's inquiry contact, in both languages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The office's name, `{ zh = "…", en = "…" }`.
    pub office: crate::model::Localized,
    /// A telephone number, as people dial it.
    pub phone: Option<String>,
    /// An e-mail address.
    pub email: Option<String>,
}

/// The datum a basemap's tiles are drawn in.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// WGS84, as OpenStreetMap; CGCS2000 (Tianditu) differs from it by centimetres, so it is the
    /// same here.
    #[default]
    Wgs84,
    Cgcs2000,
    /// The Chinese "Mars" datum of AMap (Gaode) and Tencent: the web map shifts the overlays into
    /// it so they line up.
    Gcj02,
}

/// One basemap: online raster XYZ tiles (`url`, opt-in: the page then asks that host), or a
/// local MBTiles file (`mbtiles`, raster or vector) that this server serves itself, so an
/// intranet with no internet still has roads and names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Basemap {
    /// Letters, digits, `-` and `_`; the basemap's URL path uses it.
    pub id: String,
    /// The name in the basemap switcher, `{ zh = "…", en = "…" }`.
    pub title: Localized,
    /// Tile URL template with `{z}`, `{x}`, `{y}`, and `{key}` where the provider needs a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A local MBTiles file, served at `/basemaps/{id}/{z}/{x}/{y}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbtiles: Option<std::path::PathBuf>,
    /// Substituted for `{key}` (a Tianditu browser key, say). It is visible to browsers, as such
    /// keys always are: restrict it by referrer at the provider.
    #[serde(default, skip_serializing)]
    pub key: Option<String>,
    /// The datum the tiles are drawn in: `wgs84` (also CGCS2000), `gcj02` or `bd09`; the
    /// overlays are shifted to line up (default `wgs84`).
    #[serde(default)]
    pub datum: Datum,
    /// Credit shown on the map; for MBTiles, the file's own attribution when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// Pixels of a tile's side (default 256).
    #[serde(default = "default_tile_size")]
    pub tile_size: u32,
    /// Shown when the page opens (the first such basemap).
    #[serde(default)]
    pub default: bool,
}

fn default_tile_size() -> u32 {
    256
}

impl Basemap {
    /// The URL template with the key filled in (online basemaps only).
    pub fn resolved_url(&self) -> Option<String> {
        let url = self.url.as_ref()?;
        Some(match &self.key {
            Some(k) => url.replace("{key}", k),
            None => url.clone(),
        })
    }

    /// The `scheme://host[:port]` the tiles come from, for the Content-Security-Policy (none
    /// for a local file).
    pub fn origin(&self) -> Option<String> {
        let (scheme, rest) = self.url.as_ref()?.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!("{scheme}://{host}"))
    }
}

/// The optional TOML file (`etown-atlas serve --config FILE`). Unknown keys are refused, so a
/// typo is an error at start, not a silently ignored setting.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The URL people reach the server at, behind a proxy (links and the OpenAPI document use it;
    /// default: the request's own host).
    pub public_url: Option<String>,
    /// Seconds (default 30).
    pub request_timeout_s: Option<u64>,
    /// Bytes (default 4 MiB).
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub map: MapConfig,
    /// Origins allowed by CORS, e.g. `["https://gis.example.gov.cn"]`.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Bytes of a request's path and query (default 16 KiB).
    pub max_uri_bytes: Option<usize>,
    /// Statistics and matching at once, and downloads at once in a pool of their own (default 4
    /// each).
    pub max_concurrent_heavy: Option<usize>,
    /// Computed answers at once: pages, searches, nearest, what's here (default 16).
    pub max_concurrent_queries: Option<usize>,
    /// Seconds (default 10).
    pub shutdown_grace_s: Option<u64>,
    /// Milliseconds a request waits for a free slot before the 503 (default 2000).
    pub heavy_queue_wait_ms: Option<u64>,
    /// MiB of answers kept for repeated requests (default 64; 0 turns the cache off).
    pub response_cache_mb: Option<u64>,
    /// MiB for compiled filters (default 16).
    pub filter_cache_mb: Option<u64>,
    /// Queries whose match count is kept for their later pages (default 4096; 0 turns it off).
    pub count_cache_entries: Option<usize>,
    /// Open connections at once (default 1024).
    pub max_connections: Option<usize>,
    /// Open connections from one client address (default 256; behind a reverse proxy, raise it
    /// to `max_connections`).
    pub max_connections_per_address: Option<usize>,
    /// Seconds to send the headers of a request, and to keep an idle connection (default 10).
    pub header_read_timeout_s: Option<u64>,
    /// Seconds a response may wait for a client that does not read (default 30).
    pub write_timeout_s: Option<u64>,
    /// Seconds a download may take to write (default 600).
    pub download_timeout_s: Option<u64>,
    /// MiB of built vector tiles kept (default 64; 0 turns the cache off).
    pub tile_cache_mb: Option<u64>,
    /// Features above which the web map draws a collection from tiles (default 20,000).
    pub tiles_above: Option<usize>,
    /// Reads need a token too (default false).
    pub require_token_for_reads: Option<bool>,
    /// Days after which the web map marks figures as stale (default 90).
    pub stale_after_days: Option<u32>,
    /// PostGIS tables of the store's database that the program did not create, served
    /// read-only beside its collections (with `serve --store`).
    #[serde(default)]
    pub postgis_tables: Vec<PostgisTable>,
    /// How the server uses its PostgreSQL (with `serve --store`).
    #[serde(default)]
    pub store: StoreFileConfig,
    /// Who may do what beyond API tokens: `[auth.oidc]`, single sign-on.
    #[serde(default)]
    pub auth: AuthFileConfig,
    /// Where changes are pushed: `[[notify.webhook]]` (default none).
    #[serde(default)]
    pub notify: crate::notify::NotifyConfig,
}

/// The `[auth]` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthFileConfig {
    /// Bearer JWTs of an OpenID Connect server (see `oidc::OidcConfig`).
    pub oidc: Option<crate::oidc::OidcConfig>,
}

/// The `[store]` section: how a server uses its PostgreSQL. A flag of `serve` (or its
/// `ETOWN_ATLAS_STORE_*` variable) overrides each; the bounds are the flags' own.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreFileConfig {
    /// Connections kept for reads of history, the change feed and tokens; the writer and the
    /// follower have one each besides (default 4; 1 to 256).
    pub pool: Option<u64>,
    /// The longest any statement may run, in milliseconds (default 10000; 100 to 600000).
    pub statement_timeout_ms: Option<u64>,
    /// The longest a connection attempt may take, in milliseconds (default 3000; 100 to 60000).
    pub connect_timeout_ms: Option<u64>,
    /// How often a replica asks for changes it was not notified of, in milliseconds (default
    /// 1000; 50 to 60000).
    pub poll_ms: Option<u64>,
    /// The longest wait between reconnection attempts, in milliseconds; it doubles up to this
    /// (default 10000; 100 to 600000).
    pub backoff_max_ms: Option<u64>,
    /// What a write refused while the store is unreachable tells its client to wait, in seconds
    /// (Retry-After; default 5; 1 to 3600).
    pub retry_after_s: Option<u64>,
}

/// One `[[postgis_tables]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgisTable {
    /// The collection id it is served as.
    pub collection: String,
    /// `schema.table`, or `table` (in `public`).
    pub table: String,
    /// The column that holds each feature's id.
    pub id_column: String,
    /// The PostGIS geometry column.
    pub geometry_column: String,
    /// The columns served as properties (and queryable); default: every other column.
    pub columns: Option<Vec<String>>,
    /// The collection's title, `{ zh = "…", en = "…" }` (default: the table's name).
    pub title: Option<Localized>,
    /// Edits of tables the program did not create are not supported yet: `true` is refused at
    /// start rather than ignored.
    #[serde(default)]
    pub editable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    Auth { path: String, reason: String },
    /// A `[[notify.webhook]]` that cannot be used.
    #[error("{path}: {reason}")]
    Notify { path: String, reason: String },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: basemap {id:?}: {reason}")]
    Basemap {
        path: String,
        id: String,
        reason: String,
    },
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        let mut cfg: FileConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: p.clone(),
            source: Box::new(source),
        })?;
        if let Some(o) = &cfg.auth.oidc {
            o.check().map_err(|reason| ConfigError::Auth {
                path: p.clone(),
                reason,
            })?;
        }
        for hook in &cfg.notify.webhook {
            hook.check().map_err(|reason| ConfigError::Notify {
                path: p.clone(),
                reason,
            })?;
        }
        // A relative MBTiles path is read from the config file's directory.
        let dir = path.parent().unwrap_or(Path::new("."));
        for b in &mut cfg.map.basemaps {
            if let Some(f) = &b.mbtiles {
                if f.is_relative() {
                    b.mbtiles = Some(dir.join(f));
                }
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for b in &cfg.map.basemaps {
            let bad = |reason: &str| ConfigError::Basemap {
                path: p.clone(),
                id: b.id.clone(),
                reason: reason.into(),
            };
            if !ids.insert(b.id.as_str()) {
                return Err(bad("two basemaps have this id"));
            }
            if b.id.is_empty()
                || !b
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad("id must be letters, digits, - or _"));
            }
            match (&b.url, &b.mbtiles) {
                (Some(url), None) => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(bad("url must start with http:// or https://"));
                    }
                    if !(url.contains("{z}") && url.contains("{x}") && url.contains("{y}")) {
                        return Err(bad("url must hold {z}, {x} and {y}"));
                    }
                    if url.contains("{key}") && b.key.is_none() {
                        return Err(bad("url holds {key} but no key is set"));
                    }
                    if b.attribution.is_none() {
                        return Err(bad("an online basemap needs its attribution"));
                    }
                }
                (None, Some(_)) => {}
                _ => {
                    return Err(bad(
                        "give either url (online tiles) or mbtiles (a local file), not both",
                    ))
                }
            }
        }
        Ok(cfg)
    }

    /// Applies the file over the defaults.
    pub fn apply(self, mut c: ServerConfig) -> ServerConfig {
        c.public_url = self.public_url.or(c.public_url);
        if let Some(s) = self.request_timeout_s {
            c.request_timeout = Duration::from_secs(s);
        }
        if let Some(b) = self.max_body_bytes {
            c.max_body_bytes = b;
        }
        c.map = self.map;
        c.cors_origins = self.cors_origins;
        if let Some(n) = self.max_uri_bytes {
            c.max_uri_bytes = n;
        }
        if let Some(n) = self.max_concurrent_heavy {
            c.max_concurrent_heavy = n;
        }
        if let Some(n) = self.max_concurrent_queries {
            c.max_concurrent_queries = n;
        }
        if let Some(ms) = self.heavy_queue_wait_ms {
            c.queue_wait = Duration::from_millis(ms);
        }
        if let Some(mb) = self.filter_cache_mb {
            c.filter_cache_bytes = mb.saturating_mul(1024 * 1024);
        }
        if let Some(n) = self.count_cache_entries {
            c.count_cache_entries = n;
        }
        if let Some(n) = self.max_connections {
            c.max_connections = n;
        }
        if let Some(n) = self.max_connections_per_address {
            c.max_connections_per_address = n;
        }
        if let Some(s) = self.header_read_timeout_s {
            c.header_read_timeout = Duration::from_secs(s);
        }
        if let Some(s) = self.write_timeout_s {
            c.write_timeout = Duration::from_secs(s);
        }
        if let Some(s) = self.download_timeout_s {
            c.download_timeout = Duration::from_secs(s);
        }
        if let Some(mb) = self.tile_cache_mb {
            c.tile_cache_bytes = mb.saturating_mul(1024 * 1024);
        }
        if let Some(n) = self.tiles_above {
            c.tiles_above = n;
        }
        if let Some(b) = self.require_token_for_reads {
            c.require_token_for_reads = b;
        }
        if let Some(o) = self.auth.oidc {
            c.oidc = Some(std::sync::Arc::new(crate::oidc::Oidc::new(
                o,
                crate::oidc::http_fetch(),
            )));
        }
        if let Some(d) = self.stale_after_days {
            c.stale_after_days = d;
        }
        if let Some(s) = self.shutdown_grace_s {
            c.shutdown_grace = Duration::from_secs(s);
        }
        if let Some(mb) = self.response_cache_mb {
            c.response_cache_bytes = mb.saturating_mul(1024 * 1024);
        }
        c
    }
}
