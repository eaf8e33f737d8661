//! Checking one edit against the scope of the principal who makes it (see
//! `crate::record::scope`): the feature must satisfy `where` before and after, only `fields`
//! may change, and the geometry must lie within `area`. Checked on the writer, beside the
//! precondition, so an API edit, a change set's row and a revert's step meet the same rules,
//! and a refused edit is never placed.

use std::sync::Arc;

use geo::Relate;
use serde_json::Value as Json;

use crate::index::{Layer, LayerEdit, LayerParts};
use crate::query::filter::{compile, Filter, FilterLang, FilterSpec};
use crate::record::scope::{area_geometry, GEOMETRY_FIELD};
use crate::record::Scope;

use super::apply::{feature_json, own_parts};

/// The rule of a scope an edit broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    Where,
    Fields,
    Area,
}

impl ScopeRule {
    /// As it is written in a token's scope (and in the problem's `rule`).
    pub fn name(self) -> &'static str {
        match self {
            ScopeRule::Where => "where",
            ScopeRule::Fields => "fields",
            ScopeRule::Area => "area",
        }
    }
}

/// An edit outside the rights of who makes it: the rule, the property at fault (for
/// `fields`), and what to tell them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{detail}")]
pub struct OutOfScope {
    pub rule: ScopeRule,
    pub property: Option<String>,
    pub detail: String,
}

impl OutOfScope {
    fn new(rule: ScopeRule, detail: String) -> Self {
        OutOfScope {
            rule,
            property: None,
            detail,
        }
    }
}

/// A scope made ready for one collection: its filter compiled against the layer, its area
/// parsed. Made once per batch (a 10,000-row change set checks every row with it).
pub(super) struct ReadyScope {
    filter: Option<(Filter, String)>,
    fields: Option<Vec<String>>,
    area: Option<geo::Geometry<f64>>,
}

impl ReadyScope {
    /// `scope` for `layer`; a scope that does not fit the collection (a property it names is
    /// gone) refuses, rather than letting every edit through.
    pub(super) fn new(layer: &Layer, scope: &Scope) -> Result<Self, OutOfScope> {
        let filter = match &scope.write_where {
            None => None,
            Some(text) => {
                let spec = FilterSpec {
                    text: text.clone(),
                    lang: FilterLang::Cql2Text,
                };
                let f = compile(layer, &spec).map_err(|e| {
                    OutOfScope::new(
                        ScopeRule::Where,
                        format!("this token's where filter ({text}) does not fit collection {:?}: {e}; an administrator must correct the token", layer.id.as_str()),
                    )
                })?;
                Some((f, text.clone()))
            }
        };
        let area = match &scope.area {
            None => None,
            Some(a) => Some(area_geometry(a).map_err(|e| {
                OutOfScope::new(
                    ScopeRule::Area,
                    format!("this token's area is not usable: {e}"),
                )
            })?),
        };
        Ok(ReadyScope {
            filter,
            fields: scope.fields.clone(),
            area,
        })
    }

