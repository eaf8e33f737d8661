//! CQL2 text: parse, compile against each layer's schema and evaluate over its features.
//! Any input may be refused with an error; none may panic, overflow the stack or hang.
#![no_main]

#[path = "common.rs"]
mod common;

use etown_atlas::query::FilterLang;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run_filter(data, FilterLang::Cql2Text));
