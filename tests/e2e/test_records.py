"""Record decoding and writing: conversions, idempotency, rejects, Extended JSON,
concatenated objects, metadata, CloudWatch Logs, gzip'd records, id paths."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random

import bson
import pytest
from bson.int64 import Int64

from support import DEFAULT_PATH, Firehose, check_response, endpoint_config, new_request_id
from test_captures import assert_reject

UTC_NOW = lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731


def reading(rng: random.Random, oid: str, recorded_at: str) -> dict:
    """A Raspberry Pi Sense HAT reading as the seed's sensor script sends it."""
    return {
        "_id": oid,
        "nodeName": f"raspberrypi-{rng.randint(1, 4)}",
        "humidity": round(rng.uniform(20, 60), 6),
        "temperature": round(rng.uniform(15, 35), 6),
        "pressure": round(rng.uniform(990, 1030), 6),
        "isMoving": rng.random() < 0.3,
        "acceleration": {"x": rng.uniform(-2, 2), "y": rng.uniform(-2, 2), "z": rng.uniform(-2, 2)},
        "recordedAt": recorded_at,
    }


def test_seed_readings_object_ids_and_dates(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, collection="reports", object_ids=["_id"],
                                             dates=["recordedAt"])])
    rng = random.Random(7)
    base = dt.datetime(2024, 5, 1, 12, 0, 0)
    readings = []
    for i in range(25):
        when = base + dt.timedelta(milliseconds=500 * i + 123)
        iso = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        readings.append((reading(rng, str(bson.ObjectId()), iso), when))
    fh = Firehose(hydrant)
    resp, rid = fh.post([r for r, _ in readings])
    check_response(resp, rid, 200)

    assert db.reports.count_documents({}) == len(readings)
    for rec, when in readings:
        doc = db.reports.find_one({"_id": bson.ObjectId(rec["_id"])})
        assert doc is not None, f"no document with _id ObjectId({rec['_id']})"
        assert isinstance(doc["_id"], bson.ObjectId)
        assert isinstance(doc["recordedAt"], dt.datetime)
        assert doc["recordedAt"] == when
        expected = dict(rec, _id=bson.ObjectId(rec["_id"]), recordedAt=when)
        assert doc == expected
    assert db.reports.count_documents({"_id": {"$type": "string"}}) == 0
    assert db.rejects.count_documents({}) == 0


def test_dates_from_iso_offsets_and_epoch_ms(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, dates=["at", "nested.at"])])
    fh = Firehose(hydrant)
    records = [
        {"_id": "iso-z", "at": "2024-05-01T12:34:56.789Z"},
        {"_id": "iso-offset", "at": "2024-05-01T14:34:56.789+02:00"},
        {"_id": "epoch-ms", "at": 1714566896789},
        {"_id": "nested", "nested": {"at": "2024-05-01T12:34:56.789Z"}, "at": 1714566896789},
    ]
    resp, rid = fh.post(records)
    check_response(resp, rid, 200)
    want = dt.datetime(2024, 5, 1, 12, 34, 56, 789000)
    docs = {d["_id"]: d for d in db.records.find()}
    assert set(docs) == {"iso-z", "iso-offset", "epoch-ms", "nested"}
    for k in ("iso-z", "iso-offset", "epoch-ms", "nested"):
        assert docs[k]["at"] == want, k
    assert docs["nested"]["nested"]["at"] == want


def test_unconvertible_object_id_or_date_is_a_reject(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, object_ids=["_id"], dates=["recordedAt"])])
    fh = Firehose(hydrant)
    good = {"_id": "65f0a1b2c3d4e5f601234567", "recordedAt": "2024-05-01T00:00:00Z", "v": 1}
    bad_oid = {"_id": "not-a-hex-object-id", "recordedAt": "2024-05-01T00:00:00Z"}
    bad_date = {"_id": "65f0a1b2c3d4e5f601234568", "recordedAt": "the day before yesterday"}
    good2 = {"_id": "65f0a1b2c3d4e5f601234569", "v": 2}  # no date field: fine
    resp, rid = fh.post([good, bad_oid, bad_date, good2])
    check_response(resp, rid, 200)
    ids = {d["_id"] for d in db.records.find()}
    assert ids == {bson.ObjectId(good["_id"]), bson.ObjectId(good2["_id"])}
    rejects = {r["index"]: r for r in db.rejects.find()}
    assert set(rejects) == {1, 2}
    assert_reject(rejects[1], rid, 1, DEFAULT_PATH, [json.dumps(bad_oid).encode()])
    assert_reject(rejects[2], rid, 2, DEFAULT_PATH, [json.dumps(bad_date).encode()])


