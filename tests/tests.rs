//! End-to-end tests of the `touchpoint` binary. One test binary; each test
//! gets a fresh copy of a fixture workspace in a temporary directory.

mod common;
mod deploy;
mod lint_cli;
mod research;
