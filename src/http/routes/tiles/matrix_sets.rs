//! `/tileMatrixSets`: the tiling schemes.

use axum::extract::Path;
use axum::Json;
use serde_json::{json, Value};

use crate::http::error::ApiError;
use crate::http::links::{link, BaseUrl, JSON};
use crate::http::params::shorten;
use crate::tiles::matrix::{Tms, HALF_WORLD, MAX_ZOOM};

/// The tile matrix set a path names.
pub(super) fn tms_of(id: &str) -> Result<Tms, ApiError> {
    Tms::parse(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "there is no tile matrix set {:?}; tiles are in WebMercatorQuad and WorldCRS84Quad",
            shorten(id)
        ))
    })
}

// --- the tiling scheme -----------------------------------------------------------------------

/// A tile matrix set in TMS 2.0 JSON, with the TMS 1.0 members beside it (`type`,
/// `identifier`, `supportedCRS`, `boundingBox`, `tileMatrix`): GDAL 3.6 (Debian 12's) reads only
/// 1.0, and without them cannot open a collection that has tiles at all.
pub(super) fn matrix_set_json(tms: Tms) -> Value {
    // Scale denominators and cell sizes at zoom 0 (OGC 17-083r4, annexes D.1 and D.2), the
    // origin, and the world's corners.
    let (scale0, cell0, origin, lower, upper, title, scale_set) = match tms {
        Tms::WebMercatorQuad => (
            559_082_264.028_717_8,
            156_543.033_928_040_97,
            [-HALF_WORLD, HALF_WORLD],
            [-HALF_WORLD, -HALF_WORLD],
            [HALF_WORLD, HALF_WORLD],
            "Google Maps Compatible for the World",
            "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        ),
        Tms::WorldCrs84Quad => (
            279_541_132.014_358_76,
            0.703_125,
            [-180.0, 90.0],
            [-180.0, -90.0],
            [180.0, 90.0],
            "CRS84 for the World",
            "http://www.opengis.net/def/wkss/OGC/1.0/GoogleCRS84Quad",
        ),
    };
    let each = |z: u8, v1: bool| {
        let n = f64::from(1u32 << z);
        let mut m = json!({
            "scaleDenominator": scale0 / n,
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": tms.columns(z),
            "matrixHeight": tms.rows(z),
        });
        if v1 {
            m["type"] = json!("TileMatrixType");
            m["identifier"] = json!(z.to_string());
            m["topLeftCorner"] = json!(origin);
        } else {
            m["id"] = json!(z.to_string());
            m["cellSize"] = json!(cell0 / n);
            m["cornerOfOrigin"] = json!("topLeft");
            m["pointOfOrigin"] = json!(origin);
        }
        m
    };
    let axes = match tms {
        Tms::WebMercatorQuad => json!(["X", "Y"]),
        Tms::WorldCrs84Quad => json!(["Lon", "Lat"]),
    };
    json!({
        "id": tms.id(),
        "title": title,
        "uri": tms.uri(),
        "crs": tms.crs(),
        "orderedAxes": axes,
        "wellKnownScaleSet": scale_set,
        "tileMatrices": (0..=MAX_ZOOM).map(|z| each(z, false)).collect::<Vec<_>>(),
        "type": "TileMatrixSetType",
        "identifier": tms.id(),
        "supportedCRS": tms.crs(),
        "boundingBox": {"type": "BoundingBoxType", "crs": tms.crs(), "lowerCorner": lower, "upperCorner": upper},
        "tileMatrix": (0..=MAX_ZOOM).map(|z| each(z, true)).collect::<Vec<_>>(),
    })
}

pub(super) async fn matrix_sets(
    base: BaseUrl,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Json<Value> {
    let sets: Vec<Value> = Tms::ALL
        .iter()
        .map(|t| {
            json!({"id": t.id(), "uri": t.uri(),
                   "links": [link(base.at(&format!("/tileMatrixSets/{}", t.id())), "self", JSON, t.id())]})
        })
        .collect();
    Json(json!({
        "tileMatrixSets": sets,
        "links": [link(base.at("/tileMatrixSets"), "self", JSON, "the tiling schemes")],
    }))
}

pub(super) async fn matrix_set(
    Path(tms): Path<String>,
    crate::http::extract::Query(_): crate::http::extract::Query<crate::http::negotiate::JsonOnly>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(matrix_set_json(tms_of(&tms)?)))
}

// --- tilesets --------------------------------------------------------------------------------
