//! The attribute indexes answer exactly what a scan answers: for random conjunctions and
//! disjunctions of attribute terms (with values drawn from the data itself), a page found
//! through the indexes has the same ids, in the same order, and the same `numberMatched` as
//! the page found by testing every feature; on the shipped data, on 100,000 synthetic carriers,
//! and after edits that leave index entries stale.

use std::sync::{Arc, OnceLock};

use etown_atlas::index::{Catalog, Cell, Column, Layer, LayerEdit};
use etown_atlas::ingest::LoadOptions;
use etown_atlas::model::{format_date, Bbox, FeatureId};
use etown_atlas::query::exec::{page, page_by_scan, uses_index};
use etown_atlas::query::{compile, Budget, FeatureQuery, FilterLang, FilterSpec, SortKey};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::{catalog_for, shipped_catalog, synth_dir};

/// A term over one column, with a value taken from the data (or just beside it).
#[derive(Debug, Clone)]
enum T {
    Text(String, String),
    TextIn(String, Vec<String>),
    Num(String, &'static str, f64),
    Between(String, f64, f64),
    Date(String, &'static str, String),
    Bool(String, bool),
    IsNull(String),
    Not(Box<T>),
    And(Vec<T>),
    Or(Vec<T>),
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn text(t: &T) -> String {
    match t {
        T::Text(c, v) => format!("{c} = {}", quote(v)),
        T::TextIn(c, vs) => format!(
            "{c} IN ({})",
            vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
        ),
        T::Num(c, op, v) => format!("{c} {op} {v}"),
        T::Between(c, a, b) => format!("{c} BETWEEN {a} AND {b}"),
        T::Date(c, op, d) => format!("{c} {op} DATE('{d}')"),
        T::Bool(c, b) => format!("{c} = {b}"),
        T::IsNull(c) => format!("{c} IS NULL"),
        T::Not(t) => format!("NOT ({})", text(t)),
        T::And(ts) => format!(
            "({})",
            ts.iter().map(text).collect::<Vec<_>>().join(" AND ")
        ),
        T::Or(ts) => format!("({})", ts.iter().map(text).collect::<Vec<_>>().join(" OR ")),
    }
}

/// The layer's scalar columns with the values a term may use: each column's values at a
/// sample of slots, plus one value the data does not hold.
struct Values {
    texts: Vec<(String, Vec<String>)>,
    numbers: Vec<(String, Vec<f64>)>,
    dates: Vec<(String, Vec<String>)>,
    bools: Vec<String>,
}

fn values_of(layer: &Layer) -> Values {
    let mut v = Values {
        texts: Vec::new(),
        numbers: Vec::new(),
        dates: Vec::new(),
        bools: Vec::new(),
    };
    let step = (layer.len() / 200).max(1);
    let sample = || (0..layer.len()).step_by(step);
    for (f, c) in layer.fields.iter().zip(&layer.columns) {
        let name = f.name.clone();
        match c {
            Column::String(col) => {
                let mut vs: Vec<String> = sample()
                    .filter_map(|s| col[s].as_deref().map(str::to_owned))
                    .collect();
                vs.sort();
                vs.dedup();
                vs.push("not in the data".into());
                v.texts.push((name, vs));
            }
            Column::Integer(_) | Column::Number(_) => {
                let mut vs: Vec<f64> = sample().filter_map(|s| c.number_at(s)).collect();
                vs.push(-1.5);
                v.numbers.push((name, vs));
            }
            Column::Date(col) => {
                let mut vs: Vec<String> =
                    sample().filter_map(|s| col[s].map(format_date)).collect();
                vs.push("1999-12-31".into());
                v.dates.push((name, vs));
            }
            Column::Boolean(_) => v.bools.push(name),
            _ => {}
        }
    }
    v
}

fn term(v: &Values) -> BoxedStrategy<T> {
    let texts = v.texts.clone();
    let texts2 = v.texts.clone();
    let numbers = v.numbers.clone();
    let numbers2 = v.numbers.clone();
    let dates = v.dates.clone();
    let mut leaves: Vec<BoxedStrategy<T>> = vec![
        prop::sample::select(texts)
            .prop_flat_map(|(c, vs)| {
                prop::sample::select(vs).prop_map(move |x| T::Text(c.clone(), x))
            })
            .boxed(),
        prop::sample::select(texts2)
            .prop_flat_map(|(c, vs)| {
                prop::sample::subsequence(vs.clone(), 1..vs.len().clamp(2, 4))
                    .prop_map(move |xs| T::TextIn(c.clone(), xs))
            })
            .boxed(),
        (
            prop::sample::select(numbers),
            prop::sample::select(vec!["<", "<=", "=", ">", ">=", "<>"]),
        )
            .prop_flat_map(|((c, vs), op)| {
                prop::sample::select(vs).prop_map(move |x| T::Num(c.clone(), op, x))
            })
            .boxed(),
        prop::sample::select(numbers2)
            .prop_flat_map(|(c, vs)| {
                (prop::sample::select(vs.clone()), prop::sample::select(vs))
                    .prop_map(move |(a, b)| T::Between(c.clone(), a.min(b), a.max(b)))
            })
            .boxed(),
    ];
    if !dates.is_empty() {
        leaves.push(
            (
                prop::sample::select(dates),
                prop::sample::select(vec!["<", "<=", "=", ">", ">="]),
            )
                .prop_flat_map(|((c, vs), op)| {
                    prop::sample::select(vs).prop_map(move |x| T::Date(c.clone(), op, x))
                })
                .boxed(),
        );
    }
    if !v.bools.is_empty() {
        leaves.push(
            (prop::sample::select(v.bools.clone()), any::<bool>())
                .prop_map(|(c, b)| T::Bool(c, b))
                .boxed(),
        );
    }
    let nullable: Vec<String> = v
        .numbers
        .iter()
        .map(|(c, _)| c.clone())
        .chain(v.texts.iter().map(|(c, _)| c.clone()))
        .collect();
    leaves.push(prop::sample::select(nullable).prop_map(T::IsNull).boxed());
    let leaf = prop::strategy::Union::new(leaves);
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            4 => prop::collection::vec(inner.clone(), 2..4).prop_map(T::And),
            3 => prop::collection::vec(inner.clone(), 2..4).prop_map(T::Or),
            1 => inner.prop_map(|t| T::Not(Box::new(t))),
        ]
    })
    .boxed()
}

