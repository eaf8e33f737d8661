//! The `etown-atlas` command: `serve` the layers over HTTP, or `validate` a data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use etown_atlas::config::{FileConfig, ServerConfig};
use etown_atlas::http::server::{self, ConnectionLimits};
use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, IngestError, LoadOptions};
use etown_atlas::store::{FeatureStore, MemoryStore};
use etown_atlas::{app, AppState};

mod commands;

/// mimalloc: ingest makes millions of small allocations (strings, coordinate vectors), where it is
/// markedly faster than glibc's allocator, and it returns freed memory to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Beijing E-Town industrial-space map server (OGC API - Features + web map)"
)]
struct Cli {
    /// Log as JSON lines instead of text (for log collectors).
    #[arg(long, global = true, env = "ETOWN_ATLAS_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the layers and the web map (the default command).
    Serve(ServeArgs),
    /// Check a data directory with the same rules as `serve`, without serving it.
    Validate {
        /// The directory of *.geojson layers (default: the shipped geodata).
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
enum DbCommand {
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
enum TokenCommand {
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

/// Where the tokens are kept: a state directory, or a PostgreSQL store (one of them).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct TokenPlace {
    /// The state directory (as `serve --state`).
    #[arg(long, env = "ETOWN_ATLAS_STATE")]
    state: Option<PathBuf>,
    /// The PostgreSQL store (as `serve --store`); its schema is migrated first if needed.
    #[arg(long, env = "ETOWN_ATLAS_STORE")]
    store: Option<String>,
}

impl TokenPlace {
    fn place(self) -> commands::state::Tokens {
        match (self.state, self.store) {
            (_, Some(address)) => commands::state::Tokens::Store(address),
            (Some(dir), None) => commands::state::Tokens::State(dir),
            (None, None) => commands::state::Tokens::State(PathBuf::from(".")),
        }
    }
}

#[derive(Subcommand)]
enum StateCommand {
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
struct LoadArgs {
    /// Load geometries that are structurally sound but invalid (self-touching rings...) with a
    /// warning instead of refusing the file. For third-party data that cannot be fixed at source.
    #[arg(long, env = "ETOWN_ATLAS_ACCEPT_INVALID_GEOMETRY")]
    accept_invalid_geometry: bool,
}

impl LoadArgs {
    fn options(self) -> LoadOptions {
        LoadOptions {
            accept_invalid_geometry: self.accept_invalid_geometry,
        }
    }
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The directory of *.geojson layers (default: the shipped geodata).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The collection(s) to export; several only with --area (GeoJSON or GeoPackage).
    #[arg(long = "collection", required = true)]
    collections: Vec<String>,
    /// geojson, csv, gpkg, fgb, kml or shp.
    #[arg(long, default_value = "geojson")]
    format: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// A CQL2 text filter.
    #[arg(long)]
    filter: Option<String>,
    /// west,south,east,north.
    #[arg(long)]
    bbox: Option<String>,
    /// A GeoJSON file whose (first) Polygon or MultiPolygon is the area to export.
    #[arg(long)]
    area: Option<PathBuf>,
    /// Cut geometries to --area (recomputing their geodesic area).
    #[arg(long)]
    clip: bool,
    /// Output CRS: CRS84 (default), EPSG:4326, EPSG:4490, EPSG:3857 or gcj02.
    #[arg(long)]
    crs: Option<String>,
    /// Start a CSV with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    bom: bool,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(clap::Parser)]
struct ServeArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Serve the *.geojson files of this directory instead of the shipped geodata.
    #[arg(long, env = "ETOWN_ATLAS_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on. The default is loopback only; use 0.0.0.0:8080 to serve a network.
    #[arg(long, env = "ETOWN_ATLAS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Base URL written into links when a proxy changes the host (e.g. https://atlas.example/).
    #[arg(long, env = "ETOWN_ATLAS_PUBLIC_URL")]
    public_url: Option<String>,
    /// A TOML settings file (basemaps, review number, attribution, limits); see README.
    #[arg(long, env = "ETOWN_ATLAS_CONFIG")]
    config: Option<PathBuf>,
    /// Keep edits in this directory (created if needed): the editable collections then take
    /// OGC API - Features Part 4 edits from token holders, and every acknowledged edit is on
    /// disk. Without it the server is read-only.
    #[arg(long, env = "ETOWN_ATLAS_STATE")]
    state: Option<PathBuf>,
    /// Keep a binary snapshot of the ingested layers in this file and start from it while the
    /// data files are unchanged (checked by size and content hash), instead of parsing the
    /// GeoJSON again. Default: `layers.snapshot` in the --state directory, if there is one.
    #[arg(long, env = "ETOWN_ATLAS_SNAPSHOT")]
    snapshot: Option<PathBuf>,
    /// Serve the collections of this PostgreSQL/PostGIS database (see `etown-atlas db import`)
    /// instead of a data directory: read at start in one consistent transaction, served from
    /// memory, kept up with the other servers' edits (LISTEN/NOTIFY, and polling), and the
    /// system of record for this server's edits. Any number of servers may share one database.
    #[arg(long, env = "ETOWN_ATLAS_STORE", conflicts_with_all = ["data", "state", "snapshot"])]
    store: Option<String>,
    #[command(flatten)]
    store_settings: StoreSettings,
}

/// How a server uses its PostgreSQL (with `--store`).
#[derive(clap::Args)]
struct StoreSettings {
    /// Connections kept for reads of history, the change feed and tokens (the writer and the
    /// follower have one each besides).
    #[arg(long, env = "ETOWN_ATLAS_STORE_POOL", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    store_pool: u32,
    /// The longest any statement may run, in milliseconds.
    #[arg(long, env = "ETOWN_ATLAS_STORE_STATEMENT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    store_statement_timeout_ms: u64,
    /// The longest a connection attempt may take, in milliseconds.
    #[arg(long, env = "ETOWN_ATLAS_STORE_CONNECT_TIMEOUT_MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    store_connect_timeout_ms: u64,
    /// How often a replica asks for changes it was not notified of, in milliseconds.
    #[arg(long, env = "ETOWN_ATLAS_STORE_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    store_poll_ms: u64,
    /// The longest wait between reconnection attempts, in milliseconds (it doubles up to this).
    #[arg(long, env = "ETOWN_ATLAS_STORE_BACKOFF_MAX_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    store_backoff_max_ms: u64,
    /// What a write refused while the store is unreachable tells its client to wait (Retry-After).
    #[arg(long, env = "ETOWN_ATLAS_STORE_RETRY_AFTER_S", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    store_retry_after_s: u64,
}

impl StoreSettings {
    fn settings(&self) -> etown_atlas::postgis::Settings {
        etown_atlas::postgis::Settings {
            pool_size: self.store_pool,
            statement_timeout: Duration::from_millis(self.store_statement_timeout_ms),
            connect_timeout: Duration::from_millis(self.store_connect_timeout_ms),
            poll: Duration::from_millis(self.store_poll_ms),
            backoff_max: Duration::from_millis(self.store_backoff_max_ms),
            retry_after: Duration::from_secs(self.store_retry_after_s),
        }
    }
}

fn load(dir: Option<&PathBuf>, options: LoadOptions) -> Result<Catalog, IngestError> {
    let files = seed_files(dir)?;
    load_files(dir, files, options)
}

fn seed_files(dir: Option<&PathBuf>) -> Result<Vec<ingest::SourceFile>, IngestError> {
    match dir {
        Some(dir) => ingest::read_dir(dir),
        None => Ok(ingest::embedded_files()),
    }
}

fn load_files(
    dir: Option<&PathBuf>,
    files: Vec<ingest::SourceFile>,
    options: LoadOptions,
) -> Result<Catalog, IngestError> {
    load_files_with_snapshot(dir, files, options, None)
}

fn load_files_with_snapshot(
    dir: Option<&PathBuf>,
    files: Vec<ingest::SourceFile>,
    options: LoadOptions,
    snapshot: Option<&std::path::Path>,
) -> Result<Catalog, IngestError> {
    let origin = dir.map_or_else(
        || "the embedded geodata".to_owned(),
        |d| d.display().to_string(),
    );
    ingest::load_with_snapshot(files, &origin, options, snapshot).map(|(catalog, _)| catalog)
}

/// Each collection's seed fingerprint: SHA-256 of its GeoJSON and its sidecar.
fn fingerprints(files: &[ingest::SourceFile]) -> Vec<(String, String)> {
    use sha2::Digest;
    let mut out: std::collections::BTreeMap<String, sha2::Sha256> =
        std::collections::BTreeMap::new();
    for f in files {
        let stem = f
            .name
            .strip_suffix(".geojson")
            .or_else(|| f.name.strip_suffix(".meta.json"));
        if let Some(stem) = stem {
            out.entry(stem.to_owned()).or_default().update(&f.bytes);
        }
    }
    out.into_iter()
        .map(|(k, h)| (k, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
        .collect()
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    // With no subcommand, serve with the defaults (and the ETOWN_ATLAS_* environment).
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::parse_from(["etown-atlas"])));
    match command {
        Command::Validate { dir, load } => validate(dir.as_ref(), load.options()),
        Command::Serve(args) => serve(args),
        Command::Export(args) => match export(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Token(t) => done(match t {
            TokenCommand::Create {
                place,
                name,
                role,
                collections,
                expires,
            } => commands::state::create_token(
                &place.place(),
                &name,
                &role,
                collections,
                expires.as_deref(),
            ),
            TokenCommand::List { place } => commands::state::list_tokens(&place.place()),
            TokenCommand::Revoke { place, name } => {
                commands::state::revoke_token(&place.place(), &name)
            }
        }),
        Command::State(StateCommand::Export {
            state,
            store,
            data,
            out,
            load,
        }) => done(match (state, store) {
            (_, Some(address)) => export_store(&address, &out),
            (Some(state), None) => export_state(&state, data.as_ref(), &out, load.options()),
            (None, None) => Err("--state or --store is needed".into()),
        }),
        Command::Db(DbCommand::Migrate { store }) => done(db_migrate(&store)),
        Command::Db(DbCommand::Import { store, data, load }) => {
            done(db_import(&store, data.as_ref(), load.options()))
        }
        Command::Synth { count, out, seed } => match synth(count, &out, seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}: {e}", out.display());
                ExitCode::FAILURE
            }
        },
    }
}

/// `etown-atlas db migrate`.
fn db_migrate(store: &str) -> Result<(), String> {
    let mut client = etown_atlas::postgis::connect(store).map_err(|e| e.to_string())?;
    let applied = etown_atlas::postgis::migrate(&mut client).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        eprintln!("the schema is up to date");
    } else {
        eprintln!("applied migrations {applied:?}");
    }
    Ok(())
}

/// `etown-atlas db import`.
fn db_import(store: &str, data: Option<&PathBuf>, options: LoadOptions) -> Result<(), String> {
    // The files are read once: validated into the catalog, and their sidecars stored as they are.
    let files = seed_files(data).map_err(|e| e.to_string())?;
    let catalog = load_files(data, files.clone(), options).map_err(|e| e.to_string())?;
    let mut client = etown_atlas::postgis::connect(store).map_err(|e| e.to_string())?;
    let report =
        etown_atlas::postgis::import(&mut client, &catalog, &files).map_err(|e| e.to_string())?;
    for (collection, n) in &report.collections {
        eprintln!("{collection}: {n} features");
    }
    Ok(())
}

fn done(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `etown-atlas state export`: the seed with the state store's edits, as a data directory.
fn export_state(
    state: &std::path::Path,
    data: Option<&PathBuf>,
    out: &std::path::Path,
    options: LoadOptions,
) -> Result<(), String> {
    let files = seed_files(data).map_err(|e| e.to_string())?;
    let seeds = fingerprints(&files);
    let catalog = load_files(data, files.clone(), options).map_err(|e| e.to_string())?;
    let (store, report) =
        etown_atlas::sqlite::open_store(catalog, state, &seeds).map_err(|e| e.to_string())?;
    for s in &report.skipped {
        tracing::warn!(edit = %s, "a stored edit does not fit the seed and was not applied");
    }
    let snapshot = store.snapshot();
    let n = commands::state::export_state(snapshot.catalog(), &files, out)?;
    eprintln!(
        "wrote {n} features in {} collections to {} ({} edits applied over the seed)",
        snapshot.catalog().layers().len(),
        out.display(),
        report.applied
    );
    Ok(())
}

/// `etown-atlas state export --store`: the PostgreSQL store's current collections, as a data
/// directory.
fn export_store(address: &str, out: &std::path::Path) -> Result<(), String> {
    use etown_atlas::postgis;
    let mut client = postgis::connect(address).map_err(|e| e.to_string())?;
    let (catalog, version) = postgis::load(&mut client, &[]).map_err(|e| e.to_string())?;
    let files = postgis::files(&mut client).map_err(|e| e.to_string())?;
    let n = commands::state::export_state(&catalog, &files, out)?;
    eprintln!(
        "wrote {n} features in {} collections to {} (the store at change {version})",
        catalog.layers().len(),
        out.display(),
    );
    Ok(())
}

/// Prints one line per valid layer on stdout: the report is the command's output.
#[allow(clippy::print_stdout)]
fn validate(dir: Option<&PathBuf>, options: LoadOptions) -> ExitCode {
    match load(dir, options) {
        Ok(catalog) => {
            for layer in catalog.layers() {
                println!("ok  {:<40} {:>8} features", layer.id, layer.len());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `etown-atlas export`: the API's download, written to a file.
fn export(args: ExportArgs) -> Result<(), String> {
    use etown_atlas::export::{self, clip::clip_source, ExportOptions, ExportSource, Format};
    use etown_atlas::model::Crs;
    use etown_atlas::query::{compile, exec, Area, Budget, FeatureQuery, FilterLang, FilterSpec};
    let format =
        Format::parse(&args.format).ok_or_else(|| format!("unknown format {:?}", args.format))?;
    let crs = args
        .crs
        .as_deref()
        .map(Crs::parse)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let options = ExportOptions {
        crs,
        csv_bom: args.bom,
    };
    let catalog = load(args.data.as_ref(), args.load.options()).map_err(|e| e.to_string())?;
    let mut q = FeatureQuery {
        limit: usize::MAX,
        ..FeatureQuery::default()
    };
    if let Some(b) = &args.bbox {
        q.bbox = Some(etown_atlas::model::Bbox::parse(b).map_err(|e| format!("--bbox: {e}"))?);
    }
    let area = match &args.area {
        None => None,
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let v: serde_json::Value =
                serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let geometry = v
                .pointer("/features/0/geometry")
                .or_else(|| v.get("geometry"))
                .unwrap_or(&v)
                .clone();
            let mp = ingest::area_polygon(&geometry)
                .map_err(|e| format!("{}: --area: {e}", path.display()))?;
            q.area = Some(
                Area::new(mp.clone().into())
                    .map_err(|e| format!("{}: --area: {e}", path.display()))?,
            );
            Some(mp)
        }
    };
    q.filter = args.filter.clone().map(|text| FilterSpec {
        text,
        lang: FilterLang::Cql2Text,
    });
    let mut sources = Vec::new();
    for c in &args.collections {
        let layer = catalog
            .layer(c)
            .cloned()
            .ok_or_else(|| format!("there is no collection {c:?}"))?;
        let plan = compile(&layer, &q).map_err(|e| e.to_string())?;
        let slots: Vec<usize> = exec::matching(&layer, &plan, &Budget::unlimited())
            .map_err(|e| e.to_string())?
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .collect();
        let source = ExportSource::from_slots(layer, slots, plan.properties.clone());
        sources.push(match (&area, args.clip) {
            (Some(mp), true) => clip_source(source, mp.clone()),
            _ => source,
        });
    }
    let file =
        std::fs::File::create(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let result = if sources.len() == 1 && area.is_none() {
        export::write(format, sources.remove(0), options, &mut out)
    } else {
        export::write_layers(format, sources, options, &mut out)
    };
    result.map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut out).map_err(|e| e.to_string())
}

/// `etown-atlas synth`: a synthetic data directory (see `synth::write_dir`).
fn synth(count: usize, out: &std::path::Path, seed: u64) -> std::io::Result<()> {
    etown_atlas::synth::write_dir(out, count, seed)?;
    tracing::info!(count, seed, dir = %out.display(), "synthetic carriers written");
    Ok(())
}

fn serve(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    if let Some(address) = &args.store {
        let tables = match args.config.as_deref().map(FileConfig::load).transpose() {
            Ok(file) => file.map(|f| f.postgis_tables).unwrap_or_default(),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let tables = match table_sources(tables) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match open_pg_store(address, &args.store_settings.settings(), &tables, started) {
            Ok(store) => serve_store(args, store, started),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let files = match seed_files(args.data.as_ref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The state store checks its edits against the seed: only then are the seeds hashed.
    let seeds = if args.state.is_some() {
        fingerprints(&files)
    } else {
        Vec::new()
    };
    let snapshot = args
        .snapshot
        .clone()
        .or_else(|| args.state.as_ref().map(|s| s.join("layers.snapshot")));
    let catalog = match load_files_with_snapshot(
        args.data.as_ref(),
        files,
        args.load.options(),
        snapshot.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        layers = catalog.layers().len(),
        features = catalog.feature_count(),
        load_ms = started.elapsed().as_secs_f64() * 1000.0,
        "data loaded and indexed"
    );
    let store: Arc<dyn FeatureStore> = match &args.state {
        None => Arc::new(MemoryStore::new(catalog)),
        Some(dir) => match etown_atlas::sqlite::open_store(catalog, dir, &seeds) {
            Ok((store, report)) => {
                for c in &report.seeds_changed {
                    tracing::warn!(collection = %c, "the seed file changed since the state store first saw it; stored edits are laid over the new seed by feature id");
                }
                for s in &report.skipped {
                    tracing::warn!(edit = %s, "a stored edit does not fit the seed and was not applied");
                }
                tracing::info!(state = %dir.display(), edits_applied = report.applied, last_change = report.last_seq, "state store opened");
                Arc::new(store)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    serve_store(args, store, started)
}

/// The configured `[[postgis_tables]]` as the store reads them.
fn table_sources(
    tables: Vec<etown_atlas::config::PostgisTable>,
) -> Result<Vec<etown_atlas::postgis::TableSource>, String> {
    tables
        .into_iter()
        .map(|t| {
            if t.editable {
                return Err(format!(
                    "postgis_tables {:?}: editable = true is not supported yet; tables the program did not create are served read-only",
                    t.collection
                ));
            }
            Ok(etown_atlas::postgis::TableSource {
                collection: t.collection,
                table: t.table,
                id_column: t.id_column,
                geometry_column: t.geometry_column,
                columns: t.columns,
                title: t.title,
            })
        })
        .collect()
}

/// The store of a server on PostgreSQL (see `postgis::open_store`), logged as it opens.
fn open_pg_store(
    address: &str,
    settings: &etown_atlas::postgis::Settings,
    tables: &[etown_atlas::postgis::TableSource],
    started: Instant,
) -> Result<Arc<dyn FeatureStore>, String> {
    let (store, opened) = etown_atlas::postgis::open_store(address, settings, tables)?;
    tracing::info!(
        layers = opened.layers,
        features = opened.features,
        data_version = opened.version,
        load_ms = started.elapsed().as_secs_f64() * 1000.0,
        store = %opened.location,
        "data loaded from PostgreSQL and indexed"
    );
    Ok(Arc::new(store))
}

/// Serves `store` until a signal stops the server.
fn serve_store(args: ServeArgs, store: Arc<dyn FeatureStore>, started: Instant) -> ExitCode {
    let mut config = ServerConfig::default();
    if let Some(path) = &args.config {
        match FileConfig::load(path) {
            Ok(file) => config = file.apply(config),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.public_url.is_some() {
        config.public_url = args.public_url;
    }
    let local = config
        .map
        .basemaps
        .iter()
        .filter_map(|b| Some((b.id.as_str(), b.mbtiles.as_ref()?)));
    let basemaps = match etown_atlas::basemap::Basemaps::open(local) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::new(store, config).with_basemaps(basemaps);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(state, args.listen, started));
    // Connections still open after the grace period are dropped with the runtime; their
    // download writers see the closed channel and stop, so this returns promptly.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(state: AppState, listen: SocketAddr, started: Instant) -> std::io::Result<()> {
    // The signal handlers are installed before the server says it is listening, so a SIGTERM
    // that follows that line at once still shuts it down gracefully.
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(
        address = %listener.local_addr()?,
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "listening; the map is at http://{}/",
        listener.local_addr()?
    );
    let c = &state.config;
    let limits = ConnectionLimits {
        max_connections: connection_cap(c.max_connections),
        max_connections_per_address: c.max_connections_per_address,
        header_read_timeout: c.header_read_timeout,
        write_timeout: c.write_timeout,
        shutdown_grace: c.shutdown_grace,
    };
    server::serve(listener, app(state), limits, shutdown).await
}

/// File descriptors the process keeps for itself besides connections: the listener, the data
/// and temporary files of downloads, the blocking pool's work.
const RESERVED_FDS: u64 = 256;

/// The connection cap the process can keep: the open-file limit is raised towards what the cap
/// needs (the soft limit is often 1,024, below the default cap), and the cap lowered, with a
/// warning, if the system will not allow it. Otherwise `accept` would fail with "too many open
/// files" before the cap ever answered its 503.
fn connection_cap(wanted: usize) -> usize {
    let need = wanted as u64 + RESERVED_FDS;
    match rlimit::increase_nofile_limit(need) {
        Ok(got) if got >= need => wanted,
        Ok(got) => {
            let cap = got.saturating_sub(RESERVED_FDS).max(1) as usize;
            tracing::warn!(
                wanted,
                cap,
                open_files = got,
                "the open-file limit allows fewer connections than max_connections"
            );
            cap
        }
        Err(e) => {
            tracing::warn!("cannot read or raise the open-file limit: {e}");
            wanted
        }
    }
}

/// Installs the SIGTERM and SIGINT handlers now and returns a future that resolves on either;
/// in-flight requests then finish before the process exits.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutdown signal received; draining in-flight requests");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; draining in-flight requests");
    })
}
