#!/usr/bin/env python3
"""hydrant's trigger benchmark: a change stream out to Kinesis, hydrant's [[trigger]]
against the seed's trigger function self-hosted (bench/baseline/trigger.js: the official
Node driver's change stream and one AWS SDK v3 PutRecord per document), on the same
change-stream server (tests/support/changestream_server.py), into the same moto server
(tests/support/aws.py, signature checks on), with the same writes.

For each contender in turn (a fresh collection and a fresh Kinesis stream each):
start it, let a few warm-up documents through, then
  1. burst: write N seed-like sensor readings (examples/sensor_simulator.py) with
     insert_many in batches, as fast as the server takes them, and follow the stream
     with GetRecords until all N are there: events/s end to end, CPU per event (the
     contender's utime+stime from /proc/<pid>/stat over the burst), lag per event;
  2. paced: write P readings one at a time at a fixed rate (well under every
     contender's capacity): lag per event at a light load, CPU per event when idle
     costs (polls, heartbeats, position writes) are spread over fewer events;
and the peak RSS (VmHWM). Lag = ApproximateArrivalTimestamp of the record in moto −
the moment insert_many/insert_one returned for its document (same machine clock;
moto stamps arrival with microseconds).

The floors, measured on the same servers: moto's CPU per PutRecord call and per record
of a PutRecords of 500 (boto3 from this process, one call at a time), and the
change-stream server's CPU per inserted document with nobody watching.

Run through `bench/run.sh --trigger [--quick]` (builds hydrant, installs the
baseline's packages), or directly:
    BENCH_HYDRANT=build/hydrant .cache/venv/bin/python bench/trigger_bench.py [--quick]
Knobs: see bench/README.md ("Triggers"). Writes the "## Triggers" section of
bench/RESULTS.md (not with --quick: .cache/bench/RESULTS-triggers-quick.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pymongo
from bson import ObjectId

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(HERE))

from aws import Moto  # noqa: E402
from changestream_server import ChangeStreamServer  # noqa: E402
from sensor_simulator import Simulator  # noqa: E402

from bench import (CACHE, Proc, cpu_seconds, env_int, env_str, free_port, http_ok, log, machine,  # noqa: E402
                   sh, shown, status_kib, wait_until)

QUICK = "--quick" in sys.argv[1:]
EVENTS = env_int("BENCH_TRIGGER_EVENTS", 300 if QUICK else 10000)
BATCH = env_int("BENCH_TRIGGER_BATCH", 100)
PACED = env_int("BENCH_TRIGGER_PACED_EVENTS", 50 if QUICK else 600)
RATE = env_int("BENCH_TRIGGER_RATE", 50)  # paced writes per second
WARMUP = env_int("BENCH_TRIGGER_WARMUP", 20 if QUICK else 200)
SHARDS = env_int("BENCH_TRIGGER_SHARDS", 4)
FLOOR_CALLS = env_int("BENCH_TRIGGER_FLOOR_CALLS", 100 if QUICK else 1000)
FLOOR_BATCHES = env_int("BENCH_TRIGGER_FLOOR_BATCHES", 2 if QUICK else 10)
CONTENDERS = [s.strip() for s in env_str("BENCH_TRIGGER_CONTENDERS", "seed,hydrant-seed,hydrant-unordered,hydrant-by-id,hydrant-seed-0ms")
              .split(",") if s.strip()]
RESULTS = Path(env_str("BENCH_RESULTS", str(CACHE / "bench" / "RESULTS-triggers-quick.md" if QUICK
                                            else ROOT / "bench" / "RESULTS.md")))
HYDRANT = Path(env_str("BENCH_HYDRANT", str(ROOT / "build" / "hydrant")))
BASELINE_DIR = Path(env_str("BENCH_BASELINE_DIR", str(ROOT / "bench" / "baseline")))
DB = "bench"
SECTION = "## Triggers"

# name → (what it is, hydrant's [[trigger]] keys and partition key; None: the seed's trigger.js)
SETUPS: dict[str, tuple[str, dict | None]] = {
    "seed": ("seed trigger.js (PutRecord per document, awaited)", None),
    "hydrant-seed": ('hydrant, partition_key_value = "1", ordered = true (the seed\'s semantics: one record per call)',
                     {"ordered": True, "dest": {"partition_key_value": "1"}}),
    "hydrant-unordered": ('hydrant, partition_key_value = "1", ordered = false, max_in_flight = 4 (up to 500 per call)',
                          {"ordered": False, "max_in_flight": 4, "dest": {"partition_key_value": "1"}}),
    "hydrant-by-id": ('hydrant, partition_key = "documentKey._id", ordered = true (up to 500 per call, order per document)',
                      {"ordered": True, "dest": {"partition_key": "documentKey._id"}}),
    # not one of issue 11's rows: the seed's semantics again without the 200 ms batching window
    "hydrant-seed-0ms": ('hydrant, partition_key_value = "1", ordered = true, max_latency = "0s"',
                         {"ordered": True, "max_latency": "0s", "dest": {"partition_key_value": "1"}}),
}


def toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    return json.dumps(str(v))


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


# ------------------------------------------------------------------------------------------
# reading the stream back


class Tail:
    """Follows every shard of a Kinesis stream with GetRecords: each record once, in
    arrival order per shard, with moto's ApproximateArrivalTimestamp."""

    def __init__(self, moto: Moto, stream: str):
        self.k = moto.client("kinesis")
        shards = [s["ShardId"] for s in self.k.list_shards(StreamName=stream)["Shards"]]
        self.its = {s: self.k.get_shard_iterator(StreamName=stream, ShardId=s,
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                    for s in shards}
        self.records: list[tuple[float, str]] = []  # (arrival epoch seconds, _id)
        self.ids: set[str] = set()
        self.calls = 0  # GetRecords calls made (moto's request count includes them)

    def poll(self) -> int:
        for shard, it in self.its.items():
            while True:
                page = self.k.get_records(ShardIterator=it, Limit=10000)
                self.calls += 1
                it = page["NextShardIterator"]
                for r in page["Records"]:
                    t = r["ApproximateArrivalTimestamp"]
                    if t.tzinfo is None:
                        t = t.replace(tzinfo=dt.timezone.utc)
                    try:
                        _id = json.loads(r["Data"]).get("_id")
                    except ValueError:
                        _id = None
                    self.records.append((t.timestamp(), str(_id)))
                    self.ids.add(str(_id))
                if len(page["Records"]) < 10000:
                    break
            self.its[shard] = it
        return len(self.records)

    def wait(self, ids, timeout: float, proc: Proc | None, what: str, interval: float = 0.5,
             quiet: float | None = None, done=None) -> None:
        """Until a record of every _id in ids has arrived, or (with quiet) nothing more has
        arrived for `quiet` seconds after some did: moto loses records when calls to one
        shard overlap (its Shard.put_record is not safe for concurrency: two calls take the
        same sequence number and the later record replaces the earlier). done(): the contender
        says it has delivered them all (then one quiet second is enough)."""
        ids = {str(i) for i in ids}
        deadline = time.monotonic() + timeout
        seen, last_change = -1, time.monotonic()
        while self.poll() >= 0 and not ids <= self.ids:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"{what}: the contender exited:\n{proc.tail()}")
            if len(self.records) != seen:
                seen, last_change = len(self.records), time.monotonic()
            elif quiet is not None and ids & self.ids and time.monotonic() - last_change > quiet:
                return
            elif done is not None and time.monotonic() - last_change > 1 and done():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: {len(ids & self.ids)} of {len(ids)} records after {timeout:.0f}s"
                                   + (f":\n{proc.tail()}" if proc else ""))
            time.sleep(interval)


