//! The statement splitter and the parser: `sql::split`, `sql::element_end`, `sql::parse`.
//! The checks live in `touchpoint::fuzzing` so that `cargo test` runs
//! them too (tests/robust.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| touchpoint::fuzzing::sql(data));
