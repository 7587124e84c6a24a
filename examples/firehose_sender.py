"""A sender that delivers records to an HTTP endpoint the way an Amazon Data
Firehose delivery stream does (HTTP endpoint destination, protocol version 1.0).

- Buffering: records collect in a buffer that is delivered when it reaches
  `buffer_size` bytes (SizeInMBs: 1-64 MB, default 5) or when its first record
  is `buffer_interval` seconds old (IntervalInSeconds: 0-900 s, default 300),
  whichever comes first; a batch never holds more than `max_records` records.
- The request: POST, `Content-Type: application/json`, body
  `{"requestId", "timestamp", "records": [{"data": <base64>}, ...]}` (gzip'd with
  `Content-Encoding: gzip` when `gzip=True`), and the headers
  X-Amz-Firehose-Protocol-Version (1.0), X-Amz-Firehose-Request-Id,
  X-Amz-Firehose-Source-Arn, X-Amz-Firehose-Access-Key (when there is a key) and
  X-Amz-Firehose-Common-Attributes (when there are attributes).
- Success is a 200 whose JSON body echoes the request id and carries a numeric
  timestamp. Firehose counts anything else as a failed attempt, other 2xx
  statuses included, and so does this sender.
- Retries: a failed batch is sent again with the same request id and the very
  same body, after 1 s, 2 s, 4 s, ... (doubling, at most 120 s), each wait
  multiplied by a random factor in [0.85, 1.15]. The waits count against
  `retry_duration` (RetryOptions.DurationInSeconds, 0-7200 s, 300 s here by
  default; 0 = no retry): the time spent waiting for answers does not, as in
  Firehose. When the next wait would end past the retry duration the sender
  gives up and reports the batch as failed (Firehose would hand it to the S3
  backup). A 413 is never retried.

Delivery is synchronous by default (put/flush/deliver return the Delivery
results); `background=True` delivers from a thread of its own, one batch at a
time in order, so the producer never waits for a slow or failing endpoint.
`sleep`, `clock` and `rng` can be injected, so a test can check the schedule
without waiting for it. close() delivers what is buffered and waits for the
retries; close(timeout) (a program told to stop) gives a failing batch up after
`timeout` seconds instead.

    from firehose_sender import FirehoseSender
    with FirehoseSender("http://127.0.0.1:8080/firehose/monitors", "secret",
                        buffer_interval=2) as sender:
        sender.put({"nodeName": "pi-1", "temperature": 21.5})
"""

from __future__ import annotations

import base64
import collections
import gzip as gzip_module
import http.client
import json
import random
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

MIB = 1 << 20
KIB = 1 << 10

PROTOCOL_VERSION = "1.0"
DEFAULT_SOURCE_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/hydrant-demo"

# Firehose's limits and defaults (HttpEndpointBufferingHints, HttpEndpointRetryOptions,
# the HTTP endpoint delivery specification).
DEFAULT_BUFFER_SIZE = 5 * MIB
DEFAULT_BUFFER_INTERVAL = 300.0
DEFAULT_RETRY_DURATION = 300.0
MAX_RETRY_DURATION = 7200.0
MAX_RECORD_SIZE = 1000 * KIB  # a record, before base64
MAX_RECORDS_PER_REQUEST = 10_000
REQUEST_TIMEOUT = 180.0  # Firehose waits 3 minutes for an answer
MAX_PENDING_BATCHES = 64  # background mode: sealed batches waiting for the sender's thread

BASE_DELAY = 1.0
MAX_DELAY = 120.0
JITTER = 0.15


def backoff_delay(retry: int, rng: random.Random | Any = random, *, base: float = BASE_DELAY,
                  cap: float = MAX_DELAY, jitter: float = JITTER) -> float:
    """The wait before retry number `retry` (0 = the first retry, after the first
    attempt failed): min(cap, base * 2**retry), times a factor drawn uniformly from
    [1 - jitter, 1 + jitter]."""
    if retry < 0:
        raise ValueError("retry must be >= 0")
    nominal = cap if retry >= 64 else min(cap, base * (2 ** retry))
    return nominal * rng.uniform(1.0 - jitter, 1.0 + jitter)


