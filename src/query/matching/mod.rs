//! Matching a company's requirement to a layer's features: the ones that meet every hard
//! criterion, ranked by soft preferences, and the near misses that fail hard criteria by no
//! more than a margin, each with its reasons.
//!
//! The rule, which README § Matching states for people:
//!
//! - **Hard criteria** are tests on one property each (`min`/`max` on a number or a date, `in` on
//!   a string or an array, `equals` on a boolean) and an optional drawn `area` the feature must
//!   intersect. A null value fails. A feature that passes all is a *match*.
//! - **`by`**, per range criterion: for a pass, the slack to the nearest bound (≥ 0); for a fail,
//!   minus the shortfall. In the property's unit; days for dates.
//! - **Near misses** fail at least one criterion, and each failed one is a range criterion whose
//!   shortfall is at most its margin: the criterion's own `margin` (absolute; days for dates),
//!   else the requirement's relative `margin` (default 0.1) times the violated bound's absolute
//!   value for numbers, else 30 days for dates. `in`, `equals` and `area` have no margin.
//! - **Score** = 100 × Σ wᵢ·sᵢ / Σ wᵢ over the preferences, rounded to one decimal (100 when there
//!   are none), each sᵢ in [0, 1] and 0 for a null value:
//!   `near` a point: 1 − d / within (d: haversine distance in metres from the feature's centroid,
//!   sphere of radius 6,371,008.8 m), at least 0; `near_feature`: the same with d to the nearest
//!   point of that feature (0 when the centroid lies in it); `close_to` a target t:
//!   1 − |v − t| / |t|, at least 0; `sooner` from F to T: (T − date) / (T − F) clamped to [0, 1];
//!   `in` a list: 1 when the value (or an item of the array) is in it, else 0.
//! - **Order**: matches by score, highest first, then by id; near misses by their total miss
//!   (Σ shortfall / margin over the failed criteria), smallest first, then score, then id. Ids
//!   order numbers numerically, before text ids in text order.

use std::cmp::Ordering;

use geo::{Centroid, Closest, ClosestPoint, Contains, Distance, Haversine, MapCoords, Point};
use rayon::prelude::*;
use serde_json::{json, Value as Json};

use super::budget::{Budget, Exceeded};
use super::plan::{Candidates, Plan};

mod parse;
use crate::index::{Column, Layer};
use crate::model::format_date;

/// Default relative margin of a near miss (10 % of the violated bound).
pub const DEFAULT_MARGIN: f64 = 0.1;
/// Default margin of a date criterion, in days.
pub const DEFAULT_MARGIN_DAYS: f64 = 30.0;
/// Default distance at which a `near` preference scores 0, in metres.
pub const DEFAULT_WITHIN_M: f64 = 5_000.0;
pub const DEFAULT_LIMIT: usize = 50;
pub const DEFAULT_NEAR_MISS_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 1_000;
/// Criteria and preferences in one requirement.
pub const MAX_TERMS: usize = 64;
/// Values in one `in` list.
pub const MAX_VALUES: usize = 256;

/// An input the requirement cannot be read as; `member` is its JSON path (`criteria.power_kva.min`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{member}: {reason}")]
pub struct RequirementError {
    pub member: String,
    pub reason: String,
}

fn bad(member: impl Into<String>, reason: impl Into<String>) -> RequirementError {
    RequirementError {
        member: member.into(),
        reason: reason.into(),
    }
}

/// One hard criterion on one property.
#[derive(Debug, Clone)]
pub struct Criterion {
    pub property: String,
    column: usize,
    test: Test,
    /// Absolute margin (the property's unit; days for dates), if the requirement gives one.
    margin: Option<f64>,
}

#[derive(Debug, Clone)]
enum Test {
    /// Numbers, and dates as days since 1970-01-01.
    Range {
        min: Option<f64>,
        max: Option<f64>,
        date: bool,
    },
    OneOf(Vec<String>),
    Equals(bool),
}

