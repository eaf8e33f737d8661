//! The OpenAPI operations of the edits: Part 4 on the items paths, each item's history and
//! `/changes`, described where edits can happen.

use crate::http::routes::openapi::*;
use serde_json::{json, Value};

use super::*;

pub(super) fn operations(doc: &Doc, paths: &mut Paths) {
    if !doc.edits {
        return;
    }
    for c in doc.collections.iter().filter(|c| c.meta.editable) {
        let base = format!("/collections/{}", c.id);
        let (Some(mut items), Some(mut item)) = (
            paths.shift_remove(&format!("{base}/items")),
            paths.shift_remove(&format!("{base}/items/{{featureId}}")),
        ) else {
            continue;
        };
        let history = edit_operations(c, &mut items, &mut item);
        paths.insert(format!("{base}/items"), items);
        paths.insert(format!("{base}/items/{{featureId}}"), item);
        paths.insert(format!("{base}/items/{{featureId}}/history"), history);
    }
    paths.insert("/changes".into(), json!({"get": {"summary": "the change feed: every change after `since`, oldest first", "operationId": "getChanges", "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": parameters::<ChangesParams>(None),
        "responses": {"200": {"description": "the changes and a next link", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token")}}}));
    paths.insert("/changes/stream".into(), json!({"get": {
        "summary": "the change log as Server-Sent Events: a `change` event per change (its number as the id), live; resumes after Last-Event-ID or `since`",
        "operationId": "streamChanges", "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": parameters::<super::stream::StreamParams>(None),
        "responses": {"200": {"description": "the events, until the client leaves", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "400": problem("a malformed parameter or Last-Event-ID"), "401": problem("no valid API token"),
                      "404": problem("the server keeps no change log (no --state)"),
                      "503": problem("too many subscribers; try again after Retry-After")}}}));
}

/// The answers every edit may get besides its success.
pub(super) fn edit_errors() -> Value {
    json!({
        "400": problem("a body that is not a valid feature of this collection (a type, a vocabulary term, a geometry, a derived or unknown property), or a malformed header"),
        "401": problem("no API token, or one that is not valid (see WWW-Authenticate)"),
        "403": problem("a token whose role may not edit this collection"),
        "404": problem("no such collection or feature"),
        "405": problem("the collection is read-only, or the server keeps no edits (no --state)"),
        "409": problem("a feature with the body's id exists"),
        "412": problem("the feature changed since the version in If-Match or If-Unmodified-Since"),
        "413": problem("body too large"),
        "415": problem("a body that is not GeoJSON (or a merge patch)"),
        "428": problem("an edit of an existing feature without If-Match or If-Unmodified-Since"),
        "503": problem("the edit could not be stored; nothing changed")
    })
}

/// Part 4 on a collection's items and one item, and the history of an item.
pub(super) fn edit_operations(c: &CollectionInfo, items: &mut Value, item: &mut Value) -> Value {
    let feature_body = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        json!({"required": true, "content": content})
    };
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}});
    let id = json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}, "example": c.sample_id});
    let crs = header(
        "Content-Crs",
        "the CRS of the body's geometry, as <URI> (default CRS84)",
    );
    let preconditions = [
        header("If-Match", "the feature's ETag, from GET"),
        header("If-Unmodified-Since", "an HTTP date"),
    ];
    let with = |base: Value, extra: Value| {
        let mut r = edit_errors();
        if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        let mut op = base;
        op["responses"] = r;
        op["tags"] = json!(["Edit"]);
        op["security"] = json!([{"bearer": []}]);
        op
    };
    let feature_ok = json!({"description": "the feature as stored", "headers": {"ETag": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}});
    items["post"] = with(
        json!({"summary": format!("add a feature to {}", c.id), "operationId": format!("createItem_{}", c.id), "parameters": [crs.clone(), header("Idempotency-Key", "a key of the client's choosing (a UUID): a retry with the same key and body answers the first result instead of creating a second feature")], "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"201": {"description": "created (or, for a repeated Idempotency-Key, created before)", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": feature_schema()}}},
               "409": problem("a feature with that id exists, or a request with this Idempotency-Key is in progress"),
               "422": problem("this Idempotency-Key was used for a different body")}),
    );
    items["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItems_{}", c.id), "tags": ["Edit"], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such collection")}});
    let with_id = |mut extra: Vec<Value>| {
        let mut v = vec![id.clone()];
        v.append(&mut extra);
        v
    };
    item["put"] = with(
        json!({"summary": format!("replace a feature of {}", c.id), "operationId": format!("replaceItem_{}", c.id), "parameters": with_id(vec![crs.clone(), preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/geo+json", "application/json"])}),
        json!({"200": feature_ok.clone()}),
    );
    item["patch"] = with(
        json!({"summary": format!("change part of a feature of {} (JSON Merge Patch)", c.id), "operationId": format!("updateItem_{}", c.id), "parameters": with_id(vec![crs, preconditions[0].clone(), preconditions[1].clone()]), "requestBody": feature_body(&["application/merge-patch+json", "application/json", "application/geo+json"])}),
        json!({"200": feature_ok}),
    );
    item["delete"] = with(
        json!({"summary": format!("delete a feature of {}", c.id), "operationId": format!("deleteItem_{}", c.id), "parameters": with_id(vec![preconditions[0].clone(), preconditions[1].clone()])}),
        json!({"204": {"description": "deleted"}}),
    );
    item["options"] = json!({"summary": "the methods allowed here", "operationId": format!("optionsItem_{}", c.id), "tags": ["Edit"], "parameters": [id.clone()], "responses": {"204": {"description": "Allow lists them"}, "404": problem("no such feature")}});
    json!({"get": {"summary": format!("every change of a feature of {}, oldest first", c.id), "operationId": format!("itemHistory_{}", c.id), "tags": ["Edit"],
        "security": [{"bearer": []}],
        "parameters": std::iter::once(id).chain(parameters::<ChangesParams>(None)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "the changes", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": problem("a malformed parameter"), "401": problem("no valid API token"), "404": problem("no such feature, now or ever")}}})
}
