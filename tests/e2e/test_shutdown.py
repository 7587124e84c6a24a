"""SIGTERM (SPEC §1): stop accepting, finish the requests in flight, exit 0."""

from __future__ import annotations

import http.client
import json
import signal
import time

import pytest
import requests

from support import (
    DEFAULT_KEY,
    DEFAULT_PATH,
    Firehose,
    firehose_body,
    firehose_headers,
    new_request_id,
    port_closed,
)


def test_sigterm_finishes_the_request_in_flight(hydrant, db):
    # an idle kept-alive connection must not hold the shutdown up
    idle = Firehose(hydrant)
    resp, _ = idle.post([{"_id": "before"}])
    assert resp.status_code == 200

    records = [{"_id": f"inflight-{i}", "pad": "q" * 50_000} for i in range(160)]  # ~10 MiB
    rid = new_request_id()
    body = firehose_body(rid, records)
    headers = firehose_headers(rid, DEFAULT_KEY)
    headers["Content-Length"] = str(len(body))

    conn = http.client.HTTPConnection("127.0.0.1", hydrant.port, timeout=60)
    conn.putrequest("POST", DEFAULT_PATH, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    half = len(body) // 2
    conn.send(body[:half])
    time.sleep(0.5)

    t_term = time.monotonic()
    hydrant.proc.send_signal(signal.SIGTERM)
    time.sleep(0.7)
    assert hydrant.proc.poll() is None, "hydrant exited with a request in flight"
    assert port_closed(hydrant.port), "hydrant still accepts connections after SIGTERM"

    conn.send(body[half:])
    resp = conn.getresponse()
    payload = resp.read()
    assert resp.status == 200, (resp.status, payload[:300])
    assert resp.getheader("Content-Type", "").startswith("application/json")
    assert int(resp.getheader("Content-Length")) == len(payload)
    assert json.loads(payload)["requestId"] == rid
    conn.close()

    rc = hydrant.wait_exit(40)
    assert rc == 0, f"exit code {rc}\n{hydrant.output()[-3000:]}"
    assert time.monotonic() - t_term < 35, "shutdown took longer than its 30 s bound"
    assert db.records.count_documents({}) == len(records) + 1
    idle.close()


def test_sigterm_while_a_big_request_is_processed(hydrant, db):
    """The body is all sent; SIGTERM arrives while hydrant decodes and writes it."""
    records = [{"_id": f"big-{i}", "pad": "p" * 200_000} for i in range(150)]  # ~40 MiB
    rid = new_request_id()
    body = firehose_body(rid, records)
    headers = firehose_headers(rid, DEFAULT_KEY)
    conn = http.client.HTTPConnection("127.0.0.1", hydrant.port, timeout=120)
    conn.request("POST", DEFAULT_PATH, body=body, headers=headers)
    hydrant.proc.send_signal(signal.SIGTERM)
    resp = conn.getresponse()
    payload = resp.read()
    assert resp.status == 200, (resp.status, payload[:300])
    assert json.loads(payload)["requestId"] == rid
    conn.close()
    rc = hydrant.wait_exit(40)
    assert rc == 0, f"exit code {rc}\n{hydrant.output()[-3000:]}"
    assert db.records.count_documents({}) == len(records)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_when_idle_exits_promptly(sig, hydrant):
    s = requests.Session()
    assert s.get(hydrant.url("/healthz"), timeout=10).status_code == 200  # leaves a kept-alive connection
    t0 = time.monotonic()
    hydrant.proc.send_signal(sig)
    rc = hydrant.wait_exit(40)
    assert rc == 0, f"exit code {rc}\n{hydrant.output()[-3000:]}"
    assert time.monotonic() - t0 < 10, f"idle shutdown took {time.monotonic() - t0:.1f}s"
    s.close()
