//! A change set as edits for the store's writer: the preview's rows as the edits that apply
//! it, each conditioned on the version the preview compared with (so a feature edited since is
//! a conflict, not overwritten), and an applied set's changes as the edits that undo it.

use serde_json::{Map, Value as Json};

use crate::record::Change;
use crate::store::{Condition, EditAction, EditRequest};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the stored change set is damaged: {0}")]
    Damaged(String),
}

fn request(
    collection: &str,
    principal: &str,
    set: &str,
    action: EditAction,
    condition: Condition,
) -> EditRequest {
    EditRequest {
        collection: collection.to_owned(),
        action,
        principal: principal.to_owned(),
        condition,
        ticket: None,
        request: None,
        changeset: Some(set.to_owned()),
        scope: None,
    }
}

/// The edits that apply the previewed change set `document` (as `preview::Preview` wrote it).
pub fn apply_requests(
    document: &Json,
    principal: &str,
    set: &str,
) -> Result<Vec<EditRequest>, PlanError> {
    let damaged = |what: &str| PlanError::Damaged(what.to_owned());
    let collection = document["collection"]
        .as_str()
        .ok_or_else(|| damaged("no collection"))?;
    let rows = document["rows"]
        .as_array()
        .ok_or_else(|| damaged("no rows"))?;
    let mut out = Vec::new();
    for row in rows {
        match row["outcome"].as_str() {
            Some("changed") => {
                let id = row["id"]
                    .as_str()
                    .ok_or_else(|| damaged("a changed row has no id"))?;
                let etag = row["etag"]
                    .as_str()
                    .ok_or_else(|| damaged("a changed row has no ETag"))?;
                let mut properties = Map::new();
                let mut patch = Map::new();
                for cell in row["cells"].as_array().into_iter().flatten() {
                    let property = cell["property"]
                        .as_str()
                        .ok_or_else(|| damaged("a cell names no property"))?;
                    if property == "geometry" {
                        patch.insert("geometry".into(), cell["after"].clone());
                    } else {
                        properties.insert(property.to_owned(), cell["after"].clone());
                    }
                }
                patch.insert("properties".into(), Json::Object(properties));
                out.push(request(
                    collection,
                    principal,
                    set,
                    EditAction::Update(id.to_owned(), Json::Object(patch)),
                    Condition::IfMatch(vec![etag.to_owned()]),
                ));
            }
            Some("new") => {
                let Some(Json::Object(feature)) = row.get("feature") else {
                    return Err(damaged("a new row has no feature"));
                };
                out.push(request(
                    collection,
                    principal,
                    set,
                    EditAction::Create(feature.clone()),
                    Condition::NotApplicable,
                ));
            }
            _ => {}
        }
    }
    for d in document["missing"]["deletes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(etag)) = (d["id"].as_str(), d["etag"].as_str()) else {
            return Err(damaged("a deletion has no id or ETag"));
        };
        out.push(request(
            collection,
            principal,
            set,
            EditAction::Delete(id.to_owned()),
            Condition::IfMatch(vec![etag.to_owned()]),
        ));
    }
    Ok(out)
}

/// The edits that undo `changes` (one applied change set's, oldest first): each feature put
/// back as it was before its first change, provided it is still as the last one left it.
pub fn revert_requests(changes: &[Change], principal: &str, set: &str) -> Vec<EditRequest> {
    let mut firsts: Vec<&Change> = Vec::new();
    let mut lasts: std::collections::HashMap<(&str, &str), &Change> = Default::default();
    for c in changes {
        let key = (c.collection.as_str(), c.feature_id.as_str());
        if !lasts.contains_key(&key) {
            firsts.push(c);
        }
        lasts.insert(key, c);
    }
    firsts
        .into_iter()
        .rev()
        .map(|first| {
            let last = lasts[&(first.collection.as_str(), first.feature_id.as_str())];
            request(
                &first.collection,
                principal,
                set,
                EditAction::Restore {
                    id: first.feature_id.clone(),
                    feature: first.before.clone(),
                    expect: last.after.clone(),
                },
                Condition::NotApplicable,
            )
        })
        .collect()
}
