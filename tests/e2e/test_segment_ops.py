"""Segment endpoints in operation: metrics and log lines as for Firehose, secrets
never logged, and a database outage answered with 503 (which Segment and its
SDKs retry) until the retry lands exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pymongo
import requests

from support import metric_value, parse_metrics

SHARED = "shared-secret-value-123"
PUBLIC = "public-secret-value-456"
WRITE_KEY = "write-key-value-789"


def endpoints(db_name: str) -> list[dict]:
    return [
        {"table": "segment", "kind": "webhook", "path": "/segment", "query_secret": PUBLIC,
         "shared_secret": SHARED, "database": db_name, "collection": "events", "respond_with_result": True},
        {"table": "segment", "kind": "tracking-api", "path": "/v1", "write_keys": [WRITE_KEY],
         "database": db_name, "collection": "events"},
    ]


def webhook_post(hydrant, events, secret=PUBLIC, timeout=30):
    body = json.dumps(events if len(events) > 1 else events[0]).encode()
    signed = json.dumps(events[0]).encode()
    sig = hmac.new(SHARED.encode(), signed, hashlib.sha1).hexdigest()
    return requests.post(hydrant.url(f"/segment?secret={secret}"), data=body, timeout=timeout,
                         headers={"Content-Type": "application/json", "X-Signature": sig})


def track(event_name: str, message_id: str | None = None) -> dict:
    return {"type": "track", "event": event_name, "userId": "u1", "messageId": message_id or str(uuid.uuid4()),
            "timestamp": "2025-09-30T12:00:00Z", "properties": {"n": 1}}


def tracking_post(hydrant, events, key=WRITE_KEY, timeout=30):
    return requests.post(hydrant.url("/v1/batch"), json={"batch": events}, auth=(key, ""), timeout=timeout)


def scrape(hydrant):
    return parse_metrics(requests.get(hydrant.url("/metrics"), timeout=10).text)


def test_metrics_and_logs_for_both_kinds(start_hydrant, db_name):
    hydrant = start_hydrant(endpoints(db_name))
    before = scrape(hydrant)
    assert webhook_post(hydrant, [track("W1"), track("W2")]).status_code == 200
    assert webhook_post(hydrant, [track("W3")], secret="nope").status_code == 401
    r = tracking_post(hydrant, [track("T1"), {"type": "track", "userId": "u1"}, track("T2")])
    assert r.status_code == 200 and r.json()["rejected"][0]["index"] == 1, r.text
    assert tracking_post(hydrant, [track("T3")], key="wrong").status_code == 401
    after = scrape(hydrant)

    def delta(name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("hydrant_requests_total", endpoint="/segment", status="200") == 1
    assert delta("hydrant_requests_total", endpoint="/segment", status="401") == 1
    assert delta("hydrant_requests_total", endpoint="/v1", status="200") == 1
    assert delta("hydrant_requests_total", endpoint="/v1", status="401") == 1
    assert delta("hydrant_records_written_total", endpoint="/segment") == 2
    assert delta("hydrant_records_written_total", endpoint="/v1") == 2
    assert delta("hydrant_records_rejected_total", endpoint="/v1") == 1
    assert delta("hydrant_bytes_in_total", endpoint="/v1") > 0

    deadline = time.monotonic() + 20  # (under ASan a log line can trail its answer by seconds)
    while True:
        lines = [x for x in hydrant.log_records() if x.get("msg") == "request"]
        if len(lines) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    by = {(x["endpoint"], x["status"]): x for x in lines}
    assert by[("/segment", 200)]["written"] == 2 and by[("/segment", 200)]["records"] == 2
    assert by[("/v1", 200)]["records"] == 3 and by[("/v1", 200)]["written"] == 2
    assert by[("/v1", 200)]["rejected"] == 1
    assert by[("/v1", 401)]["error"] == "unknown write key"
    assert "secret" in by[("/segment", 401)]["error"]
    everything = hydrant.all_output()
    for secret in (SHARED, PUBLIC, WRITE_KEY):
        assert secret not in everything, "a secret reached the log"


def test_database_outage_is_503_then_the_retry_lands_once(start_hydrant, private_ferretdb, db_name):
    ferret = private_ferretdb
    uri = ferret.uri.rstrip("/") + "/?serverSelectionTimeoutMS=2000"
    hydrant = start_hydrant(endpoints(db_name), mongodb={"uri": uri})
    first = [track("before")]
    assert tracking_post(hydrant, first).status_code == 200

    ferret.stop()
    hook_events = [track("hook-during"), track("hook-during-2")]
    api_events = [track("api-during")]
    t0 = time.monotonic()
    r1 = webhook_post(hydrant, hook_events, timeout=60)
    r2 = tracking_post(hydrant, api_events, timeout=60)
    assert r1.status_code == 503 and "MongoDB" in r1.json()["error"], r1.text
    assert r2.status_code == 503 and r2.json()["success"] is False, r2.text
    assert r1.headers.get("Retry-After") == "1" and r2.headers.get("Retry-After") == "1"
    assert time.monotonic() - t0 < 30, "an outage must fail fast enough for Segment's retries"

    ferret.start()
    deadline = time.monotonic() + 60
    for send, events in ((webhook_post, hook_events), (tracking_post, api_events)):
        while (resp := send(hydrant, events, timeout=60)).status_code != 200:
            assert resp.status_code in (500, 503), resp.text
            assert time.monotonic() < deadline, "retries still failing after the restart"
            time.sleep(0.5)
        assert send(hydrant, events).status_code == 200  # Segment may deliver it again
    with pymongo.MongoClient(ferret.uri) as c:
        events = c[db_name].events
        for e in first + hook_events + api_events:
            assert events.count_documents({"_id": e["messageId"]}) == 1
        assert events.count_documents({}) == 4
        c.drop_database(db_name)