# ------------------------------------------------------------------------------------------
# the contenders


def moto_requests(moto: Moto) -> int:
    """Requests moto answered so far (its log has one line per request)."""
    return moto.output().count('"POST / HTTP/1.1"')


def start_contender(name: str, work: Path, cs: ChangeStreamServer, moto: Moto, coll: str, stream: str) -> Proc:
    what, setup = SETUPS[name]
    log_path = work / f"{name}.log"
    if setup is None:
        env = dict(os.environ, MONGODB_URI=cs.uri, DB=DB, COLLECTION=coll, STREAM=stream,
                   KINESIS_ENDPOINT=moto.endpoint, **moto.env())
        p = Proc(name, ["node", "trigger.js"], log_path, env=env, cwd=BASELINE_DIR)
        p.start()
        wait_until(lambda: "watching" in log_path.read_text(errors="replace"), 60, f"{name} start", p)
        return p
    port = free_port()
    dest = {"type": "kinesis", "stream": stream, "region": moto.region, "endpoint": moto.endpoint,
            "access_key_id": moto.access_key_id, "secret_access_key": moto.secret_access_key, **setup["dest"]}
    trig = {"name": f"bench-{coll}", "database": DB, "collection": coll,
            "operation_types": ["insert", "update", "replace"], "full_document": "updateLookup",
            "format": "document", "ordered": setup["ordered"]}
    trig.update({k: setup[k] for k in ("max_in_flight", "max_latency") if k in setup})
    lines = ["[server]", f'listen = "127.0.0.1:{port}"', "", "[mongodb]", f"uri = {toml(cs.uri)}", "",
             "[triggers]", 'state_database = "hydrant_bench"', "", "[[trigger]]"]
    lines += [f"{k} = {toml(v)}" for k, v in trig.items()]
    lines += ["", "[trigger.destination]"] + [f"{k} = {toml(v)}" for k, v in dest.items()]
    cfg = work / f"{name}.toml"
    cfg.write_text("\n".join(lines) + "\n")
    p = Proc(name, [str(HYDRANT), "serve", "--config", str(cfg)], log_path,
             env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    p.start()
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 60, f"{name} start", p)
    p.metrics_url = f"http://127.0.0.1:{port}/metrics"
    return p


