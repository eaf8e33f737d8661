//! The routes. Each module owns its contract ([`Contract`]): the routes it serves, the OpenAPI
//! operations that describe them, and the conformance classes it implements. `api` and
//! `conformance` only assemble what the modules say, and `http::app` merges their routers, so a
//! new route is added, documented and declared in one place.

mod admin;
pub mod api;
pub mod changesets;
pub mod collections;
pub mod conformance;
pub mod discover;
pub mod edit;
pub mod export;
pub mod health;
pub mod items;
pub mod landing;
pub mod map_config;
pub mod matching;
mod openapi;
pub mod queryables;
mod reports;
pub mod stats;
pub mod tiles;
mod trend;
pub mod vocabularies;
pub mod web;

use axum::Router;

use crate::http::AppState;
use openapi::{Doc, Paths};

/// What a route module contributes.
pub struct Contract {
    /// Its routes.
    pub router: fn() -> Router<AppState>,
    /// Adds its operations to the OpenAPI document's paths (an operation of a path another
    /// module described is added to that path: edits add methods to the items paths).
    pub describe: fn(&Doc, &mut Paths),
    /// The conformance classes it implements, for a server that takes edits or not.
    pub classes: fn(edits: bool) -> &'static [&'static str],
}

impl Contract {
    /// A module that implements no conformance class of its own.
    pub const fn new(router: fn() -> Router<AppState>, describe: fn(&Doc, &mut Paths)) -> Self {
        Contract {
            router,
            describe,
            classes: |_| &[],
        }
    }
}

/// Every route module, in the order their paths and classes are listed (`edit` after `items`,
/// whose paths it adds methods to). The web app's static files are the fallback, not a route.
pub const CONTRACTS: &[&Contract] = &[
    &landing::CONTRACT,
    &conformance::CONTRACT,
    &api::CONTRACT,
    &collections::CONTRACT,
    &items::CONTRACT,
    &edit::CONTRACT,
    &changesets::CONTRACT,
    &queryables::CONTRACT,
    &export::CONTRACT,
    &stats::CONTRACT,
    &matching::CONTRACT,
    &discover::CONTRACT,
    &tiles::CONTRACT,
    &vocabularies::CONTRACT,
    &health::CONTRACT,
    &map_config::CONTRACT,
    &admin::CONTRACT,
    &reports::CONTRACT,
];

/// Every module's routes, merged.
pub fn router() -> Router<AppState> {
    CONTRACTS
        .iter()
        .fold(Router::new(), |r, c| r.merge((c.router)()))
}
