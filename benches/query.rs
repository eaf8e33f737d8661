//! What users wait for: loading (timed apart, at 10k, 100k and, under `cargo bench`, 1M
//! carriers), compiling a CQL2 filter and evaluating it per feature, the queries of issue 7 on
//! 100,000 deterministic synthetic carriers, statistics over 100,000 matches, and serialising
//! 100 and 10,000 features to GeoJSON; matching a requirement over 1M carriers.
//!
//!     cargo bench --bench query
//!     cargo bench --bench query -- load      # one group

use std::hint::black_box;

mod common;
use common::{catalog, ATTRIBUTE};

/// The server's allocator (see `main.rs`), so these figures are the server's: with glibc's,
/// ingest across threads measured a third slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use etown_atlas::encode;
use etown_atlas::index::Layer;
use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::model::{Bbox, Crs};
use etown_atlas::query::filter::compile;
use etown_atlas::query::stats::StatsSpec;
use etown_atlas::query::{exec, matching, Budget, FeatureQuery, FilterLang, FilterSpec};

const N: usize = 100_000;
const HEADLINE: &str = "industry = 'future_health' AND available_floor_area_m2 >= 3000 AND clear_height_m >= 8 AND delivery_date <= DATE('2027-12-31')";

/// A query's page, as the server finds it.
fn run(layer: &Layer, q: &FeatureQuery) -> exec::Page {
    exec::run(layer, q, &Budget::unlimited()).expect("query")
}

/// A query's page written as GeoJSON from the columns: what `/items` sends.
fn page_json(layer: &Layer, q: &FeatureQuery) -> usize {
    let page = run(layer, q);
    let mut out = Vec::new();
    encode::write_slots(&mut out, layer, &page.slots, None, Crs::Crs84);
    out.len()
}

fn text(s: &str) -> FilterSpec {
    FilterSpec {
        text: s.into(),
        lang: FilterLang::Cql2Text,
    }
}

/// A box around the densest park that holds about 100 carriers.
fn small_bbox(layer: &Layer) -> Bbox {
    let g = &*layer.geometries[0];
    let c = geo::BoundingRect::bounding_rect(g)
        .expect("envelope")
        .center();
    let mut half = 0.001;
    loop {
        let b = Bbox::new(c.x - half, c.y - half, c.x + half, c.y + half).expect("bbox");
        if layer.slots_in_bbox(&b).len() >= 100 {
            return b;
        }
        half *= 1.2;
    }
}

/// A 64-vertex circle (WKT) around the first carrier, of `radius` degrees.
fn circle_wkt(layer: &Layer, radius: f64) -> String {
    let c = geo::BoundingRect::bounding_rect(&*layer.geometries[0])
        .expect("envelope")
        .center();
    let ring: Vec<String> = (0..=64)
        .map(|i| {
            let a = f64::from(i % 64) / 64.0 * std::f64::consts::TAU;
            format!("{} {}", c.x + radius * a.cos(), c.y + radius * a.sin())
        })
        .collect();
    format!("POLYGON(({}))", ring.join(", "))
}

