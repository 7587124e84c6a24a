#!/usr/bin/env bash
# Installs everything building and testing hydrant needs, on Debian 12 as root:
# the Debian packages, FerretDB v1 (the MongoDB-compatible server the tests use)
# in .cache/bin, and a Python venv for the end-to-end tests in .cache/venv.
# Idempotent: when everything is present it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FERRETDB_VERSION=v1.24.2
CACHE="$ROOT/.cache"
BIN="$CACHE/bin"
VENV="$CACHE/venv"
REQUIREMENTS="$ROOT/tests/e2e/requirements.txt"

log() { printf '[install-deps] %s\n' "$*"; }

# --- Debian packages -----------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libssl-dev libmongoc-dev libbson-dev libsimdjson-dev zlib1g-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  python3-venv openssl ca-certificates
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
  [ -x "$BIN/ferretdb" ] && "$BIN/ferretdb" --version 2>/dev/null | grep -q "version: $FERRETDB_VERSION"
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

log "ok: Debian packages, $("$BIN/ferretdb" --version | head -1 | tr -s ' '), $("$VENV/bin/python" --version)"
