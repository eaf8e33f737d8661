//! Random filters over random features: the server's R-tree path agrees with a plain,
//! obviously-correct linear evaluation written here, with three-valued logic.

use std::sync::Arc;

use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::query::{FeatureQuery, FilterLang, FilterSpec};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Feat {
    /// Rectangle [x0, y0, x1, y1]; a point when x0 == x1 and y0 == y1.
    rect: [f64; 4],
    a: Option<i64>,
    s: Option<&'static str>,
    b: bool,
}

#[derive(Debug, Clone)]
enum F {
    Intersects([f64; 4]),
    Disjoint([f64; 4]),
    Cmp(&'static str, i64),
    StrEq(&'static str),
    Like(&'static str),
    IsTrue,
    IsNull,
    And(Box<F>, Box<F>),
    Or(Box<F>, Box<F>),
    Not(Box<F>),
}

const WORDS: [&str; 4] = ["alpha", "beta", "gamma", "alpine"];

fn coord() -> impl Strategy<Value = f64> {
    (0u32..=40).prop_map(|v| v as f64 / 4.0)
}

fn rect() -> impl Strategy<Value = [f64; 4]> {
    (coord(), coord(), coord(), coord())
        .prop_map(|(a, b, c, d)| [a.min(c), b.min(d), a.max(c), b.max(d)])
}

fn feat() -> impl Strategy<Value = Feat> {
    (
        rect(),
        prop::bool::ANY,
        prop::option::of(0i64..20),
        prop::option::of(0usize..4),
        prop::bool::ANY,
    )
        .prop_map(|(mut r, point, a, s, b)| {
            if point {
                r[2] = r[0];
                r[3] = r[1];
            } else if r[0] == r[2] || r[1] == r[3] {
                r[2] = r[0] + 0.25;
                r[3] = r[1] + 0.25;
            }
            Feat {
                rect: r,
                a,
                s: s.map(|i| WORDS[i]),
                b,
            }
        })
}

fn filter() -> impl Strategy<Value = F> {
    let leaf = prop_oneof![
        rect().prop_map(F::Intersects),
        rect().prop_map(F::Disjoint),
        (
            prop::sample::select(vec!["<", "<=", "=", "<>", ">", ">="]),
            0i64..20
        )
            .prop_map(|(o, k)| F::Cmp(o, k)),
        prop::sample::select(WORDS.to_vec()).prop_map(F::StrEq),
        prop::sample::select(vec!["al%", "%ta", "_amma", "%p%"]).prop_map(F::Like),
        Just(F::IsTrue),
        Just(F::IsNull),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| F::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| F::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| F::Not(Box::new(a))),
        ]
    })
}

fn text(f: &F) -> String {
    let bbox = |r: &[f64; 4]| format!("BBOX({},{},{},{})", r[0], r[1], r[2], r[3]);
    match f {
        F::Intersects(r) => format!("S_INTERSECTS(geometry,{})", bbox(r)),
        F::Disjoint(r) => format!("S_DISJOINT(geometry,{})", bbox(r)),
        F::Cmp(o, k) => format!("a {o} {k}"),
        F::StrEq(w) => format!("s = '{w}'"),
        F::Like(p) => format!("s LIKE '{p}'"),
        F::IsTrue => "b = true".into(),
        F::IsNull => "a IS NULL".into(),
        F::And(a, b) => format!("({} AND {})", text(a), text(b)),
        F::Or(a, b) => format!("({} OR {})", text(a), text(b)),
        F::Not(a) => format!("NOT ({})", text(a)),
    }
}

fn overlaps(f: &[f64; 4], q: &[f64; 4]) -> bool {
    f[0] <= q[2] && q[0] <= f[2] && f[1] <= q[3] && q[1] <= f[3]
}

fn like(p: &str, s: &str) -> bool {
    match p {
        "al%" => s.starts_with("al"),
        "%ta" => s.ends_with("ta"),
        "_amma" => s.chars().count() == 5 && s.ends_with("amma"),
        "%p%" => s.contains('p'),
        _ => unreachable!(),
    }
}

/// The oracle: Kleene's three-valued logic, None for unknown.
fn eval(f: &F, x: &Feat) -> Option<bool> {
    match f {
        F::Intersects(r) => Some(overlaps(&x.rect, r)),
        F::Disjoint(r) => Some(!overlaps(&x.rect, r)),
        F::Cmp(o, k) => x.a.map(|a| match *o {
            "<" => a < *k,
            "<=" => a <= *k,
            "=" => a == *k,
            "<>" => a != *k,
            ">" => a > *k,
            _ => a >= *k,
        }),
        F::StrEq(w) => x.s.map(|s| s == *w),
        F::Like(p) => x.s.map(|s| like(p, s)),
        F::IsTrue => Some(x.b),
        F::IsNull => Some(x.a.is_none()),
        F::And(a, b) => match (eval(a, x), eval(b, x)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        F::Or(a, b) => match (eval(a, x), eval(b, x)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        F::Not(a) => eval(a, x).map(|v| !v),
    }
}

fn store_of(feats: &[Feat]) -> Catalog {
    let features: Vec<Value> = feats
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let r = f.rect;
            let geometry = if r[0] == r[2] {
                json!({"type": "Point", "coordinates": [r[0], r[1]]})
            } else {
                json!({"type": "Polygon", "coordinates": [[[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]], [r[0], r[1]]]]})
            };
            json!({"type": "Feature", "id": i, "geometry": geometry, "properties": {"a": f.a, "s": f.s, "b": f.b}})
        })
        .collect();
    let doc = json!({"type": "FeatureCollection", "features": features});
    let file = SourceFile {
        name: "t.geojson".into(),
        bytes: serde_json::to_vec(&doc).unwrap().into(),
        path: None,
    };
    ingest::load(vec![file], "proptest", LoadOptions::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn rtree_path_agrees_with_a_linear_scan(feats in prop::collection::vec(feat(), 1..60), f in filter(), bbox in prop::option::of(rect())) {
        let catalog = store_of(&feats);
        let layer = Arc::clone(catalog.layer("t").unwrap());
        let q = FeatureQuery {
            filter: Some(FilterSpec { text: text(&f), lang: FilterLang::Cql2Text }),
            bbox: bbox.map(|r| etown_atlas::model::Bbox::new(r[0], r[1], r[2], r[3]).unwrap()),
            limit: 10_000,
            ..FeatureQuery::default()
        };
        let page = etown_atlas::query::exec::run(&layer, &q, &etown_atlas::query::Budget::unlimited()).unwrap();
        let got: Vec<i64> = page.slots.iter().map(|s| match layer.ids[*s] { etown_atlas::model::FeatureId::Int(i) => i, _ => -1 }).collect();
        let expected: Vec<i64> = feats
            .iter()
            .enumerate()
            .filter(|(_, x)| eval(&f, x) == Some(true) && bbox.is_none_or(|b| overlaps(&x.rect, &b)))
            .map(|(i, _)| i as i64)
            .collect();
        prop_assert_eq!(got, expected, "filter {}", text(&f));
    }
}
