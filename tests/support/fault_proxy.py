"""A fault-injecting HTTP/1.1 reverse proxy for the AWS JSON APIs (Kinesis, Firehose,
EventBridge), run in-process by tests in front of moto (tests/support/aws.py).

    proxy = FaultProxy(upstream=moto.endpoint,
                       credentials={moto.access_key_id: moto.secret_access_key})
    proxy.start()
    proxy.throttle(count=2, target="PutRecords")          # next 2 PutRecords: HTTP 400
    proxy.fail_records(lambda r: r.index % 3 == 0)        # next PutRecords: partial failure
    ...                                                   # the client talks to proxy.endpoint
    proxy.stop()

Without a rule a request is forwarded verbatim (the same bytes of body, the same
headers but the hop-by-hop ones), so moto verifies the client's own SigV4 signature.
Rules apply in the order they were added; the first that matches a request acts on it.
Each takes:
  count     how many requests it acts on (None: no limit); default 1
  fraction  act on each matching request with this probability (random.Random(seed))
  target    only requests whose X-Amz-Target is this ("Kinesis_20131202.PutRecords")
            or ends with "." + this ("PutRecords")
Partial failures change the body, so the proxy first verifies the client's signature
(botocore's SigV4Auth over exactly the headers the client signed; it needs the secret:
`credentials`) and then signs the subset it forwards with the same key, date and
signed headers. Every request, forwarded or not, is logged (`entries`).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import random
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

ACCOUNT_ID = "123456789012"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect", "content-length"}
MAX_SKEW = 300  # seconds; AWS refuses a request signed more than 5 minutes away from its clock
# X-Amz-Target prefix -> the SigV4 service name a request must be signed for
SERVICES = {"Kinesis_20131202": "kinesis", "Firehose_20150804": "firehose", "AWSEvents": "events"}
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. "
                 "Check your AWS Secret Access Key and signing method. "
                 "Consult the service documentation for details.")


@dataclass(frozen=True)
class Batch:
    """How a batch-write API lays out its records and its per-record results."""
    items: str            # request list
    failed_count: str     # response counter
    results: str          # response list
    error: tuple[str, str]  # default per-record error (code, message)


BATCHES = {
    "Kinesis_20131202.PutRecords": Batch("Records", "FailedRecordCount", "Records",
                                         ("ProvisionedThroughputExceededException", "")),
    "Firehose_20150804.PutRecordBatch": Batch("Records", "FailedPutCount", "RequestResponses",
                                              ("ServiceUnavailableException", "Slow down.")),
    "AWSEvents.PutEvents": Batch("Entries", "FailedEntryCount", "Entries",
                                 ("InternalFailure", "Internal service failure.")),
}


class DropConnection(Exception):
    """Raised by a hook: close the client's connection without answering."""


@dataclass
class Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def target(self) -> str | None:
        return self.header("X-Amz-Target")

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reason: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Record:
    """One record of a batch write, as `fail_records` selectors see it."""
    index: int
    partition_key: str | None  # Kinesis only
    data: bytes                # Kinesis/Firehose: the decoded Data; EventBridge: Detail
    raw: dict


@dataclass
class Entry:
    """One request the proxy received, and what it did with it."""
    time: float
    method: str
    path: str
    target: str | None
    request: Request
    injected: str | None = None       # the rule's kind, None when simply forwarded
    forwarded: bool = False
    forwarded_body: bytes | None = None
    upstream_status: int | None = None
    status: int | None = None         # what the client got; None: connection dropped
    failed: list[int] = field(default_factory=list)  # fail_records: indexes failed
    detail: str = ""


@dataclass
class Rule:
    kind: str
    count: int | None
    fraction: float | None
    target: str | None
    rng: random.Random
    params: dict
    applied: int = 0

    def take(self, req: Request) -> bool:
        """Called under the proxy's lock: does this rule act on req (and count it)?"""
        if self.count is not None and self.applied >= self.count:
            return False
        if self.target is not None:
            t = req.target or ""
            if t != self.target and not t.endswith("." + self.target):
                return False
        if self.kind == "fail_records" and req.target not in BATCHES:
            return False
        if self.fraction is not None and self.rng.random() >= self.fraction:
            return False
        self.applied += 1
        return True


