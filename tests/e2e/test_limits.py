"""Sizes and memory (SPEC §2, §5): a 64 MiB body, gzip bodies, max_body (413),
a gzip bomb with bounded memory, max_inflight (503 + Retry-After), 10,000 records."""

from __future__ import annotations

import gzip
import json
import time

from support import (
    DEFAULT_KEY,
    Firehose,
    check_response,
    endpoint_config,
    firehose_body,
    firehose_headers,
    gzip_bomb,
    hydrant_bin,
    is_sanitized,
    new_request_id,
)

MiB = 1 << 20
ASAN = is_sanitized(hydrant_bin())


def rss_bound(max_body: int) -> int:
    """The peak RSS hydrant may reach while refusing a bomb or taking one big body.
    Plain build: max_body + 64 MiB. ASan keeps freed memory in quarantine and maps
    shadow memory, so its bound is looser: 3 x max_body + 320 MiB."""
    return 3 * max_body + 320 * MiB if ASAN else max_body + 64 * MiB


def test_64_mib_body(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_body": "80MiB"})
    fh = Firehose(hydrant)
    n, size = 48, 1_000_000  # 48 records of 1,000,000 bytes: base64 makes a ~61 MiB body
    records = []
    for i in range(n):
        head = json.dumps({"_id": f"big-{i}", "pad": ""})[:-2]
        pad = chr(ord("a") + i % 26) * (size - len(head) - 2)
        records.append((head + pad + '"}').encode())
    assert all(len(r) == size for r in records)
    rid = new_request_id()
    body = firehose_body(rid, records)
    del records
    assert 60 * MiB < len(body) <= 64 * MiB, len(body)
    t0 = time.monotonic()
    resp = fh.post_raw(body, firehose_headers(rid, DEFAULT_KEY), timeout=170)
    elapsed = time.monotonic() - t0
    check_response(resp, rid, 200)
    assert elapsed < 170
    assert db.records.count_documents({}) == n
    for i in (0, 17, n - 1):
        doc = db.records.find_one({"_id": f"big-{i}"})
        assert doc is not None and len(doc["pad"]) == size - len(json.dumps({"_id": f"big-{i}", "pad": ""}))
        assert set(doc["pad"]) == {chr(ord("a") + i % 26)}
    # Memory: the body, its decoded records and their BSON may coexist, no more.
    bound = 1536 * MiB if ASAN else 512 * MiB
    print(f"64 MiB body: {elapsed:.2f}s, VmHWM {hydrant.vm_hwm_bytes() / MiB:.0f} MiB (bound {bound / MiB:.0f})")
    assert hydrant.vm_hwm_bytes() < bound, f"VmHWM {hydrant.vm_hwm_bytes() / MiB:.0f} MiB"


def test_gzip_body(hydrant, firehose, db):
    records = [{"_id": f"g{i}", "text": "compressible " * 50} for i in range(200)]
    resp, rid = firehose.post(records, gzip_body=True)
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 200


def test_body_over_max_body_is_413(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_body": "1MiB"})
    fh = Firehose(hydrant)
    records = [{"_id": f"r{i}", "pad": "y" * 10_000} for i in range(150)]  # ~2 MiB body
    rid = new_request_id()
    body = firehose_body(rid, records)
    assert len(body) > 1.5 * MiB
    resp = fh.post_raw(body, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 413)

    # gzip'd: small on the wire, over max_body once inflated -> 413 too
    gz = gzip.compress(body)
    assert len(gz) < MiB / 4
    headers = firehose_headers(rid, DEFAULT_KEY)
    headers["Content-Encoding"] = "gzip"
    resp = fh.post_raw(gz, headers)
    check_response(resp, rid, 413)
    assert db.records.count_documents({}) == 0

    # under the limit still works, on the same server
    resp, rid = fh.post(records[:20])
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 20


def test_gzip_bomb_is_413_with_bounded_memory(start_hydrant, db, db_name):
    max_body = 32 * MiB
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_body": "32MiB"})
    fh = Firehose(hydrant)
    bomb = gzip_bomb(10 << 30)  # 10 GiB of zeros in ~10 MiB
    assert len(bomb) < 12 * MiB
    rid = new_request_id()
    headers = firehose_headers(rid, DEFAULT_KEY)
    headers["Content-Encoding"] = "gzip"
    t0 = time.monotonic()
    resp = fh.post_raw(bomb, headers, timeout=120)
    elapsed = time.monotonic() - t0
    check_response(resp, rid, 413)
    assert elapsed < 60, f"the bomb took {elapsed:.1f}s to refuse (inflated all of it?)"
    hwm = hydrant.vm_hwm_bytes()
    print(f"gzip bomb: {elapsed:.2f}s, VmHWM {hwm / MiB:.0f} MiB (bound {rss_bound(max_body) / MiB:.0f})")
    assert hwm < rss_bound(max_body), f"VmHWM {hwm / MiB:.0f} MiB >= bound {rss_bound(max_body) / MiB:.0f} MiB"
    assert db.records.count_documents({}) == 0
    # and the server is fine afterwards
    resp, rid = fh.post([{"_id": "after"}])
    check_response(resp, rid, 200)


def test_gzip_bomb_in_a_record_keeps_memory_bounded(start_hydrant, db, db_name):
    """A record that inflates to 512 MiB: memory stays bounded, the request answers
    200 (the record a reject, the good record written) or 413 (nothing written)."""
    max_body = 32 * MiB
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_body": "32MiB"})
    fh = Firehose(hydrant)
    bomb = gzip_bomb(512 * MiB)
    assert len(bomb) < 1000 * 1024  # a legal record size before base64
    rid = new_request_id()
    resp, _ = fh.post([bomb, {"_id": "good"}], rid, timeout=120)
    check_response(resp, rid, (200, 413))
    hwm = hydrant.vm_hwm_bytes()
    print(f"record bomb: status {resp.status_code}, VmHWM {hwm / MiB:.0f} MiB (bound {rss_bound(max_body) / MiB:.0f})")
    assert hwm < rss_bound(max_body), f"VmHWM {hwm / MiB:.0f} MiB"
    if resp.status_code == 200:
        assert [d["_id"] for d in db.records.find()] == ["good"]
        assert [r["index"] for r in db.rejects.find()] == [0]
    else:
        assert db.records.count_documents({}) == 0


def test_over_max_inflight_is_503_with_retry_after(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_body": "80MiB", "max_inflight": "1MiB"})
    fh = Firehose(hydrant)
    records = [{"_id": f"r{i}", "pad": "z" * 10_000} for i in range(150)]  # ~2 MiB
    rid = new_request_id()
    resp = fh.post_raw(firehose_body(rid, records), firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 503)
    retry_after = resp.headers.get("Retry-After")
    assert retry_after is not None, f"no Retry-After: {dict(resp.headers)}"
    assert retry_after.strip().isdigit() and int(retry_after) >= 1, retry_after
    assert db.records.count_documents({}) == 0
    resp, rid = fh.post(records[:10])  # ~130 KiB fits
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 10


def test_max_inflight_counts_the_processing_not_only_the_body(start_hydrant, db, db_name):
    """A request holds about 3x its body, plus ~1 KiB per record, while it is
    decoded and written (docs/design.md), and max_inflight bounds that: a body
    of 40% of max_inflight does not fit, one of 20% does."""
    hydrant = start_hydrant([endpoint_config(db_name)], server={"max_inflight": "1MiB"})
    fh = Firehose(hydrant)

    def body_of(kib: int) -> tuple[bytes, str]:
        rid = new_request_id()
        records = [{"_id": f"{rid}-{i}", "pad": "z" * 700} for i in range(kib)]  # ~1 KiB of base64 each
        return firehose_body(rid, records), rid

    body, rid = body_of(400)
    assert 0.35 * MiB < len(body) < 0.5 * MiB, len(body)
    resp = fh.post_raw(body, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 503)
    assert resp.headers.get("Retry-After") == "1"
    body, rid = body_of(200)
    assert len(body) < 0.25 * MiB, len(body)
    resp = fh.post_raw(body, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 200
    # 3 x the body fits, but not with 1 KiB per record on top: 900 tiny records
    rid = new_request_id()
    tiny = firehose_body(rid, [{"_id": f"{rid}-{i}", "p": "z" * 60} for i in range(900)])
    assert 3 * len(tiny) < MiB < 3 * len(tiny) + 900 * 1024, len(tiny)
    resp = fh.post_raw(tiny, firehose_headers(rid, DEFAULT_KEY))
    check_response(resp, rid, 503)
    assert db.records.count_documents({}) == 200


def test_ten_thousand_records(hydrant, firehose, db):
    records = [{"n": i, "s": f"r{i}"} for i in range(10_000)]
    resp, rid = firehose.post(records, timeout=170)
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 10_000
    assert db.records.find_one({"_id": f"{rid}:9999"})["n"] == 9999
    assert db.records.find_one({"_id": f"{rid}:0"})["n"] == 0


def test_deeply_nested_json_does_not_crash(hydrant, firehose, db):
    """SPEC §5: deeply nested JSON. Far past any parser's depth limit: a reject
    (or, on a server that takes it, a document), never a crash."""
    deep = ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()
    deep_arr = ("[" * 100_000 + "]" * 100_000).encode()
    medium = ('{"a":' * 150 + "1" + "}" * 150).encode()  # over MongoDB's 100 levels
    resp, rid = firehose.post([deep, {"_id": "good"}, deep_arr, medium])
    check_response(resp, rid, 200)
    stored = {d["_id"] for d in db.records.find({}, {"_id": 1})}
    rejected = {r["index"] for r in db.rejects.find({}, {"index": 1})}
    assert "good" in stored
    assert 0 in rejected and 2 in rejected
    assert 3 in rejected or f"{rid}:3" in stored
    resp, rid = firehose.post([{"_id": "after"}])
    check_response(resp, rid, 200)


def test_many_idle_connections(hydrant, firehose, db):
    """SPEC §5: thousands of idle connections neither stop service nor grow memory much."""
    import socket

    before = hydrant.vm_hwm_bytes()
    socks = []
    try:
        for _ in range(800):
            socks.append(socket.create_connection(("127.0.0.1", hydrant.port), timeout=10))
        resp, rid = firehose.post([{"_id": "while-idle"}], timeout=30)
        check_response(resp, rid, 200)
    finally:
        for s in socks:
            s.close()
    grown = hydrant.vm_hwm_bytes() - before
    print(f"800 idle connections: VmHWM grew {grown / MiB:.1f} MiB")
    assert grown < (400 if ASAN else 100) * MiB
    resp, rid = firehose.post([{"_id": "after"}])
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 2
