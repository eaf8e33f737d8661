//! # etown-atlas
//!
//! An industrial-space map server for Beijing E-Town. GeoJSON layers are validated, indexed in
//! memory and served through OGC API - Features, with a MapLibre web map from the same binary.
//!
//! ```text
//! geodata/*.geojson ──► ingest (parse, validate, derive) ──► store (Arc<Catalog> snapshot)
//!                                                              │ per layer: features + R-tree + columns
//! HTTP request ──► http (extract, negotiate, errors) ──► query (FeatureQuery ─► Plan) ──► index
//! web/ (MapLibre app, ES modules) ──► the same public HTTP API every other client uses
//! ```
//!
//! Dependencies point one way: `http → store → index → query → domain`; only `http` knows axum.

pub mod config;
pub mod encode;
pub mod export;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod query;
pub mod store;
pub mod synth;

pub use http::{app, AppState};