def json_error(status: int, type_: str, message: str) -> Response:
    body = json.dumps({"__type": type_, "message": message}).encode()
    return Response(status, [("Content-Type", "application/x-amz-json-1.1"),
                             ("x-amzn-RequestId", str(uuid.uuid4()))], body)


# --- SigV4 -----------------------------------------------------------------------------
class _SignedHeadersSigV4(SigV4Auth):
    """botocore's SigV4 over exactly the headers the client listed in SignedHeaders
    (botocore itself would pick its own set: all but a blacklist)."""

    def __init__(self, credentials, service, region, signed_headers):
        super().__init__(credentials, service, region)
        self._signed = signed_headers

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                out[name] = value
        return out


def parse_authorization(value: str | None) -> dict | None:
    m = re.fullmatch(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
                     r"\s*Signature=([0-9a-f]+)\s*", value or "")
    if not m:
        return None
    scope = m.group(1).split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None
    return {"access_key_id": scope[0], "date": scope[1], "region": scope[2], "service": scope[3],
            "signed_headers": m.group(2).split(";"), "signature": m.group(3)}


def sigv4_signature(req: Request, secret: str, auth: dict) -> str:
    """The signature of req for auth's key, scope and signed headers, at its X-Amz-Date."""
    aws_req = AWSRequest(method=req.method, url=f"http://{req.header('Host') or 'localhost'}{req.path}",
                         data=req.body)
    headers = HTTPHeaders()
    for k, v in req.headers:
        headers[k] = v
    aws_req.headers = headers
    aws_req.context["timestamp"] = req.header("X-Amz-Date") or ""
    signer = _SignedHeadersSigV4(Credentials(auth["access_key_id"], secret), auth["service"],
                                 auth["region"], auth["signed_headers"])
    canonical = signer.canonical_request(aws_req)
    return signer.signature(signer.string_to_sign(aws_req, canonical), aws_req)


def _amz_date_epoch(value: str) -> float | None:
    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except (TypeError, ValueError):
        return None


