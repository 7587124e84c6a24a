"""The change-stream test server (tests/support/changestream-server) behaves like MongoDB
where hydrant's [[trigger]] tests rely on it: each test here checks one thing that
mongo-java-server does differently out of the box.

Run: .cache/venv/bin/python -m pytest tests/e2e/test_changestream_server.py
"""

from __future__ import annotations

import datetime
import itertools
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymongo
import pytest
from bson import Timestamp
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from changestream_server import ChangeStreamServer, jar_path  # noqa: E402

pytestmark = pytest.mark.skipif(not jar_path().is_file(),
                                reason=f"{jar_path()} missing: run scripts/install-deps.sh")

_names = itertools.count()


@pytest.fixture(scope="module")
def server():
    with ChangeStreamServer() as s:
        yield s


@pytest.fixture
def client(server):
    c = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000)
    yield c
    c.close()


@pytest.fixture
def db(client):
    return client[f"cs_test_{next(_names)}"]


def next_events(stream, n, timeout=10.0):
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < n and time.monotonic() < deadline:
        ev = stream.try_next()
        if ev is not None:
            events.append(ev)
    assert len(events) == n, f"got {len(events)} of {n} events: {events}"
    return events


def assert_common(ev, op, db_name, coll_name):
    assert ev["operationType"] == op
    assert set(ev["_id"]) == {"_data"} and isinstance(ev["_id"]["_data"], str)
    assert isinstance(ev["clusterTime"], Timestamp)
    assert isinstance(ev["wallTime"], datetime.datetime)
    assert ev["ns"] == {"db": db_name, "coll": coll_name}


def test_event_shapes_insert_update_replace_delete(db):
    coll = db.items
    with coll.watch(max_await_time_ms=100) as stream:
        coll.insert_one({"_id": 1, "a": 1, "sub": {"x": 1, "y": 1}, "arr": [1, 2, 3], "gone": True})
        coll.update_one({"_id": 1}, {"$set": {"a": 2, "sub.x": 5}, "$unset": {"gone": ""}, "$push": {"arr": 4}})
        coll.update_one({"_id": 1}, {"$set": {"arr": [1]}})
        coll.update_one({"_id": 1}, {"$set": {"arr.0": 9, "objs": [{"k": 1, "j": 1}]}})
        coll.update_one({"_id": 1}, {"$set": {"objs.0.k": 2}, "$unset": {"objs.0.j": ""}})
        coll.replace_one({"_id": 1}, {"b": "new"})
        coll.delete_one({"_id": 1})
        ins, upd, trunc, elem, nested, rep, dele = next_events(stream, 7)

    assert list(ins) == ["_id", "operationType", "clusterTime", "wallTime", "fullDocument", "ns", "documentKey"]
    assert_common(ins, "insert", db.name, "items")
    assert ins["documentKey"] == {"_id": 1}
    assert ins["fullDocument"] == {"_id": 1, "a": 1, "sub": {"x": 1, "y": 1}, "arr": [1, 2, 3], "gone": True}

    assert_common(upd, "update", db.name, "items")
    assert upd["documentKey"] == {"_id": 1}
    assert "fullDocument" not in upd  # only with fullDocument: updateLookup / whenAvailable / required
    assert upd["updateDescription"] == {
        "updatedFields": {"a": 2, "sub.x": 5, "arr.3": 4},
        "removedFields": ["gone"],
        "truncatedArrays": [],
    }
    assert trunc["updateDescription"]["truncatedArrays"] == [{"field": "arr", "newSize": 1}]
    assert trunc["updateDescription"]["updatedFields"] == {}
    assert elem["updateDescription"]["updatedFields"] == {"arr.0": 9, "objs": [{"k": 1, "j": 1}]}
    assert nested["updateDescription"] == {
        "updatedFields": {"objs.0.k": 2}, "removedFields": ["objs.0.j"], "truncatedArrays": []}

    assert_common(rep, "replace", db.name, "items")  # not reported as an update
    assert rep["documentKey"] == {"_id": 1}
    assert rep["fullDocument"] == {"_id": 1, "b": "new"}
    assert "updateDescription" not in rep

    assert_common(dele, "delete", db.name, "items")
    assert dele["documentKey"] == {"_id": 1}
    assert "fullDocument" not in dele

    # resume tokens and cluster times strictly increase with the oplog position
    events = [ins, upd, trunc, elem, nested, rep, dele]
    tokens = [e["_id"]["_data"] for e in events]
    assert tokens == sorted(tokens) and len(set(tokens)) == 7
    times = [e["clusterTime"] for e in events]
    assert times == sorted(times) and len(set(times)) == 7


