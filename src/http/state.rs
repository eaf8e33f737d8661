use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use crate::config::ServerConfig;
use crate::query::{Budget, CountCache, FilterCache};
use crate::store::{CollectionInfo, FeatureStore, Snapshot};

/// A function run before each piece of computed work, with its budget: tests make work slow
/// (honouring the budget, as real work does, or not) or count it.
pub type WorkHook = Arc<dyn Fn(&Budget) + Send + Sync>;

/// What every handler receives: the data behind its seam, and the settings read at start.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn FeatureStore>,
    pub config: Arc<ServerConfig>,
    pub started_at: SystemTime,
    /// Filters compiled once per text and layer (see `FilterCache`).
    pub filters: Arc<FilterCache>,
    /// `numberMatched` of recent queries, per data version (see `CountCache`).
    pub counts: Arc<CountCache>,
    /// Built vector tiles (see `tile_cache`).
    pub tiles: Arc<super::tile_cache::TileCache>,
    /// Queries POSTed for filtered tilesets.
    pub tile_queries: Arc<super::tile_cache::TileQueries>,
    /// Local basemap files (see `basemap`), opened at start.
    pub basemaps: Arc<crate::basemap::Basemaps>,
    /// Whole answers kept per data version (see `response_cache`).
    pub responses: Arc<super::response_cache::ResponseCache>,
    /// Requests and latencies per route (see `metrics`).
    pub metrics: Arc<super::metrics::HttpMetrics>,
    /// KiB of edit bodies being read or parsed at once (see [`EDIT_BYTES_IN_FLIGHT`]).
    pub edit_bodies: Arc<Semaphore>,
    /// The last change's number of the newest published version: the live change stream
    /// waits on it (the store's writer sends it, see `JournaledStore::on_publish`).
    pub published: tokio::sync::watch::Receiver<i64>,
    /// Subscribers of the live change stream at once (see [`MAX_CHANGE_STREAMS`]).
    pub change_streams: Arc<Semaphore>,
    work: Arc<WorkLimits>,
}

/// The most bytes of edit bodies held at once, over all requests: a body is read only after
/// its token is checked, and then only while the total stays under this (16 bodies at the
/// default 4 MiB limit); the others wait, within the request timeout.
pub const EDIT_BYTES_IN_FLIGHT: usize = 64 * 1024 * 1024;

/// Subscribers of `/changes/stream` at once: each holds a connection and a little memory (its
/// cursor and one page of changes); past it a subscriber is refused 503 with Retry-After.
pub const MAX_CHANGE_STREAMS: usize = 1_024;

/// The bounds on computed work, shared by every request.
struct WorkLimits {
    /// Permits for any computed answer (see `ServerConfig::max_concurrent_queries`).
    queries: Arc<Semaphore>,
    /// Permits for expensive computations: statistics and matching (see
    /// `ServerConfig::max_concurrent_heavy`).
    heavy: Arc<Semaphore>,
    /// Permits for downloads, a pool of their own (as many as `heavy`): slow readers holding
    /// every download can no longer starve the statistics the web map asks for.
    downloads: Arc<Semaphore>,
    /// Downloads running per client address: one client holds at most half of them.
    per_client: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    /// How many computations run now: a computation spreads over every core only when it is
    /// the only one.
    running: AtomicUsize,
    hook: Option<WorkHook>,
}

/// A running download's claim: its slot in the downloads' pool and its client's count, both
/// given back when it is dropped (when the transfer ends, however it ends).
pub struct DownloadPermit {
    _permit: OwnedSemaphorePermit,
    _client: Option<ClientSlot>,
}

/// One of a client's running downloads.
struct ClientSlot {
    ip: std::net::IpAddr,
    running: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = running.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.ip);
            }
        }
    }
}