@pytest.mark.parametrize("with_ids", [True, False], ids=["with-ids", "without-ids"])
def test_same_request_three_times_lands_once(with_ids, hydrant, firehose, db):
    # 250 records: more than FerretDB v1 can replace in one update command (it deadlocks
    # at 100 statements that match existing documents), so the sink must split
    records = [{"n": i, "payload": "x" * (i % 7)} for i in range(250)]
    if with_ids:
        for r in records:
            r["_id"] = f"rec-{r['n']}"
    rid = new_request_id()
    for attempt in range(3):
        resp, _ = firehose.post(records, rid)
        check_response(resp, rid, 200)
        assert db.records.count_documents({}) == len(records), f"after attempt {attempt + 1}"
    docs = list(db.records.find())
    assert sorted(d["n"] for d in docs) == list(range(250))
    if with_ids:
        assert {d["_id"] for d in docs} == {f"rec-{i}" for i in range(250)}
    else:
        # deterministic ids from the request id and the record's position (docs/interfaces.md)
        assert {d["_id"] for d in docs} == {f"{rid}:{i}" for i in range(250)}
        assert all(d["_id"] == f"{rid}:{d['n']}" for d in docs)


def test_retry_replaces_the_stored_document(hydrant, firehose, db):
    rid = new_request_id()
    resp, _ = firehose.post([{"_id": "k", "v": 1, "gone": True}], rid)
    check_response(resp, rid, 200)
    resp, rid2 = firehose.post([{"_id": "k", "v": 2}])
    check_response(resp, rid2, 200)
    assert list(db.records.find()) == [{"_id": "k", "v": 2}]


def test_mixed_batch_keeps_good_records_and_rejects_bad_ones(hydrant, firehose, db):
    good0 = {"_id": "good-0", "v": 0}
    gz_good = {"_id": "good-gzip", "v": 5, "text": "compressed record"}
    good_last = {"_id": "good-last", "v": 7}
    records = [
        good0,                                   # 0 good
        "b64:!!!this is not base64!!!",          # 1 bad base64 (sent verbatim)
        b'{"a": 1, "b": ',                       # 2 invalid JSON
        b"[1, 2, 3]",                            # 3 a JSON array
        b"42",                                   # 4 a JSON scalar
        gzip.compress(json.dumps(gz_good).encode()),  # 5 gzip'd good record
        gzip.compress(b"{broken json inside gzip"),   # 6 gzip'd invalid JSON
        good_last,                               # 7 good, after the bad ones
    ]
    resp, rid = firehose.post(records)
    check_response(resp, rid, 200)

    docs = {d["_id"]: d for d in db.records.find()}
    assert docs == {"good-0": good0, "good-gzip": gz_good, "good-last": good_last}

    rejects = {r["index"]: r for r in db.rejects.find()}
    assert set(rejects) == {1, 2, 3, 4, 6}
    assert_reject(rejects[1], rid, 1, DEFAULT_PATH, [b"!!!this is not base64!!!"])
    assert_reject(rejects[2], rid, 2, DEFAULT_PATH, [b'{"a": 1, "b": '])
    assert_reject(rejects[3], rid, 3, DEFAULT_PATH, [b"[1, 2, 3]"])
    assert_reject(rejects[4], rid, 4, DEFAULT_PATH, [b"42"])
    # raw decoded bytes of a gzip'd record: the compressed bytes or what they inflate to
    assert_reject(rejects[6], rid, 6, DEFAULT_PATH,
                  [records[6], b"{broken json inside gzip"])
    reasons = {rejects[i]["reason"] for i in rejects}
    assert len(reasons) >= 2, f"every reject has the same reason: {reasons}"

    # replaying the batch lands nothing twice
    resp, _ = firehose.post(records, rid)
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 3
    assert db.rejects.count_documents({}) == 5


