//! Every integration test, in one binary: each module exercises the server as a client would
//! (in-process, on a real socket, through GDAL, OWSLib and the OGC CQL2 suite), with the shared
//! helpers in `common`. One binary links the crate once instead of once per file.
#![allow(clippy::unwrap_used)]

mod common;

mod admin;
mod api_contract;
mod api_core;
mod as_of;
mod attribute_index;
mod basemaps;
mod changesets;
mod cli;
mod cql2_conformance;
mod crs;
mod discover;
mod docs;
mod edit;
mod edit_bounds;
mod export;
mod filter;
mod filter_proptest;
mod formats;
mod geodata;
mod hardening;
mod layering;
mod limits;
mod matching;
mod oidc;
mod postgis;
mod presentation;
mod replicas;
mod response_cache;
mod scopes;
mod security;
mod snapshot;
mod socket;
mod stream;
mod tiles;
mod trends;
mod webhooks;