/// The address of the client at the other end of the connection (set by `server::serve`;
/// absent for requests made in-process).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Counts a computation as running for as long as it lives.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Running(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AppState {
    pub fn new(store: Arc<dyn FeatureStore>, config: ServerConfig) -> Self {
        Self::with_work_hook(store, config, None)
    }

    /// [`AppState::new`] with a function run inside every computation before its work: tests
    /// make work slow or count it with this.
    #[doc(hidden)]
    pub fn with_work_hook(
        store: Arc<dyn FeatureStore>,
        config: ServerConfig,
        hook: Option<WorkHook>,
    ) -> Self {
        let work = Arc::new(WorkLimits {
            queries: Arc::new(Semaphore::new(config.max_concurrent_queries.max(1))),
            heavy: Arc::new(Semaphore::new(config.max_concurrent_heavy)),
            downloads: Arc::new(Semaphore::new(config.max_concurrent_heavy)),
            per_client: Arc::default(),
            running: AtomicUsize::new(0),
            hook,
        });
        let (tell, published) = tokio::sync::watch::channel(store.snapshot().change());
        if let Some(editor) = store.editor() {
            editor.on_publish(move |change| {
                tell.send_replace(change);
            });
        }
        AppState {
            store,
            filters: Arc::new(FilterCache::with_capacity(config.filter_cache_bytes)),
            counts: Arc::new(CountCache::new(config.count_cache_entries)),
            tiles: Arc::new(super::tile_cache::TileCache::new(config.tile_cache_bytes)),
            tile_queries: Arc::new(super::tile_cache::TileQueries::new(16 * 1024 * 1024)),
            basemaps: Arc::new(crate::basemap::Basemaps::default()),
            // With reads behind tokens, a shared cache would hand answers to whoever asks: off.
            responses: Arc::new(super::response_cache::ResponseCache::new(
                if config.require_token_for_reads {
                    0
                } else {
                    config.response_cache_bytes
                },
            )),
            metrics: Arc::default(),
            edit_bodies: Arc::new(Semaphore::new(EDIT_BYTES_IN_FLIGHT / 1024)),
            published,
            change_streams: Arc::new(Semaphore::new(MAX_CHANGE_STREAMS)),
            config: Arc::new(config),
            started_at: SystemTime::now(),
            work,
        }
    }

    /// The state serving these local basemap files.
    pub fn with_basemaps(mut self, basemaps: crate::basemap::Basemaps) -> Self {
        self.basemaps = Arc::new(basemaps);
        self
    }

    /// The seconds a request refused for an unreachable store is told to wait.
    pub fn retry_after(&self) -> u32 {
        self.store.editor().and_then(|e| e.status()).map_or(5, |s| {
            u32::try_from(s.retry_after.as_secs().max(1)).unwrap_or(60)
        })
    }

    /// The current data version (cheap, never blocking).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.snapshot()
    }

    /// A collection of `snapshot`, or the 404 every route answers for an unknown one.
    pub fn collection<'s>(
        snapshot: &'s Snapshot,
        id: &str,
    ) -> Result<&'s CollectionInfo, ApiError> {
        snapshot
            .collection(id)
            .ok_or_else(|| ApiError::no_such_collection(id))
    }

    /// Runs computed work: the one boundary between the async workers and CPU-bound work.
    ///
    /// 1. waits for a query permit (up to `queue_wait`, then 503 with Retry-After), so a burst
    ///    queues briefly instead of piling threads onto two cores;
    /// 2. runs `work` on the blocking pool with a [`Budget`]: the request timeout as its
    ///    deadline, abandoned if this future is dropped (the client left, or the timeout
    ///    answered), and parallel only when nothing else computes;
    /// 3. turns a spent budget into a 503 `timeout` and a log line.
    pub async fn compute<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Budget) -> Result<T, ApiError> + Send + 'static,
    {
        let permit = self.permit(&self.work.queries).await?;
        let limit = self.config.request_timeout;
        let mut budget = Budget::within(limit);
        budget.parallel = self.work.running.load(Ordering::SeqCst) == 0;
        // Dropped with this future: if the request is abandoned, the work stops at its next
        // check.
        let _abandon = budget.abandon_handle();
        let limits = Arc::clone(&self.work);
        let started = Instant::now();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = Running::start(&limits.running);
            if let Some(hook) = &limits.hook {
                hook(&budget);
            }
            // Work whose time ran out while it waited (or whose client left) never starts.
            budget.check()?;
            work(&budget)
        })
        .await;
        match joined {
            Ok(Err(e)) if e.code == crate::http::problem::Problem::Timeout => {
                tracing::warn!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    limit_s = limit.as_secs_f64(),
                    "stopped work that ran past the request's time budget"
                );
                Err(ApiError::timed_out(limit))
            }
            Ok(result) => result,
            Err(e) => {
                tracing::error!("a computation failed: {e}");
                Err(ApiError::from_status(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                ))
            }
        }
    }

    /// A permit for an expensive request (a download, statistics), waiting up to `queue_wait`
    /// for one; then a 503 with Retry-After. Hold it until the work (or the streamed download)
    /// is done.
    pub async fn heavy_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permit(&self.work.heavy).await
    }

    /// A permit for a download by `client` (the peer's address, when the request came over a
    /// socket): refused with 503 when the client already runs half the download slots (at
    /// least one), else as [`heavy_permit`](Self::heavy_permit) from the downloads' own pool.
    pub async fn download_permit(
        &self,
        client: Option<std::net::IpAddr>,
    ) -> Result<DownloadPermit, ApiError> {
        let slot = match client {
            None => None,
            Some(ip) => {
                let most = (self.config.max_concurrent_heavy / 2).max(1);
                let mut running = self
                    .work
                    .per_client
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let n = running.entry(ip).or_insert(0);
                if *n >= most {
                    return Err(ApiError::busy(5));
                }
                *n += 1;
                Some(ClientSlot {
                    ip,
                    running: Arc::clone(&self.work.per_client),
                })
            }
        };
        let permit = self.permit(&self.work.downloads).await?;
        Ok(DownloadPermit {
            _permit: permit,
            _client: slot,
        })
    }

    async fn permit(&self, pool: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, ApiError> {
        let wait = self.config.queue_wait;
        match tokio::time::timeout(wait, Arc::clone(pool).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::busy(5)),
        }
    }
}
