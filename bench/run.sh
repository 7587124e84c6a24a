#!/usr/bin/env bash
# hydrant's benchmark, one command from a fresh clone (see bench/README.md):
#   bench/run.sh            # the full run, ~5 min on 2 cores once built; writes bench/RESULTS.md
#   bench/run.sh --quick    # a smoke run of every step in ~1 min; writes .cache/bench/RESULTS-quick.md
# Installs what is missing (scripts/install-deps.sh), builds hydrant (RelWithDebInfo) and
# the load generator, installs the baseline's npm packages in bench/baseline/node_modules, then
# runs bench/bench.py, which starts FerretDB, hydrant and the baseline and measures them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/go/bin"

say() { printf '[bench/run.sh] %s\n' "$*" >&2; }

scripts/install-deps.sh >&2

say "building hydrant (RelWithDebInfo) in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-$(nproc)}" --target hydrant >&2

say "building the load generator into .cache/bin/loadgen"
command -v go >/dev/null || { say "error: Go is needed for bench/loadgen (none on PATH or in /usr/local/go/bin)"; exit 1; }
mkdir -p .cache/bin
(cd bench/loadgen && GOFLAGS=-buildvcs=false go build -trimpath -o "$ROOT/.cache/bin/loadgen" .)

# The baseline (bench/baseline: the Firehose function hydrant replaces, on Express and
# the official driver) with the exact npm packages of its package-lock.json, installed
# by npm ci into its node_modules/ (ignored by git), again only when the lock changes.
BASE=${BENCH_BASELINE_DIR:-bench/baseline}
for f in server.js package.json package-lock.json; do
  [ -f "$BASE/$f" ] || { say "error: the baseline has no $f: $BASE"; exit 1; }
done
want=$(cat "$BASE/package.json" "$BASE/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$BASE/node_modules/.bench.sha256" 2>/dev/null)" != "$want" ]; then
  say "installing the baseline's npm packages in $BASE/node_modules"
  (cd "$BASE" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$BASE/node_modules/.bench.sha256"
fi

export BENCH_HYDRANT="$ROOT/build/hydrant" BENCH_LOADGEN="$ROOT/.cache/bin/loadgen"
export BENCH_FERRETDB="$ROOT/.cache/bin/ferretdb" BENCH_BASELINE_DIR="$(cd "$BASE" && pwd)"
exec .cache/venv/bin/python bench/bench.py "$@"
