"""Segment's Webhooks destination (`[[segment]] kind = "webhook"`, docs/segment.md,
SPEC §4): query secret, X-Signature (hex HMAC-SHA1, for an array only over the raw
bytes of its first element), one event or an array of them, idempotent `_id`,
rejects, the answer.

Signatures are computed here with Python's hmac/hashlib, never by hydrant's code.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import uuid

import pytest
import requests

PATH = "/segment"
QUERY_SECRET = "pub-5e1f0a"
SHARED_SECRET = "shh-9c2b7d41"

UTC_NOW = lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731


def webhook_ep(db_name: str, **overrides) -> dict:
    ep = {
        "table": "segment",
        "kind": "webhook",
        "path": PATH,
        "query_secret": QUERY_SECRET,
        "shared_secret": SHARED_SECRET,
        "database": db_name,
        "collection": "events",
        "respond_with_result": True,
    }
    ep.update(overrides)  # a value of None leaves the key out of the TOML
    return ep


def sign(raw: bytes | str, secret: str = SHARED_SECRET) -> str:
    if isinstance(raw, str):
        raw = raw.encode()
    return hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def track_event(n: int = 0, message_id: str | None = "default", **extra) -> dict:
    """A track event shaped like the ones Segment's Webhooks destination sends."""
    now = UTC_NOW()
    ev = {
        "anonymousId": f"anon-{n}-7f3a",
        "channel": "client",
        "context": {
            "ip": "203.0.113.7",
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
            "locale": "en-US",
            "page": {"path": "/favorites", "title": "Favorites", "url": "https://shop.example.com/favorites"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        },
        "event": "Favorited",
        "integrations": {},
        "messageId": f"ajs-next-{uuid.uuid4().hex}" if message_id == "default" else message_id,
        "originalTimestamp": iso(now - dt.timedelta(seconds=2)),
        "properties": {"itemName": f"Item {n}", "price": 12.5, "quantity": 3, "tags": ["red", "sale"],
                       "inStock": True, "coupon": None},
        "receivedAt": iso(now - dt.timedelta(seconds=1)),
        "sentAt": iso(now - dt.timedelta(seconds=2)),
        "timestamp": iso(now - dt.timedelta(seconds=1)),
        "type": "track",
        "userId": f"user-{n}",
        "version": 2,
    }
    if message_id is None:
        del ev["messageId"]
    ev.update(extra)
    return ev


class Webhook:
    """Posts to the webhook endpoint over one keep-alive session."""

    def __init__(self, hydrant, path: str = PATH):
        self.hydrant = hydrant
        self.path = path
        self.session = requests.Session()

    def post(self, body: bytes | str, signature: str | None = None, secret: str | None = QUERY_SECRET,
             headers: dict | None = None, method: str = "POST") -> requests.Response:
        if isinstance(body, str):
            body = body.encode()
        h = {"Content-Type": "application/json", "User-Agent": "Segment.io/1.0"}
        if signature is not None:
            h["X-Signature"] = signature
        h.update(headers or {})
        params = {"secret": secret} if secret is not None else None
        return self.session.request(method, self.hydrant.url(self.path), params=params, data=body,
                                    headers=h, timeout=60)

    def post_signed(self, body: bytes | str, signed: bytes | str | None = None, **kw) -> requests.Response:
        """Signs `signed` (default: the whole body) with the shared secret."""
        return self.post(body, sign(body if signed is None else signed), **kw)


def assert_result(resp: requests.Response, ids: list[str]) -> None:
    assert resp.status_code == 200, f"status {resp.status_code}: {resp.text[:500]!r}"
    body = resp.json()
    assert isinstance(body, dict), body
    assert body.get("inserted") == len(ids), body
    assert isinstance(body.get("ids"), list), body
    assert sorted(body["ids"]) == sorted(ids), body


def assert_401(resp: requests.Response) -> None:
    assert resp.status_code == 401, f"status {resp.status_code}: {resp.text[:500]!r}"
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    for secret in (QUERY_SECRET, SHARED_SECRET):
        assert secret not in resp.text, "a secret is echoed in the response"


def assert_stored_as_received(doc: dict, event: dict, before: dt.datetime, after: dt.datetime) -> None:
    assert doc is not None
    received = doc.get("receivedAt")
    assert isinstance(received, dt.datetime), f"receivedAt is {received!r}, not a BSON date"
    assert before - dt.timedelta(seconds=1) <= received <= after + dt.timedelta(seconds=1), (
        f"receivedAt {received} is not between {before} and {after}")
    expected = dict(event, _id=event["messageId"], receivedAt=received)
    assert doc == expected


def join_array(elements: list[str], sep: str = ",", open_: str = "[", close: str = "]") -> str:
    return open_ + sep.join(elements) + close


# --------------------------------------------------------------------------------------
# accepted deliveries


def test_single_event(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    ev = track_event(1)
    raw = json.dumps(ev)
    before = UTC_NOW()
    resp = wh.post_signed(raw)
    after = UTC_NOW()
    assert_result(resp, [ev["messageId"]])

    assert db.events.count_documents({}) == 1
    doc = db.events.find_one({"_id": ev["messageId"]})
    # the event's own receivedAt (a string) is replaced by hydrant's, a BSON date
    assert_stored_as_received(doc, ev, before, after)
    assert db.events_rejects.count_documents({}) == 0


@pytest.mark.parametrize("layout", ["compact", "whitespace", "indented-first", "non-ascii", "escaped-unicode"])
def test_array_signed_over_first_element(layout, start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    events = [track_event(i) for i in range(3)]
    if layout in ("non-ascii", "escaped-unicode"):
        events[0]["properties"]["itemName"] = "Zoë's café ☕ — 東京"
    if layout == "compact":
        elements = [json.dumps(e, separators=(",", ":")) for e in events]
        body = join_array(elements)
    elif layout == "whitespace":
        elements = [json.dumps(e) for e in events]
        body = join_array(elements, sep=" ,\n\t", open_="[\n  ", close="\n]\n")
    elif layout == "indented-first":
        # re-serialising the first element would change these bytes
        elements = [json.dumps(events[0], indent=2)] + [json.dumps(e) for e in events[1:]]
        body = join_array(elements, sep=",\r\n")
    elif layout == "non-ascii":
        elements = [json.dumps(e, ensure_ascii=False) for e in events]
        body = join_array(elements)
    else:  # \u escapes in the first element, exactly as sent
        elements = [json.dumps(e, ensure_ascii=True) for e in events]
        assert "\\u" in elements[0]
        body = join_array(elements)
    before = UTC_NOW()
    resp = wh.post(body.encode(), sign(elements[0].encode()))
    after = UTC_NOW()
    assert_result(resp, [e["messageId"] for e in events])

    assert db.events.count_documents({}) == len(events)
    for e in events:
        assert_stored_as_received(db.events.find_one({"_id": e["messageId"]}), e, before, after)
    assert db.events_rejects.count_documents({}) == 0


def test_retried_delivery_lands_once(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    events = [track_event(i) for i in range(4)]
    elements = [json.dumps(e) for e in events]
    body = join_array(elements)
    single = track_event(9)
    for attempt in range(3):
        resp = wh.post(body, sign(elements[0]))
        assert resp.status_code == 200, f"attempt {attempt}: {resp.status_code} {resp.text[:300]!r}"
        resp = wh.post_signed(json.dumps(single))
        assert resp.status_code == 200, f"attempt {attempt}: {resp.status_code} {resp.text[:300]!r}"
    assert db.events.count_documents({}) == len(events) + 1
    for e in events + [single]:
        assert db.events.count_documents({"_id": e["messageId"]}) == 1


def test_uppercase_hex_signature_accepted(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    ev = track_event(1)
    raw = json.dumps(ev)
    sig = sign(raw).upper()
    assert sig != sign(raw)
    assert_result(wh.post(raw, sig), [ev["messageId"]])
    assert db.events.count_documents({"_id": ev["messageId"]}) == 1


def test_event_without_message_id_gets_sha256_id(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    ev = track_event(1, message_id=None)
    other = track_event(2, message_id=12345)  # not a string: also derived
    raw = json.dumps(ev)
    resp = wh.post_signed(raw)
    assert resp.status_code == 200, resp.text
    ids = resp.json()["ids"]
    assert len(ids) == 1 and resp.json()["inserted"] == 1, resp.json()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ids[0]), ids
    doc = db.events.find_one({"_id": ids[0]})
    assert doc is not None, f"no document with _id {ids[0]!r}"
    assert "messageId" not in doc
    assert doc["userId"] == "user-1" and isinstance(doc["receivedAt"], dt.datetime)

    # Segment's retry: the same bytes again land on the same document
    resp = wh.post_signed(raw)
    assert resp.status_code == 200, resp.text
    assert resp.json()["ids"] == ids
    assert db.events.count_documents({}) == 1

    raw2 = json.dumps(other)
    resp = wh.post_signed(raw2)
    assert resp.status_code == 200, resp.text
    ids2 = resp.json()["ids"]
    assert len(ids2) == 1 and re.fullmatch(r"sha256:[0-9a-f]{64}", ids2[0]) and ids2 != ids, ids2
    resp = wh.post_signed(raw2)
    assert resp.status_code == 200, resp.text
    assert db.events.count_documents({}) == 2
    assert db.events.find_one({"_id": ids2[0]})["messageId"] == 12345


def test_gzip_body(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    events = [track_event(i) for i in range(2)]
    elements = [json.dumps(e) for e in events]
    raw = join_array(elements).encode()
    # the signature is over the JSON as Segment produced it (the decoded body)
    resp = wh.post(gzip.compress(raw), sign(elements[0]), headers={"Content-Encoding": "gzip"})
    assert_result(resp, [e["messageId"] for e in events])
    assert db.events.count_documents({}) == 2


def test_respond_with_result_false_is_204(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name, respond_with_result=False)])
    wh = Webhook(hydrant)
    ev = track_event(1)
    resp = wh.post_signed(json.dumps(ev))
    assert resp.status_code == 204, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert resp.content == b""
    events = [track_event(i) for i in range(2, 4)]
    elements = [json.dumps(e) for e in events]
    resp = wh.post(join_array(elements), sign(elements[0]))
    assert resp.status_code == 204, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.events.count_documents({}) == 3
    assert db.events.count_documents({"_id": ev["messageId"]}) == 1


def test_only_shared_secret(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name, query_secret=None)])
    wh = Webhook(hydrant)
    ev = track_event(1)
    raw = json.dumps(ev)
    assert_result(wh.post(raw, sign(raw), secret=None), [ev["messageId"]])
    # a ?secret= nobody configured changes nothing
    assert_result(wh.post(raw, sign(raw), secret="whatever"), [ev["messageId"]])
    assert_401(wh.post(json.dumps(track_event(2)), sign(raw), secret=None))
    assert_401(wh.post(json.dumps(track_event(3)), None, secret=None))
    assert db.events.count_documents({}) == 1


def test_only_query_secret(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name, shared_secret=None)])
    wh = Webhook(hydrant)
    ev = track_event(1)
    assert_result(wh.post(json.dumps(ev), None), [ev["messageId"]])
    assert_401(wh.post(json.dumps(track_event(2)), None, secret="wrong"))
    assert_401(wh.post(json.dumps(track_event(3)), None, secret=None))
    assert db.events.count_documents({}) == 1


