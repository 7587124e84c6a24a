#!/usr/bin/env python3
"""Simulated Raspberry Pi sensor nodes whose readings reach hydrant the way a
Firehose delivery stream sends them: batched, base64'd, with the X-Amz-Firehose-*
headers, retried with the same request id until they are accepted.

    python3 examples/sensor_firehose.py --url http://127.0.0.1:8080/firehose/monitors \
        --access-key secret --nodes 3 --seconds 10
"""
import argparse
import base64
import datetime
import json
import math
import random
import sys
import time
import urllib.error
import urllib.request
import uuid

from bson import ObjectId  # from pymongo, only to mint realistic _ids


class Node:
    """One sensor node: values drift slowly; now and then it is picked up and moved."""

    def __init__(self, name, rng):
        self.name, self.rng = name, rng
        self.temperature = rng.uniform(18, 26)
        self.humidity = rng.uniform(35, 55)
        self.pressure = rng.uniform(1005, 1020)

    def reading(self):
        r = self.rng
        self.temperature += r.gauss(0, 0.05)
        self.humidity = min(100, max(0, self.humidity + r.gauss(0, 0.2)))
        self.pressure += r.gauss(0, 0.03)
        moving = r.random() < 0.1
        jolt = 1.6 if moving else 0.05
        acc = {"x": r.gauss(0, jolt), "y": r.gauss(0, jolt), "z": 0.97 + r.gauss(0, jolt)}  # at rest: ~1 g down
        return {
            "_id": str(ObjectId()),
            "nodeName": self.name,
            "humidity": round(self.humidity, 2),
            "temperature": round(self.temperature, 2),
            "pressure": round(self.pressure, 2),
            "isMoving": any(v < -1 or v > 1 for v in acc.values()),
            "acceleration": {k: round(v, 4) for k, v in acc.items()},
            "recordedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        }


def deliver(url, access_key, records, stream_arn, timeout=60):
    """POST one batch like Firehose; retry with back-off; return the final status."""
    request_id = str(uuid.uuid4())  # the same on every retry of this batch
    body = json.dumps({
        "requestId": request_id,
        "timestamp": int(time.time() * 1000),
        "records": [{"data": base64.b64encode(json.dumps(r).encode()).decode()} for r in records],
    }).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Firehose-Protocol-Version": "1.0",
        "X-Amz-Firehose-Request-Id": request_id,
        "X-Amz-Firehose-Source-Arn": stream_arn,
        "X-Amz-Firehose-Access-Key": access_key,
    }
    delay, deadline = 1.0, time.time() + timeout
    while True:
        try:
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=180) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            if e.code == 413 or time.time() + delay > deadline:
                return e.code
            print(f"  {e.code} for {request_id}; retrying in {delay:.1f}s", file=sys.stderr)
        except OSError as e:
            if time.time() + delay > deadline:
                return 0
            print(f"  {e} for {request_id}; retrying in {delay:.1f}s", file=sys.stderr)
        time.sleep(delay * random.uniform(0.85, 1.15))
        delay = min(delay * 2, 120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--access-key", default="")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10, help="how long to run (0: forever)")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between readings of a node")
    ap.add_argument("--flush", type=float, default=2.0, help="seconds between deliveries (Firehose buffering)")
    ap.add_argument("--arn", default="arn:aws:firehose:us-east-1:123456789012:deliverystream/hydrant-demo")
    args = ap.parse_args()

    rng = random.Random()
    nodes = [Node(f"raspberrypi-{i + 1}", rng) for i in range(args.nodes)]
    buffer, sent, batches = [], 0, 0
    start = last_flush = time.time()
    while args.seconds == 0 or time.time() - start < args.seconds:
        buffer.extend(n.reading() for n in nodes)
        time.sleep(args.interval)
        if time.time() - last_flush >= args.flush:
            status = deliver(args.url, args.access_key, buffer, args.arn)
            print(f"delivered {len(buffer)} readings: HTTP {status}")
            if status != 200:
                return 1
            sent, batches, buffer, last_flush = sent + len(buffer), batches + 1, [], time.time()
    if buffer:
        status = deliver(args.url, args.access_key, buffer, args.arn)
        print(f"delivered {len(buffer)} readings: HTTP {status}")
        if status != 200:
            return 1
        sent, batches = sent + len(buffer), batches + 1
    print(f"sent {sent} readings in {batches} deliveries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