/// One soft preference with its weight.
#[derive(Debug, Clone)]
pub struct Preference {
    weight: f64,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Near {
        point: Point<f64>,
        within_m: f64,
    },
    NearFeature {
        label: String,
        geometry: geo::Geometry<f64>,
        within_m: f64,
    },
    CloseTo {
        property: String,
        column: usize,
        target: f64,
    },
    Sooner {
        property: String,
        column: usize,
        from: i32,
        to: i32,
    },
    In {
        property: String,
        column: usize,
        values: Vec<String>,
    },
}

/// A checked requirement for one layer.
#[derive(Debug)]
pub struct Requirement {
    pub criteria: Vec<Criterion>,
    /// The criteria's positions in the order they are tried (see `fate`).
    order: Vec<usize>,
    /// The drawn area, compiled as a CQL2 `S_INTERSECTS` (its limits and checks apply).
    pub area: Option<Plan>,
    pub preferences: Vec<Preference>,
    pub margin: f64,
    pub limit: usize,
    pub near_miss_limit: usize,
}

/// How the caller resolves what the requirement names outside the layer.
pub trait Resolve {
    /// The geometry of feature `id` of `collection`, for `near_feature`.
    fn feature_geometry(&self, collection: &str, id: &str) -> Option<geo::Geometry<f64>>;
    /// The drawn area (a GeoJSON geometry) compiled against the layer as `S_INTERSECTS`.
    fn area(&self, layer: &Layer, geometry: &Json) -> Result<Plan, String>;
}

/// How one feature fares on one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub met: bool,
    /// Range criteria: slack (≥ 0) when met, minus the shortfall when not.
    pub by: Option<f64>,
    /// A failed range criterion: the margin it was allowed (absolute).
    pub margin: Option<f64>,
}

impl Verdict {
    /// Whether a failed criterion is within its margin.
    fn near(&self) -> bool {
        matches!((self.by, self.margin), (Some(by), Some(m)) if -by <= m + 1e-9)
    }
}

/// Whether the text at `slot` (or any item of a list) is one of `values`.
fn one_of(col: &Column, slot: usize, values: &[String]) -> bool {
    match col {
        Column::StringArray(c) => c[slot]
            .as_ref()
            .is_some_and(|items| items.iter().any(|i| values.iter().any(|v| **i == **v))),
        _ => col
            .str_at(slot)
            .is_some_and(|s| values.iter().any(|v| v == s)),
    }
}

fn number_or_date(col: &Column, slot: usize) -> Option<f64> {
    match col {
        Column::Date(c) => c[slot].map(f64::from),
        _ => col.number_at(slot),
    }
}

impl Criterion {
    /// Value lists and flags first: cheap, usually selective, and never within a margin.
    fn cost(&self) -> u8 {
        match self.test {
            Test::OneOf(_) | Test::Equals(_) => 0,
            Test::Range { .. } => 1,
        }
    }

    pub fn judge(&self, layer: &Layer, slot: usize, relative: f64) -> Verdict {
        let col = &layer.columns[self.column];
        let failed = Verdict {
            met: false,
            by: None,
            margin: None,
        };
        match &self.test {
            Test::Range { min, max, date } => {
                let Some(v) = number_or_date(col, slot) else {
                    return failed;
                };
                let below = min.map(|m| v - m);
                let above = max.map(|m| m - v);
                let slack = match (below, above) {
                    (Some(a), Some(b)) => a.min(b),
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => 0.0,
                };
                if slack >= 0.0 {
                    return Verdict {
                        met: true,
                        by: Some(slack),
                        margin: None,
                    };
                }
                // The violated bound decides the default margin.
                let violated = match (below, min, max) {
                    (Some(b), Some(m), _) if b < 0.0 => *m,
                    (_, _, Some(m)) => *m,
                    (_, Some(m), None) => *m,
                    (_, None, None) => 0.0,
                };
                let margin = self.margin.unwrap_or(if *date {
                    DEFAULT_MARGIN_DAYS
                } else {
                    relative * violated.abs()
                });
                Verdict {
                    met: false,
                    by: Some(slack),
                    margin: Some(margin),
                }
            }
            Test::OneOf(values) => {
                let met = one_of(col, slot, values);
                Verdict {
                    met,
                    by: None,
                    margin: None,
                }
            }
            Test::Equals(b) => Verdict {
                met: matches!(col, Column::Boolean(c) if c[slot] == Some(*b)),
                by: None,
                margin: None,
            },
        }
    }

