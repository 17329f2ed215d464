//! The bridge-doc merge of the three tiers with arbitrary existing text.
//! The checks live in `touchpoint::fuzzing` so that `cargo test` runs
//! them too (tests/robust.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| touchpoint::fuzzing::bridge(data));
