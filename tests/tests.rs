//! End-to-end tests of the `touchpoint` binary. One test binary; each test
//! gets a fresh copy of a fixture workspace in a temporary directory.

mod bad_input;
mod check;
mod common;
mod deploy;
mod finalize;
mod lint_cli;
mod patch_proof;
mod realworld;
mod research;
mod robust;
mod sample;
