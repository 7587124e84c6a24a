#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   no tracked file refers outside the repository -> dependencies
#   -> build/ (RelWithDebInfo) and build-asan/ (Debug, ASan+UBSan)
#   -> unit tests (ctest) in both -> end-to-end tests (pytest) against both binaries.
# Every step runs even when an earlier independent one failed; the exit code is
# non-zero when anything failed, and the last line sums up the tests.
# Environment: JOBS (default 2), MONGODB_URI (run e2e against that server instead
# of a FerretDB of their own), PYTEST_ARGS (extra pytest arguments).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
REPORTS="$ROOT/build/test-reports"

failed_steps=()
passed_steps=()
step() {  # step NAME CMD...
  local name=$1
  shift
  printf '\n==== %s\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    passed_steps+=("$name")
    printf '==== %s: ok (%ss)\n' "$name" $((SECONDS - t0))
  else
    local rc=$?
    failed_steps+=("$name")
    printf '==== %s: FAILED with exit code %s (%ss)\n' "$name" "$rc" $((SECONDS - t0))
    return "$rc"
  fi
}

configure_and_build() {  # DIR BUILD_TYPE [cmake args...]
  local dir=$1 type=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" &&
    cmake --build "$dir" -j "$JOBS"
}

unit_tests() {  # DIR
  ctest --test-dir "$1" --output-on-failure --no-tests=error -j "$JOBS" \
    --output-junit "$REPORTS/ctest-$(basename "$1").xml"
}

e2e_tests() {  # BINARY REPORT_NAME
  local rc=0
  HYDRANT_BIN="$1" "$ROOT/.cache/venv/bin/python" -m pytest "$ROOT/tests/e2e" -q \
    --junitxml="$REPORTS/pytest-$2.xml" ${PYTEST_ARGS:-} || rc=$?
  # pytest's 5 means it collected no test: that is a failure here, never a pass
  [ "$rc" -eq 5 ] && echo "pytest collected no tests"
  return "$rc"
}

# The repository is all a user has: no tracked file may lean on the team's workspace
# beside it. (The pattern is put together here so that this file does not match it.)
stands_alone() {
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "not a git checkout: nothing to check"; return 0; }
  local outside="../" rc=0
  outside+="shared"
  git grep -n -I -F -e "$outside" || rc=$?
  case $rc in
    1) return 0 ;;  # no match
    0) echo "the files above refer to $outside, which a clone of this repository does not have:"
       echo "bring what they need into the repository (tests/fixtures/, docs/, bench/baseline/)" ;;
    *) echo "git grep failed (exit code $rc)" ;;
  esac
  return 1
}

step "the repository stands alone" stands_alone
step "install dependencies" scripts/install-deps.sh || {
  echo "test.sh: cannot go on without the dependencies"
  echo "test.sh: 0 passed, 1 failed"
  exit 1
}
mkdir -p "$REPORTS"
rm -f "$REPORTS"/*.xml

if step "build (RelWithDebInfo)" configure_and_build build RelWithDebInfo; then
  step "unit tests (build)" unit_tests build
  step "e2e tests (build/hydrant)" e2e_tests "$ROOT/build/hydrant" release
fi
if step "build-asan (Debug, ASan+UBSan)" configure_and_build build-asan Debug -DHYDRANT_SANITIZE=ON; then
  # (assignments before a function call are in the environment of what it runs)
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    step "unit tests (build-asan)" unit_tests build-asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    step "e2e tests (build-asan/hydrant)" e2e_tests "$ROOT/build-asan/hydrant" asan
fi

# Sum the JUnit reports of every test run.
totals=$(python3 - "$REPORTS" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/*.xml"):
    try:
        root = ET.parse(f).getroot()
    except ET.ParseError:
        failed += 1
        continue
    for ts in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        t = int(ts.get("tests", 0)); fl = int(ts.get("failures", 0)) + int(ts.get("errors", 0))
        sk = int(ts.get("skipped", 0) or ts.get("disabled", 0) or 0)
        passed += t - fl - sk; failed += fl; skipped += sk
print(passed, failed, skipped)
PY
) || totals="0 0 0"
read -r n_passed n_failed n_skipped <<<"$totals"

echo
echo "==== summary"
for s in "${passed_steps[@]}"; do echo "ok      $s"; done
for s in "${failed_steps[@]}"; do echo "FAILED  $s"; done
if ((${#failed_steps[@]})); then
  # a failed step with no failing test in it (a build, a crash) still counts as a failure
  ((n_failed == 0)) && n_failed=${#failed_steps[@]}
  echo "test.sh: $n_passed passed, $n_failed failed, $n_skipped skipped"
  exit 1
fi
if ((n_passed == 0)); then
  echo "test.sh: no test ran"
  echo "test.sh: 0 passed, 1 failed"
  exit 1
fi
echo "test.sh: $n_passed passed, 0 failed, $n_skipped skipped"
