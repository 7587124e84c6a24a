#!/usr/bin/env bash
# hydrant's demo: installs what is missing, builds, starts a local FerretDB (or
# uses $MONGODB_URI) and hydrant with examples/hydrant.toml, sends simulated
# sensor readings the way a Firehose delivery stream does, then shows what
# landed in MongoDB. Everything it starts is stopped on exit.
#   scripts/demo.sh              # ~15 s of traffic, then a summary
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
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
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

if [ -z "${MONGODB_URI:-}" ]; then
  DB_PORT=$(free_port)
  mkdir -p "$WORK/ferretdb"
  say "starting FerretDB (MongoDB-compatible, SQLite) on 127.0.0.1:$DB_PORT"
  .cache/bin/ferretdb --handler=sqlite --sqlite-url="file:$WORK/ferretdb/" --state-dir="$WORK/ferretdb" \
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
build/hydrant serve --config examples/hydrant.toml >"$WORK/hydrant.log" 2>&1 &
PIDS+=($!)
wait_for "$HYDRANT_LISTEN" hydrant
URL="http://$HYDRANT_LISTEN/firehose/monitors"

say "one delivery with a broken record in it (it goes to the rejects, the rest lands)"
"$PY" - "$URL" "$FIREHOSE_ACCESS_KEY" <<'PY'
import base64, json, sys, time, urllib.request, uuid
url, key = sys.argv[1:]
rid = str(uuid.uuid4())
good = {"_id": "65f000000000000000000001", "nodeName": "bench-pi", "temperature": 21.5,
        "recordedAt": "2025-09-30T12:00:00Z"}
records = [{"data": base64.b64encode(json.dumps(good).encode()).decode()},
           {"data": base64.b64encode(b'{"nodeName": "broken", ').decode()}]
body = json.dumps({"requestId": rid, "timestamp": int(time.time() * 1000), "records": records}).encode()
req = urllib.request.Request(url, data=body, method="POST", headers={
    "Content-Type": "application/json", "X-Amz-Firehose-Protocol-Version": "1.0",
    "X-Amz-Firehose-Request-Id": rid, "X-Amz-Firehose-Source-Arn": "arn:aws:firehose:demo",
    "X-Amz-Firehose-Access-Key": key})
with urllib.request.urlopen(req) as r:
    print(f"HTTP {r.status} {r.read().decode()}")
PY

if [ "$FOLLOW" = 1 ]; then
  say "sending readings from 3 simulated nodes until Ctrl-C (hydrant's log: $WORK/hydrant.log)"
  echo "    look at the data meanwhile: $PY -c \"import pymongo; print(pymongo.MongoClient('$MONGODB_URI').monitors.reports.find_one(sort=[('recordedAt', -1)]))\""
  "$PY" examples/sensor_firehose.py --url "$URL" --access-key "$FIREHOSE_ACCESS_KEY" --seconds 0
  exit 0
fi
say "sending readings from 3 simulated nodes for ${SECONDS_OF_TRAFFIC}s, batched like a delivery stream"
"$PY" examples/sensor_firehose.py --url "$URL" --access-key "$FIREHOSE_ACCESS_KEY" --seconds "$SECONDS_OF_TRAFFIC"

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
say "done: look yourself with 'scripts/demo.sh --follow', then e.g."
echo "    $ROOT/.cache/venv/bin/python -c \"import pymongo; print(pymongo.MongoClient('mongodb://127.0.0.1:<port>').monitors.reports.count_documents({}))\""
echo "    curl http://127.0.0.1:<port>/metrics"