fn benches(c: &mut Criterion) {
    let catalog = catalog(N);
    let layer = catalog.layer("carriers").expect("layer").clone();

    let mut g = c.benchmark_group("filter");
    g.bench_function("compile the headline filter", |b| {
        b.iter(|| compile(black_box(&layer), black_box(&text(HEADLINE))).expect("compiles"))
    });
    let compiled = compile(&layer, &text(HEADLINE)).expect("compiles");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("evaluate the headline filter on every feature", |b| {
        b.iter(|| {
            (0..layer.len())
                .filter(|s| compiled.matches(&layer, *s))
                .count()
        })
    });
    let circle = format!("S_INTERSECTS(geometry, {})", circle_wkt(&layer, 0.05));
    let spatial = compile(&layer, &text(&circle)).expect("compiles");
    g.bench_function(
        "evaluate S_INTERSECTS(64-vertex polygon) on every feature",
        |b| {
            b.iter(|| {
                (0..layer.len())
                    .filter(|s| spatial.matches(&layer, *s))
                    .count()
            })
        },
    );
    g.finish();

    let bbox = small_bbox(&layer);
    let mut g = c.benchmark_group("query");
    let q = |filter: Option<&str>, bbox: Option<Bbox>| FeatureQuery {
        bbox,
        filter: filter.map(text),
        limit: 100,
        ..FeatureQuery::default()
    };
    g.bench_function("bbox to about 100 features", |b| {
        b.iter(|| run(&layer, black_box(&q(None, Some(bbox)))))
    });
    let near = format!("S_INTERSECTS(geometry, {})", circle_wkt(&layer, 0.004));
    g.bench_function("S_INTERSECTS with a 64-vertex polygon", |b| {
        b.iter(|| run(&layer, black_box(&q(Some(&near), None))))
    });
    // What `/items` runs: the same queries, written as the GeoJSON page from the columns.
    g.bench_function("bbox to about 100 features, as the items page", |b| {
        b.iter(|| page_json(&layer, black_box(&q(None, Some(bbox)))))
    });
    g.bench_function(
        "S_INTERSECTS with a 64-vertex polygon, as the items page",
        |b| b.iter(|| page_json(&layer, black_box(&q(Some(&near), None)))),
    );
    g.bench_function("attribute filter alone (industry, available area)", |b| {
        b.iter(|| run(&layer, black_box(&q(Some(ATTRIBUTE), None))))
    });
    g.bench_function("bbox and the attribute filter", |b| {
        b.iter(|| run(&layer, black_box(&q(Some(ATTRIBUTE), Some(bbox)))))
    });
    g.bench_function("bbox and the headline filter", |b| {
        b.iter(|| run(&layer, black_box(&q(Some(HEADLINE), Some(bbox)))))
    });
    g.bench_function("headline filter alone (full scan)", |b| {
        b.iter(|| run(&layer, black_box(&q(Some(HEADLINE), None))))
    });
    g.bench_function("stats by industry over 100k matches", |b| {
        b.iter(|| {
            let spec = StatsSpec::resolve(&layer, Some("industry"), None, catalog.vocabularies())
                .expect("spec");
            let slots = run(
                &layer,
                black_box(&FeatureQuery {
                    limit: usize::MAX,
                    ..FeatureQuery::default()
                }),
            )
            .slots;
            spec.tally(&layer, &slots, &Budget::unlimited())
                .expect("stats")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("serialise");
    for n in [100usize, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        // The items path: match every feature, write the first n from the typed columns.
        let all = FeatureQuery {
            limit: n,
            ..FeatureQuery::default()
        };
        g.bench_function(
            format!("{n} features as an items page, from the columns"),
            |b| b.iter(|| page_json(&layer, black_box(&all))),
        );
    }
    g.finish();

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    // 1M takes about 10 s per run: only under `cargo bench`, not in `cargo test --benches`.
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[10_000, 100_000, 1_000_000]
    } else {
        &[10_000]
    };
    for &n in sizes {
        let bytes = etown_atlas::synth::carriers_geojson(n, 1);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("ingest and index {}k carriers", n / 1000), |b| {
            b.iter_batched(
                || {
                    vec![SourceFile {
                        name: "c.geojson".into(),
                        bytes: bytes.clone().into(),
                        path: None,
                    }]
                },
                |files| ingest::load(files, "bench", LoadOptions::default()).expect("loads"),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// Nothing outside the layer: the benchmark's requirement names no other feature and no area.
struct NoOutside;

impl matching::Resolve for NoOutside {
    fn feature_geometry(&self, _: &str, _: &str) -> Option<geo::Geometry<f64>> {
        None
    }
    fn area(&self, _: &Layer, _: &serde_json::Value) -> Result<etown_atlas::query::Plan, String> {
        Err("no area here".into())
    }
}

/// Issue 16's target: five hard criteria and two soft preferences over 1M carriers (10k under
/// `cargo test --benches`), the whole of `POST /match` but parsing the body and writing JSON.
fn match_bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000_000 } else { 10_000 };
    let catalog = catalog(n);
    let layer = catalog.layers().first().expect("one layer");
    let doc = serde_json::json!({
        "criteria": {
            "available_floor_area_m2": {"min": 3000, "max": 5000},
            "clear_height_m": {"min": 8},
            "power_kva": {"min": 2000},
            "delivery_date": {"max": "2027-06-30"},
            "industry": {"in": ["future_health"]}
        },
        "preferences": [
            {"near": [116.5, 39.8], "within_m": 10000, "weight": 2},
            {"close_to": {"available_floor_area_m2": 4000}}
        ]
    });
    let req = matching::Requirement::parse(layer, &doc, &NoOutside).expect("requirement");
    let mut g = c.benchmark_group("match");
    g.sample_size(20);
    g.bench_function(
        format!("5 criteria, 2 preferences, {}k carriers", n / 1000),
        |b| b.iter(|| matching::run(black_box(&req), layer, &Budget::unlimited()).expect("runs")),
    );
    // The map's colours: the same requirement, every match's score (what
    // `POST /match/scores` computes before writing its pairs).
    g.bench_function(
        format!(
            "every score, 5 criteria, 2 preferences, {}k carriers",
            n / 1000
        ),
        |b| {
            b.iter(|| matching::scores(black_box(&req), layer, &Budget::unlimited()).expect("runs"))
        },
    );
    // Every carrier matches (no criteria): the most scores one answer can list.
    let all = matching::Requirement::parse(
        layer,
        &serde_json::json!({"preferences": [{"close_to": {"available_floor_area_m2": 4000}}]}),
        &NoOutside,
    )
    .expect("requirement");
    g.bench_function(
        format!("every score, no criteria, {}k carriers", n / 1000),
        |b| {
            b.iter(|| matching::scores(black_box(&all), layer, &Budget::unlimited()).expect("runs"))
        },
    );
    g.finish();
}

criterion_group!(query, benches, match_bench);
criterion_main!(query);
