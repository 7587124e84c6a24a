#!/usr/bin/env bash
# Installs everything building and testing hydrant needs, on Debian 12 as root:
# the Debian packages (Chromium among them, for the browser test), FerretDB v1 (the
# MongoDB-compatible server the tests use) in .cache/bin, a Python venv for the
# end-to-end tests in .cache/venv, and the npm packages of tests/e2e/js (Segment's
# Node.js and browser SDKs, playwright-core) in tests/e2e/js/node_modules.
# Idempotent: when everything is present it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FERRETDB_VERSION=v1.24.2
CACHE="$ROOT/.cache"
BIN="$CACHE/bin"
VENV="$CACHE/venv"
REQUIREMENTS="$ROOT/tests/e2e/requirements.txt"
JS_DIR="$ROOT/tests/e2e/js"
NODE_MAJOR_MIN=20

log() { printf '[install-deps] %s\n' "$*"; }

# --- Debian packages -----------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libssl-dev libmongoc-dev libbson-dev libsimdjson-dev zlib1g-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libcurl4-openssl-dev
  libgtest-dev libbenchmark-dev
  python3-venv openssl ca-certificates
  chromium
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- FerretDB --------------------------------------------------------------------
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` does not work here
# (the module proxy refuses the @v/list lookup it makes), and a binary built from the
# module as a dependency panics at start-up: FerretDB insists on a
# build/version/version.txt that its module zip does not ship. So: fetch the module
# through a throwaway module, copy its source, write version.txt, build from there.
ferretdb_ok() {
  # Not `--version | grep -q`: under pipefail, grep leaving early can SIGPIPE
  # ferretdb and fail the check on a good binary.
  [ -x "$BIN/ferretdb" ] || return 1
  local version
  version=$("$BIN/ferretdb" --version 2>/dev/null) || return 1
  [[ "$version" == *"version: $FERRETDB_VERSION"* ]]
}
if ! ferretdb_ok; then
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { log "error: Go is needed to build FerretDB (none on PATH or in /usr/local/go/bin)"; exit 1; }
  log "building FerretDB $FERRETDB_VERSION into $BIN (needs the Go module proxy)"
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init fdbbuild >/dev/null 2>&1
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/FerretDB/FerretDB/cmd/ferretdb"\n' > tools.go
    go get "github.com/FerretDB/FerretDB@$FERRETDB_VERSION"
    go mod tidy
    src=$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)
    cp -r "$src" "$work/src"
    chmod -R u+w "$work/src"
    echo "$FERRETDB_VERSION" > "$work/src/build/version/version.txt"
    cd "$work/src"
    mkdir -p "$BIN"
    GOBIN="$BIN" GOFLAGS=-buildvcs=false go install ./cmd/ferretdb
  )
  ferretdb_ok || { log "error: $BIN/ferretdb was built but does not run"; exit 1; }
fi

# --- Python venv for tests/e2e ---------------------------------------------------------
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating the test venv in $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" > "$stamp"
fi

# --- npm packages for tests/e2e/js ------------------------------------------------------
# Node.js itself comes with the machine (Debian 12's own nodejs is too old for
# @segment/analytics-node); npm ci installs exactly package-lock.json.
command -v node >/dev/null && command -v npm >/dev/null || {
  log "error: node and npm are needed for tests/e2e/js (Node.js $NODE_MAJOR_MIN or later; none on PATH)"
  exit 1
}
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= NODE_MAJOR_MIN)) || {
  log "error: Node.js $(node --version) is too old for tests/e2e/js: $NODE_MAJOR_MIN or later is needed"
  exit 1
}
js_stamp="$JS_DIR/node_modules/.install.sha256"
js_want=$(cat "$JS_DIR/package.json" "$JS_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$js_stamp" 2>/dev/null)" != "$js_want" ]; then
  log "installing the npm packages of tests/e2e/js (npm ci)"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$js_want" > "$js_stamp"
fi

# --- changestream-server (tests/support/changestream-server) ----------------------------
# The MongoDB-compatible server with change streams that the [[trigger]] tests start
# (mongo-java-server plus our oplog; see tests/support/README.md): one runnable jar built
# with Maven (dependencies from Maven Central, kept in ~/.m2), rebuilt only when the pom
# or a source changed.
CS_DIR="$ROOT/tests/support/changestream-server"
CS_OUT="$CACHE/changestream-server"
CS_JAR="$CS_OUT/changestream-server.jar"
cs_stamp="$CS_OUT/.sources.sha256"
cs_want=$(cd "$CS_DIR" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ ! -f "$CS_JAR" ] || [ "$(cat "$cs_stamp" 2>/dev/null)" != "$cs_want" ]; then
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    log "installing Java and Maven for changestream-server"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven
  fi
  log "building changestream-server into $CS_JAR (Maven)"
  mkdir -p "$CS_OUT"
  # the pom puts its build output in .cache/changestream-server/target
  mvn -q -B -Dstyle.color=never -f "$CS_DIR/pom.xml" package
  cp "$CS_OUT/target/changestream-server.jar" "$CS_JAR.tmp"
  mv "$CS_JAR.tmp" "$CS_JAR"
  echo "$cs_want" > "$cs_stamp"
fi

log "ok: Debian packages, $("$BIN/ferretdb" --version | head -1 | tr -s ' '), $("$VENV/bin/python" --version), node $(node --version), $(chromium --version 2>/dev/null | head -1)"