def test_find_one_and_update_and_upsert_are_logged(db):
    coll = db.items
    coll.insert_one({"_id": 1, "n": 0})
    with coll.watch(max_await_time_ms=100) as stream:
        coll.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}})
        coll.find_one_and_replace({"_id": 1}, {"n": 10})
        coll.update_one({"_id": 2}, {"$set": {"n": 2}}, upsert=True)
        coll.find_one_and_delete({"_id": 1})
        evs = next_events(stream, 4)
    assert [e["operationType"] for e in evs] == ["update", "replace", "insert", "delete"]
    assert evs[0]["updateDescription"]["updatedFields"] == {"n": 1}
    assert evs[2]["fullDocument"] == {"_id": 2, "n": 2}


def test_full_document_modes(db):
    coll = db.items
    coll.insert_one({"_id": 1, "v": 0})
    lookup = coll.watch(full_document="updateLookup", max_await_time_ms=100)
    post = coll.watch(full_document="whenAvailable", full_document_before_change="whenAvailable",
                      max_await_time_ms=100)
    coll.update_one({"_id": 1}, {"$set": {"v": 1}})
    coll.update_one({"_id": 1}, {"$set": {"v": 2}})
    # updateLookup: the document as it is when the event is read (both show v=2)
    assert [e["fullDocument"] for e in next_events(lookup, 2)] == [{"_id": 1, "v": 2}] * 2
    # whenAvailable: the post-image as of that change, and the pre-image
    first, second = next_events(post, 2)
    assert first["fullDocument"] == {"_id": 1, "v": 1}
    assert first["fullDocumentBeforeChange"] == {"_id": 1, "v": 0}
    assert second["fullDocument"] == {"_id": 1, "v": 2}
    coll.delete_one({"_id": 1})
    coll.insert_one({"_id": 3})
    gone = next_events(post, 2)
    assert gone[0]["operationType"] == "delete"
    assert gone[0]["fullDocumentBeforeChange"] == {"_id": 1, "v": 2}
    lookup.close()
    post.close()


def test_pipeline_after_change_stream(db):
    coll = db.items
    pipeline = [{"$match": {"operationType": "insert", "fullDocument.keep": True}},
                {"$project": {"operationType": 1, "fullDocument.n": 1, "ns": 1}}]
    with coll.watch(pipeline, max_await_time_ms=100) as stream:
        coll.insert_one({"n": 1, "keep": False})
        coll.insert_one({"n": 2, "keep": True})
        coll.update_many({}, {"$set": {"keep": True}})
        coll.insert_one({"n": 3, "keep": True})
        evs = next_events(stream, 2)
        assert stream.try_next() is None
    assert [e["fullDocument"] for e in evs] == [{"n": 2}, {"n": 3}]
    assert set(evs[0]) == {"_id", "operationType", "fullDocument", "ns"}


def aggregate(db, target, options=None, batch_size=None):
    cursor = {} if batch_size is None else {"batchSize": batch_size}
    return db.command({"aggregate": target, "pipeline": [{"$changeStream": options or {}}], "cursor": cursor})


def get_more(db, reply, coll, max_time_ms):
    return db.command({"getMore": reply["cursor"]["id"], "collection": coll, "maxTimeMS": max_time_ms})


def test_post_batch_resume_token_advances_on_an_idle_stream(db):
    first = aggregate(db, "idle")
    assert first["cursor"]["firstBatch"] == []
    t0 = first["cursor"]["postBatchResumeToken"]["_data"]
    # writes elsewhere: no events for this stream, but its token moves past them
    db.other.insert_many([{"i": i} for i in range(3)])
    more = get_more(db, first, "idle", 100)
    assert more["cursor"]["nextBatch"] == []
    t1 = more["cursor"]["postBatchResumeToken"]["_data"]
    assert t1 > t0
    # no writes at all: it still moves forward with time (a primary's periodic no-op)
    time.sleep(2.1)  # (after a start, positions begin in the next second: up to 1 s ahead of the clock)
    t2 = get_more(db, first, "idle", 100)["cursor"]["postBatchResumeToken"]["_data"]
    assert t2 > t1
    # and resuming from it sees only what comes after
    db.idle.insert_one({"_id": "after"})
    with db.idle.watch(resume_after={"_data": t2}, max_await_time_ms=100) as stream:
        assert [e["documentKey"] for e in next_events(stream, 1)] == [{"_id": "after"}]
        assert stream.try_next() is None


