#!/usr/bin/env bash
# hydrant's benchmark, one command from a fresh clone (see bench/README.md):
#   bench/run.sh            # the full run, ~5 min on 2 cores once built; writes bench/RESULTS.md
#   bench/run.sh --quick    # a smoke run of every step in ~1 min; writes .cache/bench/RESULTS-quick.md
# Installs what is missing (scripts/install-deps.sh), builds hydrant (RelWithDebInfo) and
# the load generator, installs the baseline's npm packages in .cache/bench/baseline, then
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

# The baseline: the seed's function as shipped (read-only), with the exact npm
# packages of bench/baseline/package-lock.json (express 4 + mongodb 6).
BASE_SRC=${BENCH_BASELINE_SRC:-../shared/baselines/seed-function-node}
BASE=.cache/bench/baseline
[ -f "$BASE_SRC/server.js" ] || { say "error: the baseline is missing: $BASE_SRC (the shared directory next to this repository)"; exit 1; }
mkdir -p "$BASE"
cp -f "$BASE_SRC/server.js" "$BASE_SRC/package.json" "$BASE/"
chmod u+w "$BASE/server.js" "$BASE/package.json"
want=$(cat "$BASE/package.json" bench/baseline/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$BASE/node_modules/.bench.sha256" 2>/dev/null)" != "$want" ]; then
  say "installing the baseline's npm packages in $BASE"
  cp -f bench/baseline/package-lock.json "$BASE/package-lock.json"
  if ! (cd "$BASE" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    # package.json changed upstream and no longer matches the lock: resolve afresh
    say "warning: npm ci failed (package.json and bench/baseline/package-lock.json disagree); running npm install"
    (cd "$BASE" && rm -f package-lock.json && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
  echo "$want" >"$BASE/node_modules/.bench.sha256"
fi

export BENCH_HYDRANT="$ROOT/build/hydrant" BENCH_LOADGEN="$ROOT/.cache/bin/loadgen"
export BENCH_FERRETDB="$ROOT/.cache/bin/ferretdb" BENCH_BASELINE_DIR="$ROOT/$BASE"
exec .cache/venv/bin/python bench/bench.py "$@"
