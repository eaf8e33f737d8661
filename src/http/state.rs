use std::sync::Arc;
use std::time::SystemTime;

use crate::config::ServerConfig;
use crate::store::FeatureStore;

/// What every handler receives: the data behind its seam, and the settings read at start.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn FeatureStore>,
    pub config: Arc<ServerConfig>,
    pub started_at: SystemTime,
}

impl AppState {
    pub fn new(store: Arc<dyn FeatureStore>, config: ServerConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            started_at: SystemTime::now(),
        }
    }
}