def test_pymongo_resume_token_follows_post_batch_resume_token(db):
    with db.idle2.watch(max_await_time_ms=50) as stream:
        before = stream.resume_token["_data"]
        db.other.insert_one({})
        assert stream.try_next() is None
        assert stream.resume_token["_data"] > before


def test_get_more_waits_max_await_time(db):
    first = aggregate(db, "wait")
    start = time.monotonic()
    reply = get_more(db, first, "wait", 800)
    elapsed = time.monotonic() - start
    assert reply["cursor"]["nextBatch"] == []
    assert 0.7 <= elapsed < 3.0, elapsed
    start = time.monotonic()
    get_more(db, first, "wait", 50)
    assert time.monotonic() - start < 0.5


def test_get_more_returns_as_soon_as_an_event_arrives(db, server):
    first = aggregate(db, "wake")
    writer = pymongo.MongoClient(server.uri)
    timer = threading.Timer(0.3, lambda: writer[db.name].wake.insert_one({"_id": "w"}))
    timer.start()
    try:
        start = time.monotonic()
        reply = get_more(db, first, "wake", 10_000)
        elapsed = time.monotonic() - start
    finally:
        timer.join()
        writer.close()
    assert [e["documentKey"] for e in reply["cursor"]["nextBatch"]] == [{"_id": "w"}]
    assert elapsed < 3.0, elapsed


def test_failed_writes_emit_nothing(db):
    coll = db.items
    coll.insert_one({"_id": 1, "s": "text"})
    coll.create_index("u", unique=True, sparse=True)
    coll.insert_one({"_id": 2, "u": 1})
    with coll.watch(max_await_time_ms=100) as stream:
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": 1})
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"_id": 3, "u": 1})  # unique secondary index
        with pytest.raises(pymongo.errors.BulkWriteError):
            coll.insert_many([{"_id": 4}, {"_id": 1}, {"_id": 5}], ordered=False)
        with pytest.raises(WriteError):
            coll.update_one({"_id": 1}, {"$inc": {"s": 1}})  # $inc on a string
        coll.update_one({"_id": 1}, {"$set": {"s": "text"}})  # matched, not modified
        coll.delete_one({"_id": "missing"})
        coll.insert_one({"_id": "last"})
        evs = next_events(stream, 3)
        assert stream.try_next() is None
    assert [(e["operationType"], e["documentKey"]["_id"]) for e in evs] == [
        ("insert", 4), ("insert", 5), ("insert", "last")]


def test_resume_after_restart_with_data_dir(tmp_path):
    with ChangeStreamServer(data_dir=tmp_path / "db") as srv:
        c = pymongo.MongoClient(srv.uri)
        coll = c.persist.items
        with coll.watch(max_await_time_ms=100) as stream:
            coll.insert_one({"_id": 1})
            token = next_events(stream, 1)[0]["_id"]
        coll.insert_one({"_id": 2})
        coll.update_one({"_id": 2}, {"$set": {"x": 1}})
        c.close()
        port = srv.port
        assert srv.stop() == 0  # SIGTERM: clean exit
        srv.start()
        assert srv.port == port
        c = pymongo.MongoClient(srv.uri)
        coll = c.persist.items
        assert sorted(d["_id"] for d in coll.find()) == [1, 2]
        with coll.watch(resume_after=token, max_await_time_ms=100) as stream:
            evs = next_events(stream, 2)
            assert stream.try_next() is None
        assert [(e["operationType"], e["documentKey"]["_id"]) for e in evs] == [("insert", 2), ("update", 2)]
        # positions keep increasing after the restart
        with coll.watch(resume_after=token, max_await_time_ms=100) as stream:
            coll.insert_one({"_id": 3})
            evs = next_events(stream, 3)
        assert evs[2]["clusterTime"] > evs[1]["clusterTime"]
        assert evs[2]["_id"]["_data"] > evs[1]["_id"]["_data"]
        # SIGKILL: what was acknowledged is still there
        srv.kill()
        srv.start()
        c.close()
        c = pymongo.MongoClient(srv.uri)
        assert c.persist.items.count_documents({}) == 3
        with c.persist.items.watch(resume_after=token, max_await_time_ms=100) as stream:
            assert len(next_events(stream, 3)) == 3
        c.close()


