"""Any webhook (`[[webhook]]`, docs/webhooks.md, SPEC §4b): every signature preset
against signatures made by the providers' own libraries, the published test vectors,
refusals (401, nothing written), bodies (object, array, form, text, bytes), `_id`,
`_headers`, `_receivedAt`, the answer, 405, 413 and `hydrant check`.

The signatures come from the providers' code, never from hydrant's:
- GitHub: @octokit/webhooks-methods `sign` (tests/e2e/js/octokit-sign.mjs, run with
  `node`), and GitHub's published vector;
- Stripe: `stripe.WebhookSignature.generate_signature_header` (the stripe package's
  helper for signing test payloads), each good header double-checked with
  `stripe.Webhook.construct_event`;
- Slack: `slack_sdk.signature.SignatureVerifier.generate_signature`, double-checked
  with its `is_valid_request`;
- App Services: its published vector (secret `12345`); Shopify, App Services and the
  general `hmac` form: Python's hmac/hashlib/base64, as Shopify's docs do it.
A missing package or Node.js fails the test, never skips it.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
import stripe
from bson import ObjectId
from slack_sdk.signature import SignatureVerifier

from support import free_port, render_config

JS_DIR = Path(__file__).resolve().parent / "js"
OCTOKIT = "@octokit/webhooks-methods"
INSTALL_HINT = "run scripts/install-deps.sh (npm ci in tests/e2e/js)"

UTC_NOW = lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731

SECRETS = {
    "github": "gh-whsec-7d1c0e9b4a",
    "stripe": "whsec_test_5f2b8c9e0a1d4e7f9b3c6a2d",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",  # the example signing secret of Slack's docs
    "shopify": "shpss_3e9a71c0d2b84f5aa6e1",
    "app-services": "as-secret-41b0e2",
    "hmac": "acme-secret-c0ffee-11",
    "query-secret": "legacy-secret-9a7e",
}
WRONG_SECRET = "not-the-secret-at-all"

# The provider configurations of docs/webhooks.md (secrets inline, our own database).
PRESETS = {
    "github": {"verify": "github", "id": "header:X-GitHub-Delivery",
               "headers": ["X-GitHub-Event", "X-GitHub-Hook-ID"], "collection": "github"},
    "stripe": {"verify": "stripe", "id": "id", "tolerance": 300, "collection": "stripe"},
    "slack": {"verify": "slack", "id": "event_id", "headers": ["X-Slack-Retry-Num"], "collection": "slack"},
    "shopify": {"verify": "shopify", "id": "header:X-Shopify-Webhook-Id",
                "headers": ["X-Shopify-Topic", "X-Shopify-Shop-Domain"], "collection": "shopify"},
    "app-services": {"verify": "app-services", "id": "delivery.id", "collection": "app_services",
                     "respond_with_result": True},
    "query-secret": {"verify": "query-secret", "id": "id", "methods": ["POST", "PUT"], "collection": "legacy"},
    "hmac": {"verify": "hmac", "signature_header": "X-Acme-Signature", "algorithm": "sha512",
             "encoding": "base64", "prefix": "sha512=", "id": "header:X-Acme-Delivery", "collection": "acme"},
}
TIMESTAMPED = ("stripe", "slack")


def hook(db_name: str, preset: str, **overrides) -> dict:
    """A [[webhook]] table for `preset` (a value of None leaves a key out)."""
    ep = {"table": "webhook", "path": f"/hooks/{preset}", "secret": SECRETS[preset], "database": db_name}
    ep.update(PRESETS[preset])
    ep.update(overrides)
    return ep


def now_s() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------
# The providers' own signing code


_octokit_cache: dict[tuple[str, str], str] = {}


def octokit_sign(secret: str, *payloads: str) -> list[str]:
    """`sign(secret, payload)` of @octokit/webhooks-methods, for each payload."""
    todo = [p for p in payloads if (secret, p) not in _octokit_cache]
    if todo:
        node = shutil.which("node")
        if not node:
            pytest.fail("`node` is not on PATH: the GitHub signatures come from @octokit/webhooks-methods")
        pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"][OCTOKIT]
        manifest = JS_DIR / "node_modules" / OCTOKIT / "package.json"
        if not manifest.exists():
            pytest.fail(f"{OCTOKIT} is not installed in tests/e2e/js/node_modules: {INSTALL_HINT}")
        have = json.loads(manifest.read_text()).get("version")
        if have != pinned:
            pytest.fail(f"{OCTOKIT} is {have}, package.json pins {pinned}: {INSTALL_HINT}")
        proc = subprocess.run([node, str(JS_DIR / "octokit-sign.mjs")], cwd=JS_DIR, capture_output=True,
                              text=True, timeout=60, input=json.dumps({"secret": secret, "payloads": todo}))
        assert proc.returncode == 0, f"octokit-sign.mjs exited {proc.returncode}: {proc.stderr[-2000:]}"
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        assert report["version"] == pinned, report
        assert report["verified"] == [True] * len(todo), report
        for p, sig in zip(todo, report["signatures"]):
            _octokit_cache[(secret, p)] = sig
    return [_octokit_cache[(secret, p)] for p in payloads]


def stripe_header(body: bytes, secret: str, ts: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret,
                                                             timestamp=now_s() if ts is None else ts)


def slack_headers(body: bytes, secret: str, ts: int | None = None) -> dict:
    ts = now_s() if ts is None else ts
    sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


def b64_hmac(secret: str, body: bytes, digest) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, digest).digest()).decode()


def signature(preset: str, body: bytes, secret: str | None = None, ts: int | None = None) -> tuple[dict, dict]:
    """(headers, query parameters) signing `body` the way the provider does."""
    secret = SECRETS[preset] if secret is None else secret
    if preset == "github":
        return {"X-Hub-Signature-256": octokit_sign(secret, body.decode())[0]}, {}
    if preset == "stripe":
        return {"Stripe-Signature": stripe_header(body, secret, ts)}, {}
    if preset == "slack":
        return slack_headers(body, secret, ts), {}
    if preset == "shopify":
        return {"X-Shopify-Hmac-Sha256": b64_hmac(secret, body, hashlib.sha256)}, {}
    if preset == "app-services":
        return {"Endpoint-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}, {}
    if preset == "hmac":
        return {"X-Acme-Signature": "sha512=" + b64_hmac(secret, body, hashlib.sha512)}, {}
    if preset == "query-secret":
        return {}, {"secret": secret}
    raise ValueError(preset)


def double_check(preset: str, body: bytes, headers: dict) -> None:
    """The provider's own verifier accepts what we send as a good delivery."""
    if preset == "stripe":
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRETS["stripe"])
        assert event.id == json.loads(body)["id"]
    elif preset == "slack":
        assert SignatureVerifier(SECRETS["slack"]).is_valid_request(body, headers)