/// Runs `cases` random queries on `layer`; returns how many went through an index.
fn agree(layer: &Layer, cases: u32, seed: u8) -> usize {
    let values = values_of(layer);
    let extent = layer.extent.expect("a layer with features");
    let strategy = (
        term(&values),
        prop::option::weighted(0.2, (0.0f64..1.0, 0.0f64..1.0)),
        prop::option::weighted(0.2, prop::sample::select(values.numbers.clone())),
        0usize..3,
    );
    let mut runner = runner(cases, seed);
    let through_index = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(t, corner, sort, offset_pages)| {
            let bbox = corner.map(|(fx, fy)| {
                let (w, h) = (extent.width(), extent.height());
                let x0 = extent.min().x + fx * w * 0.7;
                let y0 = extent.min().y + fy * h * 0.7;
                Bbox::new(x0, y0, x0 + w * 0.3, y0 + h * 0.3).expect("a box inside the extent")
            });
            let q = FeatureQuery {
                filter: Some(FilterSpec {
                    text: text(&t),
                    lang: FilterLang::Cql2Text,
                }),
                bbox,
                sortby: sort
                    .map(|(c, _)| {
                        vec![SortKey {
                            property: c,
                            descending: true,
                        }]
                    })
                    .unwrap_or_default(),
                ..FeatureQuery::default()
            };
            let plan = compile(layer, &q).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            if uses_index(layer, &plan) {
                through_index.set(through_index.get() + 1);
            }
            let budget = Budget::unlimited();
            let offset = offset_pages * 7;
            let got = page(layer, &plan, offset, 500, &budget).expect("no budget");
            let want = page_by_scan(layer, &plan, offset, 500, &budget).expect("no budget");
            let ids = |slots: &[usize]| -> Vec<FeatureId> {
                slots.iter().map(|s| layer.ids[*s].clone()).collect()
            };
            prop_assert_eq!(
                got.number_matched,
                want.number_matched,
                "numberMatched of {}",
                text(&t)
            );
            prop_assert_eq!(ids(&got.slots), ids(&want.slots), "ids of {}", text(&t));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    through_index.get()
}

/// A proptest runner of `cases` cases from a fixed seed: the same cases on every run.
fn runner(cases: u32, seed: u8) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &[seed; 32],
        ),
    )
}

