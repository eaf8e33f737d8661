//! `etown-atlas serve`: the store from the chosen backend (memory, the embedded state store or
//! PostgreSQL), the settings merged, and the server run until a signal stops it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etown_atlas::config::{FileConfig, ServerConfig};
use etown_atlas::http::server::{self, ConnectionLimits};
use etown_atlas::store::{FeatureStore, MemoryStore};
use etown_atlas::{app, AppState};

use super::args::*;
use super::data::*;

pub(crate) fn serve(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    // The settings file is read once; flags and their variables override what it says.
    let file = match args.config.as_deref().map(FileConfig::load).transpose() {
        Ok(file) => file.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(address) = &args.store {
        let opened = args
            .store_settings
            .settings(&file.store)
            .and_then(|settings| {
                let tables = table_sources(file.postgis_tables.clone())?;
                open_pg_store(address, &settings, &tables, started)
            });
        return match opened {
            Ok(store) => serve_store(args, file, store, started),
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
    serve_store(args, file, store, started)
}

/// The configured `[[postgis_tables]]` as the store reads them.
pub(crate) fn table_sources(
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
pub(crate) fn open_pg_store(
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
pub(crate) fn serve_store(
    args: ServeArgs,
    file: FileConfig,
    store: Arc<dyn FeatureStore>,
    started: Instant,
) -> ExitCode {
    let hooks = file.notify.webhook.clone();
    if !hooks.is_empty() {
        if let Err(e) =
            etown_atlas::notify::start(Arc::clone(&store), hooks, etown_atlas::notify::http_post())
        {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    // The name indexes are built in the background from the start, so that the first person
    // to search does not wait for them (3 s at a million carriers).
    let loaded = store.snapshot();
    std::thread::spawn(move || {
        for layer in loaded.catalog().layers() {
            etown_atlas::query::names::prepare(layer);
        }
    });
    let mut config = file.apply(ServerConfig::default());
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

pub(crate) async fn run(
    state: AppState,
    listen: SocketAddr,
    started: Instant,
) -> std::io::Result<()> {
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
pub(crate) const RESERVED_FDS: u64 = 256;

/// The connection cap the process can keep: the open-file limit is raised towards what the cap
/// needs (the soft limit is often 1,024, below the default cap), and the cap lowered, with a
/// warning, if the system will not allow it. Otherwise `accept` would fail with "too many open
/// files" before the cap ever answered its 503.
pub(crate) fn connection_cap(wanted: usize) -> usize {
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
pub(crate) fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
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
pub(crate) fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; draining in-flight requests");
    })
}