# --------------------------------------------------------------------------------------
# Deliveries shaped like the providers'


@dataclass
class Delivery:
    preset: str
    doc: dict                      # the body's JSON
    headers: dict                  # the provider's headers, without the signature
    id: object                     # the `_id` the document gets
    stored_headers: dict = field(default_factory=dict)
    compact: bool = False

    @property
    def body(self) -> bytes:
        if self.compact:
            return json.dumps(self.doc, separators=(",", ":")).encode()
        return json.dumps(self.doc).encode()


def delivery(preset: str, n: int = 0) -> Delivery:
    tag = uuid.uuid4().hex
    if preset == "github":
        guid = str(uuid.uuid4())
        sha = hashlib.sha1(tag.encode()).hexdigest()
        doc = {
            "ref": "refs/heads/main", "before": "0" * 40, "after": sha, "created": False, "forced": False,
            "repository": {"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "hydrant",
                           "full_name": "octo-org/hydrant", "private": False},
            "pusher": {"name": "octocat", "email": "octocat@github.com"},
            "sender": {"login": "octocat", "id": 583231, "type": "User", "site_admin": False},
            "commits": [{"id": sha, "message": f"Fix the flow #{n}", "timestamp": "2024-05-01T12:00:00Z",
                         "added": [], "removed": [], "modified": ["README.md"]}],
        }
        headers = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/7b2c1e5",
                   "X-GitHub-Event": "push", "X-GitHub-Delivery": guid, "X-GitHub-Hook-ID": "498127366",
                   "X-GitHub-Hook-Installation-Target-Type": "repository",
                   "X-GitHub-Hook-Installation-Target-ID": "1296269"}
        return Delivery(preset, doc, headers, guid, {"X-GitHub-Event": "push", "X-GitHub-Hook-ID": "498127366"},
                        compact=True)
    if preset == "stripe":
        evt = f"evt_{tag[:24]}"
        doc = {
            "id": evt, "object": "event", "api_version": "2024-06-20", "created": now_s(),
            "data": {"object": {"id": f"pi_{tag[8:32]}", "object": "payment_intent", "amount": 2000 + n,
                                "currency": "usd", "status": "succeeded", "metadata": {"order": f"o-{n}"}}},
            "livemode": False, "pending_webhooks": 1,
            "request": {"id": f"req_{tag[:14]}", "idempotency_key": None}, "type": "payment_intent.succeeded",
        }
        return Delivery(preset, doc, {"Content-Type": "application/json; charset=utf-8",
                                      "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}, evt)
    if preset == "slack":
        event_id = f"Ev{tag[:10].upper()}"
        doc = {
            "token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A0001",
            "event": {"type": "app_mention", "user": "U0LAN0Z89", "text": f"<@U0LAN0Z89> is it everything a river "
                      f"should be? #{n}", "ts": "1515449522.000016", "channel": "C0LAN2Q65",
                      "event_ts": "1515449522.000016"},
            "type": "event_callback", "event_id": event_id, "event_time": 1515449522,
            "authed_users": ["U0LAN0Z89"],
        }
        return Delivery(preset, doc, {"Content-Type": "application/json", "User-Agent": "Slackbot 1.0"}, event_id,
                        compact=True)
    if preset == "shopify":
        webhook_id = str(uuid.uuid4())
        doc = {
            "id": 820982911946154508 + n, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
            "email": "jon@example.com", "currency": "USD", "total_price": "403.00", "test": True,
            "line_items": [{"id": 866550311766439020, "title": "IPod Nano - 8GB", "quantity": 1, "price": "199.00"},
                           {"id": 141249953214522974, "title": "Tote", "quantity": 2, "price": "102.00"}],
            "customer": {"id": 115310627314723954, "first_name": "John", "last_name": "Smith"},
        }
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                   "X-Shopify-Shop-Domain": "hydrant-test.myshopify.com", "X-Shopify-API-Version": "2024-07",
                   "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Triggered-At": "2024-05-01T12:00:00Z"}
        return Delivery(preset, doc, headers, webhook_id,
                        {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "hydrant-test.myshopify.com"})
    if preset == "app-services":
        did = f"as-{tag}"
        doc = {"message": "MESSAGE", "n": n, "delivery": {"id": did, "attempt": 1}}
        return Delivery(preset, doc, {"Content-Type": "application/json"}, did)
    if preset == "hmac":
        did = f"acme-{tag}"
        doc = {"event": "invoice.paid", "invoice": {"number": f"INV-{n:04d}", "total": 99.5, "paid": True},
               "note": "Zoë's café ☕"}
        return Delivery(preset, doc, {"Content-Type": "application/json", "X-Acme-Delivery": did}, did,
                        compact=True)
    if preset == "query-secret":
        did = f"legacy-{tag}"
        doc = {"id": did, "kind": "ping", "n": n, "tags": ["a", "b"]}
        return Delivery(preset, doc, {"Content-Type": "application/json"}, did)
    raise ValueError(preset)


class Sender:
    def __init__(self, hydrant, path: str):
        self.hydrant = hydrant
        self.path = path
        self.session = requests.Session()

    def send(self, body: bytes, headers: dict | None = None, params: dict | None = None,
             method: str = "POST") -> requests.Response:
        return self.session.request(method, self.hydrant.url(self.path), data=body, headers=headers or {},
                                    params=params or None, timeout=60)

    def send_signed(self, preset: str, body: bytes, headers: dict | None = None, secret: str | None = None,
                    ts: int | None = None, method: str = "POST") -> requests.Response:
        sig, params = signature(preset, body, secret, ts)
        h = dict(headers or {"Content-Type": "application/json"})
        h.update(sig)
        return self.send(body, h, params, method)

    def deliver(self, d: Delivery, ts: int | None = None, extra: dict | None = None) -> requests.Response:
        sig, params = signature(d.preset, d.body, ts=ts)
        headers = dict(d.headers, **sig, **(extra or {}))
        double_check(d.preset, d.body, headers)
        return self.send(d.body, headers, params)


def sender(start_hydrant, db_name, preset: str, server: dict | None = None, **overrides) -> Sender:
    ep = hook(db_name, preset, **overrides)
    return Sender(start_hydrant([ep], server=server), ep["path"])


def assert_ok(resp: requests.Response, ids: list | None = None) -> None:
    """204, or with ids: 200 {"inserted": len(ids), "ids": ids}."""
    if ids is None:
        assert resp.status_code == 204, f"status {resp.status_code}: {resp.text[:500]!r}"
        assert resp.content == b"", resp.content[:200]
        return
    assert resp.status_code == 200, f"status {resp.status_code}: {resp.text[:500]!r}"
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", resp.headers
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"inserted", "ids"}, body
    assert body["inserted"] == len(ids), body
    assert body["ids"] == ids, body