fn carriers(catalog: &Catalog) -> Arc<Layer> {
    Arc::clone(
        catalog
            .layer("spatial-carriers")
            .expect("the carriers layer"),
    )
}

fn synth_100k() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let dir = synth_dir(100_000);
        catalog_for(dir.path(), LoadOptions::default())
    })
}

/// Edits `n` features: every third is deleted, the others take the values of another feature
/// (so the indexes' entries for them are out of date), and a few new ones are added.
fn edited(layer: &Layer, n: usize) -> Layer {
    let live: Vec<usize> = layer.live_slots().collect();
    let mut edits = Vec::new();
    for k in 0..n {
        let slot = live[(k * 7919) % live.len()];
        let donor = live[(k * 104_729 + 13) % live.len()];
        let id = layer.ids[slot].clone();
        if k % 3 == 0 {
            edits.push(LayerEdit::Delete { id });
        } else {
            let cells: Vec<Cell> = layer.columns.iter().map(|c| c.cell_at(donor)).collect();
            edits.push(LayerEdit::Put {
                id,
                geometry: (*layer.geometries[donor]).clone(),
                cells,
            });
        }
    }
    // Deleting twice would be refused: keep the first edit of each id.
    let mut seen = std::collections::HashSet::new();
    edits.retain(|e| {
        seen.insert(match e {
            LayerEdit::Put { id, .. } | LayerEdit::Delete { id } => id.to_string(),
        })
    });
    for k in 0..n / 10 {
        let donor = live[(k * 31) % live.len()];
        edits.push(LayerEdit::Put {
            id: FeatureId::Str(format!("new-{k}")),
            geometry: (*layer.geometries[donor]).clone(),
            cells: layer.columns.iter().map(|c| c.cell_at(donor)).collect(),
        });
    }
    layer.apply(&edits).expect("edits that fit the layer")
}

#[test]
fn indexes_agree_with_a_scan_on_the_shipped_carriers() {
    let layer = carriers(&shipped_catalog());
    let used = agree(&layer, 300, 1);
    assert!(
        used > 30,
        "only {used} of 300 queries went through an index"
    );
}

#[test]
fn indexes_agree_with_a_scan_on_100k_synthetic_carriers() {
    let layer = carriers(synth_100k());
    let used = agree(&layer, 120, 2);
    assert!(
        used > 12,
        "only {used} of 120 queries went through an index"
    );
}

#[test]
fn indexes_agree_with_a_scan_after_edits() {
    let shipped = carriers(&shipped_catalog());
    let small = edited(&shipped, 20);
    assert!(small.stale_count() > 0);
    agree(&small, 200, 3);
    let layer = carriers(synth_100k());
    let after = edited(&layer, 3_000);
    assert!(
        after.stale_count() >= 2_000,
        "{} stale",
        after.stale_count()
    );
    let used = agree(&after, 80, 4);
    assert!(used > 8, "only {used} of 80 queries went through an index");
    // Past the merge threshold the indexes are rebuilt, and must still agree.
    let merged = edited(&after, 9_000);
    assert_eq!(merged.stale_count(), 0, "9,000 edits merge the indexes");
    agree(&merged, 60, 5);
}

/// Past the merge threshold, edits that change only some columns (a weekly spreadsheet) or only
/// geometries keep the other indexes: whatever is kept, queries must still agree with a scan.
#[test]
fn indexes_agree_after_a_merge_of_edits_to_some_columns() {
    let layer = carriers(synth_100k());
    let columns = retouched(
        &layer,
        9_000,
        &["available_floor_area_m2", "industry"],
        false,
    );
    assert_eq!(columns.stale_count(), 0, "9,000 edits merge the indexes");
    let used = agree(&columns, 60, 6);
    assert!(used > 6, "only {used} of 60 queries went through an index");
    let moved = retouched(&columns, 9_000, &[], true);
    assert_eq!(moved.stale_count(), 0);
    agree(&moved, 40, 7);
}

