//! The id a created feature gets.

use serde_json::{Map, Value as Json};

use crate::index::Layer;
use crate::ingest::BodyError;
use crate::model::FeatureId;
use crate::store::edit::EditError;

/// The largest integer id a client may choose: 2^53 − 1.
const MAX_SAFE_ID: u64 = (1 << 53) - 1;

/// The id a new feature gets: the body's, else one made up (the next integer for a layer of
/// integer ids, else a random one).
/// `floor`: the largest integer id the change log has ever held for the layer (features
/// created and deleted before a restart have no slot left, and their ids must not come back).
pub(super) fn new_id(
    layer: &Layer,
    body: &Map<String, Json>,
    floor: Option<i64>,
) -> Result<FeatureId, EditError> {
    match body.get("id") {
        Some(Json::String(s)) if !s.is_empty() => return Ok(FeatureId::Str(s.clone())),
        Some(Json::Number(n)) => {
            // Integer ids stay within what every JSON client reads exactly (JavaScript's
            // 2^53 − 1), which also leaves the next id (max + 1) room to grow.
            return n
                .as_i64()
                .filter(|i| i.unsigned_abs() <= MAX_SAFE_ID)
                .map(FeatureId::Int)
                .ok_or_else(|| {
                    EditError::Body(BodyError::NotAFeature(format!(
                        "\"id\" must be a string or a whole number within ±{MAX_SAFE_ID}"
                    )))
                });
        }
        None | Some(Json::Null) => {}
        Some(_) => {
            return Err(EditError::Body(BodyError::NotAFeature(
                "\"id\" must be a string or a whole number".into(),
            )))
        }
    }
    let ints = layer
        .live_slots()
        .next()
        .is_some_and(|s| matches!(layer.ids[s], FeatureId::Int(_)));
    if ints {
        let max = layer
            .ids
            .iter()
            .filter_map(|i| {
                if let FeatureId::Int(n) = i {
                    Some(*n)
                } else {
                    None
                }
            })
            .max()
            .unwrap_or(0)
            .max(floor.unwrap_or(0));
        // A seed file may hold an id near i64::MAX: then the lowest unused positive one.
        let next = max
            .checked_add(1)
            .filter(|&n| n as u64 <= MAX_SAFE_ID)
            .unwrap_or_else(|| {
                let used: std::collections::HashSet<i64> = layer
                    .ids
                    .iter()
                    .filter_map(|i| match i {
                        FeatureId::Int(n) => Some(*n),
                        FeatureId::Str(_) => None,
                    })
                    .collect();
                (1..).find(|n| !used.contains(n)).unwrap_or(1)
            });
        return Ok(FeatureId::Int(next));
    }
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| EditError::Storage(format!("no randomness: {e}")))?;
    Ok(FeatureId::Str(format!(
        "{}-{}",
        layer.id,
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )))
}