def test_webhook_without_any_secret_is_a_config_error(run_cli, write_config, mongo_uri, db_name):
    from support import free_port, render_config

    ep = webhook_ep(db_name, query_secret=None, shared_secret=None)
    cfg = write_config(render_config({"listen": f"127.0.0.1:{free_port()}"}, {"uri": mongo_uri}, [ep]))
    r = run_cli("check", "--config", str(cfg))
    assert r.returncode == 1, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert "secret" in r.stderr, r.stderr

    ok = write_config(render_config({"listen": f"127.0.0.1:{free_port()}"}, {"uri": mongo_uri},
                                    [webhook_ep(db_name)]), name="ok.toml")
    r = run_cli("check", "--config", str(ok))
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"


# --------------------------------------------------------------------------------------
# refused deliveries


def _refusals():
    """name -> (body, signature, query secret): each must be 401."""
    events = [track_event(i) for i in range(2)]
    elements = [json.dumps(e) for e in events]
    array = join_array(elements)
    single = json.dumps(track_event(5))
    return {
        "wrong-signature": (single, sign(single, "not-the-secret"), QUERY_SECRET),
        "signature-of-other-body": (single, sign(json.dumps(track_event(6))), QUERY_SECRET),
        "garbage-signature": (single, "not-hex-at-all", QUERY_SECRET),
        "empty-signature": (single, "", QUERY_SECRET),
        "truncated-signature": (single, sign(single)[:-2], QUERY_SECRET),
        "array-signed-over-whole-body": (array, sign(array), QUERY_SECRET),
        "array-signed-over-second-element": (array, sign(elements[1]), QUERY_SECRET),
        "wrong-query-secret": (single, sign(single), "pub-wrong"),
        "query-secret-prefix": (single, sign(single), QUERY_SECRET[:-1]),
        "empty-query-secret": (single, sign(single), ""),
        "missing-query-secret": (single, sign(single), None),
        "missing-signature": (single, None, QUERY_SECRET),
    }


