#!/usr/bin/env bash
# hydrant's benchmark, one command from a fresh clone (see bench/README.md):
#   bench/run.sh            # the full run, ~5 min on 2 cores once built; writes bench/RESULTS.md
#   bench/run.sh --quick    # a smoke run of every step in ~1 min; writes .cache/bench/RESULTS-quick.md
#   bench/run.sh --trigger [--quick]   # the trigger benchmark instead (bench/trigger_bench.py): a change
#                           # stream to Kinesis (moto), hydrant against the seed's trigger; ~5 min
# Installs what is missing (scripts/install-deps.sh), builds hydrant (RelWithDebInfo) and
# the load generator, installs the baseline's npm packages in bench/baseline/node_modules, then
# runs bench/bench.py, which starts FerretDB, hydrant and the baseline and measures them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/go/bin"

say() { printf '[bench/run.sh] %s\n' "$*" >&2; }

# --trigger: the trigger benchmark (bench/trigger_bench.py) instead of the Firehose one
TRIGGER=0
args=()
for a in "$@"; do
  if [ "$a" = --trigger ]; then TRIGGER=1; else args+=("$a"); fi
done
set -- ${args[@]+"${args[@]}"}

scripts/install-deps.sh >&2

say "building hydrant (RelWithDebInfo) in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-$(nproc)}" --target hydrant >&2

if [ "$TRIGGER" = 0 ]; then
say "building the load generator into .cache/bin/loadgen"
command -v go >/dev/null || { say "error: Go is needed for bench/loadgen (none on PATH or in /usr/local/go/bin)"; exit 1; }
mkdir -p .cache/bin
(cd bench/loadgen && GOFLAGS=-buildvcs=false go build -trimpath -o "$ROOT/.cache/bin/loadgen" .)
fi

# The baselines (bench/baseline: the seed's Firehose function, on Express and the official
# driver; the seed's trigger, on the driver and the AWS SDK v3) with the exact npm packages
# of its package-lock.json, installed by npm ci into its node_modules/ (ignored by git),
# again only when the lock changes.
BASE=${BENCH_BASELINE_DIR:-bench/baseline}
main_js=server.js
[ "$TRIGGER" = 1 ] && main_js=trigger.js
for f in $main_js package.json package-lock.json; do
  [ -f "$BASE/$f" ] || { say "error: the baseline has no $f: $BASE"; exit 1; }
done
want=$(cat "$BASE/package.json" "$BASE/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$BASE/node_modules/.bench.sha256" 2>/dev/null)" != "$want" ]; then
  say "installing the baseline's npm packages in $BASE/node_modules"
  (cd "$BASE" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$BASE/node_modules/.bench.sha256"
fi

if [ "$TRIGGER" = 1 ]; then
  export BENCH_HYDRANT="$ROOT/build/hydrant" BENCH_BASELINE_DIR="$(cd "$BASE" && pwd)" BENCH_VIA_RUN_SH=1
  exec .cache/venv/bin/python bench/trigger_bench.py "$@"
fi
export BENCH_HYDRANT="$ROOT/build/hydrant" BENCH_LOADGEN="$ROOT/.cache/bin/loadgen"
export BENCH_FERRETDB="$ROOT/.cache/bin/ferretdb" BENCH_BASELINE_DIR="$(cd "$BASE" && pwd)"
exec .cache/venv/bin/python bench/bench.py "$@"