def assert_401(resp: requests.Response) -> None:
    assert resp.status_code == 401, f"status {resp.status_code}: {resp.text[:500]!r}"
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    for secret in [*SECRETS.values(), WRONG_SECRET]:
        assert secret not in resp.text, "a secret is echoed in the response"


def assert_received_at(doc: dict, before: dt.datetime, after: dt.datetime) -> None:
    received = doc.get("_receivedAt")
    assert isinstance(received, dt.datetime), f"_receivedAt is {received!r}, not a BSON date"
    slack = dt.timedelta(seconds=1)
    assert before - slack <= received <= after + slack, f"_receivedAt {received} not in [{before}, {after}]"


def assert_stored(doc: dict | None, d: Delivery, before: dt.datetime, after: dt.datetime) -> None:
    assert doc is not None, f"no document with _id {d.id!r}"
    assert_received_at(doc, before, after)
    stored = dict(doc)
    stored.pop("_receivedAt")
    headers = stored.pop("_headers", {})
    assert headers == d.stored_headers, f"_headers {headers!r}, expected {d.stored_headers!r}"
    assert stored == dict(d.doc, _id=d.id)


def collection(db, preset: str):
    return db[PRESETS[preset]["collection"]]


def rejects(db, preset: str):
    return db[PRESETS[preset]["collection"] + "_rejects"]


# --------------------------------------------------------------------------------------
# The published vectors


