"""Requests that must be refused (SPEC §2): access keys, headers, protocol version,
bodies. Each refused request writes nothing, and its response follows the
Firehose contract (check_response)."""

from __future__ import annotations

import json
import time

import pytest

from support import (
    DEFAULT_KEY,
    Firehose,
    b64,
    check_response,
    endpoint_config,
    firehose_body,
    firehose_headers,
    new_request_id,
)

OLD_KEY = "old-secret-4c1d9e7f2a"
NEW_KEY = "new-secret-8b3e6a0d5f"
WRONG_KEY = "wrong-secret-19af27c3"


def test_access_keys_rotation(start_hydrant, db, db_name):
    # the old key comes from the environment: ${VAR} interpolation
    hydrant = start_hydrant(
        [endpoint_config(db_name, access_keys=["${HYDRANT_E2E_OLD_KEY}", NEW_KEY])],
        env={"HYDRANT_E2E_OLD_KEY": OLD_KEY},
    )
    fh = Firehose(hydrant)
    resp, rid_old = fh.post([{"k": "old"}], access_key=OLD_KEY)
    check_response(resp, rid_old, 200)
    resp, rid_new = fh.post([{"k": "new"}], access_key=NEW_KEY)
    check_response(resp, rid_new, 200)

    refused = []
    for key in (WRONG_KEY, None, "", OLD_KEY[:-1], OLD_KEY + "x", NEW_KEY.upper()):
        resp, rid = fh.post([{"k": f"refused {key!r}"}], access_key=key)
        body = check_response(resp, rid, 401)
        refused.append(rid)
        for secret in (OLD_KEY, NEW_KEY, WRONG_KEY):
            assert secret not in resp.text, "a secret is echoed in the response"
        assert body["errorMessage"]

    assert sorted(d["k"] for d in db.records.find()) == ["new", "old"]
    assert db.rejects.count_documents({}) == 0
    out = hydrant.all_output()
    for secret in (OLD_KEY, NEW_KEY, WRONG_KEY):
        assert secret not in out, f"secret {secret!r} appears in hydrant's logs"


def test_empty_access_keys_means_no_check(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, access_keys=[])])
    fh = Firehose(hydrant)
    check_response(fh.post([{"_id": "a"}], access_key=None)[0], None, 200)
    check_response(fh.post([{"_id": "b"}], access_key="anything")[0], None, 200)
    assert db.records.count_documents({}) == 2


@pytest.mark.parametrize("header", [
    "X-Amz-Firehose-Protocol-Version",
    "X-Amz-Firehose-Request-Id",
    "X-Amz-Firehose-Source-Arn",
])
def test_missing_header_is_400(header, hydrant, firehose, db):
    rid = new_request_id()
    headers = firehose_headers(rid, DEFAULT_KEY)
    del headers[header]
    resp = firehose.post_raw(firehose_body(rid, [{"_id": "x"}]), headers)
    # without the request id header, the response still carries the body's id (or
    # at least a string)
    check_response(resp, rid if header != "X-Amz-Firehose-Request-Id" else None, 400)
    assert db.records.count_documents({}) == 0


@pytest.mark.parametrize("version", ["2.0", "1.1", "", "1"])
def test_protocol_version_other_than_1_0_is_400(version, hydrant, firehose, db):
    rid = new_request_id()
    headers = firehose_headers(rid, DEFAULT_KEY, version=version)
    resp = firehose.post_raw(firehose_body(rid, [{"_id": "x"}]), headers)
    check_response(resp, rid, 400)
    assert db.records.count_documents({}) == 0


def test_body_request_id_differs_from_header_is_400(hydrant, firehose, db):
    rid = new_request_id()
    other = new_request_id()
    resp = firehose.post_raw(firehose_body(other, [{"_id": "x"}]), firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 400)
    assert db.records.count_documents({}) == 0
    assert db.rejects.count_documents({}) == 0


def _bad_bodies(rid: str) -> dict[str, bytes]:
    ts = int(time.time() * 1000)
    return {
        "not-json": b"this is not json",
        "truncated-json": firehose_body(rid, [{"_id": "x"}])[:-5],
        "json-array": b"[]",
        "records-missing": json.dumps({"requestId": rid, "timestamp": ts}).encode(),
        "records-empty": json.dumps({"requestId": rid, "timestamp": ts, "records": []}).encode(),
        "records-not-array": json.dumps({"requestId": rid, "timestamp": ts, "records": "x"}).encode(),
        "10001-records": json.dumps({"requestId": rid, "timestamp": ts,
                                     "records": [{"data": b64({"n": i})} for i in range(10_001)]}).encode(),
        "empty-body": b"",
    }


@pytest.mark.parametrize("kind", list(_bad_bodies("x")))
def test_bad_body_is_400(kind, hydrant, firehose, db):
    rid = new_request_id()
    resp = firehose.post_raw(_bad_bodies(rid)[kind], firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 400)
    assert db.records.count_documents({}) == 0
    assert db.rejects.count_documents({}) == 0


def test_unsupported_content_encoding_is_415(hydrant, firehose, db):
    rid = new_request_id()
    headers = firehose_headers(rid, DEFAULT_KEY)
    headers["Content-Encoding"] = "br"
    resp = firehose.post_raw(firehose_body(rid, [{"_id": "x"}]), headers)
    check_response(resp, rid, 415)
    assert db.records.count_documents({}) == 0


def test_bad_gzip_body_is_400(hydrant, firehose, db):
    rid = new_request_id()
    headers = firehose_headers(rid, DEFAULT_KEY)
    headers["Content-Encoding"] = "gzip"
    resp = firehose.post_raw(b"\x1f\x8b\x08\x00 definitely not deflate data", headers)
    check_response(resp, rid, 400)
    assert db.records.count_documents({}) == 0


def test_unknown_path_is_404_and_server_keeps_serving(hydrant, firehose, db):
    rid = new_request_id()
    resp = firehose.session.post(hydrant.url("/firehose/nope"), data=firehose_body(rid, [{"_id": "x"}]),
                                 headers=firehose_headers(rid, DEFAULT_KEY), timeout=30)
    assert resp.status_code == 404
    resp, rid = firehose.post([{"_id": "y"}])
    check_response(resp, rid, 200)
    assert [d["_id"] for d in db.records.find()] == ["y"]


def test_access_key_of_4096_bytes(start_hydrant, db, db_name):
    key = ("k3Y-" * 1024)[:4096]
    hydrant = start_hydrant([endpoint_config(db_name, access_keys=[key])])
    fh = Firehose(hydrant, access_key=key)
    check_response(fh.post([{"_id": "a"}])[0], None, 200)
    resp, rid = fh.post([{"_id": "b"}], access_key=key[:-1] + "X")
    check_response(resp, rid, 401)
    assert [d["_id"] for d in db.records.find()] == ["a"]


def test_header_names_are_case_insensitive(hydrant, firehose, db):
    """A proxy in front of hydrant (HTTP/2 on the outside) may pass header names in
    lower case: they are the same headers."""
    rid = new_request_id()
    headers = {k.lower(): v for k, v in firehose_headers(rid, DEFAULT_KEY).items()}
    resp = firehose.post_raw(firehose_body(rid, [{"_id": "lower"}]), headers)
    check_response(resp, rid, 200)
    headers = {k.upper(): v for k, v in firehose_headers(rid, DEFAULT_KEY).items()}
    headers["CONTENT-ENCODING"] = "identity"
    resp = firehose.post_raw(firehose_body(rid, [{"_id": "lower"}]), headers)
    check_response(resp, rid, 200)
    assert [d["_id"] for d in db.records.find()] == ["lower"]
