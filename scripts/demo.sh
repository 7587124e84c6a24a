#!/usr/bin/env bash
# hydrant's demo: installs what is missing, builds, starts a local FerretDB (or
# uses $MONGODB_URI) and hydrant with examples/hydrant.toml, sends simulated
# sensor readings the way a Firehose delivery stream does, then shows what
# landed in MongoDB. Everything it starts is stopped on exit.
#   scripts/demo.sh              # ~12 s of traffic, then a summary
#   scripts/demo.sh --follow     # keep sending until Ctrl-C
#   DEMO_SECONDS=30 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FOLLOW=0
[ "${1:-}" = "--follow" ] && FOLLOW=1
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-12}
PY="$ROOT/.cache/venv/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "installing what is missing"
scripts/install-deps.sh
say "building hydrant"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-2}" --target hydrant | tail -1

WORK=$(mktemp -d /tmp/hydrant-demo.XXXXXX)
PIDS=()
cleanup() {
  # the last started first: the sensors deliver what they buffered while hydrant
  # is still up, hydrant drains while its database is still up
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null || true
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # URL-or-host:port, what
  for _ in $(seq 1 100); do
    if "$PY" - "$1" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
socket.create_connection((host, int(port)), timeout=0.2).close()
PY
    sleep 0.1
  done
  echo "demo: $2 did not start; its log:"; cat "$WORK/$2.log"; exit 1
}

OWN_DB=0
if [ -z "${MONGODB_URI:-}" ]; then
  OWN_DB=1
  DB_PORT=$(free_port)
  mkdir -p "$WORK/ferretdb"
  say "starting FerretDB (MongoDB-compatible, SQLite) on 127.0.0.1:$DB_PORT"
  # (setsid: a Ctrl-C reaches this script, which stops everything in order, not the servers)
  setsid .cache/bin/ferretdb --handler=sqlite --sqlite-url="file:$WORK/ferretdb/" --state-dir="$WORK/ferretdb" \
    --listen-addr="127.0.0.1:$DB_PORT" --debug-addr=- --telemetry=disable --log-level=warn \
    >"$WORK/ferretdb.log" 2>&1 &
  PIDS+=($!)
  wait_for "127.0.0.1:$DB_PORT" ferretdb
  export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT/"
else
  say "using MongoDB at \$MONGODB_URI"
fi

HTTP_PORT=$(free_port)
export HYDRANT_LISTEN="127.0.0.1:$HTTP_PORT" FIREHOSE_ACCESS_KEY="demo-$(date +%s)"
export SEGMENT_PUBLIC_SECRET="demo-public" SEGMENT_SHARED_SECRET="demo-shared-$RANDOM" SEGMENT_WRITE_KEY="demo-write-key"
build/hydrant check --config examples/hydrant.toml
say "starting hydrant on http://$HYDRANT_LISTEN"
setsid build/hydrant serve --config examples/hydrant.toml >"$WORK/hydrant.log" 2>&1 &
PIDS+=($!)
wait_for "$HYDRANT_LISTEN" hydrant
URL="http://$HYDRANT_LISTEN/firehose/monitors"

say "one delivery with a broken record in it (it goes to the rejects, the rest lands), then the same delivery again"
"$PY" - "$URL" "$FIREHOSE_ACCESS_KEY" <<'PY'
import os, sys
sys.path.insert(0, "examples")
import pymongo
from firehose_sender import FirehoseSender
url, key = sys.argv[1:]
good = {"_id": "65f000000000000000000001", "nodeName": "bench-pi", "temperature": 21.5,
        "recordedAt": "2025-09-30T12:00:00Z"}
sender = FirehoseSender(url, key, retry_duration=30)
d = sender.deliver([good, b'{"nodeName": "broken", '])
print(f"  request {d.request_id}: HTTP {d.status} {d.attempts[-1].response.decode()}")
# a Firehose retry is the same request id and the same records: nothing is stored twice
again = sender.deliver(d.records, request_id=d.request_id)
db = pymongo.MongoClient(os.environ["MONGODB_URI"]).monitors
print(f"  the same request again: HTTP {again.status}; monitors.reports holds "
      f"{db.reports.count_documents({})} document(s), monitors.reports_rejects {db.reports_rejects.count_documents({})}")
PY