    /// The criterion as given, for the answer.
    fn describe(&self) -> Json {
        let mut out = json!({"property": self.property});
        match &self.test {
            Test::Range { min, max, date } => {
                let show = |v: f64| {
                    if *date {
                        json!(format_date(v as i32))
                    } else {
                        json!(v)
                    }
                };
                if let Some(m) = min {
                    out["min"] = show(*m);
                }
                if let Some(m) = max {
                    out["max"] = show(*m);
                }
                if *date {
                    out["unit"] = json!("days");
                }
            }
            Test::OneOf(v) => out["in"] = json!(v),
            Test::Equals(b) => out["equals"] = json!(b),
        }
        out
    }
}

/// The haversine distance in metres from `p` to the nearest point of `g` (0 inside it).
fn distance_to(p: Point<f64>, g: &geo::Geometry<f64>) -> f64 {
    if g.contains(&p) {
        return 0.0;
    }
    // The nearest point in a local frame with longitudes scaled by cos(latitude), as in
    // `nearest::geodesic_distance`.
    let k = p.y().to_radians().cos().max(1e-9);
    let local = g.map_coords(|c| geo::coord! { x: (c.x - p.x()) * k, y: c.y - p.y() });
    match local.closest_point(&Point::new(0.0, 0.0)) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => {
            Haversine.distance(p, Point::new(q.x() / k + p.x(), q.y() + p.y()))
        }
        Closest::Indeterminate => f64::INFINITY,
    }
}

impl Preference {
    /// This preference's sᵢ in [0, 1] for `slot`, and the measured value shown with it.
    fn score(&self, layer: &Layer, slot: usize, centroid: Option<Point<f64>>) -> (f64, Json) {
        let clamp = |x: f64| x.clamp(0.0, 1.0);
        match &self.kind {
            Kind::Near { point, within_m } => match centroid {
                Some(c) => {
                    let d = Haversine.distance(c, *point);
                    (clamp(1.0 - d / within_m), json!(d.round()))
                }
                None => (0.0, Json::Null),
            },
            Kind::NearFeature {
                geometry, within_m, ..
            } => match centroid {
                Some(c) => {
                    let d = distance_to(c, geometry);
                    (clamp(1.0 - d / within_m), json!(d.round()))
                }
                None => (0.0, Json::Null),
            },
            Kind::CloseTo { column, target, .. } => match layer.columns[*column].number_at(slot) {
                Some(v) => (clamp(1.0 - (v - target).abs() / target.abs()), json!(v)),
                None => (0.0, Json::Null),
            },
            Kind::Sooner {
                column, from, to, ..
            } => match &layer.columns[*column] {
                Column::Date(c) => match c[slot] {
                    Some(d) => (
                        clamp(f64::from(to - d) / f64::from(to - from)),
                        json!(format_date(d)),
                    ),
                    None => (0.0, Json::Null),
                },
                _ => (0.0, Json::Null),
            },
            Kind::In { column, values, .. } => {
                let col = &layer.columns[*column];
                let hit = one_of(col, slot, values);
                (if hit { 1.0 } else { 0.0 }, col.json_at(slot))
            }
        }
    }

    fn describe(&self) -> Json {
        let mut out = match &self.kind {
            Kind::Near { point, within_m } => {
                json!({"near": [point.x(), point.y()], "within_m": within_m})
            }
            Kind::NearFeature {
                label, within_m, ..
            } => json!({"near_feature": label, "within_m": within_m}),
            Kind::CloseTo {
                property, target, ..
            } => json!({"close_to": {property.as_str(): target}}),
            Kind::Sooner {
                property, from, to, ..
            } => json!({"sooner": property, "from": format_date(*from), "to": format_date(*to)}),
            Kind::In {
                property, values, ..
            } => json!({"in": {property.as_str(): values}}),
        };
        out["weight"] = json!(self.weight);
        out
    }
}

