use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use crate::config::ServerConfig;
use crate::store::{CollectionInfo, FeatureStore, StoreError};

/// What every handler receives: the data behind its seam, and the settings read at start.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn FeatureStore>,
    pub config: Arc<ServerConfig>,
    pub started_at: SystemTime,
    /// Permits for expensive requests (see `ServerConfig::max_concurrent_heavy`).
    heavy: Arc<Semaphore>,
}

impl AppState {
    pub fn new(store: Arc<dyn FeatureStore>, config: ServerConfig) -> Self {
        let heavy = Arc::new(Semaphore::new(config.max_concurrent_heavy));
        AppState {
            store,
            config: Arc::new(config),
            started_at: SystemTime::now(),
            heavy,
        }
    }

    /// A collection's description, or the 404 every route answers for an unknown one.
    pub fn collection(&self, id: &str) -> Result<CollectionInfo, ApiError> {
        self.store
            .collection(id)
            .ok_or_else(|| ApiError::no_such_collection(id))
    }

    /// Runs a store call on the blocking pool. Scans, statistics and filters over millions of
    /// features take tens of milliseconds of CPU: off the async workers, they neither stall other
    /// connections nor escape the request timeout, which answers 503 on time while the work runs
    /// out (it cannot be interrupted, but it is bounded by the data's size).
    pub async fn run_store<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn FeatureStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || work(store.as_ref())).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => {
                tracing::error!("a store task failed: {e}");
                Err(ApiError::from_status(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                ))
            }
        }
    }

    /// A permit for an expensive request, waiting up to `heavy_queue_wait` for one; then a 503
    /// with Retry-After. Hold it until the work (or the streamed download) is done.
    pub async fn heavy_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let wait = self.config.heavy_queue_wait;
        let acquire = Arc::clone(&self.heavy).acquire_owned();
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::busy(5)),
        }
    }
}
