#!/usr/bin/env python3
"""Measures (does not assert) how fast a running hydrant takes Segment batches.

Not a test: a command-line helper. It posts N requests to `<base>/batch`, each a
Tracking API batch of --events (default 500) track events of about 300 bytes with
unique messageIds, from --concurrency threads with one keep-alive session each,
and prints requests/s, events/s, MB/s and latency percentiles. Bodies are built
before the clock starts, so the Python client's JSON encoding is not measured.

    .cache/venv/bin/python tests/e2e/segment_throughput.py http://127.0.0.1:8080/v1 wk-test \\
        -n 200 -c 8 [--gzip]

Every request must answer 200 {"success": true}; anything else is counted and
the first few are printed. Run it against an empty collection: the events stay.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import datetime as dt
import gzip
import json
import statistics
import sys
import threading
import time
import uuid

import requests


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def make_event(run: str, r: int, i: int, now: dt.datetime) -> dict:
    """A track event of ~300 bytes as JSON."""
    return {
        "type": "track",
        "messageId": f"{run}-{r}-{i}",
        "userId": f"user-{(r * 7919 + i) % 100000:05d}",
        "event": "Product Viewed",
        "timestamp": iso(now),
        "properties": {"product_id": f"sku-{i % 5000:04d}", "price": 19.99, "currency": "EUR",
                       "category": "Shoes", "position": i % 40},
        "context": {"library": {"name": "segment_throughput", "version": "1"}, "locale": "en-US"},
    }


def make_body(run: str, r: int, events: int, gz: bool) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    body = json.dumps({"batch": [make_event(run, r, i, now) for i in range(events)],
                       "sentAt": iso(now)}, separators=(",", ":")).encode()
    return gzip.compress(body, 6) if gz else body


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base_url", help="the tracking-api endpoint, e.g. http://127.0.0.1:8080/v1")
    ap.add_argument("write_key")
    ap.add_argument("-n", "--requests", type=int, default=100, help="batches to post (default 100)")
    ap.add_argument("-e", "--events", type=int, default=500, help="events per batch (default 500)")
    ap.add_argument("-c", "--concurrency", type=int, default=4, help="parallel connections (default 4)")
    ap.add_argument("--gzip", action="store_true", help="send Content-Encoding: gzip bodies")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    url = args.base_url.rstrip("/") + "/batch"
    run = uuid.uuid4().hex[:12]
    t0 = time.perf_counter()
    bodies = [make_body(run, r, args.events, args.gzip) for r in range(args.requests)]
    raw_bytes = sum(len(b) for b in bodies)
    sample = len(json.dumps(make_event(run, 0, 0, dt.datetime.now(dt.timezone.utc)), separators=(",", ":")))
    print(f"built {args.requests} bodies of {args.events} events (~{sample} B/event, "
          f"{raw_bytes / args.requests / 1024:.0f} KiB/body{' gzip' if args.gzip else ''}) "
          f"in {time.perf_counter() - t0:.1f}s; run id {run}", file=sys.stderr)

    headers = {"Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode((args.write_key + ":").encode()).decode()}
    if args.gzip:
        headers["Content-Encoding"] = "gzip"
    local = threading.local()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
        start = time.perf_counter()
        try:
            resp = s.post(url, data=bodies[i], headers=headers, timeout=args.timeout)
            ok = resp.status_code == 200 and resp.json() == {"success": True}
            problem = None if ok else f"request {i}: {resp.status_code} {resp.text[:200]!r}"
        except (requests.RequestException, ValueError) as e:
            problem = f"request {i}: {e!r}"
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            if problem:
                failures.append(problem)

    start = time.perf_counter()
    with cf.ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(post, range(args.requests)))
    wall = time.perf_counter() - start

    ok = args.requests - len(failures)
    lat = sorted(latencies)
    pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000  # noqa: E731
    print(f"{ok}/{args.requests} requests OK in {wall:.2f}s, concurrency {args.concurrency}")
    print(f"{ok / wall:.1f} requests/s, {ok * args.events / wall:,.0f} events/s, "
          f"{raw_bytes / wall / 1e6:.1f} MB/s sent")
    print(f"latency ms: p50 {pct(50):.1f}  p90 {pct(90):.1f}  p99 {pct(99):.1f}  "
          f"max {lat[-1] * 1000:.1f}  mean {statistics.mean(lat) * 1000:.1f}")
    for f in failures[:5]:
        print("FAILED", f, file=sys.stderr)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