def test_empty_record_does_not_block_the_batch(hydrant, firehose, db):
    """SPEC §2: a record's data may be empty. It may become a reject or be
    acknowledged without a document, but the request succeeds and the rest lands."""
    resp, rid = firehose.post([{"_id": "a"}, b"", {"_id": "b"}])
    check_response(resp, rid, 200)
    assert {d["_id"] for d in db.records.find()} == {"a", "b"}
    assert db.rejects.count_documents({"index": {"$ne": 1}}) == 0


def test_extended_json_becomes_bson_types(hydrant, firehose, db):
    oid = "65f0a1b2c3d4e5f601234567"
    rec = (
        '{"_id": {"$oid": "%s"}, "when": {"$date": "2024-01-02T03:04:05.678Z"},'
        ' "whenMs": {"$date": {"$numberLong": "1700000000000"}},'
        ' "big": {"$numberLong": "9007199254740993"}, "small": {"$numberLong": "5"},'
        ' "plain": 12, "f": 1.5, "s": "text", "nested": {"ref": {"$oid": "%s"}},'
        ' "arr": [{"$numberLong": "7"}, {"$date": "2024-01-02T03:04:05Z"}]}' % (oid, oid)
    )
    resp, rid = firehose.post([rec.encode()])
    check_response(resp, rid, 200)
    doc = db.records.find_one()
    assert doc is not None
    assert doc["_id"] == bson.ObjectId(oid)
    assert doc["when"] == dt.datetime(2024, 1, 2, 3, 4, 5, 678000)
    assert doc["whenMs"] == dt.datetime(2023, 11, 14, 22, 13, 20)
    assert isinstance(doc["big"], Int64) and doc["big"] == 9007199254740993
    assert isinstance(doc["small"], Int64) and doc["small"] == 5
    assert doc["plain"] == 12 and doc["f"] == 1.5 and doc["s"] == "text"
    assert doc["nested"]["ref"] == bson.ObjectId(oid)
    assert isinstance(doc["arr"][0], Int64) and doc["arr"][0] == 7
    assert doc["arr"][1] == dt.datetime(2024, 1, 2, 3, 4, 5)


def test_concatenated_objects_are_several_documents(hydrant, firehose, db):
    records = [
        b'{"k": "a0"}{"k": "a1"}\n{"k": "a2"}',   # 0: three objects, no ids
        b'{"_id": "x", "k": "b0"} {"_id": "y", "k": "b1"}',  # 1: two objects with ids
        b'{"k": "c0"}',                             # 2: one object
    ]
    resp, rid = firehose.post(records)
    check_response(resp, rid, 200)
    docs = {d["_id"]: d["k"] for d in db.records.find()}
    assert docs == {
        f"{rid}:0": "a0", f"{rid}:0:1": "a1", f"{rid}:0:2": "a2",
        "x": "b0", "y": "b1",
        f"{rid}:2": "c0",
    }
    assert db.rejects.count_documents({}) == 0


def test_metadata_field(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, metadata="_firehose")])
    fh = Firehose(hydrant)
    attrs = {"env": "e2e", "team": "data", "region": "eu-west-1"}
    before = UTC_NOW() - dt.timedelta(seconds=2)
    resp, rid = fh.post([{"_id": "m1", "v": 1}, {"v": 2}], common_attributes=attrs)
    check_response(resp, rid, 200)
    after = UTC_NOW() + dt.timedelta(seconds=2)
    docs = list(db.records.find())
    assert len(docs) == 2
    for d in docs:
        meta = d["_firehose"]
        assert meta["requestId"] == rid
        assert meta["sourceArn"] == "arn:aws:firehose:us-east-1:123456789012:deliverystream/hydrant-e2e"
        assert isinstance(meta["receivedAt"], dt.datetime)
        assert before <= meta["receivedAt"] <= after, meta["receivedAt"]
        assert meta["commonAttributes"] == attrs
    assert {d["v"] for d in docs} == {1, 2}


def cw_record(message_type: str, events: list[dict]) -> bytes:
    return gzip.compress(json.dumps({
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "/aws/lambda/e2e",
        "logStream": "2024/05/01/[$LATEST]abc",
        "subscriptionFilters": ["e2e"],
        "logEvents": events,
    }).encode())