# --- the proxy ----------------------------------------------------------------------------
class FaultProxy:
    def __init__(self, upstream: str, port: int = 0, credentials: dict[str, str] | None = None,
                 region: str = "us-east-1", check_scope: bool = True, timeout: float = 60.0):
        """upstream: "http://127.0.0.1:PORT". credentials: access key id -> secret, to verify
        and re-sign rewritten requests. check_scope: refuse any request whose credential
        scope is not (region, the target's service) or whose X-Amz-Date is more than
        5 minutes off, as AWS does and moto does not."""
        u = urlsplit(upstream)
        self.upstream_host, self.upstream_port = u.hostname, u.port or 80
        self.credentials = dict(credentials or {})
        self.region = region
        self.check_scope = check_scope
        self.timeout = timeout
        self.signature_error_status = 400  # the JSON-protocol services answer 400
        self._port = port
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._entries: list[Entry] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(_Handler):
            pass

        Handler.proxy = proxy
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the log ---------------------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        """Every request received so far, in the order they arrived."""
        with self._lock:
            return list(self._entries)

    def forwarded(self, target: str | None = None) -> list[Entry]:
        return [e for e in self.entries if e.forwarded and _target_matches(e.target, target)]

    def injected(self, target: str | None = None) -> list[Entry]:
        return [e for e in self.entries if e.injected and _target_matches(e.target, target)]

    def clear(self) -> None:
        """Removes every rule (the log stays)."""
        with self._lock:
            self._rules.clear()

    # --- rules -----------------------------------------------------------------------------
    def _add(self, kind, count, fraction, target, seed, **params) -> Rule:
        rule = Rule(kind, count, fraction, target, random.Random(seed), params)
        with self._lock:
            self._rules.append(rule)
        return rule

    def throttle(self, count: int | None = 1, *, fraction: float | None = None,
                 target: str | None = None, seed: int = 0, status: int = 400,
                 body: bytes | dict | None = None) -> Rule:
        """Answer without forwarding: by default HTTP 400 with the service's throttling
        error (Kinesis: ProvisionedThroughputExceededException "Rate exceeded for shard
        ..."; Firehose: ServiceUnavailableException; EventBridge: ThrottlingException);
        status=429 or 503 answer that status with a ThrottlingException /
        ServiceUnavailableException body. body replaces the body."""
        return self._add("throttle", count, fraction, target, seed, status=status, body=body)

    def error(self, count: int | None = 1, *, fraction: float | None = None, target: str | None = None,
              seed: int = 0, status: int = 500, body: bytes | dict | None = None) -> Rule:
        """Answer without forwarding with status (default 500 InternalFailure)."""
        return self._add("error", count, fraction, target, seed, status=status, body=body)

    def fail_records(self, records: Callable[[Record], Any] | float, count: int | None = 1, *,
                     fraction: float | None = None, target: str | None = None, seed: int = 0,
                     error_code: str | None = None, error_message: str | None = None) -> Rule:
        """Partial failure of a PutRecords / PutRecordBatch / PutEvents: records(rec) says
        which records fail (True: the default error; a string: that error code; a
        (code, message) tuple), or records=0.3 fails each with that probability. Only the
        others go to moto (re-signed); the answer lists every record in the original
        order, the failed ones as {"ErrorCode", "ErrorMessage"}."""
        return self._add("fail_records", count, fraction, target, seed, records=records,
                         error_code=error_code, error_message=error_message)

    def delay(self, seconds: float, count: int | None = 1, *, when: str = "before",
              fraction: float | None = None, target: str | None = None, seed: int = 0) -> Rule:
        """Wait `seconds` before forwarding (when="before") or before answering ("after")."""
        assert when in ("before", "after")
        return self._add("delay", count, fraction, target, seed, seconds=seconds, when=when)

    def drop(self, count: int | None = 1, *, when: str = "before", reset: bool = False,
             fraction: float | None = None, target: str | None = None, seed: int = 0) -> Rule:
        """Close the client's connection without answering, before forwarding or after
        moto has handled the request (when="after": the records ARE written). reset=True
        sends a TCP RST instead of a FIN."""
        assert when in ("before", "after")
        return self._add("drop", count, fraction, target, seed, when=when, reset=reset)

    def hook(self, fn: Callable[[Request, Callable[[Request], Response]], Response | None],
             count: int | None = None, *, fraction: float | None = None, target: str | None = None,
             seed: int = 0) -> Rule:
        """fn(request, forward) -> Response to answer with, or None to forward as usual;
        forward(request) sends a request upstream as it is (re-sign it yourself with
        `resign` if you change the body) and returns moto's Response; raise
        DropConnection to close the connection without answering."""
        return self._add("hook", count, fraction, target, seed, fn=fn)

    def _pick(self, req: Request) -> Rule | None:
        with self._lock:
            return next((r for r in self._rules if r.take(req)), None)

    def _log(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    # --- signatures ------------------------------------------------------------------------
    def scope_error(self, req: Request) -> Response | None:
        """AWS's checks that moto skips: the credential scope's region and service, and
        the request's age."""
        auth = parse_authorization(req.header("Authorization"))
        if auth is None:
            if req.header("Authorization") is None:
                return json_error(400, "MissingAuthenticationTokenException",
                                  "Missing Authentication Token")
            return json_error(400, "IncompleteSignatureException",
                              "Authorization header requires 'Credential', 'Signature' and "
                              "'SignedHeaders' parameters.")
        service = SERVICES.get((req.target or "").split(".")[0])
        if auth["region"] != self.region:
            return json_error(self.signature_error_status, "InvalidSignatureException",
                              f"Credential should be scoped to a valid region, not '{auth['region']}'.")
        if service and auth["service"] != service:
            return json_error(self.signature_error_status, "InvalidSignatureException",
                              f"Credential should be scoped to correct service: '{service}'.")
        amz_date = req.header("X-Amz-Date") or ""
        when = _amz_date_epoch(amz_date)
        if when is None or amz_date[:8] != auth["date"]:
            return json_error(400, "IncompleteSignatureException",
                              "X-Amz-Date is missing or does not match the credential scope's date.")
        if abs(time.time() - when) > MAX_SKEW:
            return json_error(self.signature_error_status, "InvalidSignatureException",
                              f"Signature expired: {amz_date} is more than 5 minutes away from "
                              f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.")
        return None

    def verify(self, req: Request) -> Response | None:
        """None if req carries a valid SigV4 signature for a known key; else the error
        answer AWS would give."""
        auth = parse_authorization(req.header("Authorization"))
        if auth is None:
            return self.scope_error(req) or json_error(400, "IncompleteSignatureException", "bad header")
        secret = self.credentials.get(auth["access_key_id"])
        if secret is None:
            return json_error(400, "UnrecognizedClientException",
                              "The security token included in the request is invalid.")
        declared = req.header("X-Amz-Content-SHA256")
        if declared and declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(req.body).hexdigest():
            return json_error(400, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what was computed.")
        if not hmac.compare_digest(sigv4_signature(req, secret, auth), auth["signature"]):
            return json_error(self.signature_error_status, "InvalidSignatureException", BAD_SIGNATURE)
        return None

    def resign(self, req: Request, body: bytes) -> Request:
        """req with `body`, signed again with the same key, date, scope and signed headers."""
        auth = parse_authorization(req.header("Authorization"))
        secret = self.credentials[auth["access_key_id"]]
        headers = []
        for k, v in req.headers:
            lk = k.lower()
            if lk == "content-length":
                v = str(len(body))
            elif lk == "x-amz-content-sha256" and v != "UNSIGNED-PAYLOAD":
                v = hashlib.sha256(body).hexdigest()
            headers.append((k, v))
        new = Request(req.method, req.path, headers, body)
        sig = sigv4_signature(new, secret, auth)
        new.headers = [(k, re.sub(r"Signature=[0-9a-f]+", f"Signature={sig}", v)
                        if k.lower() == "authorization" else v) for k, v in headers]
        return new

    # --- upstream --------------------------------------------------------------------------
    def forward(self, req: Request) -> Response:
        conn = HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.timeout)
        try:
            conn.putrequest(req.method, req.path, skip_host=True, skip_accept_encoding=True)
            for k, v in req.headers:
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(req.body)))
            conn.endheaders(req.body)
            r = conn.getresponse()
            body = r.read()
            headers = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP]
            return Response(r.status, headers, body, r.reason)
        finally:
            conn.close()

    # --- canned answers --------------------------------------------------------------------
    def _throttle_response(self, req: Request, status: int, body) -> Response:
        if body is not None:
            return _custom(status, body)
        if status == 429:
            return json_error(429, "ThrottlingException", "Rate exceeded")
        if status == 503:
            return json_error(503, "ServiceUnavailableException", "Service Unavailable")
        prefix = (req.target or "").split(".")[0]
        if prefix == "Firehose_20150804":
            return json_error(status, "ServiceUnavailableException", "Slow down.")
        if prefix == "AWSEvents":
            return json_error(status, "ThrottlingException", "Rate exceeded")
        return json_error(status, "ProvisionedThroughputExceededException",
                          f"Rate exceeded for shard shardId-000000000000 in stream "
                          f"{_stream_name(req)} under account {ACCOUNT_ID}.")

    def _partial(self, req: Request, rule: Rule, entry: Entry) -> Response:
        bad = self.verify(req)
        if bad is not None:
            entry.detail = "refused: " + json.loads(bad.body)["__type"]
            return bad
        spec = BATCHES[req.target]
        doc = req.json()
        items = doc.get(spec.items) or []
        failures: dict[int, tuple[str, str]] = {}
        default_code = rule.params["error_code"] or spec.error[0]
        for i, raw in enumerate(items):
            verdict = self._select(rule, _record(req.target, i, raw))
            if not verdict:
                continue
            if isinstance(verdict, tuple):
                failures[i] = verdict
                continue
            code = verdict if isinstance(verdict, str) else default_code
            failures[i] = (code, rule.params["error_message"] or _record_error(req, spec, code))
        entry.failed = sorted(failures)
        keep = [raw for i, raw in enumerate(items) if i not in failures]
        ok: list[dict] = []
        upstream = None
        if keep:
            sub = self.resign(req, json.dumps({**doc, spec.items: keep}).encode())
            entry.forwarded, entry.forwarded_body = True, sub.body
            upstream = self.forward(sub)
            entry.upstream_status = upstream.status
            if upstream.status != 200:
                return upstream
            answer = upstream.json()
            ok = answer.get(spec.results) or []
        else:
            answer = {spec.failed_count: 0, spec.results: []}
            if req.target == "Firehose_20150804.PutRecordBatch":
                answer["Encrypted"] = False
        results, it = [], iter(ok)
        for i in range(len(items)):
            if i in failures:
                code, message = failures[i]
                results.append({"ErrorCode": code, "ErrorMessage": message})
            else:
                results.append(next(it))
        answer[spec.results] = results
        answer[spec.failed_count] = sum(1 for r in results if "ErrorCode" in r)
        headers = upstream.headers if upstream else [("Content-Type", "application/x-amz-json-1.1"),
                                                      ("x-amzn-RequestId", str(uuid.uuid4()))]
        return Response(200, headers, json.dumps(answer).encode(), "OK")

    def _select(self, rule: Rule, rec: Record):
        chooser = rule.params["records"]
        if callable(chooser):
            return chooser(rec)
        with self._lock:
            return rule.rng.random() < chooser

    # --- one request -------------------------------------------------------------------------
    def handle(self, req: Request, handler: "_Handler") -> None:
        entry = Entry(time.time(), req.method, req.path, req.target, req)
        self._log(entry)
        rule = self._pick(req)
        entry.injected = rule.kind if rule else None
        p = rule.params if rule else {}

        def answer(resp: Response) -> None:
            entry.status = resp.status
            if rule and rule.kind == "delay" and p["when"] == "after":
                time.sleep(p["seconds"])
            handler.send(resp)

        def forward(r: Request) -> Response:
            entry.forwarded, entry.forwarded_body = True, r.body
            resp = self.forward(r)
            entry.upstream_status = resp.status
            return resp

        try:
            if self.check_scope and req.target and (bad := self.scope_error(req)) is not None:
                entry.detail = "refused: " + json.loads(bad.body)["__type"]
                return answer(bad)
            if rule is None:
                return answer(forward(req))
            if rule.kind == "throttle":
                return answer(self._throttle_response(req, p["status"], p["body"]))
            if rule.kind == "error":
                return answer(_custom(p["status"], p["body"]) if p["body"] is not None else
                              json_error(p["status"], "InternalFailure", "Internal service failure."))
            if rule.kind == "fail_records":
                return answer(self._partial(req, rule, entry))
            if rule.kind == "delay":
                if p["when"] == "before":
                    time.sleep(p["seconds"])
                return answer(forward(req))
            if rule.kind == "drop":
                if p["when"] == "after":
                    forward(req)
                raise DropConnection()
            if rule.kind == "hook":
                resp = rule.params["fn"](req, forward)
                return answer(resp if resp is not None else forward(req))
            raise AssertionError(rule.kind)
        except DropConnection:
            entry.status = None
            handler.drop(reset=p.get("reset", False))
        except (OSError, ValueError) as e:  # upstream gone, bad JSON: a 502 like a real proxy
            entry.detail = f"proxy error: {e!r}"
            answer(json_error(502, "BadGateway", f"fault_proxy: {e!r}"))