/// One feature in the answer.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub slot: usize,
    /// 0 to 100, one decimal.
    pub score: f64,
    pub verdicts: Vec<Verdict>,
    /// (sᵢ, measured value) per preference.
    pub preferences: Vec<(f64, Json)>,
    /// Near misses: Σ shortfall / margin over the failed criteria.
    pub miss: f64,
}

/// The answer: matches and near misses, each ordered, and how many there were in all.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub matched: usize,
    pub near_missed: usize,
    pub matches: Vec<Ranked>,
    pub near_misses: Vec<Ranked>,
}

/// Rounds to one decimal, halves away from zero (as people round by hand).
fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What a slot is for a requirement: a match, a near miss, or neither.
enum Fate {
    Match(Vec<Verdict>),
    NearMiss(Vec<Verdict>),
    Out,
}

fn fate(req: &Requirement, layer: &Layer, slot: usize) -> Fate {
    if !layer.is_live(slot) {
        return Fate::Out;
    }
    // Most features fail a criterion outright: find that out first, in the order that rules
    // out most for least (value lists before ranges), without allocating.
    let mut all_met = true;
    for &i in &req.order {
        let v = req.criteria[i].judge(layer, slot, req.margin);
        if !v.met {
            if !v.near() {
                return Fate::Out;
            }
            all_met = false;
        }
    }
    if let Some(area) = &req.area {
        if !area.matches(layer, slot) {
            return Fate::Out;
        }
    }
    // A match or a near miss (few): its verdicts, in the requirement's order, for the answer.
    let verdicts = req
        .criteria
        .iter()
        .map(|c| c.judge(layer, slot, req.margin))
        .collect();
    if all_met {
        Fate::Match(verdicts)
    } else {
        Fate::NearMiss(verdicts)
    }
}

/// The centroid preferences measure distances from, when one of them does.
fn centroid_for(req: &Requirement, layer: &Layer, slot: usize) -> Option<Point<f64>> {
    if req
        .preferences
        .iter()
        .any(|p| matches!(p.kind, Kind::Near { .. } | Kind::NearFeature { .. }))
    {
        layer.geometries[slot].centroid()
    } else {
        None
    }
}

/// A match or near miss with its score and shortfall, but not yet the per-preference values
/// shown with it: those are built only for the features that make the answer
/// ([`with_preferences`]), so a request with many preferences over many matches holds no more
/// than `limit` of them.
fn rank(req: &Requirement, layer: &Layer, slot: usize, verdicts: Vec<Verdict>) -> Ranked {
    let centroid = centroid_for(req, layer, slot);
    let total: f64 = req.preferences.iter().map(|p| p.weight).sum();
    let score = if total > 0.0 {
        one_decimal(
            100.0
                * req
                    .preferences
                    .iter()
                    .map(|p| p.weight * p.score(layer, slot, centroid).0)
                    .sum::<f64>()
                / total,
        )
    } else {
        100.0
    };
    let miss = verdicts
        .iter()
        .filter(|v| !v.met)
        .map(|v| match (v.by, v.margin) {
            (Some(by), Some(m)) if m > 0.0 => -by / m,
            _ => 0.0,
        })
        .sum();
    Ranked {
        slot,
        score,
        verdicts,
        preferences: Vec::new(),
        miss,
    }
}

/// `r` with its (sᵢ, measured value) per preference, for the answer.
fn with_preferences(req: &Requirement, layer: &Layer, mut r: Ranked) -> Ranked {
    let centroid = centroid_for(req, layer, r.slot);
    r.preferences = req
        .preferences
        .iter()
        .map(|p| p.score(layer, r.slot, centroid))
        .collect();
    r
}

/// Keeps the first `k` of `v` in the order `cmp` gives, sorted.
fn keep_top(v: &mut Vec<Ranked>, k: usize, cmp: &dyn Fn(&Ranked, &Ranked) -> Ordering) {
    if v.len() > k {
        v.select_nth_unstable_by(k, cmp);
        v.truncate(k);
    }
    v.sort_by(cmp);
}

/// Slots judged per chunk (one budget check, one rayon task).
const CHUNK: usize = 4096;

