//! The command line: every command, flag and environment variable (clap). What each command
//! does lives beside this file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use etown_atlas::ingest::LoadOptions;

#[derive(Parser)]
#[command(
    version,
    about = "Beijing E-Town industrial-space map server (OGC API - Features + web map)"
)]
pub(crate) struct Cli {
    /// Log as JSON lines instead of text (for log collectors).
    #[arg(long, global = true, env = "ETOWN_ATLAS_LOG_JSON")]
    pub(crate) log_json: bool,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the layers and the web map (the default command).
    Serve(ServeArgs),
    /// Check a data directory with the same rules as `serve`, without serving it.
    /// Write a starting sidecar (`NAME.meta.json`, and vocabularies) for every layer in DIR
    /// that has none, for a person to edit; never overwrites a file.
    Init {
        /// The data directory (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, KML, CSV, Excel).
        dir: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    Validate {
        /// The directory of layers (default: the shipped geodata).
        dir: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Export a query or an area to a file without a server (the same writers as the API).
    Export(ExportArgs),
    /// API tokens for editing (kept, hashed, in the state store).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The state store: what edits have made of the seed data.
    #[command(subcommand)]
    State(StateCommand),
    /// PostgreSQL/PostGIS as the store: its schema, and the layers in it.
    #[command(subcommand)]
    Db(DbCommand),
    /// Update a collection from a file (Excel, CSV or GeoJSON) as one reviewed change set.
    #[command(subcommand)]
    Changeset(ChangesetCommand),
    /// Write N deterministic synthetic carriers over Beijing (for benchmarks and load tests).
    Synth {
        /// How many carriers.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// The directory to write spatial-carriers.geojson (and its metadata) into.
        #[arg(long)]
        out: PathBuf,
        /// The seed; the same count and seed always give the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
pub(crate) enum ChangesetCommand {
    /// Print what the file would change, row by row, as JSON; nothing is applied. Exits 1
    /// when a row or column is in error.
    Preview(ChangesetArgs),
    /// Preview the file and, if no row or column is in error, apply it in one transaction
    /// (recorded as a change set that the API lists and can revert).
    Apply(ChangesetArgs),
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("where").required(true).args(["state", "store"])))]
pub(crate) struct ChangesetArgs {
    /// The state directory (as `serve --state`); no server may be running on it.
    #[arg(long, env = "ETOWN_ATLAS_STATE")]
    pub(crate) state: Option<PathBuf>,
    /// The PostgreSQL store (as `serve --store`); servers on it may keep running.
    #[arg(long, env = "ETOWN_ATLAS_STORE", conflicts_with_all = ["state", "data"])]
    pub(crate) store: Option<String>,
    /// The seed the server runs with (default: the shipped geodata).
    #[arg(long, env = "ETOWN_ATLAS_DATA")]
    pub(crate) data: Option<PathBuf>,
    /// The collection the file updates.
    #[arg(long)]
    pub(crate) collection: String,
    /// Delete the collection's features the file leaves out.
    #[arg(long)]
    pub(crate) delete_missing: bool,
    /// Who makes the change (recorded with every change; default `cli:` and the user).
    #[arg(long = "as")]
    pub(crate) principal: Option<String>,
    /// The file: .xlsx, .csv or .geojson.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

#[derive(Subcommand)]
pub(crate) enum DbCommand {
    /// Create or bring up to date the schema (numbered migrations, each applied once).
    Migrate {
        /// The database: a postgres:// URL or key=value pairs (the password is never logged).
        #[arg(long, env = "ETOWN_ATLAS_STORE")]
        store: String,
    },
    /// Validate the layers of a data directory as `serve` does, and write each as a PostGIS
    /// table (replacing the collection's table if it exists), migrating the schema first.
    Import {
        #[arg(long, env = "ETOWN_ATLAS_STORE")]
        store: String,
        /// The directory of *.geojson layers (default: the shipped geodata).
        #[arg(long, env = "ETOWN_ATLAS_DATA")]
        data: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token; it is printed once, and only its hash is kept.
    Create {
        #[command(flatten)]
        place: TokenPlace,
        /// Who it is for; recorded with every change it makes.
        #[arg(long)]
        name: String,
        /// reader (history, the change feed, reads where they need a token), editor, or admin.
        #[arg(long, default_value = "editor")]
        role: String,
        /// The collections an editor may change, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        collections: Option<Vec<String>>,
        /// When it stops working: a date, an RFC 3339 instant, or days (90d). Default: never.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// List the tokens (names, roles, dates; never the secrets).
    List {
        #[command(flatten)]
        place: TokenPlace,
    },
    /// Revoke a token: refused from the next request on.
    Revoke {
        #[command(flatten)]
        place: TokenPlace,
        #[arg(long)]
        name: String,
    },
}

/// A token's limits inside each of its `--collections` (see `record::scope`).
#[derive(clap::Args)]
pub(crate) struct ScopeArgs {
    /// A CQL2 text filter every feature it edits must satisfy before and after the edit,
    /// e.g. "park = 'biomedicine-park'".
    #[arg(long = "where")]
    pub(crate) write_where: Option<String>,
    /// The only properties it may change, comma-separated (`geometry` for the outline).
    #[arg(long, value_delimiter = ',')]
    pub(crate) fields: Option<Vec<String>>,
    /// A GeoJSON file with the Polygon or MultiPolygon (CRS84) its geometries must stay within.
    #[arg(long)]
    pub(crate) area: Option<PathBuf>,
}

impl ScopeArgs {
    /// The scope these options give (`None`: none given).
    pub(crate) fn scope(self) -> Result<Option<etown_atlas::record::Scope>, String> {
        let area = match &self.area {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--area {}: {e}", path.display()))?;
                Some(
                    serde_json::from_str(&text)
                        .map_err(|e| format!("--area {}: not JSON: {e}", path.display()))?,
                )
            }
        };
        let scope = etown_atlas::record::Scope {
            write_where: self.write_where,
            fields: self.fields,
            area,
            read_where: None,
        };
        Ok((!scope.is_empty()).then_some(scope))
    }
}

/// Where the tokens are kept: a state directory, or a PostgreSQL store (one of them).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct TokenPlace {
    /// The state directory (as `serve --state`).
    #[arg(long, env = "ETOWN_ATLAS_STATE")]
    pub(crate) state: Option<PathBuf>,
    /// The PostgreSQL store (as `serve --store`); its schema is migrated first if needed.
    #[arg(long, env = "ETOWN_ATLAS_STORE")]
    pub(crate) store: Option<String>,
}

impl TokenPlace {
    pub(crate) fn place(self) -> crate::commands::state::Tokens {
        match (self.state, self.store) {
            (_, Some(address)) => crate::commands::state::Tokens::Store(address),
            (Some(dir), None) => crate::commands::state::Tokens::State(dir),
            (None, None) => crate::commands::state::Tokens::State(PathBuf::from(".")),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum StateCommand {
    /// Write the current data (the seed with every edit) as a data directory, atomically: it
    /// can become the next seed.
    #[command(group(clap::ArgGroup::new("from").required(true).args(["state", "store"])))]
    Export {
        #[arg(long, env = "ETOWN_ATLAS_STATE")]
        state: Option<PathBuf>,
        /// Export the collections of this PostgreSQL store instead (their current version,
        /// read in one transaction, with the sidecars and vocabularies kept there).
        #[arg(long, env = "ETOWN_ATLAS_STORE", conflicts_with_all = ["state", "data"])]
        store: Option<String>,
        /// The seed the server runs with (default: the shipped geodata).
        #[arg(long, env = "ETOWN_ATLAS_DATA")]
        data: Option<PathBuf>,
        /// A directory that does not exist yet.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(clap::Args, Clone, Copy)]
pub(crate) struct LoadArgs {
    /// Load geometries that are structurally sound but invalid (self-touching rings...) with a
    /// warning instead of refusing the file. For third-party data that cannot be fixed at source.
    #[arg(long, env = "ETOWN_ATLAS_ACCEPT_INVALID_GEOMETRY")]
    pub(crate) accept_invalid_geometry: bool,
}

impl LoadArgs {
    pub(crate) fn options(self) -> LoadOptions {
        LoadOptions {
            accept_invalid_geometry: self.accept_invalid_geometry,
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// The directory of *.geojson layers (default: the shipped geodata).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// The collection(s) to export; several only with --area (GeoJSON or GeoPackage).
    #[arg(long = "collection", required = true)]
    pub(crate) collections: Vec<String>,
    /// geojson, csv, gpkg, fgb, kml or shp.
    #[arg(long, default_value = "geojson")]
    pub(crate) format: String,
    /// Output file.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// A CQL2 text filter.
    #[arg(long)]
    pub(crate) filter: Option<String>,
    /// west,south,east,north.
    #[arg(long)]
    pub(crate) bbox: Option<String>,
    /// A GeoJSON file whose (first) Polygon or MultiPolygon is the area to export.
    #[arg(long)]
    pub(crate) area: Option<PathBuf>,
    /// Cut geometries to --area (recomputing their geodesic area).
    #[arg(long)]
    pub(crate) clip: bool,
    /// Output CRS: CRS84 (default), EPSG:4326, EPSG:4490, EPSG:3857 or gcj02.
    #[arg(long)]
    pub(crate) crs: Option<String>,
    /// Start a CSV with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub(crate) bom: bool,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

#[derive(clap::Parser)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    /// Serve the *.geojson files of this directory instead of the shipped geodata.
    #[arg(long, env = "ETOWN_ATLAS_DATA")]
    pub(crate) data: Option<PathBuf>,
    /// Address to listen on. The default is loopback only; use 0.0.0.0:8080 to serve a network.
    #[arg(long, env = "ETOWN_ATLAS_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Base URL written into links when a proxy changes the host (e.g. https://atlas.example/).
    #[arg(long, env = "ETOWN_ATLAS_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// A TOML settings file (basemaps, review number, attribution, limits); see README.
    #[arg(long, env = "ETOWN_ATLAS_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Keep edits in this directory (created if needed): the editable collections then take
    /// OGC API - Features Part 4 edits from token holders, and every acknowledged edit is on
    /// disk. Without it the server is read-only.
    #[arg(long, env = "ETOWN_ATLAS_STATE")]
    pub(crate) state: Option<PathBuf>,
    /// Keep a binary snapshot of the ingested layers in this file and start from it while the
    /// data files are unchanged (checked by size and content hash), instead of parsing the
    /// GeoJSON again. Default: `layers.snapshot` in the --state directory, if there is one.
    #[arg(long, env = "ETOWN_ATLAS_SNAPSHOT")]
    pub(crate) snapshot: Option<PathBuf>,
    /// Serve the collections of this PostgreSQL/PostGIS database (see `etown-atlas db import`)
    /// instead of a data directory: read at start in one consistent transaction, served from
    /// memory, kept up with the other servers' edits (LISTEN/NOTIFY, and polling), and the
    /// system of record for this server's edits. Any number of servers may share one database.
    #[arg(long, env = "ETOWN_ATLAS_STORE", conflicts_with_all = ["data", "state", "snapshot"])]
    pub(crate) store: Option<String>,
    #[command(flatten)]
    pub(crate) store_settings: StoreSettings,
}

/// A setting's bounds, as a flag and in the settings file alike.
type Bounds = std::ops::RangeInclusive<u64>;
const POOL: Bounds = 1..=256;
const STATEMENT_TIMEOUT_MS: Bounds = 100..=600_000;
const CONNECT_TIMEOUT_MS: Bounds = 100..=60_000;
const POLL_MS: Bounds = 50..=60_000;
const BACKOFF_MAX_MS: Bounds = 100..=600_000;
const RETRY_AFTER_S: Bounds = 1..=3600;

/// How a server uses its PostgreSQL (with `--store`). Each flag (or its variable) overrides the
/// settings file's `[store]` entry, which overrides the default.
#[derive(clap::Args, Default)]
pub(crate) struct StoreSettings {
    /// Connections kept for reads of history, the change feed and tokens (the writer and the
    /// follower have one each besides). Default 4.
    #[arg(long, env = "ETOWN_ATLAS_STORE_POOL", value_parser = clap::value_parser!(u64).range(POOL))]
    pub(crate) store_pool: Option<u64>,
    /// The longest any statement may run, in milliseconds. Default 10000.
    #[arg(long, env = "ETOWN_ATLAS_STORE_STATEMENT_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(STATEMENT_TIMEOUT_MS))]
    pub(crate) store_statement_timeout_ms: Option<u64>,
    /// The longest a connection attempt may take, in milliseconds. Default 3000.
    #[arg(long, env = "ETOWN_ATLAS_STORE_CONNECT_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(CONNECT_TIMEOUT_MS))]
    pub(crate) store_connect_timeout_ms: Option<u64>,
    /// How often a replica asks for changes it was not notified of, in milliseconds. Default 1000.
    #[arg(long, env = "ETOWN_ATLAS_STORE_POLL_MS", value_parser = clap::value_parser!(u64).range(POLL_MS))]
    pub(crate) store_poll_ms: Option<u64>,
    /// The longest wait between reconnection attempts, in milliseconds (it doubles up to this).
    /// Default 10000.
    #[arg(long, env = "ETOWN_ATLAS_STORE_BACKOFF_MAX_MS", value_parser = clap::value_parser!(u64).range(BACKOFF_MAX_MS))]
    pub(crate) store_backoff_max_ms: Option<u64>,
    /// What a write refused while the store is unreachable tells its client to wait
    /// (Retry-After), in seconds. Default 5.
    #[arg(long, env = "ETOWN_ATLAS_STORE_RETRY_AFTER_S", value_parser = clap::value_parser!(u64).range(RETRY_AFTER_S))]
    pub(crate) store_retry_after_s: Option<u64>,
}

impl StoreSettings {
    /// The settings in force: each flag, else the file's `[store]` entry (checked against the
    /// flag's bounds, and named when out of them), else the default.
    pub(crate) fn settings(
        &self,
        file: &etown_atlas::config::StoreFileConfig,
    ) -> Result<etown_atlas::postgis::Settings, String> {
        let default = etown_atlas::postgis::Settings::default();
        let pick =
            |flag: Option<u64>, entry: Option<u64>, key: &str, bounds: Bounds, fallback: u64| {
                if let Some(v) = flag {
                    return Ok(v);
                }
                match entry {
                    Some(v) if !bounds.contains(&v) => Err(format!(
                        "settings file: store.{key} = {v} is out of bounds ({} to {})",
                        bounds.start(),
                        bounds.end()
                    )),
                    Some(v) => Ok(v),
                    None => Ok(fallback),
                }
            };
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Ok(etown_atlas::postgis::Settings {
            pool_size: u32::try_from(pick(
                self.store_pool,
                file.pool,
                "pool",
                POOL,
                u64::from(default.pool_size),
            )?)
            .unwrap_or(u32::MAX),
            statement_timeout: Duration::from_millis(pick(
                self.store_statement_timeout_ms,
                file.statement_timeout_ms,
                "statement_timeout_ms",
                STATEMENT_TIMEOUT_MS,
                ms(default.statement_timeout),
            )?),
            connect_timeout: Duration::from_millis(pick(
                self.store_connect_timeout_ms,
                file.connect_timeout_ms,
                "connect_timeout_ms",
                CONNECT_TIMEOUT_MS,
                ms(default.connect_timeout),
            )?),
            poll: Duration::from_millis(pick(
                self.store_poll_ms,
                file.poll_ms,
                "poll_ms",
                POLL_MS,
                ms(default.poll),
            )?),
            backoff_max: Duration::from_millis(pick(
                self.store_backoff_max_ms,
                file.backoff_max_ms,
                "backoff_max_ms",
                BACKOFF_MAX_MS,
                ms(default.backoff_max),
            )?),
            retry_after: Duration::from_secs(pick(
                self.store_retry_after_s,
                file.retry_after_s,
                "retry_after_s",
                RETRY_AFTER_S,
                default.retry_after.as_secs(),
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etown_atlas::config::StoreFileConfig;

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        let file = StoreFileConfig {
            pool: Some(9),
            poll_ms: Some(250),
            ..StoreFileConfig::default()
        };
        let flags = StoreSettings {
            store_pool: Some(2),
            ..StoreSettings::default()
        };
        let s = flags.settings(&file).unwrap();
        assert_eq!(s.pool_size, 2, "the flag");
        assert_eq!(s.poll, Duration::from_millis(250), "the file");
        let default = etown_atlas::postgis::Settings::default();
        assert_eq!(s.retry_after, default.retry_after, "the default");
        assert_eq!(s.statement_timeout, default.statement_timeout);
    }

    #[test]
    fn a_file_value_out_of_the_flags_bounds_is_named() {
        let file = StoreFileConfig {
            pool: Some(0),
            ..StoreFileConfig::default()
        };
        let e = StoreSettings::default().settings(&file).unwrap_err();
        assert!(
            e.contains("store.pool = 0") && e.contains("1 to 256"),
            "{e}"
        );
        let file = StoreFileConfig {
            retry_after_s: Some(3601),
            ..StoreFileConfig::default()
        };
        assert!(StoreSettings::default().settings(&file).is_err());
    }
}
