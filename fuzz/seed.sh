#!/usr/bin/env bash
# Seed the fuzz corpora with the sample workspace at the repository root
# (its schema files and migrations), so that the fuzzers start from real
# input without a second copy of the sample to keep in step. The
# hand-written cases stay in seeds/. Run from anywhere; writes corpus/.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/sql corpus/header
cp ../current_schema/*.sql corpus/sql/
find ../migration_history -name '*.sql' -exec cp {} corpus/sql/ \;
find ../migration_history -name '*.sql' -exec cp {} corpus/header/ \;
echo "seeded corpus/sql ($(ls corpus/sql | wc -l) files) and corpus/header ($(ls corpus/header | wc -l) files)"