@pytest.mark.parametrize("case", list(_refusals()))
def test_refused_is_401_and_writes_nothing(case, start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    body, sig, secret = _refusals()[case]
    assert_401(wh.post(body, sig, secret=secret))
    assert db.events.count_documents({}) == 0
    assert db.events_rejects.count_documents({}) == 0

    # the same connection still serves a good delivery
    ev = track_event(7)
    assert_result(wh.post_signed(json.dumps(ev)), [ev["messageId"]])
    assert db.events.count_documents({}) == 1


@pytest.mark.parametrize("body,signed", [
    (b'{"messageId": "m-1", "type": "track", ', None),
    (b"not json at all", None),
    (b"", None),
    # an array: the signature is over its first element, which is fine; the rest is not JSON
    (b'[{"messageId": "m-1"}, ', b'{"messageId": "m-1"}'),
    (b'[{"messageId": "m-1"},{"messageId": "m-2", "x": }]', b'{"messageId": "m-1"}'),
], ids=["truncated-object", "not-json", "empty", "truncated-array", "bad-second-element"])
def test_invalid_json_with_valid_signature_is_400(body, signed, start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    resp = wh.post(body, sign(body if signed is None else signed))
    assert resp.status_code == 400, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.events.count_documents({}) == 0
    assert db.events_rejects.count_documents({}) == 0
    ev = track_event(7)
    assert_result(wh.post_signed(json.dumps(ev)), [ev["messageId"]])


def test_non_object_element_is_a_reject(start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    good = [track_event(0), track_event(2), track_event(4)]
    elements = [json.dumps(good[0]), "42", json.dumps(good[1]), '"just a string"', json.dumps(good[2])]
    before = UTC_NOW()
    resp = wh.post(join_array(elements), sign(elements[0]))
    after = UTC_NOW()
    assert_result(resp, [e["messageId"] for e in good])

    assert db.events.count_documents({}) == 3
    for e in good:
        assert_stored_as_received(db.events.find_one({"_id": e["messageId"]}), e, before, after)
    rejects = sorted(db.events_rejects.find(), key=lambda r: r["index"])
    assert [r["index"] for r in rejects] == [1, 3], rejects
    for rej, raw in zip(rejects, [b"42", b'"just a string"']):
        assert rej["endpoint"] == PATH, rej
        assert isinstance(rej["requestId"], str) and rej["requestId"], rej
        assert isinstance(rej["reason"], str) and rej["reason"], rej
        assert isinstance(rej["data"], bytes), f"data is {type(rej['data'])}, not BSON binary"
        assert rej["data"] == raw, rej
        assert isinstance(rej["receivedAt"], dt.datetime), rej
        assert before - dt.timedelta(seconds=1) <= rej["receivedAt"] <= after + dt.timedelta(seconds=1)
    assert rejects[0]["requestId"] == rejects[1]["requestId"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(method, start_hydrant, db, db_name):
    hydrant = start_hydrant([webhook_ep(db_name)])
    wh = Webhook(hydrant)
    body = json.dumps(track_event(1))
    resp = wh.post(body if method != "GET" else b"", sign(body if method != "GET" else b""), method=method)
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.events.count_documents({}) == 0
