//! JSON Schemas of parameters and bodies, shared by the parameter specs (`params::ParamSpec`)
//! and the API document.

use serde_json::{json, Value};

use crate::model::{Crs, FieldType};
use crate::store::CollectionInfo;

/// A string with something besides white space in it (an empty filter or search is refused).
pub fn non_blank() -> Value {
    json!({"type": "string", "minLength": 1, "pattern": "\\S"})
}

/// One of the CRSs of OGC API - Features Part 2 that the server speaks.
pub fn crs() -> Value {
    json!({"type": "string", "enum": Crs::SUPPORTED})
}

/// `bbox` as a query parameter: 4 or 6 numbers.
pub fn bbox() -> Value {
    json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})
}

/// `bbox` in a JSON body: an array of numbers, or the query string's comma-separated text.
pub fn bbox_member() -> Value {
    let number = "\\s*-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?\\s*";
    let text = format!("^{number}(,{number}){{3}}((,{number}){{2}})?$");
    json!({"oneOf": [bbox(), {"type": "string", "pattern": text}]})
}

/// The shape of `datetime`: an RFC 3339 date or UTC-offset timestamp, or an interval of them.
pub fn datetime() -> Value {
    let date = "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])";
    let time = "T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)";
    let instant = format!("{date}({time})?");
    json!({"type": "string", "pattern": format!("^({instant}|({instant}|\\.\\.)/({instant}|\\.\\.))$")})
}

/// A regular expression (ECMA-262) that matches exactly one of `names`, or nothing at all.
pub fn one_of_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let escaped: Vec<String> = names
        .map(|n| {
            n.chars()
                .flat_map(|c| {
                    let meta = "\\^$.|?*+()[]{}/".contains(c);
                    meta.then_some('\\').into_iter().chain(std::iter::once(c))
                })
                .collect()
        })
        .collect();
    if escaped.is_empty() {
        // An empty class: matches no character, in every regex dialect a client may use.
        "[^\\s\\S]".to_owned()
    } else {
        format!("({})", escaped.join("|"))
    }
}

/// The pattern of a comma-separated list (see `query::comma_list`): items of `item`, each with
/// spaces around it, empty items allowed or not.
pub fn comma_list_pattern(item: &str, allow_empty: bool) -> String {
    let item = if allow_empty {
        format!(" *(?:{item})? *")
    } else {
        format!(" *{item} *")
    };
    format!("^{item}(,{item})*$")
}

fn fields(c: Option<&CollectionInfo>) -> impl Iterator<Item = &crate::model::Field> {
    c.into_iter().flat_map(|c| c.fields.iter())
}

/// `sortby`: comma-separated queryables, each optionally prefixed with + or -.
pub fn sortby(c: Option<&CollectionInfo>) -> Value {
    let names = fields(c)
        .filter(|f| !matches!(f.ty, FieldType::Json | FieldType::StringArray))
        .map(|f| f.name.as_str());
    let key = format!("[+-]?{}", one_of_names(names));
    json!({"type": "string", "pattern": comma_list_pattern(&key, false)})
}

/// `properties`: the properties to return, by name, comma-separated.
pub fn properties(c: Option<&CollectionInfo>) -> Value {
    let names = one_of_names(fields(c).map(|f| f.name.as_str()));
    json!({"type": "string", "pattern": comma_list_pattern(&names, true)})
}

/// `group-by`: one property that is not an object.
pub fn group_by(c: Option<&CollectionInfo>) -> Value {
    let names: Vec<&str> = fields(c)
        .filter(|f| f.ty != FieldType::Json)
        .map(|f| f.name.as_str())
        .collect();
    json!({"type": "string", "enum": names})
}

/// `sum`: numeric properties, comma-separated.
pub fn sum(c: Option<&CollectionInfo>) -> Value {
    let names = fields(c)
        .filter(|f| f.ty.is_numeric())
        .map(|f| f.name.as_str());
    json!({"type": "string", "pattern": comma_list_pattern(&one_of_names(names), true)})
}

/// A queryable property used for equality (`industry=future_health`): its own type, and for an
/// array (`zones`) one item.
pub fn property_value(ty: FieldType) -> Value {
    match ty {
        FieldType::StringArray => json!({"type": "string"}),
        other => other.json_schema(),
    }
}