    /// Whether `edit` of the feature in `slot` of `layer` (`None`: a create) stays inside.
    pub(super) fn check(
        &self,
        layer: &Layer,
        slot: Option<usize>,
        edit: &LayerEdit,
    ) -> Result<(), OutOfScope> {
        let id = match edit {
            LayerEdit::Put { id, .. } | LayerEdit::Delete { id } => id.to_string(),
        };
        let after = match edit {
            LayerEdit::Put {
                id,
                geometry,
                cells,
            } => Some(alone(layer, id, geometry, cells)),
            LayerEdit::Delete { .. } => None,
        };
        if let Some((filter, text)) = &self.filter {
            if slot.is_some_and(|s| !filter.matches(layer, s)) {
                return Err(OutOfScope::new(
                    ScopeRule::Where,
                    format!("feature {id:?} is outside what this token may edit ({text})"),
                ));
            }
        }
        if let Some(fields) = &self.fields {
            let before = slot.map(|s| feature_json(layer, s));
            let after_json = after.as_ref().map(|a| feature_json(a, 0));
            if let Some(p) =
                first_change_outside(layer, before.as_ref(), after_json.as_ref(), fields)
            {
                let only = fields.join(", ");
                let detail = if after.is_none() {
                    format!("deleting feature {id:?} removes {p:?}, which this token may not change (it may change only {only})")
                } else {
                    format!("this token may not change {p:?} (it may change only {only})")
                };
                return Err(OutOfScope {
                    rule: ScopeRule::Fields,
                    property: Some(p),
                    detail,
                });
            }
        }
        if let (Some((filter, text)), Some(a)) = (&self.filter, &after) {
            if !filter.matches(a, 0) {
                return Err(OutOfScope::new(
                    ScopeRule::Where,
                    format!("after this edit feature {id:?} would be outside what this token may edit ({text})"),
                ));
            }
        }
        if let Some(area) = &self.area {
            let geometries = slot
                .map(|s| &layer.geometries[s])
                .into_iter()
                .chain(after.as_ref().map(|a| &a.geometries[0]));
            for g in geometries {
                if !g.relate(area).is_coveredby() {
                    return Err(OutOfScope::new(
                        ScopeRule::Area,
                        format!("feature {id:?}'s geometry is (or would be) outside the area this token may edit"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The feature `edit` writes, as the only feature of a layer of `layer`'s schema: so the
/// compiled filter reads it exactly as it reads the stored ones, before the edit is placed.
fn alone(
    layer: &Layer,
    id: &crate::model::FeatureId,
    geometry: &geo::Geometry<f64>,
    cells: &[crate::index::Cell],
) -> Layer {
    let columns = layer
        .fields
        .iter()
        .zip(cells)
        .map(|(f, cell)| {
            let mut c = crate::index::Column::empty(f.ty);
            // A cell the layer's check would refuse is refused there; here it reads as null.
            let _ = c.put(0, cell.clone());
            if c.is_empty() {
                let _ = c.put(0, crate::index::Cell::Null);
            }
            c
        })
        .collect();
    Layer::build(LayerParts {
        id: layer.id.clone(),
        meta: layer.meta.clone(),
        ids: vec![id.clone()],
        geometries: vec![geometry.clone()],
        fields: layer.fields.clone(),
        columns,
    })
}

/// The first own property (or `geometry`) that differs between `before` and `after` and is
/// not in `fields`.
fn first_change_outside(
    layer: &Layer,
    before: Option<&Json>,
    after: Option<&Json>,
    fields: &[String],
) -> Option<String> {
    let (g0, p0) = own_parts(layer, before).unwrap_or_default();
    let (g1, p1) = own_parts(layer, after).unwrap_or_default();
    let allowed = |name: &str| fields.iter().any(|f| f == name);
    if g0 != g1 && !allowed(GEOMETRY_FIELD) {
        return Some(GEOMETRY_FIELD.to_owned());
    }
    let mut names: Vec<&String> = p0.keys().chain(p1.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .find(|k| p0.get(*k) != p1.get(*k) && !allowed(k))
        .cloned()
}

/// The ready scopes of a batch, by collection and scope (requests of one change set share
/// theirs).
#[derive(Default)]
pub(super) struct ScopeCache(Vec<(String, Arc<Scope>, Arc<ReadyScope>)>);

impl ScopeCache {
    pub(super) fn ready(
        &mut self,
        layer: &Layer,
        scope: &Arc<Scope>,
    ) -> Result<Arc<ReadyScope>, OutOfScope> {
        let cid = layer.id.as_str();
        if let Some((_, _, r)) = self
            .0
            .iter()
            .find(|(c, s, _)| c == cid && (Arc::ptr_eq(s, scope) || **s == **scope))
        {
            return Ok(Arc::clone(r));
        }
        let r = Arc::new(ReadyScope::new(layer, scope)?);
        self.0
            .push((cid.to_owned(), Arc::clone(scope), Arc::clone(&r)));
        Ok(r)
    }
}
