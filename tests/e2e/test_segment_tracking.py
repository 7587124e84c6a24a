"""Segment's HTTP Tracking API (`[[segment]] kind = "tracking-api"`, docs/segment.md,
SPEC §4): routes, write keys, bodies, server-side fields, limits, validation,
rejects, CORS.

Every refused request writes nothing, and a good event sent right after it on the
same keep-alive session still lands.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import uuid

import pytest
import requests

PATH = "/v1"
WRITE_KEY = "wk-test"
ORIGIN = "https://shop.example.com"

UTC_NOW = lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731


def tracking_ep(db_name: str, **overrides) -> dict:
    ep = {
        "table": "segment",
        "kind": "tracking-api",
        "path": PATH,
        "write_keys": [WRITE_KEY],
        "database": db_name,
        "collection": "events",
        "cors_origins": [ORIGIN],
    }
    ep.update(overrides)
    return ep


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def ms(when: dt.datetime) -> dt.datetime:
    """BSON dates hold milliseconds."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def basic(key: str, colon: bool = True) -> str:
    return "Basic " + base64.b64encode((key + (":" if colon else "")).encode()).decode()


def mid() -> str:
    return f"m-{uuid.uuid4()}"


def event_for(kind: str, n: int = 0, **extra) -> dict:
    """A minimal valid call of each type (without `type`: the route says it)."""
    ev: dict = {"userId": f"user-{n}", "messageId": mid()}
    if kind == "track":
        ev.update(event="Order Completed", properties={"total": 42.5, "currency": "EUR", "n": n})
    elif kind == "identify":
        ev.update(traits={"email": f"u{n}@example.com", "plan": "pro"})
    elif kind == "page":
        ev.update(name="Home", properties={"path": "/", "url": "https://shop.example.com/"})
    elif kind == "screen":
        ev.update(name="Dashboard", properties={"variant": "b"})
    elif kind == "group":
        ev.update(groupId=f"org-{n}", traits={"name": "Initech"})
    elif kind == "alias":
        ev.update(previousId=f"anon-{n}")
    ev.update(extra)
    return ev


class Tracking:
    """Posts to the tracking API over one keep-alive session."""

    def __init__(self, hydrant, auth: str | None = basic(WRITE_KEY)):
        self.hydrant = hydrant
        self.auth = auth
        self.session = requests.Session()

    def post(self, route: str, body, *, auth: str | None | bool = True, headers: dict | None = None,
             content_type: str = "application/json", gzip_body: bool = False,
             method: str = "POST") -> requests.Response:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        h = {"Content-Type": content_type}
        a = self.auth if auth is True else (auth or None)
        if a:
            h["Authorization"] = a
        if gzip_body:
            body = gzip.compress(body)
            h["Content-Encoding"] = "gzip"
        h.update(headers or {})
        return self.session.request(method, self.hydrant.url(PATH + route), data=body, headers=h, timeout=60)

    def good(self, db, expect_count: int) -> None:
        """A good track call lands (the connection was left in a good state)."""
        ev = event_for("track", 999)
        resp = self.post("/track", ev)
        assert_success(resp)
        assert db.events.count_documents({"_id": ev["messageId"]}) == 1
        assert db.events.count_documents({}) == expect_count


def assert_success(resp: requests.Response, rejected: list[int] | None = None) -> dict:
    assert resp.status_code == 200, f"status {resp.status_code}: {resp.text[:500]!r}"
    body = resp.json()
    if rejected:
        assert body.get("success") is True, body
        assert sorted(r["index"] for r in body.get("rejected", [])) == rejected, body
    else:
        assert body == {"success": True}, body
    return body


def assert_error(resp: requests.Response, status: int, pattern: str | None = None) -> str:
    assert resp.status_code == status, f"status {resp.status_code}, expected {status}: {resp.text[:500]!r}"
    body = resp.json()
    assert isinstance(body, dict) and body.get("success") is False, body
    msg = body.get("error")
    assert isinstance(msg, str) and msg, body
    if pattern:
        assert re.search(pattern, msg), f"error {msg!r} does not match {pattern!r}"
    return msg


def near(a: dt.datetime, b: dt.datetime, seconds: float = 2.0) -> bool:
    return abs((a - b).total_seconds()) <= seconds


# --------------------------------------------------------------------------------------
# routes