/// The candidates of `req` over `layer`: the drawn area's boxes narrow them through the R-tree;
/// else every slot, in ranges (a million slots need no list of a million numbers).
fn candidates(req: &Requirement, layer: &Layer) -> (Option<Vec<usize>>, usize) {
    let listed: Option<Vec<usize>> = match req.area.as_ref().map(Plan::candidates) {
        Some(Candidates::Rects(rects)) => {
            let mut slots: Vec<usize> = rects
                .iter()
                .flat_map(|r| layer.slots_intersecting_rect(*r).map(|s| s as usize))
                .collect();
            slots.sort_unstable();
            slots.dedup();
            Some(slots)
        }
        _ => None,
    };
    let total = listed.as_ref().map_or(layer.len(), Vec::len);
    (listed, total)
}

/// Runs `judge` over the candidates in chunks (in parallel when the budget allows), each
/// chunk given its slots; the chunks' results in order.
fn by_chunks<T: Send>(
    req: &Requirement,
    layer: &Layer,
    budget: &Budget,
    judge: impl Fn(&mut dyn Iterator<Item = usize>) -> T + Sync,
) -> Result<Vec<T>, Exceeded> {
    let (listed, total) = candidates(req, layer);
    let chunk = |c: usize| -> Result<T, Exceeded> {
        budget.check()?;
        let range = c * CHUNK..((c + 1) * CHUNK).min(total);
        let mut slots = range.map(|at| listed.as_ref().map_or(at, |l| l[at]));
        Ok(judge(&mut slots))
    };
    let chunks = total.div_ceil(CHUNK);
    if budget.parallel {
        (0..chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..chunks).map(chunk).collect()
    }
}

/// Matches `req` over `layer`: every live feature is judged (the drawn area, when there is one,
/// narrows the candidates through the R-tree first), then matches and near misses are scored and
/// ordered as the module documentation says.
pub fn run(req: &Requirement, layer: &Layer, budget: &Budget) -> Result<Outcome, Exceeded> {
    let by_id = |a: &Ranked, b: &Ranked| layer.ids[a.slot].cmp(&layer.ids[b.slot]);
    let by_score =
        |a: &Ranked, b: &Ranked| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal);
    let match_order = |a: &Ranked, b: &Ranked| by_score(a, b).then_with(|| by_id(a, b));
    let near_order = |a: &Ranked, b: &Ranked| {
        a.miss
            .partial_cmp(&b.miss)
            .unwrap_or(Ordering::Equal)
            .then_with(|| by_score(a, b))
            .then_with(|| by_id(a, b))
    };
    // Each chunk keeps only its own best `limit` (the answer's best are among the chunks'
    // best), so memory is bounded by chunks × limit, whatever the number of matches.
    let parts = by_chunks(req, layer, budget, |slots| {
        let mut out = Judged::default();
        for slot in slots {
            match fate(req, layer, slot) {
                Fate::Match(v) => {
                    out.matched += 1;
                    out.matches.push(rank(req, layer, slot, v));
                    if out.matches.len() >= 2 * req.limit.max(CHUNK / 8) {
                        keep_top(&mut out.matches, req.limit, &match_order);
                    }
                }
                Fate::NearMiss(v) => {
                    out.near_missed += 1;
                    out.near.push(rank(req, layer, slot, v));
                    if out.near.len() >= 2 * req.near_miss_limit.max(CHUNK / 8) {
                        keep_top(&mut out.near, req.near_miss_limit, &near_order);
                    }
                }
                Fate::Out => {}
            }
        }
        keep_top(&mut out.matches, req.limit, &match_order);
        keep_top(&mut out.near, req.near_miss_limit, &near_order);
        out
    })?;
    let mut all = Judged::default();
    for part in parts {
        all.matched += part.matched;
        all.near_missed += part.near_missed;
        all.matches.extend(part.matches);
        all.near.extend(part.near);
    }
    budget.check()?;
    keep_top(&mut all.matches, req.limit, &match_order);
    keep_top(&mut all.near, req.near_miss_limit, &near_order);
    let full = |v: Vec<Ranked>| -> Vec<Ranked> {
        v.into_iter()
            .map(|r| with_preferences(req, layer, r))
            .collect()
    };
    Ok(Outcome {
        matched: all.matched,
        near_missed: all.near_missed,
        matches: full(all.matches),
        near_misses: full(all.near),
    })
}