def nominal_delay(retry: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """backoff_delay without the jitter."""
    return cap if retry >= 64 else min(cap, base * (2 ** retry))


def encode_record(record: bytes | str | dict | list) -> bytes:
    """A record's data: bytes as given, str as UTF-8, dict/list as compact JSON."""
    if isinstance(record, bytes):
        return record
    if isinstance(record, bytearray):
        return bytes(record)
    if isinstance(record, str):
        return record.encode()
    if isinstance(record, (dict, list)):
        return json.dumps(record, separators=(",", ":")).encode()
    raise TypeError(f"a record is bytes, str, dict or list, not {type(record).__name__}")


@dataclass
class Attempt:
    """One POST of a batch."""
    number: int            # 1 = the first attempt
    request_id: str
    started: float         # sender clock
    ended: float
    status: int | None     # None: no HTTP answer (connection error, timeout)
    error: str = ""        # why it failed ("" on success)
    response: bytes = b""


@dataclass
class Delivery:
    """A batch and what became of it."""
    request_id: str
    records: list[bytes]
    body: bytes                                   # exactly what was POSTed, every time
    headers: dict[str, str]
    attempts: list[Attempt] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)   # the waits before each retry
    ok: bool = False
    gave_up: str = ""                             # why the sender stopped retrying

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    @property
    def error(self) -> str:
        return self.attempts[-1].error if self.attempts else ""

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.records)


