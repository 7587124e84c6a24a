"""examples/sensor_simulator.py: the seed's Raspberry Pi + Sense HAT readings without
the hardware (plausible, drifting values; isMoving from acceleration beyond +-1 g;
a reading per node every 0.5 s), and examples/sensor_firehose.py, the CLI that sends
them through the Firehose sender into the real hydrant."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import subprocess
import sys

from bson import ObjectId

from support import DEFAULT_KEY, DEFAULT_PATH, EXAMPLES, endpoint_config
from sensor_simulator import Simulator, is_moving  # examples/, put on sys.path by support

FIELDS = {"_id", "nodeName", "humidity", "temperature", "pressure", "isMoving", "acceleration", "recordedAt"}


def test_readings_look_like_the_seeds():
    sim = Simulator(nodes=4, seed=11)
    t0 = 1_760_000_000.0
    readings = list(sim.readings(2 * 60 * 60 * 2, start=t0))  # two simulated hours
    assert len(readings) == 4 * 14400
    names = sorted({r["nodeName"] for r in readings})
    assert names == ["raspberrypi-1", "raspberrypi-2", "raspberrypi-3", "raspberrypi-4"]
    ids = [r["_id"] for r in readings]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    for r in readings[:8] + readings[-8:]:
        assert set(r) == FIELDS
        assert set(r["acceleration"]) == {"x", "y", "z"}
        dt.datetime.fromisoformat(r["recordedAt"].replace("Z", "+00:00"))
    # a reading per node every 0.5 s
    first = [r for r in readings if r["nodeName"] == "raspberrypi-1"][:3]
    stamps = [dt.datetime.fromisoformat(r["recordedAt"].replace("Z", "+00:00")).timestamp() for r in first]
    assert stamps == [t0, t0 + 0.5, t0 + 1.0]
    # isMoving is exactly the seed's rule, and both states occur
    assert all(r["isMoving"] == is_moving(r["acceleration"]) for r in readings)
    moving = sum(r["isMoving"] for r in readings) / len(readings)
    assert 0.005 < moving < 0.25, moving
    at_rest = [r for r in readings if not r["isMoving"]]
    assert 0.95 < statistics.mean(r["acceleration"]["z"] for r in at_rest) < 1.0  # gravity, ~1 g
    for name in names:
        node = [r for r in readings if r["nodeName"] == name]
        t = [r["temperature"] for r in node]
        h = [r["humidity"] for r in node]
        p = [r["pressure"] for r in node]
        # plausible for a room...
        assert 16 <= min(t) and max(t) <= 30
        assert 0 <= min(h) and max(h) <= 100
        assert 980 <= min(p) and max(p) <= 1040
        # ...changing smoothly (no jumps between two readings half a second apart)...
        assert max(abs(a - b) for a, b in zip(t, t[1:])) < 0.5
        assert max(abs(a - b) for a, b in zip(p, p[1:])) < 0.3
        # ...but drifting: not constant, not white noise around a fixed value
        assert max(t) - min(t) > 0.2 and max(p) - min(p) > 0.05
        assert len(set(t)) > 50
    # nodes differ from each other
    assert len({round(statistics.mean(r["temperature"] for r in readings if r["nodeName"] == n), 1)
                for n in names}) > 1


def test_run_keeps_the_cadence():
    now = [0.0]
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    got = []

    def emit(r):
        got.append(r)
        now[0] += 0.1  # a slow consumer does not slow the readings down

    n = Simulator(nodes=3, interval=0.5, seed=1).run(5, emit, sleep=sleep, clock=lambda: now[0])
    assert n == len(got) == 3 * 10
    assert all(abs(s - 0.2) < 1e-9 for s in sleeps), sleeps  # 0.5 s per tick minus 3 x 0.1 s


def test_cli_sends_readings_into_hydrant(start_hydrant, db, db_name):
    hydrant = start_hydrant([endpoint_config(db_name, object_ids=["_id"], dates=["recordedAt"],
                                             metadata="_firehose")])
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / "sensor_firehose.py"), "--url", hydrant.url(DEFAULT_PATH),
         "--access-key", DEFAULT_KEY, "--nodes", "2", "--seconds", "2.2", "--buffer-interval", "0.5",
         "--gzip", "--common-attribute", "site=lab", "--seed", "3"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"sent (\d+) readings in (\d+) deliveries .* \(0 retried, 0 failed\)", r.stdout)
    assert m, r.stdout
    sent, deliveries = int(m.group(1)), int(m.group(2))
    assert sent in (8, 10) and deliveries >= 2, r.stdout  # 2 nodes x 5 ticks in 2.2 s (4 if late), batched every 0.5 s
    assert db.records.count_documents({}) == sent
    doc = db.records.find_one({"nodeName": "raspberrypi-2"}, sort=[("recordedAt", -1)])
    assert isinstance(doc["_id"], ObjectId)
    assert isinstance(doc["recordedAt"], dt.datetime)
    assert set(doc) == FIELDS | {"_firehose"}
    assert doc["_firehose"]["commonAttributes"] == {"site": "lab"}
    assert doc["isMoving"] == is_moving(doc["acceleration"])
    # a wrong key: every attempt is a 401, the batch is given up, the exit status says so
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / "sensor_firehose.py"), "--url", hydrant.url(DEFAULT_PATH),
         "--access-key", "wrong", "--nodes", "1", "--seconds", "0.4", "--retry-duration", "1.2"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "HTTP 401" in r.stderr and "retrying in" in r.stderr and "FAILED" in r.stderr, r.stderr