def delivered(p: Proc) -> int | None:
    """Events hydrant's trigger had acknowledged by Kinesis (its /metrics); None for the seed."""
    url = getattr(p, "metrics_url", None)
    if url is None:
        return None
    with urllib.request.urlopen(url, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("hydrant_trigger_events_delivered_total{"):
                return int(float(line.rsplit(" ", 1)[1]))
    return None


def readings(sim: Simulator, n: int) -> list[dict]:
    """n seed-like readings: an ObjectId _id and recordedAt as a date, as the seed's script stored them."""
    out: list[dict] = []
    while len(out) < n:
        for r in sim.tick():
            now = dt.datetime.now(dt.timezone.utc)
            r["_id"] = ObjectId()
            r["recordedAt"] = now.replace(microsecond=now.microsecond // 1000 * 1000)
            out.append(r)
    return out[:n]


def run_contender(name: str, work: Path, cs: ChangeStreamServer, moto: Moto, client: pymongo.MongoClient,
                  sim: Simulator) -> dict:
    coll = name.replace("-", "_")
    stream = f"bench-{name}-{int(time.time())}"
    moto.create_stream(stream, SHARDS)
    c = client[DB][coll]
    c.drop()
    row: dict = {"contender": name, "what": SETUPS[name][0], "events": EVENTS, "paced": PACED,
                 "collection": f"{DB}.{coll}", "stream": stream, "shards": SHARDS}
    p = start_contender(name, work, cs, moto, coll, stream)
    try:
        tail = Tail(moto, stream)
        # warm-up: one document at a time until the first arrives (the stream is open), then WARMUP more
        for i in range(60):
            c.insert_one({"warmup": True, **readings(sim, 1)[0]})
            deadline = time.monotonic() + 2
            while not tail.poll() and time.monotonic() < deadline and p.alive():
                time.sleep(0.2)
            if tail.records:
                break
        else:
            raise RuntimeError(f"{name}: nothing arrived in Kinesis in 120 s:\n{p.tail()}")
        warm = [{"warmup": True, **r} for r in readings(sim, WARMUP)]
        c.insert_many(warm)
        tail.wait([d["_id"] for d in warm], 120 + WARMUP / 20, p, f"{name} warm-up")
        time.sleep(1.0)
        base = tail.poll()

        # 1. burst
        docs = readings(sim, EVENTS)
        acked: dict[str, float] = {}
        load0 = os.getloadavg()[0]
        cpu0, moto0, cs0 = cpu_seconds(p.pid), cpu_seconds(moto._proc.pid), cpu_seconds(cs.proc.pid)
        req0, polls0, ack0 = moto_requests(moto), tail.calls, delivered(p)
        t0 = time.time()
        for i in range(0, EVENTS, BATCH):
            part = docs[i:i + BATCH]
            c.insert_many(part, ordered=True)
            t = time.time()
            for d in part:
                acked[str(d["_id"])] = t
        t_written = time.time()
        tail.wait(acked, 120 + EVENTS / 20, p, f"{name} burst", quiet=15,
                  done=None if ack0 is None else lambda: delivered(p) - ack0 >= EVENTS)
        cpu1, moto1, cs1 = cpu_seconds(p.pid), cpu_seconds(moto._proc.pid), cpu_seconds(cs.proc.pid)
        time.sleep(0.3)  # moto writes its log line after the answer
        puts = moto_requests(moto) - req0 - (tail.calls - polls0)
        ack = None if ack0 is None else delivered(p) - ack0
        load1 = os.getloadavg()[0]
        got = [(t, i) for t, i in tail.records[base:] if i in acked]
        last = max(t for t, _ in got)
        lags = [(t - acked[i]) * 1000 for t, i in got]
        row["burst"] = {
            "seconds": last - t0, "events_per_s": EVENTS / (last - t0), "write_seconds": t_written - t0,
            "writes_per_s": EVENTS / (t_written - t0),
            "cpu_s": cpu1 - cpu0, "cpu_us_per_event": (cpu1 - cpu0) / EVENTS * 1e6,
            "moto_cpu_us_per_event": (moto1 - moto0) / EVENTS * 1e6,
            "cs_cpu_us_per_event": (cs1 - cs0) / EVENTS * 1e6,
            "lag_ms": {"p50": pct(lags, 0.5), "p99": pct(lags, 0.99), "max": max(lags)},
            "records": len(tail.records) - base, "unique": len({i for _, i in got}), "load": [load0, load1],
            "put_calls": puts, "records_per_call": (len(tail.records) - base) / puts if puts > 0 else None,
            "acknowledged": ack,
        }
        base = tail.poll()

        # 2. paced
        docs = readings(sim, PACED)
        acked = {}
        cpu0, moto0, cs0 = cpu_seconds(p.pid), cpu_seconds(moto._proc.pid), cpu_seconds(cs.proc.pid)
        req0, polls0, ack0 = moto_requests(moto), tail.calls, delivered(p)
        t0 = time.monotonic()
        for k, d in enumerate(docs):
            wait = t0 + k / RATE - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            c.insert_one(d)
            acked[str(d["_id"])] = time.time()
        tail.wait(acked, 60 + PACED / 10, p, f"{name} paced", interval=0.25, quiet=15,
                  done=None if ack0 is None else lambda: delivered(p) - ack0 >= PACED)
        cpu1, moto1, cs1 = cpu_seconds(p.pid), cpu_seconds(moto._proc.pid), cpu_seconds(cs.proc.pid)
        time.sleep(0.3)  # moto writes its log line after the answer
        puts = moto_requests(moto) - req0 - (tail.calls - polls0)
        ack = None if ack0 is None else delivered(p) - ack0
        got = [(t, i) for t, i in tail.records[base:] if i in acked]
        lags = [(t - acked[i]) * 1000 for t, i in got]
        row["paced"] = {
            "rate": RATE, "cpu_us_per_event": (cpu1 - cpu0) / PACED * 1e6,
            "moto_cpu_us_per_event": (moto1 - moto0) / PACED * 1e6,
            "lag_ms": {"p50": pct(lags, 0.5), "p99": pct(lags, 0.99), "max": max(lags)},
            "records": len(tail.records) - base, "unique": len({i for _, i in got}),
            "put_calls": puts, "records_per_call": (len(tail.records) - base) / puts if puts > 0 else None,
            "acknowledged": ack,
        }
        row["peak_rss_kib"] = status_kib(p.pid, "VmHWM")
    finally:
        p.stop()
    return row


# ------------------------------------------------------------------------------------------
# the floors


def moto_floor(moto: Moto) -> dict:
    """moto's own CPU per PutRecord call and per record of PutRecords of 500, from boto3 in
    this process, one call at a time, into fresh streams."""
    pid = moto._proc.pid
    k = moto.client("kinesis")
    sim = Simulator(nodes=3, seed=7)
    data = [json.dumps({**r, "_id": str(ObjectId()), "recordedAt": r["recordedAt"]}).encode()
            for r in sim.readings(FLOOR_CALLS // 3 + 1)][:FLOOR_CALLS]
    out: dict = {}
    s1 = f"floor-putrecord-{int(time.time())}"
    moto.create_stream(s1, SHARDS)
    for d in data[:20]:
        k.put_record(StreamName=s1, Data=d, PartitionKey="1")
    c0, w0 = cpu_seconds(pid), time.monotonic()
    for d in data:
        k.put_record(StreamName=s1, Data=d, PartitionKey="1")
    c1, w1 = cpu_seconds(pid), time.monotonic()
    out["put_record"] = {"calls": len(data), "moto_cpu_ms_per_call": (c1 - c0) / len(data) * 1e3,
                         "wall_ms_per_call": (w1 - w0) / len(data) * 1e3}
    s2 = f"floor-putrecords-{int(time.time())}"
    moto.create_stream(s2, SHARDS)
    batch = [{"Data": data[i % len(data)], "PartitionKey": str(ObjectId())} for i in range(500)]
    k.put_records(StreamName=s2, Records=batch)
    c0, w0 = cpu_seconds(pid), time.monotonic()
    for _ in range(FLOOR_BATCHES):
        k.put_records(StreamName=s2, Records=batch)
    c1, w1 = cpu_seconds(pid), time.monotonic()
    n = FLOOR_BATCHES * 500
    out["put_records"] = {"calls": FLOOR_BATCHES, "records": n,
                          "moto_cpu_ms_per_call": (c1 - c0) / FLOOR_BATCHES * 1e3,
                          "moto_cpu_us_per_record": (c1 - c0) / n * 1e6,
                          "wall_ms_per_call": (w1 - w0) / FLOOR_BATCHES * 1e3}
    return out


def server_floor(cs: ChangeStreamServer, client: pymongo.MongoClient, sim: Simulator) -> dict:
    """The change-stream server's CPU per document inserted (insert_many of BATCH), nobody watching."""
    c = client[DB]["floor"]
    c.drop()
    c.insert_many(readings(sim, BATCH))
    docs = readings(sim, EVENTS)
    c0, w0 = cpu_seconds(cs.proc.pid), time.monotonic()
    for i in range(0, EVENTS, BATCH):
        c.insert_many(docs[i:i + BATCH], ordered=True)
    c1, w1 = cpu_seconds(cs.proc.pid), time.monotonic()
    return {"events": EVENTS, "cpu_us_per_doc": (c1 - c0) / EVENTS * 1e6, "docs_per_s": EVENTS / (w1 - w0)}


# ------------------------------------------------------------------------------------------
# the report


def f0(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


def f1(x) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def report(rows: list[dict], floors: dict, meta: dict) -> str:
    seed = next((r for r in rows if r["contender"] == "seed" and "burst" in r), None)
    mp = floors["moto"]
    k = meta.get("knobs", {})
    EVENTS, PACED, BATCH, RATE, WARMUP, SHARDS = (k.get(n, v) for n, v in (  # noqa: N806
        ("events", globals()["EVENTS"]), ("paced", globals()["PACED"]), ("batch", globals()["BATCH"]),
        ("rate", globals()["RATE"]), ("warmup", globals()["WARMUP"]), ("shards", globals()["SHARDS"])))
    out = [SECTION, "",
           "A change stream out to Kinesis: hydrant's `[[trigger]]` against the seed's trigger function "
           "self-hosted ([`bench/baseline/trigger.js`](baseline/trigger.js)), same change-stream server, same moto, "
           "same writes. How it is measured: [bench/README.md](README.md#triggers).", "",
           f"- date: {meta['date']}",
           f"- machine: {meta['machine']}; load average {meta['load']} at the start (2 shared cores: the writer, "
           "the contender, the change-stream server and moto all run on them)",
           f"- change-stream server: {meta['cs']}",
           f"- Kinesis: {meta['moto']}, signature checks on; a fresh stream of {SHARDS} shards per contender",
           f"- hydrant: {meta['hydrant']}",
           f"- seed trigger: {meta['seed']}",
           f"- writes: {EVENTS:,} sensor readings (examples/sensor_simulator.py, `_id` ObjectId, `recordedAt` a date, "
           f"~{meta['doc_bytes']} B as JSON) by insert_many of {BATCH} as fast as the server takes them (*burst*), "
           f"then {PACED:,} by insert_one at {RATE}/s (*paced*); {WARMUP} warm-up documents first, not counted",
           f"- command: `{meta['command']}`; the run took {meta['minutes']:.1f} min", "",
           "| contender | events/s | CPU µs / event | seed ÷ this (target ≥ 20) | lag p50 / p99 ms (burst) "
           "| lag p50 / p99 ms (paced) | CPU µs / event (paced) | peak RSS MiB | records / call (burst) | moto CPU µs / event "
           "| server CPU µs / event | check: in the stream / sent (acknowledged to hydrant) |",
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        if "burst" not in r:
            out.append(f"| {r['what']} | failed: {r.get('failure', '?')[:160].replace('|', '/')} "
                       "| | | | | | | | | | |")
            continue
        b, pc = r["burst"], r["paced"]
        ratio = "–"
        if seed and r is not seed:
            x = seed["burst"]["cpu_us_per_event"] / b["cpu_us_per_event"] if b["cpu_us_per_event"] else float("inf")
            ratio = f"{x:,.1f}×" + (" ✓" if x >= 20 else " ✗")
        ok = "✓" if b["unique"] == EVENTS and pc["unique"] == PACED else "✗"
        acks = "" if b.get("acknowledged") is None else f" ({b['acknowledged']:,})"
        out.append(f"| {r['what']} | {f0(b['events_per_s'])} | {f1(b['cpu_us_per_event'])} | {ratio} "
                   f"| {f0(b['lag_ms']['p50'])} / {f0(b['lag_ms']['p99'])} "
                   f"| {f0(pc['lag_ms']['p50'])} / {f0(pc['lag_ms']['p99'])} | {f1(pc['cpu_us_per_event'])} "
                   f"| {r['peak_rss_kib'] / 1024:.0f} | {f1(b['records_per_call'])} | {f0(b['moto_cpu_us_per_event'])} "
                   f"| {f0(b['cs_cpu_us_per_event'])} "
                   f"| {b['unique']:,} / {EVENTS:,}{acks} {ok} |")
    out += ["", "The floors, on the same servers:", "",
            "| what | figure |", "|---|--:|",
            f"| moto, PutRecord (one record per call, boto3, one at a time): moto's CPU per call "
            f"| {mp['put_record']['moto_cpu_ms_per_call']:.2f} ms |",
            f"| moto, the same: wall time per call (round trip, boto3 included) "
            f"| {mp['put_record']['wall_ms_per_call']:.2f} ms |",
            f"| moto, PutRecords of 500: moto's CPU per call / per record "
            f"| {mp['put_records']['moto_cpu_ms_per_call']:.0f} ms / {mp['put_records']['moto_cpu_us_per_record']:.0f} µs |",
            f"| change-stream server: CPU per document inserted (insert_many of {BATCH}, nobody watching) "
            f"| {floors['server']['cpu_us_per_doc']:.0f} µs |",
            f"| change-stream server: documents/s inserted that way "
            f"| {floors['server']['docs_per_s']:,.0f} |", ""]
    # where the time went: busy cores (CPU seconds per second of the burst) of each process
    out += ["Where the burst's time went: CPU seconds per second of wall time (busy cores; moto is one "
            "Python process, ~1 core at most), and the burst's wall time and moto's CPU per `PutRecord(s)` call "
            "(one call at a time: the round trip; several in flight: less than it):", "",
            "| contender | contender cores | moto cores | server cores | burst ms / call | moto CPU ms / call |",
            "|---|--:|--:|--:|--:|--:|"]
    for r in rows:
        if "burst" not in r:
            continue
        b = r["burst"]
        eps, rpc = b["events_per_s"], b["records_per_call"] or 1

        def cores(us: float) -> str:
            return f"{us * eps / 1e6:.2f}"

        out.append(f"| {r['contender']} | {cores(b['cpu_us_per_event'])} | {cores(b['moto_cpu_us_per_event'])} "
                   f"| {cores(b['cs_cpu_us_per_event'])} | {1000 * rpc / eps:.1f} "
                   f"| {b['moto_cpu_us_per_event'] * rpc / 1000:.1f} |")
    out += ["", NOTES]
    return "\n".join(out) + "\n"


# What the numbers mean, and what bounds each row: the explanations hold for this setup
# (moto, the change-stream server, 2 shared cores); the figures they cite are in the tables.
NOTES = """What bounds each row:

- **The seed's trigger** is bound by its awaited round trip per document: one `PutRecord`, and the
  next change only after the answer. moto spends ~3 ms of CPU on every call (the floor: a
  `PutRecord` costs moto as much CPU whatever sends it), one Python process that uses at most one
  core; the Node process adds its own ~1.6 ms of CPU per event (the SDK's request building,
  signing, parsing). So it runs at ~200 events/s, and a burst of writes queues: the burst lag
  (tens of seconds) is the backlog draining at that rate. At a trickle (*paced*) each document
  is out in a few ms.
- **hydrant with the seed's semantics** (`partition_key_value = "1"`, `ordered = true`) sends one
  record per call too (an ordered call holds one record per partition key): the same number of
  calls, so moto bounds it the same way — its *moto cores* column is ~1 (moto saturated) — at
  ~1.4× the seed's rate. **The 20× CPU target is not met in this row** (~5.5×): hydrant's CPU per
  event here is the cost of one HTTP call per event, not of hydrant's own work. A profile of this
  row (`perf record` of hydrant during a 4,000-event burst, twice, 2026-12-01): ~50 % kernel (a
  fresh TCP connection per call: moto answers every request with `Connection: close`, so
  `connect` and `close` alone are ~23 %, plus polling and loopback TCP), ~20 % libcurl
  (per-request setup, header handling), ~15 % libc (malloc, memmove), 6 % libcrypto (SigV4's
  HMACs and SHA-256), ~4 % hydrant's own code and under 0.5 % libmongoc/libbson. The seed pays
  the same reconnect per call. Against AWS (keep-alive, TLS) the per-call share changes, the shape
  does not: with one partition key and order kept, every event is a call.
- **`max_latency`** is where hydrant's paced lag comes from: a batch waits up to 200 ms (the
  default) to fill once its first event is read, so a trickle sees ~100–250 ms where the seed's
  loop sees a few ms. `max_latency = "0s"` (last row) sends as soon as the stream has nothing
  more: a few ms, like the seed, at the price of one more `getMore` per event (more CPU in hydrant
  and in the server).
- **Batched rows** (`ordered = false`, or `partition_key = "documentKey._id"`) put up to 500 records
  in a call; moto's cost per record falls to tens of µs and hydrant's CPU per event to tens of µs:
  **≥ 20× below the seed ✓**, with hydrant using ~0.1 core. They are bound by the change-stream
  server, the busiest process (~1 core: the inserts cost it ~280 µs of CPU each with nobody
  watching — the floor, ~3,500 inserts/s — plus the change stream and hydrant's position writes),
  with the writer and moto on the same 2 cores: the by-id row delivers at about the write rate
  with a lag of ~0.1 s. `ordered = false` with one key puts all its calls on one shard, 4 at once;
  moto serialises them (one Python process), and the 200 ms `max_latency` shows in its lag.
- **moto loses records** when calls to one shard overlap (`ordered = false` with one key): its
  `Shard.put_record` takes the next sequence number without a lock, two concurrent calls take the
  same one and the later record replaces the earlier. hydrant had every event acknowledged
  (the number in parentheses); the stream holds fewer. That is moto's, not a delivery loss.
"""


def write_section(path: Path, text: str) -> None:
    """Replaces (or appends) the "## Triggers" section of RESULTS.md: from its heading to
    the end of the file (bench.py keeps it when it rewrites the rest)."""
    old = path.read_text() if path.exists() else "# hydrant benchmark results\n"
    i = old.find("\n" + SECTION + "\n")
    head = old if i < 0 else old[:i]
    path.write_text(head.rstrip("\n") + "\n\n" + text)


def main() -> int:
    if "--from" in sys.argv[1:]:  # re-render the report of an earlier run: --from <results.json>
        raw = json.loads(Path(sys.argv[sys.argv.index("--from") + 1]).read_text())
        text = report(raw["rows"], raw["floors"], raw["meta"])
        print(text)
        if str(RESULTS) not in ("", "-"):
            write_section(RESULTS, text)
        return 0
    t_start = time.monotonic()
    if any(SETUPS[c][1] is not None for c in CONTENDERS) and not HYDRANT.exists():
        log(f"hydrant missing at {HYDRANT}: run bench/run.sh --trigger, or set BENCH_HYDRANT")
        return 2
    if "seed" in CONTENDERS and not (BASELINE_DIR / "node_modules" / "@aws-sdk" / "client-kinesis").exists():
        log(f"the baseline is not installed in {BASELINE_DIR}: run bench/run.sh --trigger")
        return 2
    (CACHE / "bench").mkdir(parents=True, exist_ok=True)
    for old in sorted((CACHE / "bench").glob("trigger-run-*"), key=lambda p: p.stat().st_mtime)[:-4]:
        shutil.rmtree(old, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=time.strftime("trigger-run-%Y%m%d-%H%M%S-"), dir=CACHE / "bench"))
    log(f"work directory (logs): {work}")
    load = os.getloadavg()
    cs = ChangeStreamServer(data_dir=work / "db", oplog_max=max(100000, 4 * (EVENTS + PACED + WARMUP)))
    moto = Moto()
    rows: list[dict] = []
    try:
        cs.start()
        moto.start()
        log(f"change-stream server at {cs.uri}, moto at {moto.endpoint}")
        client = pymongo.MongoClient(cs.uri)
        sim = Simulator(nodes=50, interval=0.02, seed=11)
        floors = {"moto": moto_floor(moto), "server": server_floor(cs, client, sim)}
        log(f"floors: {json.dumps(floors)}")
        for name in CONTENDERS:
            log(f"{name}: {SETUPS[name][0]}")
            try:
                row = run_contender(name, work, cs, moto, client, sim)
                b, pc = row["burst"], row["paced"]
                log(f"  burst {b['events_per_s']:,.0f} events/s, {b['cpu_us_per_event']:.1f} µs CPU/event, "
                    f"lag p50 {b['lag_ms']['p50']:.0f} p99 {b['lag_ms']['p99']:.0f} ms, moto "
                    f"{b['moto_cpu_us_per_event']:.0f} µs/event; paced lag p50 {pc['lag_ms']['p50']:.0f} "
                    f"p99 {pc['lag_ms']['p99']:.0f} ms; peak {row['peak_rss_kib'] // 1024} MiB")
            except Exception as e:  # a contender that fails is reported as failed, the others still run
                log(f"  failed: {e}")
                row = {"contender": name, "what": SETUPS[name][0], "failure": str(e).splitlines()[0]}
            rows.append(row)
        doc_bytes = len(json.dumps({**readings(sim, 1)[0], "_id": "0" * 24, "recordedAt": "2026-01-01T00:00:00.000Z"}))
        client.close()
    finally:
        moto.stop()
        cs.stop()
        if moto.log_path is not None and moto.log_path.exists():
            shutil.move(str(moto.log_path), work / "moto.log")
        (work / "changestream-server.log").write_text("\n".join(cs.output) + "\n")
    shutil.rmtree(work / "db", ignore_errors=True)

    exe = ("bench/run.sh --trigger" if os.environ.get("BENCH_VIA_RUN_SH")
           else f"BENCH_HYDRANT={shown(HYDRANT)} .cache/venv/bin/python bench/trigger_bench.py") + (" --quick" if QUICK else "")
    knobs = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
                     if k.startswith("BENCH_TRIGGER_"))
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"], ROOT) or "?"
    dirty = " (with uncommitted changes)" if sh(["git", "status", "--porcelain", "--", "src", "CMakeLists.txt"], ROOT) else ""
    seed_ver = sh(["node", "-p", "'node ' + process.version + ', mongodb driver ' + require('mongodb/package.json').version"
                   " + ', @aws-sdk/client-kinesis ' + require('@aws-sdk/client-kinesis/package.json').version"],
                  BASELINE_DIR)
    java = sh(["bash", "-c", "java -version 2>&1 | head -1"])
    moto_ver = sh([sys.executable, "-c", "import moto; print(moto.__version__)"])
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "load": f"{load[0]:.2f}",
        "cs": f"tests/support/changestream-server (mongo-java-server with the project's oplog, H2 on disk; {java})",
        "moto": f"moto {moto_ver} server mode",
        # BENCH_HYDRANT_SOURCE: what the binary was built from, when not this tree (e.g. a clean export of HEAD)
        "hydrant": env_str("BENCH_HYDRANT_SOURCE", f"commit {commit}{dirty}") + f", {shown(HYDRANT)} (RelWithDebInfo)",
        "seed": seed_ver or "?", "doc_bytes": doc_bytes,
        "command": (knobs + " " if knobs else "") + exe, "minutes": (time.monotonic() - t_start) / 60,
        "knobs": {"events": EVENTS, "paced": PACED, "batch": BATCH, "rate": RATE, "warmup": WARMUP, "shards": SHARDS},
    }
    text = report(rows, floors, meta)
    print(text)
    (work / "results.json").write_text(json.dumps({"meta": meta, "floors": floors, "rows": rows}, indent=1))
    if str(RESULTS) not in ("", "-"):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        write_section(RESULTS, text)
        log(f"written to {RESULTS} (raw numbers: {work / 'results.json'})")
    return 1 if any("burst" not in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
