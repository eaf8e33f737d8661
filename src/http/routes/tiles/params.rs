//! The query parameters of the tile routes: what each takes, parses and documents.

use serde_json::json;

use crate::http::as_of::{take_as_of, AS_OF};
use crate::http::error::ApiError;
use crate::http::extract::RouteParams;
use crate::http::params::{always, ParamSpec, Params};
use crate::http::query_params::{feature_query_except, parse_feature_query};
use crate::query::FeatureQuery;
use crate::store::CollectionInfo;

pub(super) static F_TILESET: ParamSpec = ParamSpec {
    name: "f",
    description:
        "json (OGC tileset metadata, the default) or tilejson (TileJSON 3.0, for MapLibre)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["json", "tilejson"]}),
    documented_for: always,
};
pub(super) static F_TILE: ParamSpec = ParamSpec {
    name: "f",
    description: "mvt (the only tile format)",
    required: false,
    schema: |_| json!({"type": "string", "enum": ["mvt"]}),
    documented_for: always,
};
pub(super) static QUERY: ParamSpec = ParamSpec {
    name: "query",
    description:
        "the id of a query POSTed to /collections/{id}/tiles (a filter too large for a URL)",
    required: false,
    schema: |_| json!({"type": "string", "pattern": "^[0-9a-f]{16}$"}),
    documented_for: always,
};
pub(super) static COLLECTIONS: ParamSpec = ParamSpec {
    name: "collections",
    description: "the collections in the tiles, bottom first (default: every collection)",
    required: false,
    schema: |_| json!({"type": "array", "items": {"type": "string"}}),
    documented_for: always,
};

/// What a filtered tile is asked with: the features-query parameters that mean something for
/// a tile (not paging, sorting or a box: the tile is the box).
pub(super) const NOT_FOR_TILES: &[&str] = &["bbox", "bbox-crs", "limit", "offset", "sortby"];

/// The parameters of a collection's tileset or tile.
pub struct TileParams {
    pub(super) f: Option<String>,
    pub(super) stored: Option<String>,
    pub(super) query: FeatureQuery,
}

impl TileParams {
    fn specs_with(f: &'static ParamSpec) -> Vec<&'static ParamSpec> {
        [f, &QUERY]
            .into_iter()
            .chain(feature_query_except(NOT_FOR_TILES))
            .collect()
    }

    fn parse_with(
        params: &mut Params,
        c: Option<&CollectionInfo>,
        specs: &[&ParamSpec],
    ) -> Result<Self, ApiError> {
        let f = params.take("f");
        let stored = params.take("query");
        for p in NOT_FOR_TILES {
            if params.take(p).is_some() {
                return Err(ApiError::parameter(
                    p,
                    format!("{p} does not apply to tiles (the tile is the box)"),
                ));
            }
        }
        let c = c.ok_or_else(|| ApiError::not_found("no collection"))?;
        let query = parse_feature_query(params, c, specs)?;
        Ok(TileParams { f, stored, query })
    }
}

/// A collection's tileset metadata.
pub struct TilesetParams(pub(super) TileParams);

impl RouteParams for TilesetParams {
    fn specs() -> Vec<&'static ParamSpec> {
        TileParams::specs_with(&F_TILESET)
    }
    fn takes_queryables() -> bool {
        true
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        TileParams::parse_with(params, c, &Self::specs()).map(TilesetParams)
    }
}

/// A collection's tile, and the moment it shows (`asOf`).
pub struct CollectionTileParams(pub(super) TileParams, pub(super) Option<i64>);

impl RouteParams for CollectionTileParams {
    fn specs() -> Vec<&'static ParamSpec> {
        let mut specs = TileParams::specs_with(&F_TILE);
        specs.push(&AS_OF);
        specs
    }
    fn takes_queryables() -> bool {
        true
    }
    fn parse(params: &mut Params, c: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let as_of = take_as_of(params)?;
        let tile = TileParams::parse_with(params, c, &Self::specs())?;
        Ok(CollectionTileParams(tile, as_of))
    }
    fn as_of(&self) -> Option<i64> {
        self.1
    }
}

/// The dataset's tileset or tile: which collections.
pub struct DatasetParams {
    pub(super) f: Option<String>,
    pub(super) collections: Option<Vec<String>>,
}

impl DatasetParams {
    fn parse_with(params: &mut Params) -> Self {
        let f = params.take("f");
        let collections = params.take("collections").map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        DatasetParams { f, collections }
    }
}

pub struct DatasetTilesetParams(pub(super) DatasetParams);

impl RouteParams for DatasetTilesetParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_TILESET, &COLLECTIONS]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        Ok(DatasetTilesetParams(DatasetParams::parse_with(params)))
    }
}

pub struct DatasetTileParams(pub(super) DatasetParams, pub(super) Option<i64>);

impl RouteParams for DatasetTileParams {
    fn specs() -> Vec<&'static ParamSpec> {
        vec![&F_TILE, &COLLECTIONS, &AS_OF]
    }
    fn parse(params: &mut Params, _: Option<&CollectionInfo>) -> Result<Self, ApiError> {
        let as_of = take_as_of(params)?;
        Ok(DatasetTileParams(DatasetParams::parse_with(params), as_of))
    }
    fn as_of(&self) -> Option<i64> {
        self.1
    }
}