def test_cloudwatch_logs_messages_parsed_as_json(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, records="cloudwatch-logs")])
    fh = Firehose(hydrant)
    events = [
        {"id": "ev-json", "timestamp": 1714566896789, "message": '{"level": "info", "n": 3}'},
        {"id": "ev-text", "timestamp": 1714566896790, "message": "plain text line"},
    ]
    control = cw_record("CONTROL_MESSAGE", [{"id": "", "timestamp": 1714566896000,
                                             "message": "CWL CONTROL MESSAGE: Checking health"}])
    resp, rid = fh.post([control, cw_record("DATA_MESSAGE", events), b"not gzip, not cloudwatch"])
    check_response(resp, rid, 200)
    docs = {d["_id"]: d for d in db.records.find()}
    assert set(docs) == {"ev-json", "ev-text"}
    assert docs["ev-json"]["message"] == {"level": "info", "n": 3}
    assert docs["ev-text"]["message"] == "plain text line"
    assert docs["ev-json"]["timestamp"] == dt.datetime(2024, 5, 1, 12, 34, 56, 789000)
    for d in docs.values():
        assert d["owner"] == "123456789012"
        assert d["logGroup"] == "/aws/lambda/e2e"
        assert d["logStream"] == "2024/05/01/[$LATEST]abc"
    rejects = list(db.rejects.find())
    assert [r["index"] for r in rejects] == [2]


def test_text_records_and_gzip_detection(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, records="text")])
    fh = Firehose(hydrant)
    resp, rid = fh.post(["plain line", gzip.compress("gzip'd línea".encode()), '{"json": "stays text"}'])
    check_response(resp, rid, 200)
    docs = {d["_id"]: d for d in db.records.find()}
    assert docs == {
        f"{rid}:0": {"_id": f"{rid}:0", "data": "plain line"},
        f"{rid}:1": {"_id": f"{rid}:1", "data": "gzip'd línea"},
        f"{rid}:2": {"_id": f"{rid}:2", "data": '{"json": "stays text"}'},
    }


def test_id_is_a_dot_path(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, id="meta.key")])
    fh = Firehose(hydrant)
    records = [{"meta": {"key": f"k{i}"}, "v": i} for i in range(3)] + [{"v": 99}]
    rid = new_request_id()
    for _ in range(2):
        resp, _ = fh.post(records, rid)
        check_response(resp, rid, 200)
    docs = {d["_id"]: d for d in db.records.find()}
    assert set(docs) == {"k0", "k1", "k2", f"{rid}:3"}
    assert docs["k1"]["v"] == 1 and docs["k1"]["meta"] == {"key": "k1"}


def test_two_endpoints_route_by_path(start_hydrant, db, db_name):
    hydrant = start_hydrant([
        endpoint_config(db_name, path="/firehose/a", collection="a", access_keys=["key-a"]),
        endpoint_config(db_name, path="/firehose/b", collection="b", access_keys=["key-b"]),
    ])
    fa = Firehose(hydrant, "/firehose/a", "key-a")
    fb = Firehose(hydrant, "/firehose/b", "key-b")
    check_response(fa.post([{"_id": "1"}])[0], None, 200)
    check_response(fb.post([{"_id": "2"}, {"_id": "3"}])[0], None, 200)
    resp, rid = fa.post([{"_id": "x"}], access_key="key-b")  # b's key is not a's
    check_response(resp, rid, 401)
    assert [d["_id"] for d in db.a.find()] == ["1"]
    assert sorted(d["_id"] for d in db.b.find()) == ["2", "3"]


def test_json_numbers_and_strings_keep_their_values(hydrant, firehose, db):
    rec = (
        b'{"_id": "n", "i32": 2147483647, "i64": 2147483648, "min": -9223372036854775808,'
        b' "f": 0.1, "e": 1.5e300, "neg0": -0.0, "t": true, "nil": null,'
        b' "esc": "tab\\tquote\\" \\u00e9 \\ud83d\\ude00", "raw": "caf\xc3\xa9 \xf0\x9f\x98\x80",'
        b' "nul": "a\\u0000b", "arr": [1, "two", {"three": 3}], "empty": {}, "emptyArr": []}'
    )
    resp, rid = firehose.post([rec])
    check_response(resp, rid, 200)
    doc = db.records.find_one({"_id": "n"})
    assert doc is not None, list(db.rejects.find())
    assert doc["i32"] == 2147483647 and not isinstance(doc["i32"], Int64)
    assert doc["i64"] == 2147483648 and isinstance(doc["i64"], Int64)
    assert doc["min"] == -9223372036854775808 and isinstance(doc["min"], Int64)
    assert doc["f"] == 0.1 and doc["e"] == 1.5e300
    assert doc["t"] is True and doc["nil"] is None
    assert doc["esc"] == 'tab\tquote" é 😀'
    assert doc["raw"] == "café 😀"
    assert doc["nul"] == "a\x00b"
    assert doc["arr"] == [1, "two", {"three": 3}]  # (no nested array: FerretDB v1 refuses those)
    assert doc["empty"] == {} and doc["emptyArr"] == []


