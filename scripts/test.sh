#!/usr/bin/env bash
# The whole test suite: unit tests, snapshot tests, end-to-end tests of the
# binary and the database tests (against a real PostgreSQL that the tests
# start themselves from the local server binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --locked --all-targets "$@"