SINGLE_ROUTES = [
    ("/track", "track"), ("/t", "track"),
    ("/identify", "identify"), ("/i", "identify"),
    ("/page", "page"), ("/p", "page"),
    ("/screen", "screen"), ("/s", "screen"),
    ("/group", "group"), ("/g", "group"),
    ("/alias", "alias"), ("/a", "alias"),
]


@pytest.mark.parametrize("route,kind", SINGLE_ROUTES)
def test_single_call_routes(route, kind, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    ev = event_for(kind, 1)
    assert_success(tr.post(route, ev))
    assert db.events.count_documents({}) == 1
    doc = db.events.find_one({"_id": ev["messageId"]})
    assert doc is not None, f"no document with _id {ev['messageId']!r}: {list(db.events.find())}"
    assert doc["type"] == kind, doc
    assert doc["messageId"] == ev["messageId"]
    for k, v in ev.items():
        assert doc[k] == v, (k, doc)
    assert isinstance(doc["receivedAt"], dt.datetime)
    assert isinstance(doc["timestamp"], dt.datetime)
    assert db.events_rejects.count_documents({}) == 0


@pytest.mark.parametrize("route", ["/batch", "/b", "/import"])
def test_batch_routes(route, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    kinds = ["track", "identify", "page", "screen", "group", "alias", "track"]
    batch = [dict(event_for(k, i), type=k) for i, k in enumerate(kinds)]
    assert_success(tr.post(route, {"batch": batch}))
    assert db.events.count_documents({}) == len(batch)
    for ev in batch:
        doc = db.events.find_one({"_id": ev["messageId"]})
        assert doc is not None, ev
        assert doc["type"] == ev["type"] and doc["userId"] == ev["userId"], doc
    assert db.events_rejects.count_documents({}) == 0


# --------------------------------------------------------------------------------------
# write keys


@pytest.mark.parametrize("how", ["basic-with-colon", "basic-without-colon", "basic-with-password",
                                 "x-write-key", "body-writeKey"])
def test_write_key_sources(how, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant, auth=None)
    ev = event_for("track", 1)
    headers = {}
    if how == "basic-with-colon":
        headers["Authorization"] = basic(WRITE_KEY)
    elif how == "basic-without-colon":
        headers["Authorization"] = basic(WRITE_KEY, colon=False)
    elif how == "basic-with-password":  # the password is ignored
        headers["Authorization"] = "Basic " + base64.b64encode(f"{WRITE_KEY}:ignored".encode()).decode()
    elif how == "x-write-key":
        headers["X-Write-Key"] = WRITE_KEY
    else:
        ev["writeKey"] = WRITE_KEY
    assert_success(tr.post("/track", ev, headers=headers))
    doc = db.events.find_one({"_id": ev["messageId"]})
    assert doc is not None
    assert "writeKey" not in doc, doc
    assert WRITE_KEY not in repr(doc), f"the write key is stored: {doc}"


def test_write_key_in_batch_body_not_stored(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant, auth=None)
    batch = [dict(event_for("track", i), type="track") for i in range(3)]
    batch[1]["writeKey"] = WRITE_KEY  # analytics-node once put it on each event too
    assert_success(tr.post("/batch", {"batch": batch, "writeKey": WRITE_KEY, "sentAt": iso(UTC_NOW())}))
    assert db.events.count_documents({}) == 3
    for doc in db.events.find():
        assert "writeKey" not in doc and WRITE_KEY not in repr(doc), doc


@pytest.mark.parametrize("how", ["basic-unknown", "x-write-key-unknown", "body-unknown",
                                 "header-unknown-body-known", "no-key", "empty-basic"])
def test_bad_write_key_is_401(how, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant, auth=None)
    ev = event_for("track", 1)
    headers = {}
    if how == "basic-unknown":
        headers["Authorization"] = basic("wk-other")
    elif how == "x-write-key-unknown":
        headers["X-Write-Key"] = "wk-other"
    elif how == "body-unknown":
        ev["writeKey"] = "wk-other"
    elif how == "header-unknown-body-known":
        headers["Authorization"] = basic("wk-other")
        ev["writeKey"] = WRITE_KEY
    elif how == "empty-basic":
        headers["Authorization"] = basic("")
    resp = tr.post("/track", ev, headers=headers)
    assert_error(resp, 401)
    assert WRITE_KEY not in resp.text
    assert db.events.count_documents({}) == 0
    assert db.events_rejects.count_documents({}) == 0
    tr.auth = basic(WRITE_KEY)
    tr.good(db, 1)


def test_empty_write_keys_accept_any_key(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name, write_keys=[])])
    tr = Tracking(hydrant, auth=basic("anything-at-all"))
    assert_success(tr.post("/track", event_for("track", 1)))
    assert db.events.count_documents({}) == 1