/// Edits `n` live features in place: each takes another feature's values in the `columns` named
/// (and its geometry, if `move_geometry`), keeping the rest of its own.
fn retouched(layer: &Layer, n: usize, columns: &[&str], move_geometry: bool) -> Layer {
    let live: Vec<usize> = layer.live_slots().collect();
    let edits: Vec<LayerEdit> = (0..n)
        .map(|k| {
            let slot = live[(k * 7919) % live.len()];
            let donor = live[(k * 104_729 + 13) % live.len()];
            let from = |name: &str| if columns.contains(&name) { donor } else { slot };
            LayerEdit::Put {
                id: layer.ids[slot].clone(),
                geometry: (*layer.geometries[if move_geometry { donor } else { slot }]).clone(),
                cells: layer
                    .columns
                    .iter()
                    .zip(&layer.fields)
                    .map(|(c, f)| c.cell_at(from(&f.name)))
                    .collect(),
            }
        })
        .collect();
    layer.apply(&edits).expect("edits that fit the layer")
}

/// A later page given the count of the first (see `CountCache`) has the features a fresh count
/// would find, and takes the count as given instead of counting again.
#[test]
fn a_known_count_gives_the_same_pages_without_counting() {
    let layer = carriers(synth_100k());
    let budget = Budget::unlimited();
    for filter in [
        // Not answered by an index alone: the later pages stop early.
        "available_floor_area_m2 <> 3000 AND name_en LIKE '%1%'",
        // Exact through the indexes.
        "industry = 'future_health' AND available_floor_area_m2 >= 3000",
    ] {
        let q = FeatureQuery {
            filter: Some(FilterSpec {
                text: filter.into(),
                lang: FilterLang::Cql2Text,
            }),
            ..FeatureQuery::default()
        };
        let plan = compile(&layer, &q).unwrap();
        let first = page_by_scan(&layer, &plan, 0, 100, &budget).unwrap();
        assert!(
            first.number_matched > 1_000,
            "{filter}: {}",
            first.number_matched
        );
        for offset in [100, 700, first.number_matched - 50] {
            let fresh = page_by_scan(&layer, &plan, offset, 100, &budget).unwrap();
            let known = etown_atlas::query::exec::page_counted(
                &layer,
                &plan,
                offset,
                100,
                Some(first.number_matched),
                &budget,
            )
            .unwrap();
            assert_eq!(known, fresh, "{filter} at {offset}");
        }
        // A count that is given is not recomputed where the plan must test features.
        let told = etown_atlas::query::exec::page_counted(&layer, &plan, 0, 100, Some(7), &budget)
            .unwrap();
        if !uses_index(&layer, &plan) {
            assert_eq!(told.number_matched, 7, "{filter}");
        }
        assert_eq!(told.slots, first.slots, "{filter}");
    }
}

