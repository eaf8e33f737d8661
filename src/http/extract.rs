//! Typed request parameters: each route declares a [`RouteParams`] struct, read by the
//! [`Query`] and [`InCollection`] extractors with one set of rules (strict decoding, every
//! parameter at most once, an unknown one a 400 naming it and what the route accepts).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;
use super::params::{ParamSpec, Params};
use super::AppState;
use crate::index::Layer;
use crate::store::{CollectionInfo, Snapshot};

/// The parameters of one route.
pub trait RouteParams: Sized + Send {
    /// What the route accepts, in the order the API document lists it.
    fn specs() -> Vec<&'static ParamSpec>;

    /// Whether `property=value` on the collection's queryables is accepted too.
    fn takes_queryables() -> bool {
        false
    }

    /// Takes the route's parameters out of `params`; what is left is refused afterwards.
    fn parse(params: &mut Params, collection: Option<&CollectionInfo>) -> Result<Self, ApiError>;

    /// The earlier moment (`asOf`, ms since the epoch) the route is asked to answer for, if
    /// it takes one and was asked.
    fn as_of(&self) -> Option<i64> {
        None
    }

    /// Parses and refuses anything left over.
    fn from_params(
        mut params: Params,
        collection: Option<&CollectionInfo>,
    ) -> Result<Self, ApiError> {
        let parsed = Self::parse(&mut params, collection)?;
        params.finish(&Self::specs())?;
        Ok(parsed)
    }
}

/// A route without parameters.
pub struct NoParams;

impl RouteParams for NoParams {
    fn specs() -> Vec<&'static ParamSpec> {
        Vec::new()
    }
    fn parse(_: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        Ok(NoParams)
    }
}

/// The parameters of a route that is not about one collection.
pub struct Query<P>(pub P);

impl<P: RouteParams> FromRequestParts<AppState> for Query<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let params = Params::parse(parts.uri.query())?;
        P::from_params(params, None).map(Query)
    }
}

/// A request about the collection in the path (`/collections/{collection}/…`): the snapshot it
/// is answered from, the collection (404 when there is none), and the route's parameters,
/// checked against the collection's properties.
pub struct InCollection<P> {
    pub snapshot: Arc<Snapshot>,
    pub id: String,
    pub params: P,
}

impl<P: RouteParams> InCollection<P> {
    /// This request answered from the moment its `asOf` names, for work already on the
    /// compute boundary (a POST body's parameters are read there).
    pub fn at_its_moment(
        mut self,
        store: &dyn crate::store::FeatureStore,
        budget: &crate::query::Budget,
        retry_after_s: u32,
    ) -> Result<Self, ApiError> {
        self.snapshot = super::as_of::past(
            store,
            self.snapshot,
            self.params.as_of(),
            budget,
            retry_after_s,
        )?;
        Ok(self)
    }
}

impl<P> InCollection<P> {
    pub fn info(&self) -> &CollectionInfo {
        // Checked when the request was extracted, against this snapshot.
        self.snapshot
            .collection(&self.id)
            .expect("the collection was found in this snapshot")
    }

    pub fn layer(&self) -> Arc<Layer> {
        Arc::clone(
            self.snapshot
                .layer(&self.id)
                .expect("the collection was found in this snapshot"),
        )
    }
}

/// The collection named in the path, found in the current snapshot.
pub async fn path_collection(
    parts: &mut Parts,
    state: &AppState,
) -> Result<(Arc<Snapshot>, String), ApiError> {
    let Path(segments): Path<Vec<(String, String)>> = Path::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::not_found(format!("the path cannot be read: {e}")))?;
    let id = segments
        .into_iter()
        .find(|(k, _)| k == "collection")
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::not_found("no collection in the path"))?;
    let snapshot = state.snapshot();
    AppState::collection(&snapshot, &id)?;
    Ok((snapshot, id))
}

impl<P: RouteParams> FromRequestParts<AppState> for InCollection<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (snapshot, id) = path_collection(parts, state).await?;
        let params = Params::parse(parts.uri.query())?;
        let parsed = P::from_params(params, snapshot.collection(&id))?;
        let snapshot = super::as_of::snapshot_at(state, snapshot, parsed.as_of()).await?;
        Ok(InCollection {
            snapshot,
            id,
            params: parsed,
        })
    }
}