def test_in_memory_server_forgets_on_restart():
    with ChangeStreamServer() as srv:
        c = pymongo.MongoClient(srv.uri)
        c.mem.items.insert_one({"_id": 1})
        srv.restart()
        assert c.mem.items.count_documents({}) == 0
        c.close()


def test_history_lost_with_a_small_oplog():
    with ChangeStreamServer(oplog_max=5) as srv:
        c = pymongo.MongoClient(srv.uri)
        coll = c.capped.items
        with coll.watch(max_await_time_ms=100) as stream:
            coll.insert_one({"_id": 0})
            old = next_events(stream, 1)[0]
        for i in range(1, 4):
            coll.insert_one({"_id": i})
        # still within the last 5 entries: resumes
        with coll.watch(resume_after=old["_id"], max_await_time_ms=100) as stream:
            assert [e["documentKey"]["_id"] for e in next_events(stream, 3)] == [1, 2, 3]
        for i in range(4, 10):
            coll.insert_one({"_id": i})
        with pytest.raises(OperationFailure) as err:
            coll.watch(resume_after=old["_id"])
        assert err.value.code == 286
        assert err.value.details["codeName"] == "ChangeStreamHistoryLost"
        with pytest.raises(OperationFailure) as err:
            coll.watch(start_at_operation_time=old["clusterTime"])
        assert err.value.code == 286
        # a stream that falls behind while open fails on its next getMore
        first = aggregate(c.capped, "items", batch_size=0)
        for i in range(10, 20):
            coll.insert_one({"_id": i})
        with pytest.raises(OperationFailure) as err:
            get_more(c.capped, first, "items", 100)
        assert err.value.code == 286
        c.close()


def test_start_at_operation_time_is_inclusive(db):
    coll = db.items
    with coll.watch(max_await_time_ms=100) as stream:
        coll.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3}])
        second = next_events(stream, 3)[1]
    with coll.watch(start_at_operation_time=second["clusterTime"], max_await_time_ms=100) as stream:
        assert [e["documentKey"]["_id"] for e in next_events(stream, 2)] == [2, 3]
    with coll.watch(start_after=second["_id"], max_await_time_ms=100) as stream:
        assert [e["documentKey"]["_id"] for e in next_events(stream, 1)] == [3]


def test_database_level_watch(client, db):
    other = client[f"{db.name}_other"]
    with db.watch(max_await_time_ms=100) as stream:
        db.a.insert_one({"_id": "a"})
        other.a.insert_one({"_id": "elsewhere"})
        db.b.insert_one({"_id": "b"})
        db.b.drop()
        evs = next_events(stream, 3)
        assert stream.try_next() is None
    assert [(e["operationType"], e["ns"]) for e in evs] == [
        ("insert", {"db": db.name, "coll": "a"}),
        ("insert", {"db": db.name, "coll": "b"}),
        ("drop", {"db": db.name, "coll": "b"}),
    ]


def test_cluster_level_watch(client, db):
    other = client[f"{db.name}_other"]
    with client.watch(max_await_time_ms=100) as stream:
        db.a.insert_one({"_id": 1})
        other.b.insert_one({"_id": 2})
        evs = next_events(stream, 2)
    assert [e["ns"] for e in evs] == [{"db": db.name, "coll": "a"}, {"db": other.name, "coll": "b"}]
    # the raw form: aggregate 1 on admin with allChangesForCluster
    reply = client.admin.command({"aggregate": 1, "pipeline": [{"$changeStream": {"allChangesForCluster": True}}],
                                  "cursor": {}})
    assert reply["cursor"]["ns"] == "admin.$cmd.aggregate"
    assert "postBatchResumeToken" in reply["cursor"]


