//! Issue 34's pages and counts on 1,000,000 synthetic carriers (10,000 under
//! `cargo test --benches`): the attribute page that an index plan answers, a five-term count,
//! and the same queries through a scan for comparison in the same run.
//!
//!     cargo bench --bench million
//!     cargo bench --bench million -- "attribute page"

use std::hint::black_box;

mod common;
use common::{catalog, ATTRIBUTE};

/// The server's allocator (see `main.rs`), so these figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use etown_atlas::query::{compile, exec, Budget, FeatureQuery, FilterLang, FilterSpec};

const FIVE: &str = "industry = 'future_health' AND status = 'planned' AND available_floor_area_m2 >= 3000 AND clear_height_m >= 8 AND power_kva >= 2000";

fn query(filter: &str, limit: usize) -> FeatureQuery {
    FeatureQuery {
        filter: Some(FilterSpec {
            text: filter.into(),
            lang: FilterLang::Cql2Text,
        }),
        limit,
        ..FeatureQuery::default()
    }
}

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000_000 } else { 10_000 };
    let catalog = catalog(n);
    let layer = catalog.layer("carriers").expect("layer").clone();
    let budget = Budget::unlimited();
    let mut g = c.benchmark_group("pages");
    g.sample_size(30);
    for (name, filter, limit) in [
        ("attribute page, 100", ATTRIBUTE, 100),
        ("five-term count", FIVE, 0),
    ] {
        let q = query(filter, limit);
        let plan = compile(&layer, &q).expect("compiles");
        g.bench_function(format!("{name}, {}k, through the indexes", n / 1000), |b| {
            b.iter(|| exec::page(&layer, black_box(&plan), 0, limit, &budget).expect("runs"))
        });
        g.bench_function(format!("{name}, {}k, by a scan", n / 1000), |b| {
            b.iter(|| {
                exec::page_by_scan(&layer, black_box(&plan), 0, limit, &budget).expect("runs")
            })
        });
    }
    g.finish();
}

criterion_group!(million, benches);
criterion_main!(million);
