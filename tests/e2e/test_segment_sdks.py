"""Segment's own clients against hydrant's `[[segment]] kind = "tracking-api"`
endpoint (docs/segment.md), with nothing in between:

- segment-analytics-python (tests/e2e/requirements.txt): every call type, sync and
  async with gzip, and a messageId sent twice;
- @segment/analytics-node (tests/e2e/js/node-sdk.js, run with `node`);
- analytics.js, the standalone build of @segment/analytics-next, loaded by Segment's
  snippet on a small shop page (tests/e2e/js/page/index.html) in headless Debian
  Chromium driven by playwright-core (tests/e2e/js/browser.js). The page, the
  analytics.js files and the source's settings come from a small "CDN" served by
  this module on another port, so every call to hydrant is cross-origin (CORS).

What each client put on the wire is read back (a requests hook for Python, the
SDK's `http_request` event for Node, Playwright's request events for the browser),
and each stored document is checked against it: the event as sent, `_id` =
`messageId`, no `writeKey`, and the server-side dates of docs/segment.md.

The JavaScript dependencies live in tests/e2e/js/node_modules and Chromium is
Debian's /usr/bin/chromium: scripts/install-deps.sh installs both. A missing tool
fails the test, never skips it.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from support import free_port

WRITE_KEY = "wk-test"
JS_DIR = Path(__file__).resolve().parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
UMD_DIR = NODE_MODULES / "@segment" / "analytics-next" / "dist" / "umd"
PAGE = JS_DIR / "page" / "index.html"
CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
INSTALL_HINT = "run scripts/install-deps.sh"
UTC = dt.timezone.utc
# One clock on both sides here, so every date hydrant sets is near the test's own.
CLOCK_SLACK = dt.timedelta(seconds=2)
MS = dt.timedelta(milliseconds=1)


def tracking_api(db_name: str, **overrides) -> dict:
    cfg = {
        "table": "segment",
        "kind": "tracking-api",
        "path": "/v1",
        "write_keys": [WRITE_KEY],
        "database": db_name,
        "collection": "events",
        "cors_origins": ["*"],
    }
    cfg.update(overrides)
    return cfg


@pytest.fixture
def segment_hydrant(start_hydrant, db_name):
    return start_hydrant(endpoints=[tracking_api(db_name)])


# --------------------------------------------------------------------------------------
# checks shared by every client


def utc(d: dt.datetime) -> dt.datetime:
    """pymongo gives naive UTC datetimes; the test's own are aware."""
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def parse_iso(s: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    assert d.tzinfo is not None, f"client sent a date without a zone: {s!r}"
    return d.astimezone(UTC)


def assert_subset(sent, stored, where: str) -> None:
    """Every key the client sent is stored with the same value (a batch's context
    and integrations may add keys to an event's: docs/segment.md)."""
    assert isinstance(stored, dict), f"{where}: stored {stored!r}, sent {sent!r}"
    for k, v in sent.items():
        assert k in stored, f"{where}.{k} was sent ({v!r}) but is not stored: {stored!r}"
        if isinstance(v, dict):
            assert_subset(v, stored[k], f"{where}.{k}")
        else:
            assert stored[k] == v, f"{where}.{k}: stored {stored[k]!r}, sent {v!r}"


def check_stored(doc: dict | None, sent: dict, batch_sent_at: str | None,
                 t0: dt.datetime, t1: dt.datetime) -> None:
    """`doc` is what hydrant stored for `sent`, the event as the client put it on the
    wire; t0..t1 brackets the client's requests."""
    mid = sent["messageId"]
    assert doc is not None, f"event {mid} ({sent.get('type')}) was not stored"
    assert doc["_id"] == mid
    assert doc.get("messageId") == mid, f"messageId not kept: {doc.get('messageId')!r}"
    assert "writeKey" not in doc, f"the write key was stored: {doc['writeKey']!r}"
    for k, v in sent.items():
        if k in ("timestamp", "sentAt", "originalTimestamp", "receivedAt", "writeKey"):
            continue
        if k in ("context", "integrations"):
            assert_subset(v, doc.get(k), k)
        else:
            assert k in doc, f"{k} was sent ({v!r}) but is not stored; doc: {doc!r}"
            assert doc[k] == v, f"{k}: stored {doc[k]!r}, sent {v!r}"

    for k in ("receivedAt", "timestamp", "originalTimestamp", "sentAt"):
        assert isinstance(doc.get(k), dt.datetime), f"{k} is not a BSON date: {doc.get(k)!r} (doc: {doc!r})"
    received = utc(doc["receivedAt"])
    assert t0 - CLOCK_SLACK <= received <= t1 + CLOCK_SLACK, f"receivedAt {received} not within {t0}..{t1}"

    assert "timestamp" in sent, f"the client sent no timestamp: {sent!r}"
    original = parse_iso(sent["timestamp"])
    assert abs(utc(doc["originalTimestamp"]) - original) <= MS, (
        f"originalTimestamp {doc['originalTimestamp']} is not the client's timestamp {sent['timestamp']}")

    sent_at_text = sent.get("sentAt") or batch_sent_at
    assert sent_at_text, f"the client sent no sentAt: {sent!r}"
    sent_at = parse_iso(sent_at_text)
    assert abs(utc(doc["sentAt"]) - sent_at) <= MS, f"sentAt {doc['sentAt']} is not the client's {sent_at_text}"

    # docs/segment.md: timestamp = receivedAt - (sentAt - originalTimestamp)
    want = received - (sent_at - original)
    assert abs(utc(doc["timestamp"]) - want) <= 3 * MS, (
        f"timestamp {doc['timestamp']} != receivedAt {received} - (sentAt {sent_at} - "
        f"originalTimestamp {original}) = {want}")


def wait_docs(coll, ids, timeout: float = 10.0) -> dict:
    """The documents with these _ids, waiting up to `timeout` for all to be there."""
    ids = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        docs = {d["_id"]: d for d in coll.find({"_id": {"$in": ids}})}
        if len(docs) == len(ids) or time.monotonic() > deadline:
            return docs
        time.sleep(0.2)


def basic_auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def header(headers: dict, name: str):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


# --------------------------------------------------------------------------------------
# segment-analytics-python


def python_sdk():
    try:
        from segment.analytics import Client
        from segment.analytics import request as segment_request
        from segment.analytics.version import VERSION
    except ImportError as e:
        pytest.fail(f"segment-analytics-python is not installed in this Python ({e}): {INSTALL_HINT}")
    return Client, segment_request, VERSION


class PythonWire:
    """Records what segment-analytics-python sends and what it gets back: a response
    hook on the module-level requests session the SDK posts through."""

    def __init__(self, segment_request):
        self.session = segment_request._session
        self.exchanges: list[dict] = []
        self._lock = threading.Lock()

    def _hook(self, response, *args, **kwargs):
        req = response.request
        body = req.body
        if isinstance(body, str):
            body = body.encode()
        raw_len = len(body or b"")
        if header(req.headers, "Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self._lock:
            self.exchanges.append({
                "url": req.url,
                "headers": dict(req.headers),
                "raw_len": raw_len,
                "body": json.loads(body),
                "status": response.status_code,
                "response": response.text,
            })

    def __enter__(self):
        self.session.hooks["response"].append(self._hook)
        return self

    def __exit__(self, *exc):
        self.session.hooks["response"].remove(self._hook)

    def events(self) -> dict:
        """messageId -> (event as sent, the batch's sentAt)"""
        out = {}
        for ex in self.exchanges:
            for ev in ex["body"]["batch"]:
                out[ev["messageId"]] = (ev, ex["body"].get("sentAt"))
        return out


def check_python_exchanges(wire: PythonWire, hydrant, gzipped: bool) -> None:
    assert wire.exchanges, "the SDK sent nothing"
    for ex in wire.exchanges:
        assert ex["url"] == hydrant.url("/v1/batch"), ex["url"]
        assert ex["status"] == 200, f"{ex['status']} {ex['response']!r} for {ex['body']!r}"
        assert json.loads(ex["response"]).get("success") is True, ex["response"]
        assert header(ex["headers"], "Authorization") == basic_auth(WRITE_KEY)
        assert ex["body"]["writeKey"] == WRITE_KEY
        assert (header(ex["headers"], "Content-Encoding") == "gzip") == gzipped, ex["headers"]


def test_python_sdk_every_call_lands_once(segment_hydrant, db):
    Client, segment_request, version = python_sdk()
    client = Client(WRITE_KEY, host=segment_hydrant.base_url, sync_mode=True, max_retries=1)
    run = uuid.uuid4().hex[:10]
    user, anon = f"py-user-{run}", f"py-anon-{run}"
    t0 = now()
    with PythonWire(segment_request) as wire:
        calls = {
            "identify": client.identify(user, {"email": "ada@example.com", "plan": "pro", "logins": 3}),
            "track": client.track(user, "Order Completed",
                                  {"orderId": run, "revenue": 42.5, "products": [{"sku": "A-1", "qty": 2}]}),
            "page": client.page(user, category="Docs", name="Getting Started", properties={"path": "/docs"}),
            "screen": client.screen(anonymous_id=anon, name="Home", properties={"variant": "B"}),
            "group": client.group(user, f"group-{run}", {"name": "Hydrant Inc", "employees": 12}),
            "alias": client.alias(anon, user),
        }
    t1 = now()
    check_python_exchanges(wire, segment_hydrant, gzipped=False)
    assert len(wire.exchanges) == len(calls)
    sent = wire.events()

    coll = db["events"]
    for call, (queued, msg) in calls.items():
        assert queued, f"{call}: the SDK did not take the call"
        mid = msg["messageId"]
        assert coll.count_documents({"_id": mid}) == 1, f"{call} {mid}"
        doc = coll.find_one({"_id": mid})
        event, batch_sent_at = sent[mid]
        check_stored(doc, event, batch_sent_at, t0, t1)
        assert doc["type"] == call
        assert doc["context"]["library"] == {"name": "analytics-python", "version": version}
    assert coll.count_documents({}) == len(calls)
    track = coll.find_one({"_id": calls["track"][1]["messageId"]})
    assert track["event"] == "Order Completed"
    assert track["properties"] == {"orderId": run, "revenue": 42.5, "products": [{"sku": "A-1", "qty": 2}]}
    alias = coll.find_one({"_id": calls["alias"][1]["messageId"]})
    assert (alias["previousId"], alias["userId"]) == (anon, user)
    group = coll.find_one({"_id": calls["group"][1]["messageId"]})
    assert group["groupId"] == f"group-{run}"


def test_python_sdk_same_message_id_twice_is_one_document(segment_hydrant, db):
    Client, segment_request, _ = python_sdk()
    client = Client(WRITE_KEY, host=segment_hydrant.base_url, sync_mode=True, max_retries=1)
    mid = f"py-dup-{uuid.uuid4()}"
    t0 = now()
    with PythonWire(segment_request) as wire:
        client.track("py-user", "Clicked", {"attempt": 1}, message_id=mid)
        client.track("py-user", "Clicked", {"attempt": 2}, message_id=mid)
    t1 = now()
    check_python_exchanges(wire, segment_hydrant, gzipped=False)
    assert len(wire.exchanges) == 2

    coll = db["events"]
    assert coll.count_documents({}) == 1
    doc = coll.find_one({"_id": mid})
    # docs/segment.md: a retried delivery replaces the document
    last = wire.exchanges[-1]["body"]
    check_stored(doc, last["batch"][0], last["sentAt"], t0, t1)
    assert doc["properties"] == {"attempt": 2}


def test_python_sdk_async_gzip_batches(segment_hydrant, db):
    Client, segment_request, _ = python_sdk()
    errors = []
    client = Client(WRITE_KEY, host=segment_hydrant.base_url, sync_mode=False, gzip=True,
                    upload_size=20, max_retries=2, on_error=lambda e, batch: errors.append((e, len(batch))))
    run = uuid.uuid4().hex[:10]
    n = 50
    ids = []
    t0 = now()
    with PythonWire(segment_request) as wire:
        try:
            for i in range(n):
                queued, msg = client.track(f"py-user-{i % 7}", "Item Viewed", {"run": run, "i": i})
                assert queued, f"event {i} was not queued"
                ids.append(msg["messageId"])
            client.flush()
        finally:
            client.shutdown()
    t1 = now()
    assert not errors, f"the SDK reported errors: {errors}"
    check_python_exchanges(wire, segment_hydrant, gzipped=True)
    # 50 events in batches of at most 20: several gzip'd requests
    assert len(wire.exchanges) >= 3, [len(ex["body"]["batch"]) for ex in wire.exchanges]
    for ex in wire.exchanges:
        assert ex["raw_len"] < len(json.dumps(ex["body"])), "the body was not compressed"
    sent = wire.events()
    assert sorted(sent) == sorted(ids)

    coll = db["events"]
    assert coll.count_documents({"properties.run": run}) == n
    assert coll.count_documents({}) == n
    docs = {d["_id"]: d for d in coll.find({})}
    assert sorted(docs) == sorted(ids)
    for mid in ids:
        event, batch_sent_at = sent[mid]
        check_stored(docs[mid], event, batch_sent_at, t0, t1)
    assert sorted(d["properties"]["i"] for d in docs.values()) == list(range(n))

    # hydrant's request log: one line per gzip'd batch, with what it wrote
    def logged():
        return [r for r in segment_hydrant.log_records()
                if r.get("msg") == "request" and r.get("method") == "POST" and r.get("endpoint") == "/v1"]
    deadline = time.monotonic() + 5
    while len(logged()) < len(wire.exchanges) and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = logged()
    assert sorted((r.get("status"), r.get("records"), r.get("written")) for r in lines) == sorted(
        (200, len(ex["body"]["batch"]), len(ex["body"]["batch"])) for ex in wire.exchanges), lines


# --------------------------------------------------------------------------------------
# Node.js: @segment/analytics-node, and playwright-core for the browser


def node_bin() -> str:
    node = shutil.which("node")
    if not node:
        pytest.fail("`node` is not on PATH: the Node.js SDK and browser tests need Node.js 20 or later")
    return node


def require_js_packages() -> None:
    """tests/e2e/js/node_modules holds exactly the versions package.json pins."""
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    problems = []
    for name, version in pinned.items():
        manifest = NODE_MODULES / name / "package.json"
        if not manifest.exists():
            problems.append(f"{name} is not installed")
            continue
        have = json.loads(manifest.read_text()).get("version")
        if have != version:
            problems.append(f"{name} is {have}, package.json pins {version}")
    if problems:
        pytest.fail(f"tests/e2e/js/node_modules: {'; '.join(problems)}: {INSTALL_HINT}")


def run_node(script: str, *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Runs a script of tests/e2e/js; returns the process and the JSON object on its
    last stdout line (None when there is none)."""
    node = node_bin()
    require_js_packages()
    try:
        proc = subprocess.run([node, str(JS_DIR / script), *args], cwd=JS_DIR, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{script} did not finish in {timeout}s\nstdout: {e.stdout}\nstderr: {e.stderr}")
    report = None
    lines = proc.stdout.strip().splitlines()
    if lines:
        try:
            report = json.loads(lines[-1])
        except ValueError:
            pass
    return proc, report


def test_node_sdk_every_call_lands_once(segment_hydrant, db):
    run = uuid.uuid4().hex[:10]
    t0 = now()
    proc, report = run_node("node-sdk.js", "--host", segment_hydrant.base_url, "--write-key", WRITE_KEY,
                            "--run-id", run)
    t1 = now()
    assert proc.returncode == 0 and report is not None, (
        f"node-sdk.js exited {proc.returncode}\nstderr: {proc.stderr[-4000:]}\nstdout: {proc.stdout[-4000:]}\n"
        f"hydrant:\n{segment_hydrant.output()}")
    assert report["errors"] == []
    assert report["requests"], "the SDK sent nothing"
    sent = {}
    for req in report["requests"]:
        assert req["url"] == segment_hydrant.url("/v1/batch"), req["url"]
        assert req["method"] == "POST"
        assert header(req["headers"], "Authorization") == basic_auth(WRITE_KEY)
        body = json.loads(req["body"])
        assert body["writeKey"] == WRITE_KEY
        for ev in body["batch"]:
            sent[ev["messageId"]] = (ev, body.get("sentAt"))
    assert [r["status"] for r in report["responses"]] == [200] * len(report["requests"])

    ids = report["messageIds"]
    assert sorted(ids) == ["alias", "group", "identify", "page", "screen", "track"]
    assert sorted(sent) == sorted(ids.values())
    coll = db["events"]
    for call, mid in ids.items():
        assert coll.count_documents({"_id": mid}) == 1, f"{call} {mid}"
        doc = coll.find_one({"_id": mid})
        event, batch_sent_at = sent[mid]
        check_stored(doc, event, batch_sent_at, t0, t1)
        assert doc["type"] == call
        assert doc["context"]["library"]["name"] == "@segment/analytics-node"
    assert coll.count_documents({}) == len(ids)
    assert coll.find_one({"_id": ids["track"]})["properties"] == {"sku": "SKU-42", "price": 19.99, "tags": ["a", "b"]}


class SegmentCDN:
    """Serves, on its own port, what analytics.js gets from Segment's CDN and the page
    that loads it: the favorites page, the standalone build and its chunks from
    @segment/analytics-next's dist/umd, and the source's settings, whose
    integrations["Segment.io"] send events to `api_host` over http."""

    def __init__(self, api_host: str, write_key: str):
        self.api_host = api_host
        self.write_key = write_key
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.paths: list[str] = []
        self.server: ThreadingHTTPServer | None = None

    def settings(self) -> dict:
        return {
            "integrations": {
                "Segment.io": {
                    "apiKey": self.write_key,
                    "apiHost": self.api_host,
                    "protocol": "http",
                    "unbundledIntegrations": [],
                    "addBundledMetadata": True,
                    "maybeBundledConfigIds": {},
                    "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]},
                },
            },
            "plan": {
                "track": {"__default": {"enabled": True, "integrations": {}}},
                "identify": {"__default": {"enabled": True}},
                "group": {"__default": {"enabled": True}},
            },
            "edgeFunction": {},
            "analyticsNextEnabled": True,
            "middlewareSettings": {},
            "enabledMiddleware": {},
            "metrics": {"sampleRate": 0},  # no metrics to api.segment.io
            "legacyVideoPluginsEnabled": False,
            "remotePlugins": [],
        }

    def _route(self, path: str) -> tuple[int, str, bytes]:
        key = re.escape(self.write_key)
        if path == "/index.html":
            return 200, "text/html; charset=utf-8", PAGE.read_bytes()
        if re.fullmatch(rf"/analytics\.js/v1/{key}/analytics\.min\.js", path):
            return 200, "application/javascript", (UMD_DIR / "standalone.js").read_bytes()
        m = re.fullmatch(r"/analytics-next/bundles/([A-Za-z0-9_.-]+\.js)", path)
        if m and (UMD_DIR / m.group(1)).is_file():
            return 200, "application/javascript", (UMD_DIR / m.group(1)).read_bytes()
        if re.fullmatch(rf"/v1/projects/{key}/settings", path):
            return 200, "application/json", json.dumps(self.settings()).encode()
        if path == "/favicon.ico":
            return 204, "image/x-icon", b""
        return 404, "text/plain", b"not found\n"

    def start(self) -> "SegmentCDN":
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                cdn.paths.append(path)
                status, ctype, body = cdn._route(path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM} (Debian package chromium): {INSTALL_HINT}")
    if not (UMD_DIR / "standalone.js").exists():
        pytest.fail(f"{UMD_DIR}/standalone.js is missing: {INSTALL_HINT}")


def test_analytics_js_preflight(segment_hydrant):
    """The CORS preflight analytics.js makes before each call, as Chromium 156 sent it
    in the browser test. Its body is text/plain, but @segment/analytics-next 1.84.3
    adds `Authorization: Basic <writeKey:>` (and `X-Retry-Count` on a retry), so every
    call is preflighted, and the answer must allow those request headers by name: a
    `*` in Access-Control-Allow-Headers never covers Authorization (Fetch standard)."""
    origin = "http://127.0.0.1:8080"
    for path in ("/v1/p", "/v1/t"):
        for asked in ("authorization", "authorization,x-retry-count"):
            r = requests.options(segment_hydrant.url(path), timeout=10, headers={
                "Accept": "*/*",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": asked,
                "Origin": origin,
                "Sec-Fetch-Mode": "cors",
                "Sec-Fetch-Site": "same-site",
                "Sec-Fetch-Dest": "empty",
                "Referer": origin + "/",
            })
            what = f"OPTIONS {path} asking for {asked!r}: {r.status_code} {dict(r.headers)}"
            assert r.status_code == 204, what
            assert r.headers.get("Access-Control-Allow-Origin") in (origin, "*"), what
            allowed = {h.strip().lower() for h in r.headers.get("Access-Control-Allow-Headers", "").split(",")}
            missing = set(asked.split(",")) - allowed
            assert not missing, f"{what}: Access-Control-Allow-Headers does not name {sorted(missing)}"


def test_browser_analytics_js_favorite_click(segment_hydrant, db, tmp_path):
    require_chromium()
    item = "Espresso Grinder"
    api = segment_hydrant.url("/v1")
    cdn = SegmentCDN(api_host=f"127.0.0.1:{segment_hydrant.port}/v1", write_key=WRITE_KEY).start()
    # ajs_aid= sets the visitor's anonymousId; analytics.js reads it with code from a
    # chunk it loads on demand (queryString), so chunk loading is exercised too
    anon = f"browser-anon-{uuid.uuid4().hex[:10]}"
    page_url = f"{cdn.origin}/index.html?writeKey={WRITE_KEY}&ajs_aid={anon}"
    try:
        t0 = now()
        proc, report = run_node("browser.js", "--url", page_url, "--api", api, "--item", item,
                                "--chromium", str(CHROMIUM), "--screenshot", str(tmp_path / "favorites.png"))
        t1 = now()
    finally:
        cdn.stop()

    def diagnostics() -> str:
        r = report or {}
        return (f"browser.js exited {proc.returncode}: {r.get('error')}\nstderr: {proc.stderr[-3000:]}\n"
                f"failed requests: {r.get('failed')}\nconsole: {list(dict.fromkeys(r.get('console', [])))}\n"
                f"page errors: {r.get('pageErrors')}\nserved by the CDN: {cdn.paths}\n"
                f"responses: {[(x['method'], x['url'], x['status']) for x in r.get('responses', [])]}\n"
                f"hydrant:\n{segment_hydrant.output()}")

    assert proc.returncode == 0 and report is not None and report["error"] is None, diagnostics()
    assert report["pageErrors"] == [], diagnostics()
    assert report["status"] == f"Favorited {item}"
    # analytics.js came from our CDN, and so did the settings that point it at hydrant
    assert f"/analytics.js/v1/{WRITE_KEY}/analytics.min.js" in cdn.paths, diagnostics()
    assert f"/v1/projects/{WRITE_KEY}/settings" in cdn.paths, diagnostics()
    chunks = [p for p in cdn.paths if p.startswith("/analytics-next/bundles/")]
    assert any("queryString" in p for p in chunks), diagnostics()
    assert all((UMD_DIR / p.rsplit("/", 1)[1]).is_file() for p in chunks), diagnostics()

    posts = {}
    for req in report["requests"]:
        if req["method"] == "POST" and req["url"].startswith(api + "/"):
            posts.setdefault(req["url"][len(api) + 1:], []).append(req)
    assert sorted(posts) == ["p", "t"] and all(len(v) == 1 for v in posts.values()), diagnostics()
    sent = {}
    for letter, (req,) in posts.items():
        # analytics.js posts text/plain (no preflight for the body's type) with the key in the body
        assert header(req["headers"], "Content-Type").startswith("text/plain"), req["headers"]
        body = json.loads(req["postData"])
        assert body["writeKey"] == WRITE_KEY
        sent[letter] = body
        answers = [r for r in report["responses"] if r["method"] == "POST" and r["url"] == req["url"]]
        assert [a["status"] for a in answers] == [200], diagnostics()
        allow = header(answers[0]["headers"] or {}, "Access-Control-Allow-Origin")
        assert allow in (cdn.origin, "*"), f"Access-Control-Allow-Origin {allow!r}: {answers[0]['headers']}"
    assert sent["t"]["type"] == "track" and sent["t"]["event"] == "Favorited"
    assert sent["t"]["properties"] == {"itemName": item}
    assert sent["p"]["type"] == "page"

    coll = db["events"]
    docs = wait_docs(coll, [sent["p"]["messageId"], sent["t"]["messageId"]])
    for letter, event in sent.items():
        doc = docs.get(event["messageId"])
        check_stored(doc, event, None, t0, t1)
        assert doc["context"]["library"]["name"] == "analytics.js"
        assert doc["context"]["page"]["url"] == page_url
        assert doc["context"]["userAgent"] == event["context"]["userAgent"]
    track = docs[sent["t"]["messageId"]]
    assert track["type"] == "track" and track["event"] == "Favorited"
    assert track["properties"] == {"itemName": item}
    assert sent["p"]["anonymousId"] == anon and sent["t"]["anonymousId"] == anon
    assert track["anonymousId"] == anon and docs[sent["p"]["messageId"]]["anonymousId"] == anon
    assert docs[sent["p"]["messageId"]]["type"] == "page"
    assert coll.count_documents({"type": "track", "event": "Favorited"}) == 1
    assert coll.count_documents({}) == 2