SENDER=(examples/sensor_firehose.py --url "$URL" --access-key "$FIREHOSE_ACCESS_KEY" --nodes 3 --buffer-interval 2)
if [ "$FOLLOW" = 1 ]; then
  say "sending readings from 3 simulated nodes until Ctrl-C"
  cat <<EOF
    look at the data meanwhile, from another terminal:
      $PY -c "import pymongo; print(pymongo.MongoClient('$MONGODB_URI').monitors.reports.find_one(sort=[('recordedAt', -1)]))"
      $PY -c "import pymongo; print(pymongo.MongoClient('$MONGODB_URI').monitors.reports.count_documents({}))"
      curl -s http://$HYDRANT_LISTEN/metrics | grep ^hydrant_records
      mongosh '$MONGODB_URI' --eval 'db.getSiblingDB("monitors").reports.find().sort({recordedAt: -1}).limit(3)'   # if you have mongosh
    hydrant's log: $WORK/hydrant.log
EOF
  # in the background, so that Ctrl-C (or a TERM) reaches this script's trap at once;
  # cleanup then stops the sensors (SIGTERM: they deliver what they buffered) first
  "$PY" "${SENDER[@]}" --seconds 0 --quiet &
  PIDS+=($!)
  wait $! || true
  exit 0
fi
say "sending readings from 3 simulated nodes for ${SECONDS_OF_TRAFFIC}s, buffered and retried like a delivery stream"
"$PY" "${SENDER[@]}" --seconds "$SECONDS_OF_TRAFFIC"

say "Segment events: the official Python SDK (host = hydrant) and a signed webhook delivery"
"$PY" - "http://$HYDRANT_LISTEN" <<'PY'
import hashlib, hmac, json, os, sys, uuid, urllib.request
import segment.analytics as sa
base = sys.argv[1]
client = sa.Client(os.environ["SEGMENT_WRITE_KEY"], host=base, sync_mode=True)
client.identify("user-42", {"name": "Ada", "plan": "pro"})
for item in ("Raspberry Pi 4", "Sense HAT", "Camera Module 3"):
    client.track("user-42", "Favorited", {"itemName": item})
client.page("user-42", "Docs", "Getting started")
print("  SDK: identify, 3 × track Favorited, page → sent")
event = {"type": "track", "event": "Order Completed", "userId": "user-42",
         "messageId": str(uuid.uuid4()), "properties": {"total": 42.5}}
body = json.dumps(event).encode()
sig = hmac.new(os.environ["SEGMENT_SHARED_SECRET"].encode(), body, hashlib.sha1).hexdigest()
req = urllib.request.Request(f"{base}/segment?secret={os.environ['SEGMENT_PUBLIC_SECRET']}", data=body,
                             method="POST", headers={"Content-Type": "application/json", "X-Signature": sig})
with urllib.request.urlopen(req) as r:
    print(f"  webhook: HTTP {r.status} {r.read().decode()}")
PY

say "what landed in MongoDB (read back with pymongo)"
"$PY" - <<'PY'
import os, pprint, pymongo
db = pymongo.MongoClient(os.environ["MONGODB_URI"]).monitors
for name in sorted(db.list_collection_names()):
    print(f"  monitors.{name}: {db[name].count_documents({})} documents")
latest = db.reports.find_one({"nodeName": {"$regex": "^raspberrypi"}}, sort=[("recordedAt", -1)])
print("\nthe latest reading (_id is an ObjectId, recordedAt a date):")
pprint.pprint(latest, indent=2, width=100)
print("\nthe rejects (kept with their reason and raw bytes, never dropped):")
for r in db.reports_rejects.find():
    print(f"  record {r['index']} of request {r['requestId']}: {r['reason']}; data={bytes(r['data'])!r}")
events = pymongo.MongoClient(os.environ["MONGODB_URI"]).segment.events
print(f"\n  segment.events: {events.count_documents({})} documents")
fav = events.find_one({"event": "Favorited"}, {"_id": 1, "type": 1, "event": 1, "properties": 1,
                                               "timestamp": 1, "receivedAt": 1})
print("a Segment event (_id is its messageId; timestamp and receivedAt are dates):")
pprint.pprint(fav, indent=2, width=100)
PY
say "hydrant's metrics (excerpt)"
"$PY" -c "import urllib.request; print(''.join(l for l in urllib.request.urlopen('http://$HYDRANT_LISTEN/metrics').read().decode().splitlines(True) if l.startswith(('hydrant_records', 'hydrant_requests'))))"
if [ "$OWN_DB" = 1 ]; then
  say "done: the demo stops what it started and deletes its FerretDB"
else
  say "done: the demo stops what it started; the data stays in \$MONGODB_URI (databases monitors and segment)"
fi
cat <<EOF
    to look at it yourself, keep it running:  scripts/demo.sh --follow
    (it prints the MongoDB URI and the commands to query it; Ctrl-C stops it)
    send your own readings to a hydrant:      $PY examples/sensor_firehose.py --help
    put it behind a real delivery stream:     docs/deploy-firehose.md
EOF