def test_awkward_records_never_block_good_ones(hydrant, firehose, db):
    """Records BSON or the server may not take: each is stored faithfully or becomes a
    reject; the good records around them are written either way."""
    awkward = {
        1: b'{"_id": "nulkey", "a\\u0000b": 1}',      # a NUL in a key: not representable in BSON
        3: b'{"_id": "dollar", "$bad": 1}',           # $-prefixed field, not Extended JSON
        5: b'{"_id": "badutf8", "s": "\xff\xfe"}',    # invalid UTF-8 in a string
        7: b'{"_id": "dots", "a.b": 1}',              # a dot in a field name
        9: b'{"_id": {"$oid": "zz"}}',                # a malformed $oid
    }
    records = []
    for i in range(11):
        records.append(awkward.get(i, json.dumps({"_id": f"good-{i}"}).encode()))
    resp, rid = firehose.post(records)
    check_response(resp, rid, 200)
    stored = {d["_id"]: d for d in db.records.find()}
    rejected = {r["index"] for r in db.rejects.find()}
    for i in range(11):
        if i not in awkward:
            assert f"good-{i}" in stored, f"good record {i} missing"
    assert 1 in rejected, "a key with a NUL cannot be stored faithfully: it must be a reject"
    assert "nulkey" not in stored
    assert 5 in rejected, "invalid UTF-8 is not JSON: a reject"
    assert 9 in rejected, "a malformed $oid is a reject"
    assert 3 in rejected or stored["dollar"] == {"_id": "dollar", "$bad": 1}
    assert 7 in rejected or stored["dots"] == {"_id": "dots", "a.b": 1}
    assert len(stored) + len(rejected) == 11


def test_permanent_faults_become_rejects(hydrant, firehose, db):
    """SPEC §3: a record MongoDB permanently refuses (a unique secondary index clash,
    a document over 16 MiB) goes to the rejects; the rest of the batch is written."""
    db.records.create_index("email", unique=True)
    db.records.insert_many([
        {"_id": "existing", "email": "taken@example.com"},
        {"_id": "k", "email": "k@example.com"},
        {"_id": "j", "email": "j@example.com"},
    ])
    huge = gzip.compress(json.dumps({"_id": "huge", "email": "huge@example.com",
                                     "pad": "h" * (17 << 20)}).encode())
    records = [
        {"_id": "good-0", "email": "a@example.com"},
        {"_id": "clash", "email": "taken@example.com"},   # insert clashes on email
        {"_id": "good-2", "email": "b@example.com"},
        huge,                                              # 17 MiB once inflated
        {"_id": "good-4", "email": "c@example.com"},
        {"_id": "k", "email": "j@example.com"},            # the replace clashes on email
        {"_id": "good-6", "email": "d@example.com"},
    ]
    rid = new_request_id()
    for attempt in range(2):
        resp, _ = firehose.post(records, rid)
        check_response(resp, rid, 200)
        docs = {d["_id"]: d["email"] for d in db.records.find()}
        assert docs == {
            "existing": "taken@example.com", "k": "k@example.com", "j": "j@example.com",
            "good-0": "a@example.com", "good-2": "b@example.com", "good-4": "c@example.com",
            "good-6": "d@example.com",
        }, f"attempt {attempt + 1}"
        rejects = {r["index"]: r for r in db.rejects.find()}
        assert set(rejects) == {1, 3, 5}, f"attempt {attempt + 1}"
    for i in (1, 3, 5):
        assert rejects[i]["_id"] == f"{rid}:{i}" and rejects[i]["reason"]
    assert rejects[1]["data"] == json.dumps(records[1]).encode()