/// Most scores one answer of [`scores`] lists, of matches and of near misses each: 250,000
/// pairs are about 6 MB of JSON. Past it the best-scored are kept and the answer says so.
pub const MAX_SCORES: usize = 250_000;

/// Every match's and near miss's score (slot, 0 to 100), for a map that colours each of them:
/// the same judgement and score as [`run`], without the reasons, at most [`MAX_SCORES`] each.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub matched: usize,
    pub near_missed: usize,
    pub matches: Vec<(usize, f64)>,
    pub near_misses: Vec<(usize, f64)>,
}

impl Scores {
    /// Whether every match and near miss is listed.
    pub fn complete(&self) -> bool {
        self.matches.len() == self.matched && self.near_misses.len() == self.near_missed
    }
}

/// The scores of every match and near miss of `req` (see [`Scores`]).
pub fn scores(req: &Requirement, layer: &Layer, budget: &Budget) -> Result<Scores, Exceeded> {
    let parts = by_chunks(req, layer, budget, |slots| {
        let mut out = Scores::default();
        for slot in slots {
            match fate(req, layer, slot) {
                Fate::Match(v) => out.matches.push((slot, rank(req, layer, slot, v).score)),
                Fate::NearMiss(v) => out
                    .near_misses
                    .push((slot, rank(req, layer, slot, v).score)),
                Fate::Out => {}
            }
        }
        out
    })?;
    let mut all = Scores::default();
    for part in parts {
        all.matches.extend(part.matches);
        all.near_misses.extend(part.near_misses);
    }
    all.matched = all.matches.len();
    all.near_missed = all.near_misses.len();
    let best = |v: &mut Vec<(usize, f64)>| {
        if v.len() > MAX_SCORES {
            v.select_nth_unstable_by(MAX_SCORES, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(MAX_SCORES);
            v.sort_unstable_by_key(|x| x.0);
        }
    };
    best(&mut all.matches);
    best(&mut all.near_misses);
    Ok(all)
}

/// What one chunk of candidates gave: how many matched and nearly matched, and the best of each.
#[derive(Default)]
struct Judged {
    matched: usize,
    near_missed: usize,
    matches: Vec<Ranked>,
    near: Vec<Ranked>,
}

impl Requirement {
    /// The requirement as understood (defaults filled in), echoed in the answer.
    pub fn describe(&self) -> Json {
        json!({
            "criteria": self.criteria.iter().map(Criterion::describe).collect::<Vec<_>>(),
            "area": self.area.is_some(),
            "preferences": self.preferences.iter().map(Preference::describe).collect::<Vec<_>>(),
            "margin": self.margin,
            "limit": self.limit,
            "nearMissLimit": self.near_miss_limit,
        })
    }

    /// One ranked feature's reasons: per criterion its value, met, by, and margin when failed;
    /// per preference its measured value, sᵢ and weight.
    pub fn reasons(&self, layer: &Layer, r: &Ranked) -> (Vec<Json>, Vec<Json>) {
        let criteria = self
            .criteria
            .iter()
            .zip(&r.verdicts)
            .map(|(c, v)| {
                let mut out = c.describe();
                out["value"] = layer.columns[c.column].json_at(r.slot);
                out["met"] = json!(v.met);
                if let Some(by) = v.by {
                    // Binary fractions (8.5 − 7.3) print as people wrote them.
                    out["by"] = json!((by * 1e6).round() / 1e6);
                }
                if let Some(m) = v.margin {
                    out["margin"] = json!(m);
                }
                out
            })
            .collect();
        let preferences = self
            .preferences
            .iter()
            .zip(&r.preferences)
            .map(|(p, (s, value))| {
                let mut out = p.describe();
                out["value"] = value.clone();
                out["score"] = json!((s * 1000.0).round() / 1000.0);
                out
            })
            .collect();
        (criteria, preferences)
    }
}
