#!/usr/bin/env bash
# Benchmarks: prints figures for the targets of the speed issue.
#   check on 10,000 migrations (and squawk on the same files, with the ratio)
#   research and finalize --no-execute on large schemas
#   bridge --check on 1,000 tables
#   embedded database start (cold and warm) and replay
# Wall-clock medians of 3 runs, release build. Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v squawk >/dev/null || pip install -q squawk-cli >/dev/null 2>&1 || echo "bench: squawk-cli could not be installed; the ratio is skipped" >&2
cargo build --release --locked --quiet --bins --examples
TP="$PWD/target/release/touchpoint"
GEN="$PWD/target/release/examples/gen_workspace"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# median_ms CMD...: run three times, print the median wall time in ms.
median_ms() {
  local times=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

row() { printf '%-58s %8s ms   target %s\n' "$1" "$2" "$3"; }

echo "generating workspaces (1,000 tables / 10,000 migrations; 330 tables / 500 KB)..."
"$GEN" --tables 1000 --migrations 10000 --docs 1000 --out "$WORK/big" >/dev/null
"$GEN" --tables 330 --migrations 10 --docs 20 --out "$WORK/mid" >/dev/null
schema_kb=$(du -sk "$WORK/mid/current_schema" | cut -f1)
"$TP" --root "$WORK/big" check --write-sum >/dev/null 2>&1 || true
"$TP" --root "$WORK/big" bridge >/dev/null 2>&1 || true
echo

check_ms=$(median_ms "$TP" --root "$WORK/big" check)
row "check, 10,000 migrations" "$check_ms" "< 2000 and <= squawk"
if command -v squawk >/dev/null; then
  squawk_ms=$(cd "$WORK/big" && median_ms squawk 'migration_history/**/*.sql')
  row "squawk, the same 10,000 files" "$squawk_ms" "(reference)"
  awk -v a="$check_ms" -v b="$squawk_ms" 'BEGIN { printf "%-58s %8.2f      target <= 1.00\n", "ratio touchpoint check / squawk", a / b }'
fi

echo "ALTER TABLE public.clinical_patient_0000 ADD COLUMN bench_note text;" > "$WORK/draft.sql"
research_ms=$(median_ms bash -c "cd '$WORK/big' && rm -f migration_history/*/*_bench.sql && '$TP' research bench --sql '$WORK/draft.sql' --problem p --solution s")
row "research, 1,000-table schema" "$research_ms" "(interactive)"

bridge_ms=$(median_ms "$TP" --root "$WORK/big" bridge --check)
row "bridge --check, 1,000 tables" "$bridge_ms" "(interactive)"

# finalize --no-execute: each run on a fresh copy of the workspace (the
# copy and the research/approve that prepare it are not timed).
# fin WORKSPACE [FLAGS...]: append the wall time of one finalize (ms) to
# $WORK/times; called directly, not in $(...), so that a failure stops the
# script under set -e.
fin() {
  local src=$1
  shift
  rm -rf "$WORK/fin" && cp -r "$src" "$WORK/fin"
  local f
  f=$(cd "$WORK/fin" && "$TP" research fin --sql "$WORK/draft.sql" --problem p --solution s)
  "$TP" --root "$WORK/fin" approve "$WORK/fin/$f" --by bench >/dev/null
  # The copy above leaves megabytes of dirty pages; flush them first so that
  # their writeback is not billed to finalize.
  sync
  local s e rc=0
  s=$(date +%s%N)
  "$TP" --root "$WORK/fin" finalize "$WORK/fin/$f" --no-execute --applied-via bench "$@" >"$WORK/fin.out" 2>&1 || rc=$?
  e=$(date +%s%N)
  # A fast failure is not a figure.
  if [ "$rc" != 0 ] || ! grep -q '^finalized ' "$WORK/fin.out"; then
    echo "bench: finalize failed (exit $rc):" >&2
    cat "$WORK/fin.out" >&2
    exit 1
  fi
  echo $(( (e - s) / 1000000 )) >>"$WORK/times"
}
# fin3 WORKSPACE [FLAGS...]: the median of three runs.
fin3() {
  : >"$WORK/times"
  fin "$@"; fin "$@"; fin "$@"
  sort -n "$WORK/times" | sed -n 2p
}
t=$(fin3 "$WORK/mid") || exit 1
row "finalize --no-execute, ${schema_kb} KB schema" "$t" "< 100"
big_kb=$(du -sk "$WORK/big/current_schema" | cut -f1)
t=$(fin3 "$WORK/big") || exit 1
row "finalize --no-execute, 1,000 tables (${big_kb} KB)" "$t" "(interactive)"
t=$(fin3 "$WORK/mid" --prove) || exit 1
row "finalize --no-execute --prove, ${schema_kb} KB schema" "$t" "(two replays on a throwaway cluster)"

echo
"$PWD/target/release/examples/bench_db" "$WORK/big" | sed 's/^/  /'
echo "  target: embedded database ready in < 2000 ms"
