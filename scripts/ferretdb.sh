#!/usr/bin/env bash
# Runs FerretDB v1 (SQLite backend) for manual testing and the demo:
#   scripts/ferretdb.sh start [PORT] [DATADIR]   (default 27017, .cache/ferretdb-data)
#   scripts/ferretdb.sh stop  [PORT] [DATADIR]
# The process id is kept in DATADIR/ferretdb.pid, the log in DATADIR/ferretdb.log.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}
port=${2:-27017}
data=$(realpath -m "${3:-.cache/ferretdb-data}")
pidfile="$data/ferretdb.pid"

case "$cmd" in
  start)
    [ -x .cache/bin/ferretdb ] || scripts/install-deps.sh
    mkdir -p "$data"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "FerretDB already running (pid $(cat "$pidfile"))"
      exit 0
    fi
    # --debug-addr=- : otherwise every FerretDB opens 127.0.0.1:8088 and a second one dies
    nohup .cache/bin/ferretdb --handler=sqlite --sqlite-url="file:$data/" --state-dir="$data" \
      --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --log-level=warn \
      >>"$data/ferretdb.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "FerretDB listening on mongodb://127.0.0.1:$port/ (pid $(cat "$pidfile"), data $data)"
        exit 0
      fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "FerretDB exited:"; tail -20 "$data/ferretdb.log"; exit 1; }
      sleep 0.1
    done
    echo "FerretDB did not open port $port"; exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$pidfile"
      echo "FerretDB stopped"
    else
      echo "no FerretDB pid file in $data"
    fi
    ;;
  *)
    echo "usage: $0 start|stop [PORT] [DATADIR]" >&2
    exit 2
    ;;
esac
