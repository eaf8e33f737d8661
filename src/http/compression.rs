//! How answers are compressed: the web app's files well, everything else fast.
//!
//! Two layers. The inner one compresses only responses marked [`CompressWell`] (the embedded
//! web app), at a level chosen for size. The outer one compresses everything else on the fly, at
//! each codec's fastest level, and leaves alone what the inner one already encoded. Both costs
//! are paid once per file and encoding when the response cache is on, since it sits outside and
//! keeps the compressed bytes; the fast level is for the pages computed per request, where
//! compressing would otherwise cost more than the query.

use axum::http::Response;
use tower_http::compression::predicate::{And, DefaultPredicate, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Set on a response worth compressing at the size-first level: a static file, compressed once
/// and then served from the response cache to every visitor.
#[derive(Clone, Copy, Debug)]
pub struct CompressWell;

/// Level of the inner layer: each codec's default (zstd 3, brotli 4, gzip 6). On the 1.1 MB
/// MapLibre bundle it gives 298-305 KB in 8-75 ms, against 338-425 KB at the fast level; level 9
/// would save 30 KB more but takes 279 ms for brotli, paid on every request when the response
/// cache is off (BENCHMARKS.md, "What a browser asks for").
const WELL: CompressionLevel = CompressionLevel::Default;

#[derive(Clone, Copy)]
pub struct MarkedCompressWell;

impl Predicate for MarkedCompressWell {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: http_body::Body,
    {
        response.extensions().get::<CompressWell>().is_some()
    }
}

/// The inner layer: responses marked [`CompressWell`], at the size-first level.
pub fn well() -> CompressionLayer<And<DefaultPredicate, MarkedCompressWell>> {
    CompressionLayer::new()
        .quality(WELL)
        .compress_when(DefaultPredicate::new().and(MarkedCompressWell))
}

/// The outer layer: everything else, at each codec's fastest level (zstd 1, gzip 1, brotli 0),
/// as nginx's on-the-fly gzip default. Measured on a 51 KB items page: brotli 4 took four times
/// as long as computing the page; brotli 0 doubles the computed pages per second for 40 % more
/// bytes (5.3 to 7.5 KB); zstd 1, which browsers that offer it get (ties go to zstd), is 26 %
/// faster again at 5.6 KB.
pub fn fast() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Fastest)
}
