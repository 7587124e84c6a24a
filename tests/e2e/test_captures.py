"""Real Firehose request bodies (tests/fixtures/firehose-captures), posted verbatim
with proper Firehose headers: status, documents and rejects for each.

The expected documents are computed here from the captures themselves (base64,
gzip, CloudWatch Logs JSON), independently of hydrant's code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import json

import pytest

from support import CAPTURES, DEFAULT_KEY, DEFAULT_PATH, Firehose, check_response, endpoint_config, firehose_headers

# Every capture with the record modes it is posted in.
CASES = {
    "direct_put.json": ["json", "text"],
    "direct_put_with_non_json_message.json": ["json", "text"],
    "cw_logs_control_and_bad_records.json": ["cloudwatch-logs"],
    "cw_logs_mixed.json": ["cloudwatch-logs"],
    "cw_logs_with_only_control_messages.json": ["cloudwatch-logs"],
    "cw_logs_with_only_data_messages.json": ["cloudwatch-logs"],
}


def epoch_ms(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)


def b64_candidates(text: str) -> list[bytes]:
    """What a reject's `data` may hold for a record: the decoded bytes, or (when the
    base64 itself is bad) the raw base64 text. A decoder that accepts unpadded base64
    decodes a truncated record to bytes; a strict one keeps the text: both are fine."""
    try:
        return [base64.b64decode(text, validate=True)]
    except (binascii.Error, ValueError):
        out = [text.encode()]
        try:
            out.append(base64.b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            pass
        return out


def expected_outcome(capture: dict, mode: str):
    """-> (docs by _id, rejects as {index: [acceptable data bytes]})"""
    rid = capture["requestId"]
    docs, rejects = {}, {}
    for i, rec in enumerate(capture["records"]):
        try:
            raw = base64.b64decode(rec["data"], validate=True)
        except (binascii.Error, ValueError):
            rejects[i] = b64_candidates(rec["data"])
            continue
        if raw[:2] == b"\x1f\x8b":
            try:
                payload = gzip.decompress(raw)
            except (OSError, EOFError):
                rejects[i] = [raw]
                continue
        else:
            payload = raw
        if mode == "text":
            docs[f"{rid}:{i}"] = {"data": payload.decode()}
        elif mode == "json":
            try:
                obj = json.loads(payload)
            except ValueError:
                rejects[i] = [raw]
                continue
            assert isinstance(obj, dict)
            docs[f"{rid}:{i}"] = obj
        else:  # cloudwatch-logs
            msg = json.loads(payload)
            if msg["messageType"] == "CONTROL_MESSAGE":
                continue
            assert msg["messageType"] == "DATA_MESSAGE"
            for ev in msg["logEvents"]:
                try:
                    message = json.loads(ev["message"])
                except ValueError:
                    message = ev["message"]
                docs[ev["id"]] = {
                    "timestamp": epoch_ms(ev["timestamp"]),
                    "message": message,
                    "owner": msg["owner"],
                    "logGroup": msg["logGroup"],
                    "logStream": msg["logStream"],
                }
    return docs, rejects


def assert_reject(rej: dict, rid: str, index: int, path: str, data_options: list[bytes]) -> None:
    assert rej["_id"] == f"{rid}:{index}", rej
    assert rej["endpoint"] == path, rej
    assert rej["requestId"] == rid, rej
    assert rej["index"] == index and not isinstance(rej["index"], bool), rej
    assert isinstance(rej["reason"], str) and rej["reason"].strip(), rej
    assert isinstance(rej["data"], bytes), f"data is not BSON binary: {type(rej['data'])}"
    assert rej["data"] in data_options, (rej["data"][:80], [d[:80] for d in data_options])
    assert isinstance(rej["receivedAt"], dt.datetime), rej
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((now - rej["receivedAt"]).total_seconds()) < 300, rej["receivedAt"]


def test_every_capture_is_covered():
    on_disk = {p.name for p in CAPTURES.glob("*.json")}
    assert on_disk, f"no captures found in {CAPTURES}"
    assert on_disk == set(CASES), f"captures without a test case: {on_disk ^ set(CASES)}"


@pytest.mark.parametrize(
    "name,mode", [(n, m) for n, modes in CASES.items() for m in modes], ids=lambda v: str(v)
)
def test_capture(name, mode, start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, records=mode)])
    raw = (CAPTURES / name).read_bytes()
    capture = json.loads(raw)
    rid = capture["requestId"]
    expected_docs, expected_rejects = expected_outcome(capture, mode)

    fh = Firehose(hydrant)
    resp = fh.post_raw(raw, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 200)

    docs = {d["_id"]: d for d in db.records.find()}
    assert set(docs) == set(expected_docs)
    for _id, exp in expected_docs.items():
        got = dict(docs[_id])
        del got["_id"]
        assert got == exp, f"document {_id}"

    rejects = {r["index"]: r for r in db.rejects.find()}
    assert set(rejects) == set(expected_rejects)
    for index, options in expected_rejects.items():
        assert_reject(rejects[index], rid, index, DEFAULT_PATH, options)

    # A retry of the same capture changes nothing.
    resp = fh.post_raw(raw, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == len(expected_docs)
    assert db.rejects.count_documents({}) == len(expected_rejects)
    fh.close()


def test_capture_expectations_are_not_trivial():
    """The captures exercise what they are meant to (guards the expectations above)."""
    direct = json.loads((CAPTURES / "direct_put.json").read_text())
    docs, rejects = expected_outcome(direct, "json")
    assert len(docs) == 3 and not rejects
    assert all(set(d) == {"CHANGE", "PRICE", "TICKER_SYMBOL", "SECTOR"} for d in docs.values())
    non_json = json.loads((CAPTURES / "direct_put_with_non_json_message.json").read_text())
    assert expected_outcome(non_json, "json") == ({}, {0: [b"hola esto es una prueba"]})
    assert list(expected_outcome(non_json, "text")[0].values()) == [{"data": "hola esto es una prueba"}]
    bad = json.loads((CAPTURES / "cw_logs_control_and_bad_records.json").read_text())
    docs, rejects = expected_outcome(bad, "cloudwatch-logs")
    assert docs == {} and list(rejects) == [1]
    mixed = json.loads((CAPTURES / "cw_logs_mixed.json").read_text())
    docs, rejects = expected_outcome(mixed, "cloudwatch-logs")
    assert len(docs) > 1 and not rejects