def test_drop_invalidates_and_recreate_then_resume_after_works(db):
    coll = db.items
    stream = coll.watch(max_await_time_ms=100)
    coll.insert_one({"_id": 1})
    coll.drop()
    ins, drop, inv = next_events(stream, 3)
    assert drop["operationType"] == "drop" and drop["ns"] == {"db": db.name, "coll": "items"}
    assert inv["operationType"] == "invalidate"
    assert not stream.alive
    stream.close()
    # recreate, and resume from a token taken after the recreate
    with coll.watch(start_after=inv["_id"], max_await_time_ms=100) as stream:
        coll.insert_one({"_id": 2})
        coll.insert_one({"_id": 3})
        after = next_events(stream, 2)
    with coll.watch(resume_after=after[0]["_id"], max_await_time_ms=100) as stream:
        assert [e["documentKey"]["_id"] for e in next_events(stream, 1)] == [3]
        coll.insert_one({"_id": 4})
        assert [e["documentKey"]["_id"] for e in next_events(stream, 1)] == [4]
    # resuming from before the drop replays up to the drop and ends with invalidate
    with coll.watch(resume_after=ins["_id"], max_await_time_ms=100) as stream:
        assert [e["operationType"] for e in next_events(stream, 2)] == ["drop", "invalidate"]
    # resumeAfter an invalidate is refused, like MongoDB
    with pytest.raises(OperationFailure) as err:
        coll.watch(resume_after=inv["_id"])
    assert err.value.code == 260


def test_rename_ends_a_collection_stream(client, db):
    db.src.insert_one({"_id": 1})
    with db.src.watch(max_await_time_ms=100) as stream:
        client.admin.command("renameCollection", f"{db.name}.src", to=f"{db.name}.dst")
        rename, inv = next_events(stream, 2)
    assert rename["operationType"] == "rename"
    assert rename["ns"] == {"db": db.name, "coll": "src"}
    assert rename["to"] == {"db": db.name, "coll": "dst"}
    assert inv["operationType"] == "invalidate"
    assert db.dst.find_one() == {"_id": 1}


def test_replies_carry_cluster_time_and_hello_says_primary(client, server):
    reply = client.admin.command("ping")
    assert isinstance(reply["operationTime"], Timestamp)
    assert isinstance(reply["$clusterTime"]["clusterTime"], Timestamp)
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["maxWireVersion"] >= 17
    assert hello["setName"] == "rs0"
    assert hello["hosts"] == [f"127.0.0.1:{server.port}"]
    # without directConnection, pymongo discovers a replica set with this primary
    rs = pymongo.MongoClient(f"mongodb://127.0.0.1:{server.port}/", serverSelectionTimeoutMS=5000)
    try:
        rs.admin.command("ping")
        assert rs.topology_description.topology_type_name == "ReplicaSetWithPrimary"
    finally:
        rs.close()


