//! What users wait for when they filter: compiling a CQL2 filter, evaluating it per feature, and
//! bbox + filter queries, on 100,000 deterministic synthetic carriers. Loading is timed apart
//! (and not in the measured loops).
//!
//!     cargo bench --bench query

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use etown_atlas::domain::Bbox;
use etown_atlas::ingest::{self, LoadOptions, SourceFile};
use etown_atlas::query::filter::compile;
use etown_atlas::query::{FeatureQuery, FilterLang, FilterSpec};
use etown_atlas::store::{FeatureStore, MemoryStore};

const N: usize = 100_000;
const HEADLINE: &str = "industry = 'future_health' AND available_floor_area_m2 >= 3000 AND clear_height_m >= 8 AND delivery_date <= DATE('2027-12-31')";

fn store(n: usize) -> MemoryStore {
    let file = SourceFile {
        name: "carriers.geojson".into(),
        bytes: etown_atlas::synth::carriers_geojson(n, 1).into(),
    };
    MemoryStore::new(
        ingest::load(vec![file], "synthetic", LoadOptions::default())
            .expect("synthetic data loads"),
    )
}

fn text(s: &str) -> FilterSpec {
    FilterSpec {
        text: s.into(),
        lang: FilterLang::Cql2Text,
    }
}

/// A box around the densest park that holds about 100 carriers.
fn small_bbox(store: &MemoryStore) -> Bbox {
    let layer = store.catalog().layer("carriers").expect("layer");
    let g = &layer.geometries[0];
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

fn benches(c: &mut Criterion) {
    let store = store(N);
    let layer = store.catalog().layer("carriers").expect("layer").clone();

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
    let spatial = compile(&layer, &text("S_INTERSECTS(geometry, POLYGON((116.4 39.7, 116.7 39.7, 116.7 39.9, 116.4 39.9, 116.4 39.7)))")).expect("compiles");
    g.bench_function("evaluate S_INTERSECTS(polygon) on every feature", |b| {
        b.iter(|| {
            (0..layer.len())
                .filter(|s| spatial.matches(&layer, *s))
                .count()
        })
    });
    g.finish();

    let bbox = small_bbox(&store);
    let mut g = c.benchmark_group("query");
    let q = |filter: Option<&str>, bbox: Option<Bbox>| FeatureQuery {
        bbox,
        filter: filter.map(text),
        limit: 100,
        ..FeatureQuery::default()
    };
    g.bench_function("bbox to about 100 features", |b| {
        b.iter(|| {
            store
                .query("carriers", black_box(&q(None, Some(bbox))))
                .expect("query")
        })
    });
    g.bench_function("bbox and the headline filter", |b| {
        b.iter(|| {
            store
                .query("carriers", black_box(&q(Some(HEADLINE), Some(bbox))))
                .expect("query")
        })
    });
    g.bench_function("headline filter alone (full scan)", |b| {
        b.iter(|| {
            store
                .query("carriers", black_box(&q(Some(HEADLINE), None)))
                .expect("query")
        })
    });
    g.bench_function("stats by industry over every feature", |b| {
        b.iter(|| {
            store
                .stats(
                    "carriers",
                    black_box(&FeatureQuery::default()),
                    Some("industry"),
                    None,
                )
                .expect("stats")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    let bytes = etown_atlas::synth::carriers_geojson(10_000, 1);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("ingest and index 10k carriers", |b| {
        b.iter_batched(
            || {
                vec![SourceFile {
                    name: "c.geojson".into(),
                    bytes: bytes.clone().into(),
                }]
            },
            |files| ingest::load(files, "bench", LoadOptions::default()).expect("loads"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(query, benches);
criterion_main!(query);
