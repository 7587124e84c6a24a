#!/usr/bin/env bash
# hydrant's demo: installs what is missing, builds, starts a local FerretDB (or
# uses $MONGODB_URI) and hydrant with examples/hydrant.toml, sends simulated
# sensor readings the way a Firehose delivery stream does, then shows what
# landed in MongoDB; then the outbound half: readings written into a MongoDB with
# change streams go out through two triggers, to Kinesis (moto) and over the
# Firehose protocol back into hydrant. Everything it starts is stopped on exit.
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

# --- the outbound half: changes out through [[trigger]] ---------------------------------
say "changes out: a MongoDB with change streams (tests/support's server) and a Kinesis (moto, signatures checked)"
OUT_PORT=$(free_port)
export HYDRANT_OUT_LISTEN="127.0.0.1:$OUT_PORT" LOOP_ACCESS_KEY="loop-$RANDOM"
# the change-stream server and moto run in the helper below, which writes their
# addresses to a file, waits for hydrant and then sends the readings
"$PY" - "$WORK" <<'PY' &
import json, os, signal, sys, time
sys.path.insert(0, "tests/support")
from aws import Moto
from changestream_server import ChangeStreamServer
work = sys.argv[1]
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # taken by sigwait below
cs = ChangeStreamServer(data_dir=os.path.join(work, "changes"))
cs.start()
moto = Moto()
moto.start()
moto.create_stream("readings", shards=2)
with open(os.path.join(work, "out.json.tmp"), "w") as f:
    json.dump({"CHANGES_URI": cs.uri, "KINESIS_ENDPOINT": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.access_key_id,
               "AWS_SECRET_ACCESS_KEY": moto.secret_access_key}, f)
os.rename(os.path.join(work, "out.json.tmp"), os.path.join(work, "out.json"))
signal.sigwait([signal.SIGTERM, signal.SIGINT])
moto.stop()
cs.stop()
PY
PIDS+=($!)
for _ in $(seq 1 300); do [ -f "$WORK/out.json" ] && break; sleep 0.1; done
[ -f "$WORK/out.json" ] || { echo "demo: the change-stream server or moto did not start"; exit 1; }
eval "$("$PY" -c 'import json,shlex,sys; print(" ".join(f"export {k}={shlex.quote(v)}" for k,v in json.load(open(sys.argv[1])).items()))' "$WORK/out.json")"
build/hydrant check --config examples/triggers.toml
say "starting a second hydrant with two triggers (examples/triggers.toml) on http://$HYDRANT_OUT_LISTEN"
setsid build/hydrant serve --config examples/triggers.toml >"$WORK/hydrant-out.log" 2>&1 &
PIDS+=($!)
wait_for "$HYDRANT_OUT_LISTEN" hydrant-out

say "3 sensor nodes write 60 readings straight into monitors.reports (as the seed's Raspberry Pi script did)"
"$PY" - <<'PY'
import datetime, json, os, sys, time, urllib.request
sys.path.insert(0, "examples"); sys.path.insert(0, "tests/support")
import boto3, pymongo
from bson import ObjectId
from sensor_simulator import Simulator
changes = pymongo.MongoClient(os.environ["CHANGES_URI"])
state = pymongo.MongoClient(os.environ["MONGODB_URI"])
for _ in range(300):  # both triggers have stored their start position: their streams are open
    if state.hydrant.triggers.count_documents({"token": {"$exists": True}}) >= 2:
        break
    time.sleep(0.1)
written = []
for r in Simulator(nodes=3, seed=7).readings(20):
    doc = dict(r, _id=ObjectId(r["_id"]), recordedAt=datetime.datetime.fromisoformat(r["recordedAt"].replace("Z", "+00:00")))
    changes.monitors.reports.insert_one(doc)
    written.append(doc)
kinesis = boto3.client("kinesis", endpoint_url=os.environ["KINESIS_ENDPOINT"], region_name="us-east-1",
                       aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
def read_kinesis():
    out = []
    for shard in kinesis.list_shards(StreamName="readings")["Shards"]:
        it = kinesis.get_shard_iterator(StreamName="readings", ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]
    return out
loop = state.monitors.from_trigger
deadline = time.time() + 30
while time.time() < deadline and (len(read_kinesis()) < len(written) or loop.count_documents({}) < len(written)):
    time.sleep(0.5)
records = read_kinesis()
print(f"  Kinesis stream 'readings': {len(records)} records (partition key = node name)")
by_node = {}
for rec in records:
    by_node.setdefault(rec["PartitionKey"], []).append(json.loads(rec["Data"]))
for node, docs in sorted(by_node.items()):
    ordered = [d["recordedAt"] for d in docs] == sorted(d["recordedAt"] for d in docs)
    print(f"    {node}: {len(docs)} readings, in order: {ordered}")
print("  one record's data, as the seed's trigger sent it (JSON.stringify of the document):")
print("    " + records[0]["Data"].decode()[:200])
copied = {d["_id"]: d for d in loop.find()}
same = sum(1 for d in written if copied.get(d["_id"], {}).get("temperature") == d["temperature"])
print(f"  the loop (trigger → http → this hydrant's [[firehose]] endpoint): monitors.from_trigger holds "
      f"{len(copied)} documents, {same} of {len(written)} equal to what the sensors wrote")
m = urllib.request.urlopen(f"http://{os.environ['HYDRANT_OUT_LISTEN']}/metrics").read().decode()
print("  " + "\n  ".join(l for l in m.splitlines() if l.startswith(("hydrant_trigger_events_delivered", "hydrant_trigger_lag"))))
if len(records) < len(written) or same < len(written):
    sys.exit("demo: the triggers did not deliver every reading; see the hydrant-out log")
PY

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
    send MongoDB's changes out:               docs/triggers.md (examples/triggers.toml)
EOF