WATCH_C = r"""
#include <mongoc/mongoc.h>
#include <stdio.h>
int main(int argc, char **argv) {
  mongoc_init();
  bson_error_t err;
  mongoc_client_t *client = mongoc_client_new(argv[1]);
  mongoc_collection_t *coll = mongoc_client_get_collection(client, argv[2], "items");
  bson_t pipeline = BSON_INITIALIZER, opts = BSON_INITIALIZER;
  BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", 100);
  BSON_APPEND_UTF8(&opts, "fullDocument", "updateLookup");
  mongoc_change_stream_t *cs = mongoc_collection_watch(coll, &pipeline, &opts);
  const bson_t *doc, *err_doc;
  if (mongoc_change_stream_error_document(cs, &err, &err_doc)) { fprintf(stderr, "%s\n", err.message); return 1; }
  bson_t *ins = BCON_NEW("_id", BCON_INT32(7));
  if (!mongoc_collection_insert_one(coll, ins, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.message); return 1; }
  for (int i = 0; i < 50; i++) {
    if (mongoc_change_stream_next(cs, &doc)) {
      char *json = bson_as_relaxed_extended_json(doc, NULL);
      printf("%s\n", json);
      return 0;
    }
    if (mongoc_change_stream_error_document(cs, &err, &err_doc)) { fprintf(stderr, "%s\n", err.message); return 1; }
  }
  return 3;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None or subprocess.run(
    ["pkg-config", "--exists", "libmongoc-1.0"]).returncode != 0, reason="no cc or libmongoc")
def test_libmongoc_collection_watch(server, db, tmp_path):
    src = tmp_path / "watch.c"
    src.write_text(WATCH_C)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmongoc-1.0"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-o", str(tmp_path / "watch"), str(src), *flags], check=True)
    out = subprocess.run([str(tmp_path / "watch"), server.uri, db.name], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"operationType" : "insert"' in out.stdout
    assert f'"ns" : {{ "db" : "{db.name}", "coll" : "items" }}' in out.stdout
    assert '"documentKey" : { "_id" : 7 }' in out.stdout


def _watch_until(stream, expected, out, done, quiet=2.0):
    """Reads `stream` (try_next) into `out` until `expected` events came and then `quiet` seconds
    passed without more, or until `done` is set and `quiet` passed without any event."""
    last = time.monotonic()
    try:
        while True:
            ev = stream.try_next()
            now = time.monotonic()
            if ev is not None:
                out.append(ev)
                last = now
            elif (len(out) >= expected or done.is_set()) and now - last > quiet:
                return
            elif now - last > 30:
                return
    except Exception as e:  # noqa: BLE001 - reported by the test
        out.append(e)


def test_no_event_lost_with_concurrent_streams_and_writers(server, client):
    """Regression: several streams waiting in getMore (maxAwaitTimeMS 100) while writers in several
    threads write must each see every event of their scope, once and in oplog order."""
    writers_n, per_writer = 3, 100
    for round_ in range(4):
        db = client[f"cs_race_{next(_names)}"]
        t0 = client.admin.command("ping")["operationTime"]
        specs = [  # (name, how to open, which ground-truth events it must see)
            ("coll", lambda: db.c.watch(max_await_time_ms=100),
             lambda e: e["ns"]["coll"] == "c"),
            ("coll-inserts", lambda: db.c.watch([{"$match": {"operationType": "insert"}}], max_await_time_ms=100),
             lambda e: e["ns"]["coll"] == "c" and e["operationType"] == "insert"),
            ("coll-updates", lambda: db.c.watch([{"$match": {"operationType": "update"}}], max_await_time_ms=100),
             lambda e: e["ns"]["coll"] == "c" and e["operationType"] == "update"),
            ("db", lambda: db.watch(max_await_time_ms=100), lambda e: True),
            ("db-other", lambda: db.watch([{"$match": {"ns.coll": "other"}}], max_await_time_ms=100),
             lambda e: e["ns"]["coll"] == "other"),
        ]
        streams = [open_() for _, open_, _ in specs]
        # each writer: insert into c, update it, insert into other
        expected_total = writers_n * per_writer * 3
        expect_n = {"coll": expected_total * 2 // 3, "coll-inserts": expected_total // 3,
                    "coll-updates": expected_total // 3, "db": expected_total, "db-other": expected_total // 3}
        done = threading.Event()
        seen = {name: [] for name, _, _ in specs}
        readers = [threading.Thread(target=_watch_until, args=(s, expect_n[name], seen[name], done))
                   for (name, _, _), s in zip(specs, streams)]
        for t in readers:
            t.start()

        def write(w):
            wc = pymongo.MongoClient(server.uri)
            try:
                wdb = wc[db.name]
                for i in range(per_writer):
                    wdb.c.insert_one({"_id": f"{w}-{i}", "n": 0})
                    wdb.c.update_one({"_id": f"{w}-{i}"}, {"$inc": {"n": 1}})
                    wdb.other.insert_one({"_id": f"{w}-{i}"})
            finally:
                wc.close()

        writers = [threading.Thread(target=write, args=(w,)) for w in range(writers_n)]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        done.set()
        for t in readers:
            t.join(60)
        for s in streams:
            s.close()

        # the ground truth: the whole oplog read after the fact
        with db.watch(start_at_operation_time=t0, max_await_time_ms=100) as stream:
            truth = next_events(stream, expected_total, timeout=30)
            assert stream.try_next() is None

        def key(e):
            return (e["_id"]["_data"], e["operationType"], e["ns"]["coll"], e["documentKey"]["_id"])

        ids = [e["_id"]["_data"] for e in truth]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for w in range(writers_n):  # each writer's writes in its order
            mine = [(e["operationType"], e["ns"]["coll"], e["documentKey"]["_id"]) for e in truth
                    if e["documentKey"]["_id"].startswith(f"{w}-")]
            assert mine == [x for i in range(per_writer) for x in
                            (("insert", "c", f"{w}-{i}"), ("update", "c", f"{w}-{i}"), ("insert", "other", f"{w}-{i}"))]
        lost = {}
        for name, _, want in specs:
            errors = [e for e in seen[name] if isinstance(e, Exception)]
            assert not errors, (round_, name, errors)
            got = [key(e) for e in seen[name]]
            exp = [key(e) for e in truth if want(e)]
            if got != exp:
                lost[name] = (len(got), len(exp), sorted(set(exp) - set(got))[:3], sorted(set(got) - set(exp))[:3])
        assert not lost, f"round {round_}: streams missed events (got, expected, missing, extra): {lost}"