class FirehoseSender:
    def __init__(
        self,
        url: str,
        access_key: str | None = None,
        *,
        source_arn: str = DEFAULT_SOURCE_ARN,
        common_attributes: dict[str, str] | None = None,
        gzip: bool = False,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        buffer_interval: float = DEFAULT_BUFFER_INTERVAL,
        max_records: int = MAX_RECORDS_PER_REQUEST,
        retry_duration: float = DEFAULT_RETRY_DURATION,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        jitter: float = JITTER,
        timeout: float = REQUEST_TIMEOUT,
        verify: bool | str = True,
        background: bool = False,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | Any = None,
        on_attempt: Callable[[Attempt, float | None], None] | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ):
        """on_attempt(attempt, next_delay): after every attempt; next_delay is the wait
        before the retry, or None when there is none (success, 413, given up).
        on_delivery(delivery): after each batch is done, delivered or not."""
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if buffer_size < 1:
            raise ValueError("buffer_size must be >= 1 byte")
        if buffer_interval < 0:
            raise ValueError("buffer_interval must be >= 0")
        if not 1 <= max_records <= MAX_RECORDS_PER_REQUEST:
            raise ValueError(f"max_records must be 1 to {MAX_RECORDS_PER_REQUEST}")
        if not 0 <= retry_duration <= MAX_RETRY_DURATION:
            raise ValueError(f"retry_duration must be 0 to {MAX_RETRY_DURATION:.0f} s")
        if common_attributes is not None and len(common_attributes) > 50:
            raise ValueError("at most 50 common attributes")
        self.url = url
        self._split = u
        self.access_key = access_key
        self.source_arn = source_arn
        self.common_attributes = dict(common_attributes) if common_attributes else None
        self.gzip = gzip
        self.buffer_size = buffer_size
        self.buffer_interval = buffer_interval
        self.max_records = max_records
        self.retry_duration = retry_duration
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.timeout = timeout
        self._wakeup = threading.Event()  # close(timeout) cuts the default sleep short
        self.sleep = sleep if sleep is not None else self._wakeup.wait
        self._deadline: float | None = None  # close(timeout): no retry may end after it
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.on_attempt = on_attempt
        self.on_delivery = on_delivery
        self._ssl = None
        if u.scheme == "https":
            if verify is False:
                self._ssl = ssl._create_unverified_context()
            elif isinstance(verify, str):
                self._ssl = ssl.create_default_context(cafile=verify)
            else:
                self._ssl = ssl.create_default_context()
        self._conn: http.client.HTTPConnection | None = None
        self._cond = threading.Condition(threading.RLock())  # guards everything below
        self._buffer: list[bytes] = []
        self._buffered_bytes = 0
        self._buffer_since: float | None = None
        self.deliveries: list[Delivery] = []   # every finished batch, in order
        self.background = background
        self._pending: collections.deque[list[bytes]] = collections.deque()  # sealed, not yet sent
        self._busy = False
        self._closed = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._worker, name="firehose-sender", daemon=True)
            self._thread.start()

    # ---------------------------------------------------------------- buffering

    def put(self, record: bytes | str | dict | list) -> list[Delivery]:
        """Adds one record. Returns the deliveries this caused (synchronous mode)."""
        data = encode_record(record)
        if len(data) > MAX_RECORD_SIZE:
            raise ValueError(f"a record is at most {MAX_RECORD_SIZE} bytes before base64, this one {len(data)}")
        with self._cond:
            if self._closed:
                raise RuntimeError("the sender is closed")
            sealed: list[list[bytes]] = []
            if self._buffer and self._buffered_bytes + len(data) > self.buffer_size:
                sealed.append(self._seal())
            if not self._buffer:
                self._buffer_since = self.clock()
            self._buffer.append(data)
            self._buffered_bytes += len(data)
            if self._buffered_bytes >= self.buffer_size or len(self._buffer) >= self.max_records:
                sealed.append(self._seal())
            if self.background:
                self._enqueue(sealed)
                return []
        return [self.deliver(batch) for batch in sealed]

    def put_many(self, records: Iterable[bytes | str | dict | list]) -> list[Delivery]:
        out: list[Delivery] = []
        for r in records:
            out += self.put(r)
        return out

    def poll(self) -> list[Delivery]:
        """Delivers the buffer when its first record is buffer_interval old. Call it
        now and then (in background mode the sender's thread does it)."""
        with self._cond:
            sealed = [self._seal()] if self._due() else []
            if self.background:
                self._enqueue(sealed)
                return []
        return [self.deliver(batch) for batch in sealed]

    def flush(self) -> list[Delivery]:
        """Delivers whatever is buffered now (synchronous mode: returns the result;
        background mode: hands it to the sender's thread, see join())."""
        with self._cond:
            sealed = [self._seal()] if self._buffer else []
            if self.background:
                self._enqueue(sealed)
                return []
        return [self.deliver(batch) for batch in sealed]

    @property
    def buffered(self) -> int:
        with self._cond:
            return len(self._buffer)

    def _due(self) -> bool:
        return bool(self._buffer) and self.clock() - self._buffer_since >= self.buffer_interval

    def _seal(self) -> list[bytes]:
        batch = self._buffer
        self._buffer, self._buffered_bytes, self._buffer_since = [], 0, None
        return batch

    # ---------------------------------------------------------------- background mode

    def _enqueue(self, sealed: list[list[bytes]]) -> None:
        """(holding the lock) Hands batches to the sender's thread, in order; waits
        while too many are pending (back-pressure, as a throttled stream would)."""
        if not sealed:
            return
        self._pending.extend(sealed)
        self._cond.notify_all()
        while len(self._pending) > MAX_PENDING_BATCHES and not self._stopping:
            self._cond.wait()

    def _worker(self) -> None:
        tick = min(0.1, max(0.01, self.buffer_interval / 10)) if self.buffer_interval else 0.01
        while True:
            with self._cond:
                while True:
                    if self._due():
                        self._pending.append(self._seal())
                    if self._pending:
                        batch = self._pending.popleft()
                        self._busy = True
                        self._cond.notify_all()
                        break
                    if self._stopping:
                        return
                    self._cond.wait(timeout=tick)
            try:
                self.deliver(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def join(self) -> None:
        """Background mode: waits until every batch handed over so far is done."""
        with self._cond:
            while self._pending or self._busy:
                self._cond.wait()

    def close(self, timeout: float | None = None) -> list[Delivery]:
        """Delivers what is buffered, waits for the sender's thread, closes the
        connection. Returns the deliveries made by this call (synchronous mode).
        With a timeout (when the program is told to stop), a batch still failing after
        it is given up rather than retried for the rest of the retry duration: a wait
        in progress is cut short, one more attempt is made, and no wait may end after
        the timeout."""
        if self._closed:
            return []
        if timeout is not None:
            self.give_up_after(timeout)
        out = self.flush()
        with self._cond:
            self._closed = True
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        self._close_conn()
        return out

    def give_up_after(self, timeout: float) -> None:
        """From now on, no retry wait may end more than `timeout` seconds from now (a
        wait in progress is cut short): for a program that was told to stop."""
        deadline = self.clock() + timeout
        self._deadline = deadline if self._deadline is None else min(self._deadline, deadline)
        self._wakeup.set()

    def __enter__(self) -> "FirehoseSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]

    # ---------------------------------------------------------------- one batch

    def build_request(self, records: list[bytes], request_id: str | None = None,
                      timestamp_ms: int | None = None) -> tuple[str, bytes, dict[str, str]]:
        """(request id, body, headers) of a batch, as Firehose would send it."""
        if not 1 <= len(records) <= MAX_RECORDS_PER_REQUEST:
            raise ValueError(f"a request holds 1 to {MAX_RECORDS_PER_REQUEST} records")
        rid = request_id or str(uuid.uuid4())
        envelope = {
            "requestId": rid,
            "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "records": [{"data": base64.b64encode(r).decode("ascii")} for r in records],
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Firehose-Protocol-Version": PROTOCOL_VERSION,
            "X-Amz-Firehose-Request-Id": rid,
            "X-Amz-Firehose-Source-Arn": self.source_arn,
        }
        if self.access_key is not None:
            headers["X-Amz-Firehose-Access-Key"] = self.access_key
        if self.common_attributes is not None:
            headers["X-Amz-Firehose-Common-Attributes"] = json.dumps({"commonAttributes": self.common_attributes})
        if self.gzip:
            body = gzip_module.compress(body, 6)
            headers["Content-Encoding"] = "gzip"
        return rid, body, headers

    def deliver(self, records: Iterable[bytes | str | dict | list], request_id: str | None = None) -> Delivery:
        """Sends one batch now, retrying as Firehose does; returns what happened.
        (The same request id again is what a Firehose retry looks like.)"""
        recs = [encode_record(r) for r in records]
        rid, body, headers = self.build_request(recs, request_id)
        d = Delivery(request_id=rid, records=recs, body=body, headers=headers)
        waited = 0.0
        retry = 0
        while True:
            attempt = self._attempt(len(d.attempts) + 1, rid, body, headers)
            d.attempts.append(attempt)
            if attempt.status == 200 and not attempt.error:
                d.ok = True
                self._report_attempt(attempt, None)
                break
            if attempt.status == 413:
                d.gave_up = "413: Firehose never retries it"
                self._report_attempt(attempt, None)
                break
            delay = backoff_delay(retry, self.rng, base=self.base_delay, cap=self.max_delay, jitter=self.jitter)
            if self._deadline is not None and self.clock() + delay > self._deadline:
                d.gave_up = f"the sender was closed after {len(d.attempts)} attempt(s)"
                self._report_attempt(attempt, None)
                break
            if waited + delay > self.retry_duration:
                d.gave_up = (f"retry duration of {self.retry_duration:g} s exhausted "
                             f"after {len(d.attempts)} attempt(s)")
                self._report_attempt(attempt, None)
                break
            self._report_attempt(attempt, delay)
            self.sleep(delay)
            d.delays.append(delay)
            waited += delay
            retry += 1
        self.deliveries.append(d)
        if self.on_delivery:
            self.on_delivery(d)
        return d

    def _report_attempt(self, attempt: Attempt, next_delay: float | None) -> None:
        if self.on_attempt:
            self.on_attempt(attempt, next_delay)

    def _attempt(self, number: int, rid: str, body: bytes, headers: dict[str, str]) -> Attempt:
        started = self.clock()
        try:
            status, data = self._post(body, headers)
        except (OSError, http.client.HTTPException) as e:
            return Attempt(number, rid, started, self.clock(), None, f"{type(e).__name__}: {e}")
        error = ""
        if status == 200:
            error = _check_response(data, rid)
        else:
            error = f"HTTP {status}: {_error_message(data)}"
        return Attempt(number, rid, started, self.clock(), status, error, data)

    # ---------------------------------------------------------------- HTTP

    def _connect(self) -> http.client.HTTPConnection:
        u = self._split
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=self.timeout, context=self._ssl)
        return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=self.timeout)

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        target = self._split.path or "/"
        if self._split.query:
            target += "?" + self._split.query
        for fresh_try in (False, True):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request("POST", target, body=body, headers=headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._close_conn()
                # A kept-alive connection the server had closed: try once more on a
                # new one; that is not a delivery attempt of its own.
                if reused and not fresh_try:
                    continue
                raise
            except BaseException:
                self._close_conn()
                raise
            if resp.will_close:
                self._close_conn()
            return resp.status, data
        raise AssertionError("unreachable")


def _check_response(data: bytes, rid: str) -> str:
    """'' when a 200's body is what Firehose expects, else what is wrong with it."""
    try:
        body = json.loads(data)
    except ValueError:
        return "HTTP 200 with a body that is not JSON"
    if not isinstance(body, dict):
        return "HTTP 200 with a body that is not a JSON object"
    if body.get("requestId") != rid:
        return f"HTTP 200 with requestId {body.get('requestId')!r}, not {rid!r}"
    ts = body.get("timestamp")
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "HTTP 200 without a numeric timestamp"
    return ""


def _error_message(data: bytes) -> str:
    try:
        body = json.loads(data)
        if isinstance(body, dict) and body.get("errorMessage"):
            return str(body["errorMessage"])[:300]
    except ValueError:
        pass
    return data[:300].decode("utf-8", "replace") or "(no body)"
