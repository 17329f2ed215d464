//! The header parser and the section editor: `header::parse`, `header::set_section_body`.
//! The checks live in `touchpoint::fuzzing` so that `cargo test` runs
//! them too (tests/robust.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| touchpoint::fuzzing::header(data));