GITHUB_VECTOR = ("It's a Secret to Everybody", b"Hello, World!",
                 "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
APP_SERVICES_VECTOR = ("12345", b'{"message":"MESSAGE"}',
                       "828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862")


def test_github_published_vector(start_hydrant, db, db_name):
    secret, body, expected = GITHUB_VECTOR
    assert octokit_sign(secret, body.decode()) == [expected], "@octokit/webhooks-methods disagrees with GitHub's docs"
    wh = sender(start_hydrant, db_name, "github", secret=secret)
    delivery_id = str(uuid.uuid4())
    headers = {"Content-Type": "text/plain", "X-GitHub-Event": "ping", "X-GitHub-Delivery": delivery_id,
               "X-GitHub-Hook-ID": "1", "X-Hub-Signature-256": expected}
    before = UTC_NOW()
    assert_ok(wh.send(body, headers))
    assert_ok(wh.send(body, headers))
    after = UTC_NOW()
    docs = list(db.github.find())
    assert len(docs) == 1, docs
    doc = docs[0]
    assert_received_at(doc, before, after)
    assert doc["_id"] == delivery_id and doc["data"] == "Hello, World!", doc
    assert doc["_headers"] == {"X-GitHub-Event": "ping", "X-GitHub-Hook-ID": "1"}, doc
    assert set(doc) == {"_id", "data", "_headers", "_receivedAt"}, doc

    # one byte off, or the vector's signature for another secret: refused
    assert_401(wh.send(b"Hello, World?", dict(headers, **{"X-GitHub-Delivery": str(uuid.uuid4())})))
    assert db.github.count_documents({}) == 1


@pytest.mark.parametrize("header", ["Endpoint-Signature", "X-Hook-Signature"])
def test_app_services_published_vector(header, start_hydrant, db, db_name):
    secret, body, expected = APP_SERVICES_VECTOR
    assert hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() == expected
    wh = sender(start_hydrant, db_name, "app-services", secret=secret, id=None)
    headers = {"Content-Type": "application/json", header: f"sha256={expected}"}
    before = UTC_NOW()
    resp = wh.send(body, headers)
    after = UTC_NOW()
    assert resp.status_code == 200, f"status {resp.status_code}: {resp.text[:500]!r}"
    ids = resp.json()["ids"]
    assert resp.json()["inserted"] == 1 and len(ids) == 1, resp.json()
    doc = db.app_services.find_one()
    assert isinstance(doc["_id"], ObjectId) and str(doc["_id"]) == ids[0], (doc, ids)
    assert doc["message"] == "MESSAGE" and set(doc) == {"_id", "message", "_receivedAt"}, doc
    assert_received_at(doc, before, after)

    # the vector under the other secret, or over another body: refused
    assert_401(wh.send(b'{"message":"MESSAGF"}', headers))
    assert_401(wh.send(body, {"Content-Type": "application/json",
                              header: "sha256=" + hmac.new(b"54321", body, hashlib.sha256).hexdigest()}))
    assert db.app_services.count_documents({}) == 1


# --------------------------------------------------------------------------------------
# Each preset: a good delivery lands once, however often it is sent


@pytest.mark.parametrize("preset", list(PRESETS))
def test_good_delivery_lands_once(preset, start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, preset)
    d = delivery(preset)
    ids = [d.id] if PRESETS[preset].get("respond_with_result") else None
    before = UTC_NOW()
    if preset in TIMESTAMPED:
        # the provider's retry is signed anew, with a later timestamp
        assert_ok(wh.deliver(d, ts=now_s() - 20), ids)
        assert_ok(wh.deliver(d, ts=now_s() - 20), ids)
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"} if preset == "slack" else {}
        assert_ok(wh.deliver(d, extra=retry), ids)
        if preset == "slack":
            d.stored_headers = {"X-Slack-Retry-Num": "1"}
    else:
        assert_ok(wh.deliver(d), ids)
        assert_ok(wh.deliver(d), ids)
    after = UTC_NOW()
    assert collection(db, preset).count_documents({}) == 1
    assert_stored(collection(db, preset).find_one({"_id": d.id}), d, before, after)

    # a second delivery is a second document
    d2 = delivery(preset, 1)
    assert_ok(wh.deliver(d2), [d2.id] if ids else None)
    assert collection(db, preset).count_documents({}) == 2
    assert_stored(collection(db, preset).find_one({"_id": d2.id}), d2, before, UTC_NOW())
    assert rejects(db, preset).count_documents({}) == 0


# --------------------------------------------------------------------------------------
# Each preset: refusals are 401 and write nothing


def _hmac_header(preset: str) -> str:
    return {"github": "X-Hub-Signature-256", "shopify": "X-Shopify-Hmac-Sha256",
            "app-services": "Endpoint-Signature", "hmac": "X-Acme-Signature"}[preset]


def refusal(preset: str, case: str, d: Delivery) -> tuple[dict, dict]:
    """(headers, params) of a refused delivery of `d`."""
    body = d.body
    other = delivery(preset, 99).body
    good, params = signature(preset, body)
    if case == "wrong-secret":
        sig, params = signature(preset, body, WRONG_SECRET)
    elif case == "signature-of-other-body":
        sig, params = signature(preset, other)
        if preset == "slack":  # the same timestamp, so only the body differs
            sig = slack_headers(other, SECRETS["slack"], int(good["X-Slack-Request-Timestamp"]))
    elif case == "missing-signature":
        sig = {k: v for k, v in good.items() if k == "X-Slack-Request-Timestamp"}
    elif case == "empty-signature":
        sig = {k: ("" if k != "X-Slack-Request-Timestamp" else v) for k, v in good.items()}
    elif case == "truncated-signature":
        k = "X-Slack-Signature" if preset == "slack" else (
            "Stripe-Signature" if preset == "stripe" else _hmac_header(preset))
        sig = dict(good, **{k: good[k][:-4]})
    elif case == "stale-timestamp":
        sig, params = signature(preset, body, ts=now_s() - 600)
    elif case == "future-timestamp":
        sig, params = signature(preset, body, ts=now_s() + 600)
    elif case == "stripe-no-v1":  # only the v0 scheme (Stripe's test mode sends v0 beside v1)
        ts = now_s()
        sig = {"Stripe-Signature": f"t={ts},v0=" + hmac.new(SECRETS["stripe"].encode(), f"{ts}.".encode() + body,
                                                             hashlib.sha256).hexdigest()}
    elif case == "stripe-no-timestamp":
        sig = {"Stripe-Signature": good["Stripe-Signature"].split(",", 1)[1]}
    elif case == "stripe-timestamp-changed":  # a signed header replayed with a fresh t
        t, rest = good["Stripe-Signature"].split(",", 1)
        sig = {"Stripe-Signature": f"t={int(t[2:]) - 1},{rest}"}
    elif case == "slack-missing-timestamp":
        sig = {"X-Slack-Signature": good["X-Slack-Signature"]}
    elif case == "slack-timestamp-changed":
        sig = dict(good, **{"X-Slack-Request-Timestamp": str(int(good["X-Slack-Request-Timestamp"]) - 1)})
    elif case == "github-sha1-only":  # X-Hub-Signature (HMAC-SHA1) is not the one GitHub's docs say to check
        sig = {"X-Hub-Signature": "sha1=" + hmac.new(SECRETS["github"].encode(), body, hashlib.sha1).hexdigest()}
    elif case == "github-no-prefix":
        sig = {"X-Hub-Signature-256": good["X-Hub-Signature-256"].removeprefix("sha256=")}
    elif case == "shopify-hex":
        sig = {"X-Shopify-Hmac-Sha256": hmac.new(SECRETS["shopify"].encode(), body, hashlib.sha256).hexdigest()}
    elif case == "app-services-legacy-wrong":
        sig = {"X-Hook-Signature": "sha256=" + hmac.new(WRONG_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    elif case == "hmac-sha256":  # the right secret, the wrong algorithm
        sig = {"X-Acme-Signature": "sha512=" + b64_hmac(SECRETS["hmac"], body, hashlib.sha256)}
    elif case == "hmac-no-prefix":
        sig = {"X-Acme-Signature": good["X-Acme-Signature"].removeprefix("sha512=")}
    elif case == "hmac-hex":
        sig = {"X-Acme-Signature": "sha512=" + hmac.new(SECRETS["hmac"].encode(), body, hashlib.sha512).hexdigest()}
    elif case == "query-wrong":
        sig, params = {}, {"secret": WRONG_SECRET}
    elif case == "query-missing":
        sig, params = {}, {}
    elif case == "query-empty":
        sig, params = {}, {"secret": ""}
    elif case == "query-prefix":
        sig, params = {}, {"secret": SECRETS["query-secret"][:-1]}
    else:
        raise ValueError(case)
    if preset == "stripe" and case in ("stale-timestamp",):
        # Stripe's own verifier refuses it too
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, sig["Stripe-Signature"], SECRETS["stripe"])
    if preset == "slack" and case in ("stale-timestamp", "future-timestamp"):
        assert not SignatureVerifier(SECRETS["slack"]).is_valid_request(body, sig)
    return dict(d.headers, **sig), params


COMMON = ["wrong-secret", "signature-of-other-body", "missing-signature", "empty-signature", "truncated-signature"]
REFUSALS = {
    "github": COMMON + ["github-sha1-only", "github-no-prefix"],
    "stripe": COMMON + ["stale-timestamp", "future-timestamp", "stripe-no-v1", "stripe-no-timestamp",
                        "stripe-timestamp-changed"],
    "slack": COMMON + ["stale-timestamp", "future-timestamp", "slack-missing-timestamp", "slack-timestamp-changed"],
    "shopify": COMMON + ["shopify-hex"],
    "app-services": COMMON + ["app-services-legacy-wrong"],
    "hmac": COMMON + ["hmac-sha256", "hmac-no-prefix", "hmac-hex"],
    "query-secret": ["query-wrong", "query-missing", "query-empty", "query-prefix"],
}


@pytest.mark.parametrize("preset,case", [(p, c) for p, cases in REFUSALS.items() for c in cases])
def test_refused_is_401_and_writes_nothing(preset, case, start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, preset)
    d = delivery(preset)
    headers, params = refusal(preset, case, d)
    assert_401(wh.send(d.body, headers, params))
    assert collection(db, preset).count_documents({}) == 0
    assert rejects(db, preset).count_documents({}) == 0

    # the same connection, the same delivery signed right: it lands
    assert_ok(wh.deliver(d), [d.id] if PRESETS[preset].get("respond_with_result") else None)
    assert collection(db, preset).count_documents({}) == 1


@pytest.mark.parametrize("preset,case", [("query-secret", "query-wrong"), ("github", "missing-signature"),
                                         ("stripe", "stale-timestamp"), ("slack", "future-timestamp")])
def test_refused_before_the_body_is_read(preset, case, start_hydrant, db, db_name):
    """docs/webhooks.md: the query secret, a missing signature header and a stale Stripe or
    Slack timestamp are refused before the body is even read: the 401 comes while the
    announced body has not been sent."""
    wh = sender(start_hydrant, db_name, preset)
    d = delivery(preset)
    headers, params = refusal(preset, case, d)
    target = wh.path + ("?" + urlencode(params) if params else "")
    head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{wh.hydrant.port}\r\nContent-Length: 1000000\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length") + "\r\n"
    with socket.create_connection(("127.0.0.1", wh.hydrant.port), timeout=10) as sock:
        sock.sendall(head.encode() + d.body[:10])  # and then nothing more
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except socket.timeout:
            pass
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 401"), f"no 401 before the body: {answer[:300]!r}"
    assert collection(db, preset).count_documents({}) == 0


@pytest.mark.parametrize("preset", TIMESTAMPED)
def test_tolerance(preset, start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, preset, tolerance=60)
    d = delivery(preset)
    for ts in (now_s() - 120, now_s() + 120):  # within the default 300 s, not within 60
        assert_401(wh.deliver(d, ts=ts))
    assert collection(db, preset).count_documents({}) == 0
    assert_ok(wh.deliver(d, ts=now_s() - 30))
    assert_ok(wh.deliver(d, ts=now_s() + 30))
    assert collection(db, preset).count_documents({}) == 1


def test_stripe_any_v1_may_match(start_hydrant, db, db_name):
    """While an endpoint's secret is rolled, Stripe signs with the old and the new one."""
    wh = sender(start_hydrant, db_name, "stripe")
    d = delivery("stripe")
    ts = now_s()
    old = stripe_header(d.body, "whsec_the_old_one_0000", ts).split(",", 1)[1]
    new = stripe_header(d.body, SECRETS["stripe"], ts).split(",", 1)[1]
    v0 = "v0=" + "ab" * 32  # Stripe's test mode adds a v0 signature, which is not checked
    for header in (f"t={ts},{old},{new}", f"t={ts},{new},{old}", f"t={ts},{v0},{new}"):
        stripe.WebhookSignature.verify_header(d.body, header, SECRETS["stripe"])  # Stripe's own verifier agrees
        assert_ok(wh.send(d.body, dict(d.headers, **{"Stripe-Signature": header})))
    # hex in either case (docs/webhooks.md)
    assert_ok(wh.send(d.body, dict(d.headers, **{"Stripe-Signature": f"t={ts},v1={new[3:].upper()}"})))
    assert_401(wh.send(d.body, dict(d.headers, **{"Stripe-Signature": f"t={ts},{old},{v0}"})))
    assert db.stripe.count_documents({}) == 1


def test_hex_in_either_case(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "github")
    d = delivery("github")
    sig = octokit_sign(SECRETS["github"], d.body.decode())[0]
    upper = "sha256=" + sig.removeprefix("sha256=").upper()
    assert upper != sig
    assert_ok(wh.send(d.body, dict(d.headers, **{"X-Hub-Signature-256": upper})))
    assert db.github.count_documents({"_id": d.id}) == 1


def test_gzip_body_signed_over_decoded_bytes(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "github")
    d = delivery("github")
    sig = octokit_sign(SECRETS["github"], d.body.decode())[0]
    headers = dict(d.headers, **{"Content-Encoding": "gzip", "X-Hub-Signature-256": sig})
    before = UTC_NOW()
    assert_ok(wh.send(gzip.compress(d.body), headers))
    assert_stored(db.github.find_one({"_id": d.id}), d, before, UTC_NOW())
    # signed over the compressed bytes: refused
    gz = gzip.compress(delivery("github", 2).body)
    wire_sig = "sha256=" + hmac.new(SECRETS["github"].encode(), gz, hashlib.sha256).hexdigest()
    assert_401(wh.send(gz, dict(d.headers, **{"Content-Encoding": "gzip", "X-Hub-Signature-256": wire_sig})))
    assert db.github.count_documents({}) == 1


# --------------------------------------------------------------------------------------
# Bodies


SLASH_COMMAND = (
    "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001"
    "&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test"
    "&user_id=U2147483697&user_name=Steve&command=/weather&text=94070"
    "&response_url=https://hooks.slack.com/commands/1234/5678"
    "&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456"
)


def test_slack_slash_command_form(start_hydrant, db, db_name):
    """A slash command is form-encoded and has no event_id: its `_id` is the hash of its bytes."""
    wh = sender(start_hydrant, db_name, "slack")
    body = SLASH_COMMAND.encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Slackbot 1.0"}
    before = UTC_NOW()
    for ts in (now_s() - 10, now_s()):  # sent, then retried
        h = dict(headers, **slack_headers(body, SECRETS["slack"], ts))
        assert SignatureVerifier(SECRETS["slack"]).is_valid_request(body, h)
        assert_ok(wh.send(body, h))
    after = UTC_NOW()
    docs = list(db.slack.find())
    assert len(docs) == 1, docs
    doc = docs[0]
    assert doc["_id"] == "sha256:" + hashlib.sha256(body).hexdigest(), doc["_id"]
    assert_received_at(doc, before, after)
    assert doc.get("_headers", {}) == {}, doc
    fields = {k: v for k, v in doc.items() if k not in ("_id", "_receivedAt", "_headers")}
    assert fields == {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0001", "team_domain": "example", "enterprise_id": "E0001",
        "enterprise_name": "Globular Construct Inc", "channel_id": "C2147483705", "channel_name": "test",
        "user_id": "U2147483697", "user_name": "Steve", "command": "/weather", "text": "94070",
        "response_url": "https://hooks.slack.com/commands/1234/5678",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0", "api_app_id": "A123456",
    }


def test_form_fields_decoded_and_repeated(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "app-services")
    body = b"name=Zo%C3%AB+Smith&tag=red&tag=sale&tag=new&empty=&note=a%2Bb%26c%3Dd"
    resp = wh.send_signed("app-services", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert resp.status_code == 200, resp.text
    doc = db.app_services.find_one()
    # no delivery.id in a form: the id is the hash of the bytes
    assert resp.json() == {"inserted": 1, "ids": [doc["_id"]]}, resp.json()
    assert doc["_id"] == "sha256:" + hashlib.sha256(body).hexdigest(), doc["_id"]
    assert {k: v for k, v in doc.items() if k not in ("_id", "_receivedAt")} == {
        "name": "Zoë Smith", "tag": ["red", "sale", "new"], "empty": "", "note": "a+b&c=d",
    }, doc


def test_array_body_one_document_per_element(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "app-services")
    elements = [
        json.dumps({"delivery": {"id": "a1"}, "n": 1}),
        json.dumps({"delivery": {"id": "a2"}, "n": 2, "nested": {"list": [1, 2.5, None, True]}}),
        "42",
        ' "just a string" ',
        json.dumps({"delivery": {"id": "a3"}, "n": 3}),
        "[1, 2]",
    ]
    body = ("[" + ",\n".join(elements) + "]").encode()
    before = UTC_NOW()
    resp = wh.send_signed("app-services", body)
    after = UTC_NOW()
    assert_ok(resp, ["a1", "a2", "a3"])
    assert db.app_services.count_documents({}) == 3
    for el in (elements[0], elements[1], elements[4]):
        src = json.loads(el)
        doc = db.app_services.find_one({"_id": src["delivery"]["id"]})
        assert_received_at(doc, before, after)
        assert {k: v for k, v in doc.items() if k != "_receivedAt"} == dict(src, _id=src["delivery"]["id"])

    rej = sorted(db.app_services_rejects.find(), key=lambda r: r["index"])
    assert [r["index"] for r in rej] == [2, 3, 5], rej
    for r, raw in zip(rej, [b"42", b'"just a string"', b"[1, 2]"]):
        assert isinstance(r["data"], bytes), f"data is {type(r['data'])}, not BSON binary"
        assert r["data"].strip() == raw, r
        assert r["endpoint"] == "/hooks/app-services", r
        assert isinstance(r["reason"], str) and r["reason"], r
        assert isinstance(r["requestId"], str) and r["requestId"], r
        assert_received_at({"_receivedAt": r["receivedAt"]}, before, after)

    # sent again: nothing new, anywhere
    assert_ok(wh.send_signed("app-services", body), ["a1", "a2", "a3"])
    assert db.app_services.count_documents({}) == 3
    assert db.app_services_rejects.count_documents({}) == 3


def test_array_body_header_id_gets_index(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "hmac", respond_with_result=True)
    did = f"acme-{uuid.uuid4().hex}"
    body = json.dumps([{"event": "a"}, {"event": "b"}, {"event": "c"}]).encode()
    headers = {"Content-Type": "application/json", "X-Acme-Delivery": did}
    ids = [f"{did}:0", f"{did}:1", f"{did}:2"]
    assert_ok(wh.send_signed("hmac", body, headers), ids)
    assert_ok(wh.send_signed("hmac", body, headers), ids)
    assert sorted((d["_id"], d["event"]) for d in db.acme.find()) == list(zip(ids, "abc"))


def test_array_elements_without_id_land_once(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "query-secret", respond_with_result=True)
    body = json.dumps([{"id": "x1", "v": 1}, {"v": 2}, {"v": 3}]).encode()
    resp = wh.send(body, {"Content-Type": "application/json"}, {"secret": SECRETS["query-secret"]})
    assert resp.status_code == 200, resp.text
    ids = resp.json()["ids"]
    assert resp.json()["inserted"] == 3 and ids[0] == "x1", resp.json()
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", i) for i in ids[1:]) and ids[1] != ids[2], ids
    resp = wh.send(body, {"Content-Type": "application/json"}, {"secret": SECRETS["query-secret"]})
    assert resp.status_code == 200 and resp.json()["ids"] == ids, resp.text
    assert db.legacy.count_documents({}) == 3
    assert db.legacy.find_one({"_id": ids[2]})["v"] == 3


def test_configured_id_missing_is_content_hash(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "stripe", respond_with_result=True)
    body = json.dumps({"object": "event", "type": "ping", "data": {"id": "not-the-top-level-one"}}).encode()
    expected = "sha256:" + hashlib.sha256(body).hexdigest()
    assert_ok(wh.send_signed("stripe", body, ts=now_s() - 5), [expected])
    assert_ok(wh.send_signed("stripe", body), [expected])
    docs = list(db.stripe.find())
    assert len(docs) == 1 and docs[0]["_id"] == expected and docs[0]["type"] == "ping", docs
    # a different body: a different hash
    body2 = body.replace(b"ping", b"pong")
    assert_ok(wh.send_signed("stripe", body2), ["sha256:" + hashlib.sha256(body2).hexdigest()])
    assert db.stripe.count_documents({}) == 2


def test_id_field_path(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "stripe", id="data.object.id", respond_with_result=True)
    d = delivery("stripe")
    pi = d.doc["data"]["object"]["id"]
    assert_ok(wh.deliver(d), [pi])
    assert db.stripe.find_one({"_id": pi})["id"] == d.doc["id"]
    # a number as the id stays a number
    body = json.dumps({"data": {"object": {"id": 12345678901}}, "type": "x"}).encode()
    assert_ok(wh.send_signed("stripe", body), [12345678901])
    assert db.stripe.find_one({"_id": 12345678901})["type"] == "x"


def test_no_id_is_a_new_object_id_each_time(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "github", id=None, respond_with_result=True)
    d = delivery("github")
    seen = []
    for _ in range(2):
        sig = octokit_sign(SECRETS["github"], d.body.decode())[0]
        resp = wh.send(d.body, dict(d.headers, **{"X-Hub-Signature-256": sig}))
        assert resp.status_code == 200, resp.text
        assert resp.json()["inserted"] == 1 and len(resp.json()["ids"]) == 1, resp.json()
        seen += resp.json()["ids"]
    assert len(set(seen)) == 2 and all(re.fullmatch(r"[0-9a-f]{24}", i) for i in seen), seen
    docs = list(db.github.find())
    assert len(docs) == 2, docs
    assert sorted(str(doc["_id"]) for doc in docs) == sorted(seen)
    assert all(isinstance(doc["_id"], ObjectId) for doc in docs)
    for doc in docs:
        assert doc["after"] == d.doc["after"] and doc["_headers"] == d.stored_headers, doc


@pytest.mark.parametrize("body,ctype", [
    (b"Hello, plain text: caf\xc3\xa9 \xe2\x98\x95\n", "text/plain; charset=utf-8"),
    (b"<xml><a>1</a></xml>", "application/xml"),
    (b'{"truncated": ', "application/json"),
    (b"42", "application/json"),
    (b"", "text/plain"),
], ids=["text", "xml", "invalid-json", "json-scalar", "empty"])
def test_other_text_is_data(body, ctype, start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "app-services", id=None)
    resp = wh.send_signed("app-services", body, {"Content-Type": ctype})
    assert resp.status_code == 200, resp.text
    doc = db.app_services.find_one()
    assert resp.json() == {"inserted": 1, "ids": [str(doc["_id"])]}, resp.json()
    assert doc["data"] == body.decode() and isinstance(doc["data"], str), doc
    assert set(doc) == {"_id", "data", "_receivedAt"}, doc


def test_binary_is_bytes(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "shopify", respond_with_result=True)
    body = bytes(range(256)) + b"\xff\xfe\xc3\x28"
    headers = {"Content-Type": "application/octet-stream", "X-Shopify-Webhook-Id": "bin-1",
               "X-Shopify-Topic": "files/create", "X-Shopify-Shop-Domain": "x.myshopify.com"}
    assert_ok(wh.send_signed("shopify", body, headers), ["bin-1"])
    doc = db.shopify.find_one({"_id": "bin-1"})
    assert isinstance(doc["data"], bytes) and doc["data"] == body, doc
    assert doc["_headers"] == {"X-Shopify-Topic": "files/create", "X-Shopify-Shop-Domain": "x.myshopify.com"}, doc


def test_headers_stored_only_those_configured(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "query-secret", headers=["X-Request-Source", "X-Trace", "X-Absent"])
    doc = {"id": "h-1", "v": 1}
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json", "x-request-source": "billing",
               "X-Trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "X-Other": "not kept"}
    assert_ok(wh.send(body, headers, {"secret": SECRETS["query-secret"]}))
    stored = db.legacy.find_one({"_id": "h-1"})
    assert stored["_headers"] == {"X-Request-Source": "billing",
                                  "X-Trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, stored


def test_respond_with_result(start_hydrant, db, db_name):
    on = hook(db_name, "query-secret", respond_with_result=True)
    off = hook(db_name, "query-secret", path="/hooks/quiet", collection="quiet", respond_with_result=False)
    hydrant = start_hydrant([on, off])
    params = {"secret": SECRETS["query-secret"]}
    body = json.dumps([{"id": "r1"}, {"id": "r2"}]).encode()
    resp = Sender(hydrant, on["path"]).send(body, {"Content-Type": "application/json"}, params)
    assert_ok(resp, ["r1", "r2"])
    resp = Sender(hydrant, off["path"]).send(body, {"Content-Type": "application/json"}, params)
    assert_ok(resp)
    assert db.legacy.count_documents({}) == 2 and db.quiet.count_documents({}) == 2


# --------------------------------------------------------------------------------------
# Methods and sizes


def allow_of(resp: requests.Response) -> set[str]:
    assert "Allow" in resp.headers, f"405 without Allow: {dict(resp.headers)}"
    return {m.strip() for m in resp.headers["Allow"].split(",")}


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_method_not_configured_is_405(method, start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "github")
    d = delivery("github")
    sig = octokit_sign(SECRETS["github"], d.body.decode())[0]
    body = b"" if method == "GET" else d.body
    resp = wh.send(body, dict(d.headers, **{"X-Hub-Signature-256": sig}), method=method)
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert allow_of(resp) == {"POST"}
    # before the signature is looked at
    resp = wh.send(body, {"Content-Type": "application/json"}, method=method)
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.github.count_documents({}) == 0


def test_methods_put_only(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "hmac", methods=["PUT"])
    d = delivery("hmac")
    assert_ok(wh.send_signed("hmac", d.body, d.headers, method="PUT"))
    assert db.acme.count_documents({"_id": d.id}) == 1
    resp = wh.send_signed("hmac", delivery("hmac", 1).body, delivery("hmac", 1).headers, method="POST")
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert allow_of(resp) == {"PUT"}
    assert db.acme.count_documents({}) == 1


def test_methods_post_and_put(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "query-secret")  # methods = ["POST", "PUT"], as in the docs
    params = {"secret": SECRETS["query-secret"]}
    for i, method in enumerate(["POST", "PUT"]):
        assert_ok(wh.send(json.dumps({"id": f"m{i}"}).encode(), {"Content-Type": "application/json"}, params,
                          method=method))
    resp = wh.send(b"", {}, params, method="DELETE")
    assert resp.status_code == 405, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert allow_of(resp) == {"POST", "PUT"}
    assert db.legacy.count_documents({}) == 2


def test_oversize_body_is_413(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "app-services", server={"max_body": "64KiB"})
    big = json.dumps({"delivery": {"id": "big"}, "pad": "x" * (100 * 1024)}).encode()
    resp = wh.send_signed("app-services", big)
    assert resp.status_code == 413, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.app_services.count_documents({}) == 0
    assert db.app_services_rejects.count_documents({}) == 0
    # under the limit, on the same server
    small = json.dumps({"delivery": {"id": "small"}, "pad": "x" * (32 * 1024)}).encode()
    assert_ok(wh.send_signed("app-services", small), ["small"])
    assert db.app_services.count_documents({}) == 1


def test_gzip_over_max_body_once_inflated_is_413(start_hydrant, db, db_name):
    wh = sender(start_hydrant, db_name, "app-services", server={"max_body": "64KiB"})
    big = json.dumps({"delivery": {"id": "big"}, "pad": "x" * (1024 * 1024)}).encode()
    gz = gzip.compress(big)
    assert len(gz) < 16 * 1024
    resp = wh.send_signed("app-services", big, {"Content-Type": "application/json"})  # sanity: plain is 413
    assert resp.status_code == 413, f"status {resp.status_code}: {resp.text[:300]!r}"
    sig, _ = signature("app-services", big)
    resp = wh.send(gz, dict(sig, **{"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    assert resp.status_code == 413, f"status {resp.status_code}: {resp.text[:300]!r}"
    assert db.app_services.count_documents({}) == 0


# --------------------------------------------------------------------------------------
# hydrant check


def check_config(run_cli, write_config, mongo_uri, ep: dict, name: str = "check.toml"):
    text = render_config({"listen": f"127.0.0.1:{free_port()}"}, {"uri": mongo_uri}, [ep])
    return text, run_cli("check", "--config", str(write_config(text, name)))


def line_of(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in config")


@pytest.mark.parametrize("preset", list(PRESETS))
def test_check_accepts_each_preset(preset, run_cli, write_config, mongo_uri, db_name):
    _, r = check_config(run_cli, write_config, mongo_uri, hook(db_name, preset))
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"


@pytest.mark.parametrize("case", ["github-without-secret", "stripe-without-secret", "signature-header-with-github",
                                  "algorithm-with-stripe", "unknown-verify", "tolerance-with-github",
                                  "hmac-without-signature-header", "hmac-bad-algorithm"])
def test_check_errors(case, run_cli, write_config, mongo_uri, db_name):
    ep, key, needle = {
        "github-without-secret": (hook(db_name, "github", secret=None), "secret", "[[webhook]]"),
        "stripe-without-secret": (hook(db_name, "stripe", secret=None), "secret", "[[webhook]]"),
        "signature-header-with-github": (hook(db_name, "github", signature_header="X-Hub-Signature"),
                                         "signature_header", "signature_header ="),
        "algorithm-with-stripe": (hook(db_name, "stripe", algorithm="sha512"), "algorithm", "algorithm ="),
        "unknown-verify": (hook(db_name, "github", verify="gitlab"), "verify", 'verify = "gitlab"'),
        "tolerance-with-github": (hook(db_name, "github", tolerance=60), "tolerance", "tolerance ="),
        "hmac-without-signature-header": (hook(db_name, "hmac", signature_header=None), "signature_header",
                                          "[[webhook]]"),
        "hmac-bad-algorithm": (hook(db_name, "hmac", algorithm="md5"), "algorithm", 'algorithm = "md5"'),
    }[case]
    text, r = check_config(run_cli, write_config, mongo_uri, ep)
    assert r.returncode == 1, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    errors = [l for l in r.stderr.splitlines() if key in l]
    assert errors, f"no error naming {key!r} in stderr: {r.stderr!r}"
    if needle != "[[webhook]]":  # a key that is there: its line; a missing one: the table's or none
        line = line_of(text, needle)
        assert any(re.search(rf"\bline {line}\b", l) for l in errors), f"no 'line {line}' for {key!r}: {r.stderr!r}"
    if case == "unknown-verify":
        assert "github" in r.stderr and "hmac" in r.stderr, "the error should list the verify values"
