#!/usr/bin/env bash
# The main job on the sample workspace: research, lint, approve, finalize
# (on the embedded throwaway PostgreSQL) and check, run on a temporary copy
# so that the repository's own files are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --locked
TP="$PWD/target/debug/touchpoint"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WS="$WORK/workspace"
mkdir -p "$WS"
for d in current_schema migration_history bridge-schemas templates; do cp -r "$d" "$WS/"; done
[ -f touchpoint.toml ] && cp touchpoint.toml "$WS/"
cp -r "$WS/current_schema" "$WORK/current_schema.before"

step() { printf '\n$ touchpoint %s\n' "$*"; "$TP" --root "$WS" "$@"; }

cat > "$WORK/draft.sql" <<'SQL'
ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;
SQL

step check || true
FILE=$(cd "$WS" && "$TP" research add_retry_after --sql "$WORK/draft.sql" --issue '#123' \
  --title 'Add retry_after to job_queue' \
  --problem 'Workers retry failed jobs immediately and hammer rate-limited providers.' \
  --solution 'Record the earliest time a job may run again; claim_next_job will skip it until then.')
printf '\n$ touchpoint research add_retry_after --sql draft.sql\n%s\n' "$FILE"
sed -n '1,60p' "$WS/$FILE"
step lint "$WS/$FILE" || true
step approve "$WS/$FILE" --by demo
step finalize "$WS/$FILE"
printf '\n$ sed -n 1,40p %s   (after finalize)\n' "$FILE"
sed -n '1,40p' "$WS/$FILE"
step check || true
printf '\n$ diff -ru current_schema.before current_schema\n'
diff -ru "$WORK/current_schema.before" "$WS/current_schema" || true