/// Two terms that are the whole filter, one a value of a few-valued column: the count comes
/// from the indexes (a bitmap intersection, or per-bin totals for a range) and the page from
/// walking the value's slots. Random pairs with values from the data, random offsets and
/// limits, on 100,000 carriers before and after edits that leave index entries stale: the
/// same `numberMatched` and ids as a scan.
#[test]
fn two_term_filters_counted_from_the_indexes_agree_with_a_scan() {
    let layer = carriers(synth_100k());
    let after = edited(&layer, 3_000);
    assert!(after.stale_count() >= 2_000);
    for (layer, seed) in [(&*layer, 8u8), (&after, 9)] {
        let values = values_of(layer);
        let texts = values.texts.clone();
        let other = prop_oneof![
            (
                prop::sample::select(values.numbers.clone()),
                prop::sample::select(vec!["<", "<=", "=", ">", ">=", "<>"]),
            )
                .prop_flat_map(|((c, vs), op)| {
                    prop::sample::select(vs).prop_map(move |x| T::Num(c.clone(), op, x))
                }),
            prop::sample::select(values.numbers.clone()).prop_flat_map(|(c, vs)| {
                (prop::sample::select(vs.clone()), prop::sample::select(vs))
                    .prop_map(move |(a, b)| T::Between(c.clone(), a.min(b), a.max(b)))
            }),
            prop::sample::select(values.texts.clone()).prop_flat_map(|(c, vs)| {
                prop::sample::select(vs).prop_map(move |x| T::Text(c.clone(), x))
            }),
            prop::sample::select(values.numbers.clone()).prop_map(|(c, _)| T::IsNull(c)),
        ];
        // Few-valued columns (industry, status), which have bitmaps per value; not names.
        let few: Vec<_> = texts.into_iter().filter(|(_, vs)| vs.len() <= 50).collect();
        let value = prop::sample::select(few)
            .prop_flat_map(|(c, vs)| prop::sample::select(vs).prop_map(move |x| (c.clone(), x)));
        let strategy = (value, other, 0usize..3, 1usize..300, any::<bool>());
        let mut runner = runner(80, seed);
        let counted = std::cell::Cell::new(0);
        runner
            .run(&strategy, |((c, v), other, at, limit, flip)| {
                let pair = [T::Text(c, v), other];
                let (a, b) = if flip {
                    (&pair[1], &pair[0])
                } else {
                    (&pair[0], &pair[1])
                };
                let filter = format!("{} AND {}", text(a), text(b));
                let q = FeatureQuery {
                    filter: Some(FilterSpec {
                        text: filter.clone(),
                        lang: FilterLang::Cql2Text,
                    }),
                    ..FeatureQuery::default()
                };
                let plan = compile(layer, &q).map_err(|e| TestCaseError::fail(format!("{e}")))?;
                if etown_atlas::query::exec::counts_from_indexes(layer, &plan) {
                    counted.set(counted.get() + 1);
                }
                let budget = Budget::unlimited();
                let all = page_by_scan(layer, &plan, 0, 0, &budget).expect("no budget");
                // The first page, one in the middle, and one across the end.
                let offset = [
                    0,
                    all.number_matched / 2,
                    all.number_matched.saturating_sub(limit / 2),
                ][at];
                let got = page(layer, &plan, offset, limit, &budget).expect("no budget");
                let want = page_by_scan(layer, &plan, offset, limit, &budget).expect("no budget");
                prop_assert_eq!(got.number_matched, want.number_matched, "{}", filter);
                prop_assert_eq!(got.slots, want.slots, "{} at {}", filter, offset);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            counted.get() > 25,
            "only {} of 80 pairs were counted from the indexes",
            counted.get()
        );
    }
}

/// Statistics grouped over every feature come from the counts and sums the index keeps per
/// value, corrected for the features edited since, and the extent kept per block of slots. After random edits (deletes, new features,
/// values the index never saw, nulls, changed areas; before and past an index merge) they
/// equal a pass over the live features: the same groups, counts and extent, sums within
/// rounding.
#[test]
fn kept_group_totals_equal_a_pass_after_random_edits() {
    use etown_atlas::query::stats::{default_sum_columns, StatsSpec};
    let base = carriers(synth_100k());
    let groups: Vec<usize> = ["industry", "status", "building_type"]
        .iter()
        .map(|n| base.field_index(n).expect("a synthetic column"))
        .collect();
    let sums = default_sum_columns(&base);
    assert!(sums.len() >= 2, "{sums:?}");
    // Deleting the features that reach furthest west and north shrinks the extent.
    let budget = Budget::unlimited();
    let all: Vec<usize> = base.live_slots().collect();
    let reach = |pick: fn(&geo::Rect<f64>) -> f64| {
        all.iter()
            .copied()
            .max_by(|&a, &b| pick(&base.envelope(a)).total_cmp(&pick(&base.envelope(b))))
            .expect("features")
    };
    let edges = [reach(|r| -r.min().x), reach(|r| r.max().y)];
    let before = etown_atlas::query::stats::extent_of_live(&base);
    let trimmed = base
        .apply(&edges.map(|s| LayerEdit::Delete {
            id: base.ids[s].clone(),
        }))
        .expect("deletes");
    let left: Vec<usize> = trimmed.live_slots().collect();
    let after = etown_atlas::query::stats::extent_of_live(&trimmed);
    assert_ne!(after, before);
    assert_eq!(
        after,
        etown_atlas::query::stats::extent(&trimmed, &left, &budget).expect("no budget")
    );
    let mut runner = runner(5, 10);
    let kept_used = std::cell::Cell::new(0);
    runner
        .run(
            &(prop::collection::vec((0usize..12_000, any::<u64>()), 1..3)),
            |batches| {
                let mut layer = (*base).clone();
                for (n, seed) in batches {
                    layer = randomly_edited(&layer, n, seed);
                }
                let budget = Budget::unlimited();
                let live: Vec<usize> = layer.live_slots().collect();
                // The extent kept per block of slots is the envelopes' union.
                prop_assert_eq!(
                    etown_atlas::query::stats::extent_of_live(&layer),
                    etown_atlas::query::stats::extent(&layer, &live, &budget).expect("no budget")
                );
                for &g in &groups {
                    let spec = StatsSpec {
                        group_by: Some(g),
                        sum: sums.clone(),
                        vocabulary: None,
                    };
                    let Some(kept) = spec.tally_everything(&layer, &budget) else {
                        continue;
                    };
                    kept_used.set(kept_used.get() + 1);
                    let kept = kept.expect("no budget");
                    let pass = spec.tally(&layer, &live, &budget).expect("no budget");
                    let shape = |s: &etown_atlas::query::stats::Stats| -> Vec<(String, usize)> {
                        s.groups
                            .iter()
                            .map(|g| (g.key.to_string(), g.tally.count))
                            .collect()
                    };
                    prop_assert_eq!(shape(&kept), shape(&pass));
                    prop_assert_eq!(kept.total.count, pass.total.count);
                    let pairs = kept
                        .groups
                        .iter()
                        .map(|g| &g.tally)
                        .zip(pass.groups.iter().map(|g| &g.tally))
                        .chain([(&kept.total, &pass.total)]);
                    for (k, p) in pairs {
                        for (name, v) in &p.sums {
                            let got = k.sums[name];
                            prop_assert!(
                                (got - v).abs() <= 1e-9 * v.abs().max(1.0),
                                "{} {} against {}",
                                name,
                                got,
                                v
                            );
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(kept_used.get() >= 10, "{} kept tallies", kept_used.get());
}

/// `n` random edits from `seed`: a quarter deletes, some new features, the rest put with
/// another feature's values, now and then a new industry, a null status or a changed area.
fn randomly_edited(layer: &Layer, n: usize, seed: u64) -> Layer {
    let mut state = seed | 1;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let live: Vec<usize> = layer.live_slots().collect();
    let field = |name: &str| layer.field_index(name).expect("a synthetic column");
    let (industry, status, area) = (
        field("industry"),
        field("status"),
        field("available_floor_area_m2"),
    );
    let mut seen = std::collections::HashSet::new();
    let mut edits = Vec::new();
    for k in 0..n {
        let slot = live[next(live.len())];
        let donor = live[next(live.len())];
        let mut cells: Vec<Cell> = layer.columns.iter().map(|c| c.cell_at(donor)).collect();
        match next(8) {
            0 => cells[industry] = Cell::String(format!("new_industry_{}", next(3)).into()),
            1 => cells[status] = Cell::Null,
            2 => cells[area] = Cell::Integer(next(100_000) as i64),
            _ => {}
        }
        let geometry = (*layer.geometries[donor]).clone();
        if k % 10 == 0 {
            edits.push(LayerEdit::Put {
                id: FeatureId::Str(format!("new-{seed}-{k}")),
                geometry,
                cells,
            });
            continue;
        }
        let id = layer.ids[slot].clone();
        if !seen.insert(id.to_string()) {
            continue;
        }
        edits.push(if k % 4 == 0 {
            LayerEdit::Delete { id }
        } else {
            LayerEdit::Put {
                id,
                geometry,
                cells,
            }
        });
    }
    layer.apply(&edits).expect("edits that fit the layer")
}
