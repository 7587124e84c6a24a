"""examples/firehose_sender.py behaves like a Firehose delivery stream: the retry
schedule (1 s doubling to 120 s, +-15%, within the retry duration, never after a
413), the same request id and body on every retry, the headers, batching by size
and by interval. The sender talks to a real HTTP server in the test that answers
as scripted; an injected sleep records the waits instead of waiting (one test
sleeps for real with a small base). The last tests send to the real hydrant."""

from __future__ import annotations

import base64
import gzip
import json
import random
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import DEFAULT_KEY, DEFAULT_PATH, endpoint_config, free_port
from firehose_sender import (  # examples/, put on sys.path by support
    MAX_RECORD_SIZE,
    FirehoseSender,
    backoff_delay,
    nominal_delay,
)

ARN = "arn:aws:firehose:eu-west-1:111122223333:deliverystream/sender-test"


class ScriptedEndpoint:
    """A local HTTP endpoint that answers the statuses in `script` in turn (then
    `then`), records every request (arrival time, headers, raw body) and answers
    200s with the body Firehose expects (override with `bodies`)."""

    def __init__(self, script=(), then=200, port=None, bodies=None):
        self.script = list(script)
        self.then = then
        self.bodies = dict(bodies or {})  # request number (0-based) -> raw response body
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint.lock:
                    n = len(endpoint.requests)
                    endpoint.requests.append({"t": arrived, "headers": dict(self.headers), "body": body,
                                              "path": self.path})
                    status = endpoint.script[n] if n < len(endpoint.script) else endpoint.then
                rid = self.headers.get("X-Amz-Firehose-Request-Id", "")
                answer = {"requestId": rid, "timestamp": int(time.time() * 1000)}
                if status != 200:
                    answer["errorMessage"] = f"scripted {status}"
                out = endpoint.bodies.get(n, json.dumps(answer).encode())
                if status in (204, 304):
                    out = b""  # no body allowed
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/firehose/test?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def envelope(self, i: int) -> dict:
        r = self.requests[i]
        body = r["body"]
        if r["headers"].get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return json.loads(body)

    def records(self, i: int) -> list[bytes]:
        return [base64.b64decode(rec["data"]) for rec in self.envelope(i)["records"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint_factory():
    made = []

    def make(*args, **kw):
        e = ScriptedEndpoint(*args, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


class RecordingSleep:
    """An injected sleep: records the waits, returns at once (and can run a hook)."""

    def __init__(self, hook=None):
        self.calls: list[float] = []
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.hook:
            self.hook(len(self.calls))


class FixedFactor:
    """An rng whose uniform(a, b) returns a + f*(b - a): f=0 the lowest jitter, 1 the highest."""

    def __init__(self, f: float):
        self.f = f

    def uniform(self, a, b):
        return a + self.f * (b - a)


def check_schedule(delays: list[float]) -> None:
    """Each wait is min(120, 2**n) s, give or take 15%."""
    for n, d in enumerate(delays):
        nominal = min(120.0, 2.0 ** n)
        assert 0.85 * nominal - 1e-9 <= d <= 1.15 * nominal + 1e-9, (
            f"wait before retry {n + 1} was {d:.3f} s, not {nominal:g} s +-15%: {delays}")


# ----------------------------------------------------------------------------- the schedule itself


def test_backoff_delay_doubles_from_1s_caps_at_120s_with_15pct_jitter():
    nominal = [nominal_delay(n) for n in range(12)]
    assert nominal == [1, 2, 4, 8, 16, 32, 64, 120, 120, 120, 120, 120]
    for n in range(12):
        assert backoff_delay(n, FixedFactor(0.0)) == pytest.approx(0.85 * nominal[n])
        assert backoff_delay(n, FixedFactor(1.0)) == pytest.approx(1.15 * nominal[n])
        assert backoff_delay(n, FixedFactor(0.5)) == pytest.approx(nominal[n])
    # the jitter is really random and really spans +-15%
    rng = random.Random(7)
    samples = [backoff_delay(3, rng) for _ in range(400)]
    assert all(6.8 <= s <= 9.2 for s in samples)
    assert min(samples) < 7.0 and max(samples) > 9.0, (min(samples), max(samples))
    assert len({round(s, 6) for s in samples}) > 300
    with pytest.raises(ValueError):
        backoff_delay(-1)


# ----------------------------------------------------------------------------- retries against a real server


def test_retries_carry_the_same_request_id_and_the_same_body(endpoint_factory):
    ep = endpoint_factory(script=[503, 500, 503, 502, 503])
    sleep = RecordingSleep()
    sender = FirehoseSender(ep.url, "key-1", source_arn=ARN, common_attributes={"env": "test", "team": "iot"},
                            sleep=sleep, rng=random.Random(1), retry_duration=300)
    records = [{"_id": i, "v": "x" * i} for i in range(5)] + [b"", b"\x00raw bytes\xff"]
    d = sender.deliver(records)

    assert d.ok and d.status == 200 and not d.gave_up
    assert len(ep.requests) == 6 and len(d.attempts) == 6
    assert [a.status for a in d.attempts] == [503, 500, 503, 502, 503, 200]
    rids = {r["headers"]["X-Amz-Firehose-Request-Id"] for r in ep.requests}
    assert rids == {d.request_id}, rids
    assert uuid.UUID(d.request_id).version == 4
    bodies = {r["body"] for r in ep.requests}
    assert len(bodies) == 1, "a retry must send the very same body"
    env = ep.envelope(0)
    assert env["requestId"] == d.request_id
    assert isinstance(env["timestamp"], int) and abs(env["timestamp"] - time.time() * 1000) < 60_000
    assert ep.records(0) == [json.dumps(r, separators=(",", ":")).encode() for r in records[:5]] + records[5:]
    for r in ep.requests:
        h = r["headers"]
        assert r["path"] == "/firehose/test?x=1"
        assert h["X-Amz-Firehose-Protocol-Version"] == "1.0"
        assert h["X-Amz-Firehose-Source-Arn"] == ARN
        assert h["X-Amz-Firehose-Access-Key"] == "key-1"
        assert h["Content-Type"] == "application/json"
        assert "Content-Encoding" not in h
        assert json.loads(h["X-Amz-Firehose-Common-Attributes"]) == {"commonAttributes": {"env": "test", "team": "iot"}}
    # the waits: 1, 2, 4, 8, 16 s, each +-15%, and exactly those were slept
    assert len(sleep.calls) == 5
    assert sleep.calls == d.delays
    check_schedule(d.delays)


def test_waits_are_capped_at_120s(endpoint_factory):
    ep = endpoint_factory(script=[503] * 11)
    sleep = RecordingSleep()
    sender = FirehoseSender(ep.url, "k", sleep=sleep, rng=random.Random(2), retry_duration=7200)
    d = sender.deliver([b"{}"])
    assert d.ok and len(d.attempts) == 12
    assert len({r["headers"]["X-Amz-Firehose-Request-Id"] for r in ep.requests}) == 1
    assert len(d.delays) == 11
    check_schedule(d.delays)
    assert all(102 <= w <= 138 for w in d.delays[7:]), d.delays
    assert max(d.delays[:7]) < 74  # 64 s +15%: the cap only bites from the 8th retry


def test_retry_duration_exhausted_gives_up_and_reports(endpoint_factory):
    ep = endpoint_factory(then=503)
    sleep = RecordingSleep()
    # with the jitter at its middle: 1+2+4+8 = 15 s of waiting; the next 16 s wait would end at 31 s > 30 s
    sender = FirehoseSender(ep.url, "k", sleep=sleep, rng=FixedFactor(0.5), retry_duration=30)
    d = sender.deliver([b'{"a":1}'])
    assert not d.ok
    assert d.status == 503 and "503" in d.error
    assert "retry duration" in d.gave_up
    assert len(d.attempts) == 5 and len(ep.requests) == 5
    assert sleep.calls == pytest.approx([1, 2, 4, 8])
    assert sender.failed == [d]
    # with real jitter the waits stay within the duration too
    ep2 = endpoint_factory(then=500)
    sender2 = FirehoseSender(ep2.url, "k", sleep=RecordingSleep(), rng=random.Random(3), retry_duration=100)
    d2 = sender2.deliver([b"{}"])
    assert not d2.ok and sum(d2.delays) <= 100
    check_schedule(d2.delays)
    assert len(d2.attempts) == len(d2.delays) + 1 >= 5  # 1+2+4+8+16 (+-15%) < 100
    assert len({r["headers"]["X-Amz-Firehose-Request-Id"] for r in ep2.requests}) == 1


def test_retry_duration_zero_means_a_single_attempt(endpoint_factory):
    ep = endpoint_factory(then=503)
    sleep = RecordingSleep()
    d = FirehoseSender(ep.url, "k", sleep=sleep, retry_duration=0).deliver([b"{}"])
    assert not d.ok and len(ep.requests) == 1 and sleep.calls == []


def test_413_is_never_retried(endpoint_factory):
    ep = endpoint_factory(script=[413])
    sleep = RecordingSleep()
    sender = FirehoseSender(ep.url, "k", sleep=sleep, retry_duration=7200)
    d = sender.deliver([b"{}"])
    assert not d.ok and d.status == 413 and "413" in d.gave_up
    assert len(ep.requests) == 1 and sleep.calls == []
    assert sender.failed == [d]
    # nor when it comes after a retriable failure
    ep2 = endpoint_factory(script=[503, 413])
    sleep2 = RecordingSleep()
    d2 = FirehoseSender(ep2.url, "k", sleep=sleep2, retry_duration=7200).deliver([b"{}"])
    assert not d2.ok and d2.status == 413 and len(ep2.requests) == 2 and len(sleep2.calls) == 1


def test_every_other_failure_is_retried(endpoint_factory):
    # other 4xx, 5xx, a non-200 2xx (Firehose counts it as a failure), a 200 whose body
    # does not echo the request id: all retried with the same id
    ep = endpoint_factory(script=[400, 401, 429, 500, 204, 200], bodies={5: b'{"requestId":"other","timestamp":1}'})
    sleep = RecordingSleep()
    d = FirehoseSender(ep.url, "k", sleep=sleep, rng=random.Random(4)).deliver([b"{}"])
    assert d.ok
    assert [a.status for a in d.attempts] == [400, 401, 429, 500, 204, 200, 200]
    assert "requestId" in d.attempts[5].error
    assert len({r["headers"]["X-Amz-Firehose-Request-Id"] for r in ep.requests}) == 1
    check_schedule(d.delays)


def test_connection_errors_are_retried(endpoint_factory):
    port = free_port()  # nothing listens there yet
    started = {}

    def hook(n):  # the endpoint comes up during the 3rd wait
        if n == 3:
            started["ep"] = endpoint_factory(port=port)

    sleep = RecordingSleep(hook)
    d = FirehoseSender(f"http://127.0.0.1:{port}/firehose/test", "k", sleep=sleep,
                       rng=random.Random(5)).deliver([b'{"n":1}'])
    assert d.ok
    assert [a.status for a in d.attempts] == [None, None, None, 200]
    assert all("Connection" in a.error or "refused" in a.error for a in d.attempts[:3]), d.attempts
    ep = started["ep"]
    assert len(ep.requests) == 1 and ep.requests[0]["headers"]["X-Amz-Firehose-Request-Id"] == d.request_id
    check_schedule(d.delays)


def test_real_sleeping_with_a_small_base(endpoint_factory):
    ep = endpoint_factory(script=[503, 503, 503])
    base = 0.1
    t0 = time.monotonic()
    d = FirehoseSender(ep.url, "k", base_delay=base, retry_duration=10).deliver([b"{}"])
    elapsed = time.monotonic() - t0
    assert d.ok and len(ep.requests) == 4
    gaps = [b["t"] - a["t"] for a, b in zip(ep.requests, ep.requests[1:])]
    for n, (gap, wait) in enumerate(zip(gaps, d.delays)):
        assert 0.85 * base * 2 ** n - 0.005 <= wait <= 1.15 * base * 2 ** n + 1e-9
        assert gap >= wait - 0.005, f"retry {n + 1} came {gap:.3f} s after the previous attempt, before its {wait:.3f} s wait"
        assert gap < wait + 0.5, f"retry {n + 1} came {gap:.3f} s after the previous attempt (wait {wait:.3f} s)"
    assert 0.85 * 0.7 <= elapsed < 0.7 * 1.15 + 2


# ----------------------------------------------------------------------------- batching


def test_batches_by_size(endpoint_factory):
    ep = endpoint_factory()
    sender = FirehoseSender(ep.url, "k", buffer_size=1000, buffer_interval=900)
    rec = lambda i: json.dumps({"i": i, "pad": ""}).encode().ljust(100)  # noqa: E731 - 100 bytes each
    delivered = []
    for i in range(35):
        delivered += sender.put(rec(i))
    assert [len(d.records) for d in delivered] == [10, 10, 10]
    assert sender.buffered == 5
    delivered += sender.flush()
    assert [len(d.records) for d in delivered] == [10, 10, 10, 5]
    assert [len(ep.records(i)) for i in range(4)] == [10, 10, 10, 5]
    assert b"".join(b"".join(ep.records(i)) for i in range(4)) == b"".join(rec(i) for i in range(35))
    assert all(sum(len(r) for r in ep.records(i)) <= 1000 for i in range(4))
    assert len({d.request_id for d in delivered}) == 4  # a new batch, a new id
    # a record that would overflow the buffer starts the next batch
    ep2 = endpoint_factory()
    s2 = FirehoseSender(ep2.url, "k", buffer_size=250, buffer_interval=900)
    out = s2.put(b"a" * 200) + s2.put(b"b" * 100) + s2.put(b"c" * 150) + s2.close()
    assert [[len(r) for r in d.records] for d in out] == [[200], [100, 150]]
    # a record over Firehose's 1,000 KiB is refused, as PutRecord would
    with pytest.raises(ValueError):
        sender.put(b"x" * (MAX_RECORD_SIZE + 1))
    # and a batch holds at most max_records
    ep3 = endpoint_factory()
    s3 = FirehoseSender(ep3.url, "k", max_records=4, buffer_interval=900)
    assert [len(d.records) for d in s3.put_many([b"{}"] * 9) + s3.close()] == [4, 4, 1]


def test_batches_by_interval(endpoint_factory):
    ep = endpoint_factory()
    now = [1000.0]
    sender = FirehoseSender(ep.url, "k", buffer_interval=5, clock=lambda: now[0])
    assert sender.poll() == []
    for t in (1000.0, 1001.0, 1002.0):
        now[0] = t
        assert sender.put({"t": t}) == []
    now[0] = 1004.9
    assert sender.poll() == [] and len(ep.requests) == 0
    now[0] = 1005.0  # 5 s after the first buffered record
    out = sender.poll()
    assert len(out) == 1 and len(out[0].records) == 3 and len(ep.requests) == 1
    now[0] = 1006.0
    sender.put({"t": 1006})
    now[0] = 1010.9
    assert sender.poll() == []
    now[0] = 1011.0
    assert [len(d.records) for d in sender.poll()] == [1]
    assert sender.poll() == [] and len(ep.requests) == 2


def test_background_mode_buffers_while_a_batch_is_retried(endpoint_factory):
    """The producer never waits for the endpoint: records keep being buffered while a
    batch is retried, and every batch goes out in order."""
    ep = endpoint_factory(script=[503, 503])
    sender = FirehoseSender(ep.url, "k", buffer_interval=0.05, base_delay=0.5, background=True)
    longest = 0.0
    for i in range(20):
        t0 = time.monotonic()
        sender.put({"i": i})
        longest = max(longest, time.monotonic() - t0)
        time.sleep(0.05)
    sender.close()
    # a put() that waited for a retry would have taken at least 0.85 * 0.5 s
    assert longest < 0.25, f"put() waited for the endpoint ({longest:.2f} s)"
    assert len(ep.requests) >= 3
    assert all(d.ok for d in sender.deliveries)
    got = [json.loads(r)["i"] for d in sender.deliveries for r in d.records]
    assert got == list(range(20))
    assert len(sender.deliveries[0].attempts) == 3


def test_gzip_body(endpoint_factory):
    ep = endpoint_factory()
    d = FirehoseSender(ep.url, "k", gzip=True).deliver([{"a": 1}, {"b": 2}])
    assert d.ok
    assert ep.requests[0]["headers"]["Content-Encoding"] == "gzip"
    assert ep.requests[0]["body"][:2] == b"\x1f\x8b"
    assert ep.records(0) == [b'{"a":1}', b'{"b":2}']
    assert ep.envelope(0)["requestId"] == d.request_id


# ----------------------------------------------------------------------------- the real hydrant


def test_sender_against_hydrant(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, metadata="_firehose")])
    sender = FirehoseSender(hydrant.url(DEFAULT_PATH), DEFAULT_KEY, source_arn=ARN, gzip=True,
                            common_attributes={"site": "lab"}, buffer_size=2000, buffer_interval=900)
    deliveries = sender.put_many({"_id": f"r{i}", "i": i, "pad": "p" * 50} for i in range(50)) + sender.close()
    assert len(deliveries) > 1 and all(d.ok and len(d.attempts) == 1 for d in deliveries)
    assert db.records.count_documents({}) == 50
    doc = db.records.find_one({"_id": "r7"})
    assert doc["i"] == 7
    assert doc["_firehose"]["sourceArn"] == ARN
    assert doc["_firehose"]["commonAttributes"] == {"site": "lab"}
    assert doc["_firehose"]["requestId"] in {d.request_id for d in deliveries}
    # a wrong key is a 401, which Firehose retries (it is not a 413) until the duration runs out
    bad = FirehoseSender(hydrant.url(DEFAULT_PATH), "wrong-key", sleep=RecordingSleep(), rng=FixedFactor(0.5),
                         retry_duration=2.5)
    d = bad.deliver([{"_id": "never"}])
    assert not d.ok and d.status == 401 and len(d.attempts) == 2  # waits 1 s, then 1+2 s would pass 2.5 s
    # a body over max_body is a 413: given up at once
    small = start_hydrant([endpoint_config(db_name, path="/firehose/small")], server={"max_body": "10KiB"})
    big = FirehoseSender(small.url("/firehose/small"), DEFAULT_KEY, sleep=RecordingSleep(), retry_duration=300)
    d = big.deliver([{"_id": "big", "pad": "x" * 20000}])
    assert not d.ok and d.status == 413 and len(d.attempts) == 1 and big.sleep.calls == []
    assert db.records.count_documents({"_id": {"$in": ["never", "big"]}}) == 0


def test_close_with_a_timeout_gives_up_instead_of_retrying_on(endpoint_factory):
    """A program told to stop does not hang for the rest of the retry duration: close(timeout)
    cuts the wait in progress short, and no retry may end after the timeout."""
    ep = endpoint_factory(then=503)
    sender = FirehoseSender(ep.url, "k", buffer_interval=0.01, retry_duration=7200, background=True)
    sender.put({"a": 1})
    deadline = time.monotonic() + 10
    while len(ep.requests) < 2 and time.monotonic() < deadline:  # 1st attempt, 1 s wait, 2nd attempt
        time.sleep(0.05)
    assert len(ep.requests) == 2
    time.sleep(0.3)  # now in the 2 s wait before the 3rd attempt
    t0 = time.monotonic()
    sender.close(timeout=1.0)
    took = time.monotonic() - t0
    assert took < 2.5, f"close(timeout=1) took {took:.1f} s"
    [d] = sender.deliveries
    assert not d.ok and "closed" in d.gave_up, d.gave_up
    assert len(ep.requests) == 3  # the cut-short wait still ends in one more attempt
    assert len({r["headers"]["X-Amz-Firehose-Request-Id"] for r in ep.requests}) == 1


def test_sender_over_https(tmp_path, start_hydrant, db, db_name):
    """Firehose only speaks HTTPS: the sender does too, verifying the certificate."""
    from test_tls import make_cert

    cert, key = make_cert(tmp_path)
    hydrant = start_hydrant([endpoint_config(db_name)], server={"tls_cert": str(cert), "tls_key": str(key)})
    url = hydrant.url(DEFAULT_PATH)
    assert url.startswith("https://")
    sender = FirehoseSender(url, DEFAULT_KEY, verify=str(cert), buffer_interval=900)
    out = sender.put_many({"_id": f"t{i}"} for i in range(3)) + sender.close()
    assert [d.ok for d in out] == [True] and db.records.count_documents({}) == 3
    # without the certificate's CA the TLS handshake fails: a connection error, retried, then given up
    strict = FirehoseSender(url, DEFAULT_KEY, sleep=RecordingSleep(), rng=FixedFactor(0.5), retry_duration=1)
    d = strict.deliver([{"_id": "never"}])
    assert not d.ok and d.status is None and "CERTIFICATE" in d.error.upper() and len(d.attempts) == 2
