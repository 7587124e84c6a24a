#!/usr/bin/env python3
"""Simulated Raspberry Pi sensor nodes (sensor_simulator.py) whose readings reach
hydrant the way an Amazon Data Firehose delivery stream delivers them
(firehose_sender.py): buffered by size and interval, base64'd in the Firehose
envelope with every X-Amz-Firehose-* header, and retried with the same request
id, 1 s, 2 s, 4 s ... (+-15%, at most 120 s) for up to the retry duration.

    python3 examples/sensor_firehose.py --url http://127.0.0.1:8080/firehose/monitors \\
        --access-key secret --nodes 3 --seconds 10 --buffer-interval 2

Only the Python standard library is needed. Exit status: 0 when every batch was
delivered, 1 when one was not (413, or the retry duration ran out).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from firehose_sender import (  # noqa: E402
    DEFAULT_RETRY_DURATION,
    DEFAULT_SOURCE_ARN,
    MIB,
    Attempt,
    Delivery,
    FirehoseSender,
)
from sensor_simulator import READING_INTERVAL, Simulator  # noqa: E402

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB)?\s*$", re.I)
_UNITS = {"b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1000 * 1000, "mib": 1 << 20}


def size(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1MiB, 64KiB, 5000000)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "b").lower()])


def attribute(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k, v


def human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the endpoint, e.g. http://127.0.0.1:8080/firehose/monitors")
    ap.add_argument("--access-key", default=os.environ.get("FIREHOSE_ACCESS_KEY"),
                    help="X-Amz-Firehose-Access-Key (default: $FIREHOSE_ACCESS_KEY; none: no header)")
    ap.add_argument("--nodes", type=int, default=3, help="simulated nodes (default 3)")
    ap.add_argument("--seconds", type=float, default=10, help="how long to run; 0: until Ctrl-C (default 10)")
    ap.add_argument("--interval", type=float, default=READING_INTERVAL,
                    help=f"seconds between a node's readings (default {READING_INTERVAL})")
    ap.add_argument("--buffer-size", type=size, default=1 * MIB,
                    help="deliver when this much is buffered (Firehose: 1-64 MB, default 5; here 1MiB)")
    ap.add_argument("--buffer-interval", type=float, default=2.0,
                    help="or when the oldest buffered record is this old, in s (Firehose: 0-900, default 300; here 2)")
    ap.add_argument("--retry-duration", type=float, default=DEFAULT_RETRY_DURATION,
                    help=f"give a batch up after this many seconds of retrying (0-7200, default {DEFAULT_RETRY_DURATION:g})")
    ap.add_argument("--gzip", action="store_true", help="Content-Encoding: gzip (RequestConfiguration.ContentEncoding)")
    ap.add_argument("--common-attribute", type=attribute, action="append", default=[], metavar="NAME=VALUE",
                    help="X-Amz-Firehose-Common-Attributes (repeatable)")
    ap.add_argument("--arn", default=DEFAULT_SOURCE_ARN, help="X-Amz-Firehose-Source-Arn")
    ap.add_argument("--seed", type=int, default=None, help="random seed for the simulated values")
    ap.add_argument("--insecure", action="store_true", help="https: do not verify the server's certificate")
    ap.add_argument("--quiet", action="store_true", help="print only retries, failures and the summary")
    ap.add_argument("--stop-timeout", type=float, default=10.0,
                    help="on Ctrl-C/SIGTERM, stop retrying after this many seconds (default 10)")
    args = ap.parse_args(argv)

    out_lock = threading.Lock()

    def say(msg: str, *, err: bool = False) -> None:
        with out_lock:
            print(msg, file=sys.stderr if err else sys.stdout, flush=True)

    def on_attempt(a: Attempt, next_delay: float | None) -> None:
        if a.error and next_delay is not None:
            say(f"  attempt {a.number} of {a.request_id}: {a.error}; retrying in {next_delay:.2f} s "
                f"with the same request id", err=True)

    def on_delivery(d: Delivery) -> None:
        tries = f"{len(d.attempts)} attempts" if len(d.attempts) > 1 else "1 attempt"
        if d.ok:
            if not args.quiet or len(d.attempts) > 1:
                say(f"delivered {len(d.records)} readings ({human(d.size)}) as {d.request_id}: HTTP 200 ({tries})")
        else:
            say(f"FAILED to deliver {len(d.records)} readings as {d.request_id}: {d.error} ({tries}; "
                f"{d.gave_up}) - Firehose would now write them to the S3 backup", err=True)

    sender = FirehoseSender(
        args.url, args.access_key, source_arn=args.arn, gzip=args.gzip,
        common_attributes=dict(args.common_attribute) or None,
        buffer_size=args.buffer_size, buffer_interval=args.buffer_interval,
        retry_duration=args.retry_duration, verify=not args.insecure,
        background=True, on_attempt=on_attempt, on_delivery=on_delivery,
    )
    sim = Simulator(args.nodes, args.interval, seed=args.seed)
    stop = threading.Event()

    def on_stop(signum, _frame):  # SIGTERM, or a first Ctrl-C (a second one interrupts)
        stop.set()
        sender.give_up_after(args.stop_timeout)
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, on_stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when started with SIGINT ignored
        signal.signal(signal.SIGINT, on_stop)
    say(f"{args.nodes} simulated node(s), a reading each every {args.interval:g} s; buffering up to "
        f"{human(args.buffer_size)} or {args.buffer_interval:g} s; retry duration {args.retry_duration:g} s")
    t0 = time.monotonic()
    try:
        n = sim.run(args.seconds, sender.put, should_stop=stop.is_set)
    except KeyboardInterrupt:
        n = None
        stop.set()
    if stop.is_set():
        say(f"stopping: delivering what is buffered (retrying for at most {args.stop_timeout:g} s)")
        sender.close(timeout=args.stop_timeout)
    else:
        sender.close()  # delivers what is still buffered, retrying for up to the retry duration
    batches = sender.deliveries
    retried = sum(1 for d in batches if len(d.attempts) > 1)
    failed = sender.failed
    records = sum(len(d.records) for d in batches)
    say(f"sent {records if n is None else n} readings in {len(batches)} deliveries in "
        f"{time.monotonic() - t0:.1f} s ({retried} retried, {len(failed)} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
