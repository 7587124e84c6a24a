"""[[trigger]]: MongoDB change streams out to Kinesis (moto, signature checks on) and
to Firehose-protocol HTTP endpoints (hydrant's own [[firehose]]), with the
change-stream server of tests/support as the source. Nothing in hydrant is mocked."""

from __future__ import annotations

import base64
import collections
import datetime
import json
import sys
import threading
import time

import pymongo
import pytest
import requests
from bson import ObjectId

from support import Hydrant, free_port
from triggers import (
    ROOT,
    ChangeStreamServer,
    Moto,
    readyz,
    start,
    trigger_config,
    trigger_metric,
    wait_for,
)

sys.path.insert(0, str(ROOT / "examples"))
from sensor_simulator import Simulator  # noqa: E402


@pytest.fixture
def cs(tmp_path):
    server = ChangeStreamServer(data_dir=tmp_path / "cs")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(cs):
    c = pymongo.MongoClient(cs.uri, serverSelectionTimeoutMS=10000)
    yield c
    c.close()


_streams = iter(range(1, 1_000_000))


@pytest.fixture
def stream(moto, request):
    """A fresh Kinesis stream for the test (moto slows down as a shard fills)."""
    name = f"s{next(_streams)}-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    moto.create_stream(name)
    return name


@pytest.fixture
def hydrants(tmp_path):
    """start(text, port, name=..., env=...) -> Hydrant. At the end every hydrant
    still running gets SIGTERM and must exit 0."""
    started: list[Hydrant] = []

    def run(text: str, port: int, name: str = "hydrant", env: dict | None = None) -> Hydrant:
        h = start(tmp_path, text, port, name=f"{name}-{len(started)}", env=env)
        started.append(h)
        return h

    yield run
    problems = []
    for i, h in enumerate(started):
        if h.proc.poll() is not None and h.returncode is None and h.proc.returncode == -9:
            continue  # SIGKILLed by the test
        try:  # the figures at the end, next to the log, for a failure's report
            (tmp_path / f"hydrant-{i}.metrics").write_text(requests.get(h.url("/metrics"), timeout=5).text)
        except requests.RequestException:
            pass
        rc = h.terminate()
        (tmp_path / f"hydrant-{i}.stdout").write_text("\n".join(h.lines) + "\n")
        if rc not in (0,) and rc != -9:
            problems.append(f"hydrant {i} exited with {rc} after SIGTERM\n{h.output()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def kinesis_dest(moto: Moto, stream: str, endpoint: str | None = None, **kw) -> dict:
    d = {"type": "kinesis", "stream": stream, "region": moto.region, "endpoint": endpoint or moto.endpoint,
         "access_key_id": moto.access_key_id, "secret_access_key": moto.secret_access_key}
    d.update(kw)
    return d


def trig(name: str, dest: dict, database: str = "db", collection: str | None = "c", **kw) -> dict:
    t = {"name": name, "database": database, "collection": collection, "max_latency": "50ms", "destination": dest}
    t.update(kw)
    return t


def read(moto: Moto, stream: str) -> list[dict]:
    return moto.read_stream(stream)


def wait_records(moto: Moto, stream: str, n: int, timeout: float = 60) -> list[dict]:
    return wait_for(lambda: (r := read(moto, stream)) and len(r) >= n and r, timeout, f"{n} records in {stream}",
                    interval=0.5)


def datas(records: list[dict]) -> list[dict]:
    return [json.loads(r["Data"]) for r in records]


def state_doc(client, name: str, db: str = "hydrant") -> dict | None:
    return client[db].triggers.find_one({"_id": name})


def started(client, name: str, db: str = "hydrant") -> dict:
    """Waits until the trigger's stream is open: its start position is stored (the
    lease alone is taken before the stream opens; writes before that are not its)."""
    return wait_for(lambda: (d := state_doc(client, name, db)) and "token" in d and d, 30, f"trigger {name} started")


# ---------------------------------------------------------------------------------------
# formats, filters, keys


def test_formats_filters_and_keys_to_kinesis(moto, cs, client, hydrants, request):
    base = request.node.name[:20]
    names = {k: f"{base}-{k}" for k in ("doc", "event", "canon", "db")}
    for s in names.values():
        moto.create_stream(s)
    text, port = trigger_config(cs.uri, [
        trig("doc", kinesis_dest(moto, names["doc"])),
        trig("event", kinesis_dest(moto, names["event"], partition_key="fullDocument.nodeName"), format="event",
             operation_types=["insert", "update"], match='{"fullDocument.nodeName": {"$regex": "^raspberrypi-"}}',
             project='{"fullDocument.secret": 0}'),
        trig("canon", kinesis_dest(moto, names["canon"], partition_key_value="1"), format="event-canonical",
             operation_types=["delete"]),
        trig("db", kinesis_dest(moto, names["db"], partition_key="ns.coll"), collection=None, format="event",
             operation_types=["insert"]),
    ])
    h = hydrants(text, port)
    for n in ("doc", "event", "canon", "db"):
        started(client, n)
    oid = ObjectId()
    when = datetime.datetime(2026, 11, 30, 12, 0, 0, 123000)
    c = client.db.c
    c.insert_one({"_id": oid, "nodeName": "raspberrypi-1", "t": 21.5, "n": 1 << 40, "at": when,
                  "nested": {"a": [1, "x", None]}, "secret": "s3"})
    c.insert_one({"_id": "plain", "nodeName": "laptop", "t": 1})
    c.update_one({"_id": oid}, {"$set": {"t": 22.0}})
    # (updateLookup reads the document when the event is read: let it exist until then)
    ev_records = wait_records(moto, names["event"], 2)
    c.replace_one({"_id": "plain"}, {"nodeName": "raspberrypi-2", "t": 2})
    c.delete_one({"_id": oid})
    client.db.other.insert_one({"_id": 7, "elsewhere": True})

    doc = datas(wait_records(moto, names["doc"], 5))
    assert doc == [
        {"_id": str(oid), "nodeName": "raspberrypi-1", "t": 21.5, "n": 1 << 40, "at": "2026-11-30T12:00:00.123Z",
         "nested": {"a": [1, "x", None]}, "secret": "s3"},
        {"_id": "plain", "nodeName": "laptop", "t": 1},
        {"_id": str(oid), "nodeName": "raspberrypi-1", "t": 22.0, "n": 1 << 40, "at": "2026-11-30T12:00:00.123Z",
         "nested": {"a": [1, "x", None]}, "secret": "s3"},
        {"_id": "plain", "nodeName": "raspberrypi-2", "t": 2},
        {"_id": str(oid), "_deleted": True},
    ]
    assert [r["PartitionKey"] for r in read(moto, names["doc"])] == [str(oid), "plain", str(oid), "plain", str(oid)]

    # event: only inserts and updates of raspberrypi-* nodes, secret projected away, relaxed Extended JSON
    ev = datas(ev_records)
    assert [(e["operationType"], e["fullDocument"]["nodeName"]) for e in ev] == [
        ("insert", "raspberrypi-1"), ("update", "raspberrypi-1")]
    assert all("secret" not in e["fullDocument"] for e in ev)
    assert ev[0]["fullDocument"]["_id"] == {"$oid": str(oid)}
    assert ev[0]["fullDocument"]["at"] == {"$date": "2026-11-30T12:00:00.123Z"}
    assert ev[0]["ns"] == {"db": "db", "coll": "c"} and ev[1]["updateDescription"]["updatedFields"] == {"t": 22.0}
    assert [r["PartitionKey"] for r in ev_records] == ["raspberrypi-1", "raspberrypi-1"]

    # event-canonical: only the delete, constant key
    canon_records = wait_records(moto, names["canon"], 1)
    canon = datas(canon_records)
    assert len(canon) == 1 and canon[0]["operationType"] == "delete"
    assert canon[0]["documentKey"] == {"_id": {"$oid": str(oid)}}
    assert canon[0]["clusterTime"]["$timestamp"]["t"] > 0 and "$numberLong" in json.dumps(canon[0]["wallTime"])
    assert canon_records[0]["PartitionKey"] == "1"

    # the whole database: inserts into both collections, keyed by collection
    # (order is promised per partition key: ordered calls hold one record of each key)
    db_records = wait_records(moto, names["db"], 3)
    per_key = collections.defaultdict(list)
    for r in db_records:
        per_key[r["PartitionKey"]].append(json.loads(r["Data"])["documentKey"]["_id"])
    assert dict(per_key) == {"c": [{"$oid": str(oid)}, "plain"], "other": [7]}

    assert trigger_metric(h, "hydrant_trigger_events_delivered_total", "doc") == 5
    assert trigger_metric(h, "hydrant_trigger_state", "doc", state="running") == 1
    assert trigger_metric(h, "hydrant_trigger_lease_held", "doc") == 1
    time.sleep(1)  # nothing else arrives
    assert len(read(moto, names["doc"])) == 5 and len(read(moto, names["event"])) == 2


def test_partition_keys_over_256_characters_are_hashed(moto, cs, client, stream, hydrants):
    text, port = trigger_config(cs.uri, [trig("long", kinesis_dest(moto, stream))])
    hydrants(text, port)
    started(client, "long")
    long_id = "k" * 300
    client.db.c.insert_one({"_id": long_id})
    client.db.c.insert_one({"_id": "é" * 256})  # 256 characters, 512 bytes: kept as it is
    recs = wait_records(moto, stream, 2)
    import hashlib
    assert recs[0]["PartitionKey"] == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert recs[1]["PartitionKey"] == "é" * 256
    assert json.loads(recs[0]["Data"]) == {"_id": long_id}


# ---------------------------------------------------------------------------------------
# delivery: partial failures and order, throttling, credentials


def test_partial_failures_retry_only_failed_records_in_order_per_key(moto, proxy, cs, client, stream, hydrants):
    # ~30 % of the records of each call fail (seeded), for the first 40 calls; then
    # whole-call throttling, 503s, 500s and dropped connections
    proxy.fail_records(0.3, count=40, target="PutRecords", seed=7,
                       error_code="ProvisionedThroughputExceededException")
    text, port = trigger_config(cs.uri, [trig("order", kinesis_dest(moto, stream, endpoint=proxy.endpoint,
                                                                    partition_key="fullDocument.k"))])
    h = hydrants(text, port)
    started(client, "order")
    keys = ["a", "b", "c", "d", "e"]
    expected = collections.defaultdict(list)
    docs = []
    for i in range(200):
        k = keys[i % 5] if i % 7 else "a"
        docs.append({"_id": i, "k": k, "seq": len(expected[k])})
        expected[k].append(i)
    for i in range(0, 200, 20):
        client.db.c.insert_many(docs[i:i + 20])
        if i == 100:
            proxy.throttle(count=2, status=400, target="PutRecords")
            proxy.throttle(count=1, status=503, target="PutRecords")
            proxy.error(count=1, status=500, target="PutRecords")
            proxy.drop(count=1, when="after", target="PutRecords")
    recs = wait_for(lambda: (r := read(moto, stream)) and len({json.loads(x["Data"])["_id"] for x in r}) >= 200
                    and r, 120, "every record delivered", interval=1)
    first_seen = collections.defaultdict(list)
    seen = set()
    for r in recs:
        d = json.loads(r["Data"])
        assert r["PartitionKey"] == d["k"]
        if d["_id"] not in seen:
            seen.add(d["_id"])
            first_seen[d["k"]].append(d["_id"])
    assert dict(first_seen) == dict(expected), "first deliveries per key out of change-stream order"
    injected = proxy.injected("PutRecords")
    assert len(injected) >= 40
    retried = trigger_metric(h, "hydrant_trigger_events_retried_total", "order")
    assert retried > 0
    # a record is re-sent only after it failed: moto holds each record at least once, and
    # duplicates come only from the dropped-after-forwarding answer
    dups = len(recs) - len(seen)
    print(f"partial failures: {len(injected)} injected faults, {int(retried)} records retried, {dups} duplicates")
    assert dups <= 20
    wait_for(lambda: trigger_metric(h, "hydrant_trigger_state", "order", state="running") == 1, 10, "running again")


def test_wrong_secret_keeps_the_position_and_loses_nothing(moto, cs, client, stream, hydrants, tmp_path):
    dest = kinesis_dest(moto, stream, secret_access_key="not-the-secret")
    text, port = trigger_config(cs.uri, [trig("creds", dest)])
    h = hydrants(text, port, name="wrong")
    started(client, "creds")
    before = state_doc(client, "creds")["token"]
    client.db.c.insert_many([{"_id": i} for i in range(5)])
    state = wait_for(lambda: (r := readyz(h)["triggers"]["creds"])["state"] == "backing_off" and r, 30,
                     "backing off on the refused signature")
    assert "403" in state["error"] or "Signature" in state["error"] or "Unrecognized" in state["error"], state
    errors = [r for r in h.log_records() if r.get("level") == "error" and r.get("msg") == "kinesis: retrying"]
    assert errors and "not-the-secret" not in h.all_output()
    time.sleep(1)
    assert state_doc(client, "creds")["token"] == before, "the position moved without a delivery"
    assert read(moto, stream) == []
    assert h.terminate() == 0
    # fixed: everything arrives, once
    text, port = trigger_config(cs.uri, [trig("creds", kinesis_dest(moto, stream))])
    hydrants(text, port, name="fixed")
    recs = wait_records(moto, stream, 5)
    assert [json.loads(r["Data"])["_id"] for r in recs] == [0, 1, 2, 3, 4]
    time.sleep(1)
    assert len(read(moto, stream)) == 5


def test_ordered_false_delivers_everything(moto, proxy, cs, client, stream, hydrants):
    """max_in_flight calls at once. moto loses records when PutRecords calls to one
    shard overlap (its shard append is not thread-safe; seen here: 1500 acknowledged,
    fewer stored), so the proxy lets hydrant's concurrent calls in but hands them to
    moto one at a time, and counts how many overlapped."""
    lock = threading.Lock()
    active, overlapped = [0], [0]

    sizes = []

    def one_at_a_time(req, forward):
        sizes.append(len(req.json()["Records"]))
        with lock:
            active[0] += 1
        try:
            if active[0] > 1:
                overlapped[0] += 1
            with forward_lock:
                return forward(req)
        finally:
            with lock:
                active[0] -= 1

    forward_lock = threading.Lock()
    proxy.hook(one_at_a_time, count=None, target="PutRecords")
    text, port = trigger_config(cs.uri, [trig("fast", kinesis_dest(moto, stream, endpoint=proxy.endpoint,
                                                                   partition_key_value="1"),
                                              ordered=False, max_in_flight=4, max_latency="2s")])
    h = hydrants(text, port)
    started(client, "fast")
    client.db.c.insert_many([{"_id": i, "pad": "x" * 100} for i in range(3000)])
    recs = wait_for(lambda: (r := read(moto, stream)) and len(r) >= 3000 and r, 120, "3000 records", interval=1)
    assert sorted(json.loads(r["Data"])["_id"] for r in recs) == list(range(3000))
    assert trigger_metric(h, "hydrant_trigger_events_delivered_total", "fast") == 3000
    # max_latency = 2 s: the batch fills to 4 x 500, sent as 4 calls at once
    assert max(sizes) == 500, sizes
    assert overlapped[0] > 0, "no two PutRecords calls were ever in flight at once"


# ---------------------------------------------------------------------------------------
# rejects, idle streams, history lost


def test_oversize_event_goes_to_rejects_and_the_trigger_goes_on(moto, cs, client, stream, hydrants):
    text, port = trigger_config(cs.uri, [trig("big", kinesis_dest(moto, stream))])
    h = hydrants(text, port)
    started(client, "big")
    client.db.c.insert_one({"_id": "small-1"})
    client.db.c.insert_one({"_id": "huge", "blob": "x" * (1100 * 1024)})
    client.db.c.insert_one({"_id": "small-2"})
    recs = wait_records(moto, stream, 2)
    assert [json.loads(r["Data"])["_id"] for r in recs] == ["small-1", "small-2"]
    rej = wait_for(lambda: client.hydrant.trigger_rejects.find_one({"trigger": "big"}), 10, "the reject")
    assert rej["documentKey"] == {"_id": "huge"} and rej["operationType"] == "insert"
    assert "1 MiB" in rej["reason"] or "1048576" in rej["reason"], rej["reason"]
    assert rej["event"]["fullDocument"]["_id"] == "huge"
    assert trigger_metric(h, "hydrant_trigger_events_rejected_total", "big") == 1
    assert trigger_metric(h, "hydrant_trigger_events_delivered_total", "big") == 2


def test_idle_trigger_position_follows_the_stream(moto, cs, client, stream, hydrants):
    text, port = trigger_config(cs.uri, [trig("idle", kinesis_dest(moto, stream), match='{"fullDocument.never": 1}')])
    hydrants(text, port)
    first = started(client, "idle")["token"]
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            client.db.c.insert_one({"_id": f"w{i}"})
            i += 1
            time.sleep(0.2)

    t = threading.Thread(target=writer)
    t.start()
    try:
        later = wait_for(lambda: (d := state_doc(client, "idle")) and d["token"] != first and d, 15,
                         "the stored position to advance with nothing delivered")
    finally:
        stop.set()
        t.join()
    assert later["token"]["_data"] > first["_data"]
    assert read(moto, stream) == []


@pytest.mark.parametrize("policy", ["fail", "restart-now"])
def test_history_lost(policy, moto, stream, hydrants, tmp_path):
    server = ChangeStreamServer(data_dir=tmp_path / "cs-small", oplog_max=30)
    server.start()
    client = pymongo.MongoClient(server.uri)
    try:
        text, port = trigger_config(server.uri, [trig("hist", kinesis_dest(moto, stream), on_history_lost=policy)])
        h = hydrants(text, port, name="first")
        started(client, "hist")
        client.db.c.insert_many([{"_id": i} for i in range(5)])
        wait_records(moto, stream, 5)
        assert h.terminate() == 0
        client.db.c.insert_many([{"_id": i} for i in range(5, 100)])  # the oplog keeps 30: the position is gone
        h2 = hydrants(text, port, name="second")
        if policy == "fail":
            state = wait_for(lambda: (r := readyz(h2)["triggers"]["hist"])["state"] == "failed" and r, 30,
                             "the trigger to fail")
            assert "history lost" in state["error"]
            assert requests_status(h2, "/readyz") == 200  # the trigger fails alone
            assert trigger_metric(h2, "hydrant_trigger_state", "hist", state="failed") == 1
            assert any(r.get("level") == "error" and "FAILED" in r.get("msg", "") for r in h2.log_records())
            client.db.c.insert_one({"_id": "after"})
            time.sleep(1.5)
            assert len(read(moto, stream)) == 5
        else:
            gap = wait_for(lambda: client.hydrant.trigger_gaps.find_one({"trigger": "hist"}), 30, "the recorded gap")
            assert gap["from"]["clusterTime"].time > 0 and gap["to"]["wallTime"] and "history lost" in gap["reason"]
            assert any(r.get("level") == "error" and "HISTORY LOST" in r.get("msg", "") for r in h2.log_records())
            wait_for(lambda: trigger_metric(h2, "hydrant_trigger_state", "hist", state="running") == 1, 20, "running")
            time.sleep(0.5)
            client.db.c.insert_one({"_id": "after"})
            recs = wait_records(moto, stream, 6)
            assert [json.loads(r["Data"])["_id"] for r in recs] == [0, 1, 2, 3, 4, "after"]
    finally:
        client.close()
        server.stop()


def requests_status(h: Hydrant, path: str) -> int:
    import requests
    return requests.get(h.url(path), timeout=15).status_code


# ---------------------------------------------------------------------------------------
# crashes, restarts, several instances


def _writer(client, ids, pace: float = 0.002):
    def run():
        for i in ids:
            client.db.c.insert_one({"_id": i, "v": i})
            time.sleep(pace)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_sigkill_mid_stream_then_restart_delivers_everything(moto, cs, client, stream, hydrants):
    text, port = trigger_config(cs.uri, [trig("crash", kinesis_dest(moto, stream))])
    h = hydrants(text, port, name="before")
    started(client, "crash")
    w = _writer(client, range(600), pace=0.005)
    wait_for(lambda: len(read(moto, stream)) >= 100, 60, "some deliveries", interval=0.3)
    h.kill()
    w.join()
    hydrants(text, port, name="after")
    recs = wait_for(lambda: (r := read(moto, stream)) and len({json.loads(x["Data"])["_id"] for x in r}) >= 600
                    and r, 120, "all 600 delivered", interval=1)
    ids = [json.loads(r["Data"])["_id"] for r in recs]
    assert set(ids) == set(range(600))
    dups = len(ids) - len(set(ids))
    print(f"SIGKILL mid-stream: 600 changes, {len(ids)} deliveries, {dups} duplicates")
    # at least once, and each key's first deliveries in order
    firsts = list(dict.fromkeys(ids))
    assert firsts == sorted(firsts)


def test_change_stream_server_restart_mid_stream(moto, cs, client, stream, hydrants):
    text, port = trigger_config(cs.uri, [trig("srv", kinesis_dest(moto, stream))])
    h = hydrants(text, port)
    started(client, "srv")
    client.db.c.insert_many([{"_id": i} for i in range(50)])
    wait_records(moto, stream, 50)
    cs.stop()
    time.sleep(2)
    cs.start()
    c2 = pymongo.MongoClient(cs.uri)
    c2.db.c.insert_many([{"_id": i} for i in range(50, 100)])
    recs = wait_for(lambda: (r := read(moto, stream)) and len({json.loads(x["Data"])["_id"] for x in r}) >= 100
                    and r, 90, "the changes after the restart", interval=1)
    ids = [json.loads(r["Data"])["_id"] for r in recs]
    assert set(ids) == set(range(100))
    assert trigger_metric(h, "hydrant_trigger_state", "srv", state="running") == 1
    c2.close()


def test_two_instances_share_a_trigger_and_take_over(moto, cs, client, stream, hydrants):
    text_a, port_a = trigger_config(cs.uri, [trig("shared", kinesis_dest(moto, stream))], state={"lease": "3s"})
    text_b, port_b = trigger_config(cs.uri, [trig("shared", kinesis_dest(moto, stream))], state={"lease": "3s"})
    a = hydrants(text_a, port_a, name="a")
    b = hydrants(text_b, port_b, name="b")
    holder = wait_for(lambda: next((h for h in (a, b) if trigger_metric(h, "hydrant_trigger_lease_held", "shared") == 1),
                                   None), 20, "one instance to take the lease")
    other = b if holder is a else a
    assert trigger_metric(other, "hydrant_trigger_lease_held", "shared") == 0
    assert readyz(other)["triggers"]["shared"]["state"] == "standby"
    client.db.c.insert_many([{"_id": i} for i in range(100)])
    wait_records(moto, stream, 100)
    holder.kill()
    killed_at = time.monotonic()
    w = _writer(client, range(100, 300), pace=0.003)
    wait_for(lambda: trigger_metric(other, "hydrant_trigger_lease_held", "shared") == 1, 15, "the other to take over")
    took = time.monotonic() - killed_at
    w.join()
    recs = wait_for(lambda: (r := read(moto, stream)) and len({json.loads(x["Data"])["_id"] for x in r}) >= 300
                    and r, 90, "all 300 delivered", interval=1)
    ids = [json.loads(r["Data"])["_id"] for r in recs]
    assert set(ids) == set(range(300))
    print(f"lease takeover after SIGKILL: {took:.1f} s (lease 3 s), duplicates {len(ids) - len(set(ids))}")
    assert took <= 3 + 2


# ---------------------------------------------------------------------------------------
# http: hydrant delivering as Firehose does, into its own [[firehose]] endpoint


def test_seed_loop_sensor_to_trigger_to_firehose_endpoint(cs, client, mongo, mongo_uri, db_name, hydrants):
    """The seed's whole pipeline without AWS: sensor readings written into MongoDB →
    trigger (http, gzip) → hydrant's [[firehose]] endpoint → another collection, each
    reading there exactly once and equal to what the sensor wrote."""
    port = free_port()
    text, _ = trigger_config(
        mongo_uri,
        [trig("seed", {"type": "http", "url": f"http://127.0.0.1:{port}/firehose/in", "access_key": "loop-key",
                       "content_encoding": "gzip", "common_attributes": {"pipeline": "seed"},
                       "buffer_interval": "1s"},
              uri=cs.uri, database="monitors", collection="reports", operation_types=["insert", "update", "replace"],
              match='{"fullDocument.nodeName": {"$regex": "^raspberrypi-"}}')],
        port=port, state={"state_database": db_name},
        endpoints=[{"path": "/firehose/in", "access_keys": ["loop-key"], "database": db_name, "collection": "readings",
                    "object_ids": ["_id"], "dates": ["recordedAt"], "metadata": "_firehose"}])
    h = hydrants(text, port)
    started(mongo, "seed", db_name)
    sim = Simulator(nodes=3, seed=11)
    written = []
    for reading in sim.readings(40):
        doc = dict(reading, _id=ObjectId(reading["_id"]),
                   recordedAt=datetime.datetime.fromisoformat(reading["recordedAt"].replace("Z", "+00:00")).replace(
                       tzinfo=None))
        client.monitors.reports.insert_one(doc)
        written.append(doc)
    client.monitors.reports.insert_one({"_id": ObjectId(), "nodeName": "not-a-pi"})
    coll = mongo[db_name].readings
    wait_for(lambda: coll.count_documents({}) >= len(written), 60, "every reading in the target collection")
    time.sleep(0.5)
    got = {d["_id"]: d for d in coll.find()}
    assert len(got) == len(written) == 120
    for doc in written:
        g = dict(got[doc["_id"]])
        meta = g.pop("_firehose")
        assert meta["commonAttributes"] == {"pipeline": "seed"} and meta["sourceArn"].endswith("deliverystream/seed")
        assert g == doc
    req = [r for r in h.log_records() if r.get("msg") == "request" and r.get("endpoint") == "/firehose/in"]
    assert req and all(r["status"] == 200 for r in req)
    # buffer_interval = 1 s (the trigger's max_latency is 50 ms): a few full requests, not one per reading
    assert sum(r["records"] for r in req) == 120 and len(req) <= 15, [r["records"] for r in req]
    assert trigger_metric(h, "hydrant_trigger_events_delivered_total", "seed") == 120


def test_http_retries_with_the_same_request_id_and_gives_up_after_retry_duration(cs, client, hydrants, tmp_path):
    """An endpoint that fails: Firehose's back-off with one request id, then the
    events go to trigger_rejects once retry_duration has passed."""
    import http.server

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((time.monotonic(), dict(self.headers), json.loads(body)))
            ok = len(seen) >= 3 and json.loads(body)["records"] and \
                json.loads(base64.b64decode(json.loads(body)["records"][0]["data"]))["_id"] == "second"
            if ok:
                out = json.dumps({"requestId": self.headers["X-Amz-Firehose-Request-Id"], "timestamp": 1}).encode()
                self.send_response(200)
            else:
                out = json.dumps({"requestId": self.headers["X-Amz-Firehose-Request-Id"], "timestamp": 1,
                                  "errorMessage": "down for maintenance"}).encode()
                self.send_response(500)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        text, port = trigger_config(cs.uri, [trig("flaky", {"type": "http",
                                                           "url": f"http://127.0.0.1:{srv.server_address[1]}/x",
                                                           "retry_duration": "2s", "access_key": "k1"})])
        hydrants(text, port)
        started(client, "flaky")
        client.db.c.insert_one({"_id": "first"})
        rej = wait_for(lambda: client.hydrant.trigger_rejects.find_one({"trigger": "flaky"}), 30, "the reject")
        assert "retry_duration" in rej["reason"] and "down for maintenance" in rej["reason"]
        assert json.loads(rej["data"]) == {"_id": "first"}
        first = [s for s in seen if json.loads(base64.b64decode(s[2]["records"][0]["data"]))["_id"] == "first"]
        assert len(first) >= 2
        ids = {s[1]["X-Amz-Firehose-Request-Id"] for s in first}
        assert len(ids) == 1, "a retry must carry the same request id"
        gap = first[1][0] - first[0][0]
        assert 0.8 <= gap <= 1.5, f"first back-off {gap:.2f} s, want 1 s +-15 %"
        h0 = first[0][1]
        assert h0["X-Amz-Firehose-Protocol-Version"] == "1.0" and h0["X-Amz-Firehose-Access-Key"] == "k1"
        assert h0["X-Amz-Firehose-Source-Arn"].endswith("deliverystream/flaky")
        client.db.c.insert_one({"_id": "second"})
        wait_for(lambda: any(s[1]["X-Amz-Firehose-Request-Id"] not in ids and
                             json.loads(base64.b64decode(s[2]["records"][0]["data"]))["_id"] == "second"
                             for s in seen), 30, "the next event delivered")
    finally:
        srv.shutdown()


# ---------------------------------------------------------------------------------------
# hydrant check


def test_check_names_the_key_and_line_of_every_trigger_mistake(run_cli, write_config, mongo_uri):
    cfg = write_config(f'''[mongodb]
uri = "{mongo_uri}"

[[trigger]]
name = "bad"
database = "db"
colection = "typo"
match = '{{"fullDocument.x": }}'
max_latency = 200

[trigger.destination]
type = "kinesis"
stream = "s"
region = "us-east-1"
partition_key = "fullDocuments.nodeName"
url = "http://only-for-http"
''')
    r = run_cli("check", "--config", str(cfg), env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert r.returncode == 1, r.stdout
    err = r.stderr
    assert "line 7: trigger[0].colection: unknown key" in err
    assert "line 8: trigger[0].match: is not a valid Extended JSON object" in err
    assert "line 9: trigger[0].max_latency: must be a duration" in err
    assert "line 15: trigger[0].destination.partition_key: \"fullDocuments.nodeName\" cannot exist" in err
    assert "line 16: trigger[0].destination.url: is only for type = \"http\"" in err
    assert "trigger[0].destination.access_key_id: missing credentials" in err


def test_check_connect_reaches_the_watched_deployment(run_cli, write_config, mongo_uri, cs, moto):
    def config(uri):
        return write_config(f'''[mongodb]
uri = "{mongo_uri}"

[[trigger]]
name = "t"
uri = "{uri}"
database = "db"

[trigger.destination]
type = "kinesis"
stream = "s"
region = "us-east-1"
access_key_id = "a"
secret_access_key = "b"
''')
    ok = run_cli("check", "--connect", "--config", str(config(cs.uri)))
    assert ok.returncode == 0 and "trigger t: the deployment it watches is reachable" in ok.stdout, ok.stderr
    dead = run_cli("check", "--connect", "--config",
                   str(config(f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=1000")))
    assert dead.returncode == 1 and "trigger t: the deployment it watches is not reachable" in dead.stderr
