#!/usr/bin/env bash
# Installs what touchpoint needs to build and test on a fresh Debian machine:
# libclang-dev (pg_query builds libpg_query through bindgen) and the
# PostgreSQL server binaries (the embedded throwaway database). Installs
# only what is missing, so it is cheap to run every time.
set -euo pipefail

need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo is missing: install Rust (rustup)" >&2; exit 2; }