def _target_matches(t: str | None, want: str | None) -> bool:
    return want is None or t == want or (t or "").endswith("." + want)


def _custom(status: int, body) -> Response:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return Response(status, [("Content-Type", "application/x-amz-json-1.1")], body)


def _stream_name(req: Request) -> str:
    try:
        doc = req.json()
    except ValueError:
        return "unknown"
    return doc.get("StreamName") or (doc.get("StreamARN") or "unknown").split("/")[-1]


def _record(target: str, index: int, raw: dict) -> Record:
    if target == "AWSEvents.PutEvents":
        return Record(index, None, (raw.get("Detail") or "").encode(), raw)
    return Record(index, raw.get("PartitionKey"), base64.b64decode(raw.get("Data") or ""), raw)


def _record_error(req: Request, spec: Batch, code: str) -> str:
    if code == "ProvisionedThroughputExceededException":
        return (f"Rate exceeded for shard shardId-000000000000 in stream {_stream_name(req)} "
                f"under account {ACCOUNT_ID}.")
    if code == "InternalFailure":
        return "Internal service failure."
    if code == spec.error[0]:
        return spec.error[1]
    return code


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy

    def log_message(self, *args) -> None:  # the proxy keeps its own log
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        req = Request(self.command, self.path, list(self.headers.items()), self._read_body())
        self.proxy.handle(req, self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    def send(self, resp: Response) -> None:
        self.send_response_only(resp.status, resp.reason or None)
        for k, v in resp.headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)
        self.wfile.flush()

    def drop(self, reset: bool = False) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
