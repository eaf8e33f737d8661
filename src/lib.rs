//! # etown-atlas
//!
//! An industrial-space map server for Beijing E-Town. GeoJSON layers are validated, indexed in
//! memory and served through OGC API - Features, with a MapLibre web map from the same binary.
//!
//! ```text
//! geodata/*.geojson ──► ingest (parse, validate, derive) ──► index (layers: R-tree, columns)
//!                                                              │ one Catalog per data version
//! store: a FeatureStore hands out Arc<Snapshot>s (readers never wait) ◄──┘
//!
//! HTTP ──► http (extract typed parameters, negotiate, errors, problems in the reader's language)
//!            │  AppState::compute: the one boundary to CPU-bound work (permits, Budget)
//!            ▼
//!          query (FeatureQuery ─► Plan ─► exec / stats / nearest / names / whats_here)
//!            ▼
//!          encode (the one GeoJSON writer) · export (download writers) · tiles (MVT)
//!          basemap (local MBTiles files, read-only)
//! record: the system of record's nouns (changes, tokens, one error) and the seam a store
//!         writes through (Ledger); its backends are siblings behind it:
//!         sqlite (the embedded state store) · postgis (PostgreSQL/PostGIS, `etown-atlas db ...`)
//! web/ (MapLibre app, ES modules) ──► the same public HTTP API every other client uses
//! ```
//!
//! Dependencies point one way: `http → {store, export, tiles} → {encode, query, ingest} → index →
//! model`, `store → record`, `{sqlite, postgis} → {store, record}` (only the binary picks a
//! backend), and `http → basemap`; everything below `http` is synchronous and knows nothing of
//! HTTP; only `http` knows axum, hyper or tokio. `tests/it/layering.rs` checks it.

pub mod basemap;
pub mod changeset;
pub mod config;
pub mod encode;
pub mod export;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod notify;
pub mod oidc;
pub mod postgis;
pub mod query;
pub mod record;
pub mod sqlite;
pub mod store;
pub mod synth;
pub mod tiles;

pub use http::{app, AppState};