# --------------------------------------------------------------------------------------
# bodies


def test_text_plain_body(start_hydrant, db, db_name):
    """analytics.js: text/plain, the write key in the body, no preflight."""
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant, auth=None)
    ev = dict(event_for("track", 1), writeKey=WRITE_KEY, type="track")
    assert_success(tr.post("/t", ev, content_type="text/plain"))
    batch = {"batch": [dict(event_for("page", 2), type="page")], "writeKey": WRITE_KEY}
    assert_success(tr.post("/b", batch, content_type="text/plain;charset=UTF-8"))
    assert db.events.count_documents({}) == 2


def test_gzip_body(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    batch = [dict(event_for("track", i), type="track") for i in range(50)]
    assert_success(tr.post("/batch", {"batch": batch}, gzip_body=True))
    ev = event_for("identify", 99)
    assert_success(tr.post("/identify", ev, gzip_body=True))
    assert db.events.count_documents({}) == 51
    assert db.events.find_one({"_id": ev["messageId"]})["traits"] == ev["traits"]


# --------------------------------------------------------------------------------------
# server-side fields


def test_skew_corrected_timestamp(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    # the client's clock is three days behind
    t = ms(UTC_NOW() - dt.timedelta(days=3))
    ev = event_for("track", 1, timestamp=iso(t), sentAt=iso(t + dt.timedelta(seconds=10)))
    before = UTC_NOW()
    assert_success(tr.post("/track", ev))
    after = UTC_NOW()
    doc = db.events.find_one({"_id": ev["messageId"]})
    received = doc["receivedAt"]
    assert isinstance(received, dt.datetime), doc
    assert before - dt.timedelta(seconds=1) <= received <= after + dt.timedelta(seconds=1), (received, before)
    assert doc["originalTimestamp"] == t, doc
    assert isinstance(doc["timestamp"], dt.datetime), doc
    expected = received - dt.timedelta(seconds=10)
    assert near(doc["timestamp"], expected), f"timestamp {doc['timestamp']}, expected ~{expected}"


def test_skew_corrected_with_batch_sent_at(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    t = ms(UTC_NOW() - dt.timedelta(hours=5))
    batch = [
        dict(event_for("track", 0), type="track", timestamp=iso(t)),
        dict(event_for("track", 1), type="track", timestamp=iso(t + dt.timedelta(seconds=3))),
        # the event's own sentAt wins over the batch's
        dict(event_for("track", 2), type="track", timestamp=iso(t), sentAt=iso(t + dt.timedelta(seconds=60))),
    ]
    assert_success(tr.post("/batch", {"batch": batch, "sentAt": iso(t + dt.timedelta(seconds=20))}))
    docs = [db.events.find_one({"_id": e["messageId"]}) for e in batch]
    skews = [20, 17, 60]
    for doc, skew, e in zip(docs, skews, batch):
        assert doc["originalTimestamp"] == ms(dt.datetime.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")), doc
        expected = doc["receivedAt"] - dt.timedelta(seconds=skew)
        assert near(doc["timestamp"], expected), f"event {e['userId']}: timestamp {doc['timestamp']}, expected ~{expected}"


@pytest.mark.parametrize("text,when", [
    ("2024-05-01T12:00:00.123Z", dt.datetime(2024, 5, 1, 12, 0, 0, 123000)),
    ("2024-05-01T12:00:00Z", dt.datetime(2024, 5, 1, 12, 0, 0)),
    ("2024-05-01T14:00:00.500+02:00", dt.datetime(2024, 5, 1, 12, 0, 0, 500000)),
    # analytics-python: datetime.isoformat() with microseconds
    ("2024-05-01T12:00:00.123456+00:00", dt.datetime(2024, 5, 1, 12, 0, 0, 123000)),
])
def test_timestamp_without_sent_at(text, when, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    ev = event_for("track", 1, timestamp=text)
    assert_success(tr.post("/track", ev))
    doc = db.events.find_one({"_id": ev["messageId"]})
    assert doc["originalTimestamp"] == when, doc
    assert doc["timestamp"] == when, doc
    assert isinstance(doc["receivedAt"], dt.datetime) and near(doc["receivedAt"], UTC_NOW(), 60)


def test_no_timestamp_is_received_at(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    ev = event_for("track", 1)
    before = UTC_NOW()
    assert_success(tr.post("/track", ev))
    after = UTC_NOW()
    doc = db.events.find_one({"_id": ev["messageId"]})
    assert isinstance(doc["receivedAt"], dt.datetime)
    assert before - dt.timedelta(seconds=1) <= doc["receivedAt"] <= after + dt.timedelta(seconds=1)
    assert isinstance(doc["timestamp"], dt.datetime), doc
    assert near(doc["timestamp"], doc["receivedAt"], 1.0), doc


def test_batch_context_and_integrations_merge(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    batch_context = {"library": {"name": "analytics-python", "version": "2.3.4"}, "ip": "198.51.100.1",
                     "locale": "de-DE"}
    batch_integrations = {"All": False, "Mixpanel": True, "Amplitude": True}
    own = dict(event_for("track", 0), type="track",
               context={"ip": "203.0.113.9", "page": {"path": "/cart"}},
               integrations={"Mixpanel": False})
    bare = dict(event_for("identify", 1), type="identify")
    assert_success(tr.post("/batch", {"batch": [own, bare], "context": batch_context,
                                      "integrations": batch_integrations}))
    d_own = db.events.find_one({"_id": own["messageId"]})
    d_bare = db.events.find_one({"_id": bare["messageId"]})

    want_own_ctx = {"library": batch_context["library"], "ip": "203.0.113.9", "locale": "de-DE",
                    "page": {"path": "/cart"}}
    for k, v in want_own_ctx.items():
        assert d_own["context"].get(k) == v, (k, d_own["context"])
    assert d_own["integrations"] == {"All": False, "Mixpanel": False, "Amplitude": True}, d_own
    for k, v in batch_context.items():
        assert d_bare["context"].get(k) == v, (k, d_bare["context"])
    assert d_bare["integrations"] == batch_integrations, d_bare


def test_missing_message_id_gets_uuid(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    ev = event_for("track", 1)
    del ev["messageId"]
    assert_success(tr.post("/track", ev))
    b = dict(event_for("page", 2), type="page")
    del b["messageId"]
    assert_success(tr.post("/batch", {"batch": [b]}))
    docs = list(db.events.find())
    assert len(docs) == 2
    for doc in docs:
        m = doc.get("messageId")
        assert isinstance(m, str), doc
        assert str(uuid.UUID(m)) == m.lower(), f"messageId {m!r} is not a UUID"
        assert doc["_id"] == m, doc
    assert docs[0]["_id"] != docs[1]["_id"]


def test_retry_of_same_message_id_lands_once(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    ev = event_for("track", 1)
    batch = [dict(event_for("track", i), type="track") for i in range(5)]
    for _ in range(3):
        assert_success(tr.post("/track", ev))
        assert_success(tr.post("/batch", {"batch": batch}))
    # the same event through another route
    assert_success(tr.post("/batch", {"batch": [dict(ev, type="track")]}))
    assert db.events.count_documents({}) == 6
    assert db.events.count_documents({"_id": ev["messageId"]}) == 1


# --------------------------------------------------------------------------------------
# bad input


def _big_string(n: int) -> str:
    return "x" * n


def _bad_inputs() -> dict:
    """name -> (route, body bytes or JSON value, gzip, status, pattern the error must match)."""
    ts = iso(UTC_NOW())
    big_events = [dict(event_for("track", i), type="track", properties={"blob": _big_string(28 * 1024)})
                  for i in range(20)]  # each under 32 KiB, together ~560 KiB
    tiny = [{"type": "track", "event": "e", "userId": "u", "messageId": f"m{i}"} for i in range(2501)]
    return {
        "invalid-json": ("/track", b'{"userId": "u", "event": "x", ', False, 400, r"(?i)json"),
        "not-an-object": ("/track", b'["userId"]', False, 400, None),
        "event-over-32KiB": ("/track", event_for("track", 1, properties={"blob": _big_string(40 * 1024)}),
                             False, 400, r"32\s*Ki?B|32768|32\s*kB"),
        "batch-over-500KiB": ("/batch", {"batch": big_events}, False, 400, r"500\s*Ki?B|512000|500\s*kB"),
        "gzip-batch-over-500KiB-decoded": ("/batch", {"batch": big_events}, True, 400,
                                           r"500\s*Ki?B|512000|500\s*kB"),
        "2501-events": ("/batch", {"batch": tiny}, False, 400, r"2,?500"),
        "batch-not-array": ("/batch", {"batch": {"type": "track"}}, False, 400, r"batch"),
        "no-user": ("/track", {"event": "x", "messageId": mid()}, False, 400, r"userId"),
        "track-without-event": ("/track", {"userId": "u", "messageId": mid()}, False, 400, r"\bevent\b"),
        "group-without-groupId": ("/group", {"userId": "u", "messageId": mid()}, False, 400, r"groupId"),
        "alias-without-previousId": ("/alias", {"userId": "u", "messageId": mid()}, False, 400, r"previousId"),
        "properties-not-object": ("/track", event_for("track", 1, properties="cheap"), False, 400, r"properties"),
        "traits-not-object": ("/identify", event_for("identify", 1, traits=["a", "b"]), False, 400, r"traits"),
        "context-not-object": ("/page", event_for("page", 1, context=7), False, 400, r"context"),
        "integrations-not-object": ("/screen", event_for("screen", 1, integrations="all"), False, 400,
                                    r"integrations"),
        "unparseable-timestamp": ("/track", event_for("track", 1, timestamp="yesterday at noon"), False, 400,
                                  r"timestamp"),
        "unparseable-sentAt": ("/track", event_for("track", 1, timestamp=ts, sentAt="2024-13-45T99:00:00Z"),
                               False, 400, r"sentAt"),
        "timestamp-not-string": ("/track", event_for("track", 1, timestamp=12345), False, 400, r"timestamp"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_bad_input(case, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    route, body, gz, status, pattern = _bad_inputs()[case]
    if case == "gzip-batch-over-500KiB-decoded":
        raw = json.dumps(body).encode()
        assert len(raw) > 500 * 1024 and len(gzip.compress(raw)) < 100 * 1024
    resp = tr.post(route, body, gzip_body=gz)
    assert_error(resp, status, pattern)
    assert db.events.count_documents({}) == 0
    assert db.events_rejects.count_documents({}) == 0
    tr.good(db, 1)


def test_limits_are_configurable(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name, max_event="1KiB", max_batch="4KiB", max_batch_events=10)])
    tr = Tracking(hydrant)
    # one call over max_event
    assert_error(tr.post("/track", event_for("track", 1, properties={"b": _big_string(1500)})), 400,
                 r"1\s*Ki?B|1024")
    # more than max_batch_events
    small = [dict(event_for("track", i), type="track") for i in range(11)]
    assert_error(tr.post("/batch", {"batch": small}), 400, r"\b10\b")
    # a body over max_batch, each event under max_event
    big = [dict(event_for("track", i), type="track", properties={"b": _big_string(800)}) for i in range(6)]
    assert all(len(json.dumps(e)) < 1024 for e in big) and len(json.dumps({"batch": big})) > 4096
    assert_error(tr.post("/batch", {"batch": big}), 400, r"4\s*Ki?B|4096")
    assert db.events.count_documents({}) == 0
    # at the limits: fine
    assert_success(tr.post("/batch", {"batch": small[:10]}))
    assert_success(tr.post("/batch", {"batch": big[:4]}))
    assert db.events.count_documents({}) == 14


def _bad_batch_events() -> dict:
    """name -> (bad event, field the reason must name)."""
    return {
        "no-user": ({"type": "track", "event": "x", "messageId": mid()}, "userId"),
        "track-without-event": ({"type": "track", "userId": "u", "messageId": mid()}, "event"),
        "group-without-groupId": ({"type": "group", "userId": "u", "messageId": mid()}, "groupId"),
        "alias-without-previousId": ({"type": "alias", "userId": "u", "messageId": mid()}, "previousId"),
        "properties-not-object": (dict(event_for("track", 5), type="track", properties=[1, 2]), "properties"),
        "bad-timestamp": (dict(event_for("track", 5), type="track", timestamp="not a date"), "timestamp"),
        "over-max-event": (dict(event_for("track", 5), type="track", properties={"b": _big_string(40 * 1024)}),
                           None),
    }


@pytest.mark.parametrize("case", list(_bad_batch_events()))
def test_batch_with_one_bad_event(case, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    bad, field = _bad_batch_events()[case]
    good = [dict(event_for("track", i), type="track") for i in range(4)]
    batch = good[:2] + [bad] + good[2:]
    before = UTC_NOW()
    resp = tr.post("/batch", {"batch": batch})
    after = UTC_NOW()
    body = assert_success(resp, rejected=[2])
    err = body["rejected"][0]["error"]
    assert isinstance(err, str) and err
    if field:
        assert re.search(rf"\b{field}\b", err), f"error {err!r} does not name {field}"

    assert db.events.count_documents({}) == 4
    for e in good:
        assert db.events.count_documents({"_id": e["messageId"]}) == 1
    rejects = list(db.events_rejects.find())
    assert len(rejects) == 1, rejects
    rej = rejects[0]
    assert rej["index"] == 2, rej
    assert rej["endpoint"].startswith(PATH), rej
    assert isinstance(rej["requestId"], str), rej
    assert isinstance(rej["reason"], str) and "batch[2]" in rej["reason"], rej
    if field:
        assert re.match(rf"batch\[2\]: .*\b{field}\b", rej["reason"]), rej["reason"]
    assert isinstance(rej["data"], bytes), f"data is {type(rej['data'])}, not BSON binary"
    assert json.loads(rej["data"]) == bad
    assert isinstance(rej["receivedAt"], dt.datetime)
    assert before - dt.timedelta(seconds=1) <= rej["receivedAt"] <= after + dt.timedelta(seconds=1)
    tr.good(db, 5)


def test_unknown_route_is_404(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    for route in ("/nope", "/tracks", "/x", "/track/extra"):
        resp = tr.post(route, event_for("track", 1))
        assert resp.status_code == 404, f"{route}: status {resp.status_code}: {resp.text[:300]!r}"
    assert db.events.count_documents({}) == 0
    tr.good(db, 1)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(method, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant)
    resp = tr.post("/track", b"" if method == "GET" else event_for("track", 1), method=method)
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.events.count_documents({}) == 0
    tr.good(db, 1)


# --------------------------------------------------------------------------------------
# CORS


def _preflight(hydrant, route: str, origin: str) -> requests.Response:
    return requests.options(hydrant.url(PATH + route), headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization",
    }, timeout=30)


@pytest.mark.parametrize("route", ["/track", "/t", "/batch", "/b"])
def test_cors_preflight_allowed_origin(route, start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    resp = _preflight(hydrant, route, ORIGIN)  # no write key
    assert resp.status_code == 204, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN, dict(resp.headers)
    assert "origin" in resp.headers.get("Vary", "").lower(), dict(resp.headers)
    assert db.events.count_documents({}) == 0


def test_cors_preflight_other_origin_is_403(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    for origin in ("https://evil.example.com", "http://shop.example.com", "https://shop.example.com.evil.net"):
        resp = _preflight(hydrant, "/t", origin)
        assert resp.status_code == 403, f"{origin}: status {resp.status_code}: {resp.text[:300]!r}"
        assert resp.headers.get("Access-Control-Allow-Origin") not in (origin, "*"), dict(resp.headers)


def test_cors_post_from_allowed_origin(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name)])
    tr = Tracking(hydrant, auth=None)
    ev = dict(event_for("track", 1), writeKey=WRITE_KEY)
    resp = tr.post("/t", ev, content_type="text/plain", headers={"Origin": ORIGIN})
    assert_success(resp)
    assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN, dict(resp.headers)
    assert "origin" in resp.headers.get("Vary", "").lower(), dict(resp.headers)
    # an error answer to an allowed origin carries it too, so the page can read it
    bad = dict(event_for("track", 2), writeKey="wk-other")
    resp = tr.post("/t", bad, content_type="text/plain", headers={"Origin": ORIGIN})
    assert_error(resp, 401)
    assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN, dict(resp.headers)
    # another origin never gets its origin echoed back
    ev2 = dict(event_for("track", 3), writeKey=WRITE_KEY)
    resp = tr.post("/t", ev2, content_type="text/plain", headers={"Origin": "https://evil.example.com"})
    assert resp.headers.get("Access-Control-Allow-Origin") not in ("https://evil.example.com", "*"), (
        dict(resp.headers))
    assert db.events.count_documents({"_id": ev["messageId"]}) == 1


def test_cors_wildcard_allows_any_origin(start_hydrant, db, db_name):
    hydrant = start_hydrant([tracking_ep(db_name, cors_origins=["*"])])
    origin = "https://anything.example.org"
    resp = _preflight(hydrant, "/t", origin)
    assert resp.status_code == 204, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert resp.headers.get("Access-Control-Allow-Origin") in (origin, "*"), dict(resp.headers)
