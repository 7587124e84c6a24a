"""Simulated Raspberry Pi + Sense HAT sensor nodes, without the hardware.

The seed article's script read the Sense HAT every 0.5 s and stored
{nodeName, humidity, temperature, pressure, isMoving, acceleration, recordedAt}
in monitors.reports, where isMoving is true when the acceleration on any axis
goes beyond +-1 g. These nodes produce the same documents (plus a 24-hex `_id`,
as the seed's Firehose variant sends) with values that behave like a room:

- temperature (deg C), humidity (%RH) and pressure (hPa, the Sense HAT's millibars)
  wander slowly around a level of the node's own, which itself drifts (weather,
  heating); humidity falls a little when the temperature rises;
- at rest the accelerometer reads about 1 g on z and noise on x and y; now and
  then someone picks a node up and carries it for a few seconds, when the
  readings swing well beyond +-1 g.

    from sensor_simulator import Simulator
    sim = Simulator(nodes=3, seed=42)
    for reading in sim.tick():       # one reading per node; call every sim.interval seconds
        print(reading)
"""

from __future__ import annotations

import datetime
import itertools
import os
import random
import time
from typing import Callable, Iterator

READING_INTERVAL = 0.5  # seconds, as in the seed's script

_oid_counter = itertools.count(random.randrange(1 << 24))
_oid_process = os.urandom(5)


def object_id_hex(now: float | None = None) -> str:
    """A new ObjectId as 24 hex digits (4-byte time, 5 random bytes, 3-byte counter),
    without needing pymongo."""
    ts = int(time.time() if now is None else now) & 0xFFFFFFFF
    count = next(_oid_counter) & 0xFFFFFF
    return (ts.to_bytes(4, "big") + _oid_process + count.to_bytes(3, "big")).hex()


def is_moving(acceleration: dict) -> bool:
    """The seed's rule: beyond +-1 g on any axis, the node is being moved."""
    return any(v < -1 or v > 1 for v in acceleration.values())


def _iso_ms(ts: float) -> str:
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class SensorNode:
    """One node. Each quantity is a mean-reverting random walk (an Ornstein-Uhlenbeck
    process) around a level that drifts on its own, so values change smoothly and
    stay plausible however long the node runs."""

    # plausible ranges for a room; the levels never leave them
    TEMPERATURE = (16.0, 30.0)
    HUMIDITY = (20.0, 75.0)
    PRESSURE = (980.0, 1040.0)

    def __init__(self, name: str, rng: random.Random, interval: float = READING_INTERVAL):
        self.name = name
        self.rng = rng
        self.interval = interval
        self.temperature_level = rng.uniform(19, 25)
        self.humidity_level = rng.uniform(35, 55)
        self.pressure_level = rng.uniform(1005, 1022)
        self.temperature = self.temperature_level + rng.gauss(0, 0.2)
        self.humidity = self.humidity_level + rng.gauss(0, 0.5)
        self.pressure = self.pressure_level + rng.gauss(0, 0.1)
        self.moving_for = 0  # readings left in the current carry

    @staticmethod
    def _clamp(v: float, lo_hi: tuple[float, float]) -> float:
        return min(lo_hi[1], max(lo_hi[0], v))

    def _step(self, value: float, level: float, pull: float, noise: float) -> float:
        return value + pull * (level - value) + self.rng.gauss(0, noise)

    def reading(self, now: float | None = None) -> dict:
        r, dt = self.rng, self.interval
        # the levels drift (slowly), the values follow them with noise
        self.temperature_level = self._clamp(self.temperature_level + r.gauss(0, 0.01 * dt ** 0.5), self.TEMPERATURE)
        self.humidity_level = self._clamp(self.humidity_level + r.gauss(0, 0.03 * dt ** 0.5), self.HUMIDITY)
        self.pressure_level = self._clamp(self.pressure_level + r.gauss(0, 0.004 * dt ** 0.5), self.PRESSURE)
        self.temperature = self._clamp(self._step(self.temperature, self.temperature_level, 0.02 * dt, 0.03),
                                       self.TEMPERATURE)
        humidity_level = self.humidity_level - 1.5 * (self.temperature - self.temperature_level)
        self.humidity = self._clamp(self._step(self.humidity, humidity_level, 0.02 * dt, 0.08), (0.0, 100.0))
        self.pressure = self._clamp(self._step(self.pressure, self.pressure_level, 0.02 * dt, 0.02), self.PRESSURE)
        # being carried: a few seconds of strong, irregular acceleration
        if self.moving_for == 0 and r.random() < 0.01 * dt / READING_INTERVAL:
            self.moving_for = r.randint(int(2 / dt) or 1, int(6 / dt) or 1)
        if self.moving_for:
            self.moving_for -= 1
            acc = {"x": r.gauss(0, 0.9), "y": r.gauss(0, 0.9), "z": 1.0 + r.gauss(0, 0.9)}
            self.temperature = self._clamp(self.temperature + r.gauss(0, 0.05), self.TEMPERATURE)
        else:
            acc = {"x": r.gauss(0, 0.006), "y": r.gauss(0, 0.006), "z": 0.985 + r.gauss(0, 0.004)}
        ts = time.time() if now is None else now
        acceleration = {k: round(v, 4) for k, v in acc.items()}
        return {
            "_id": object_id_hex(ts),
            "nodeName": self.name,
            "humidity": round(self.humidity, 2),
            "temperature": round(self.temperature, 2),
            "pressure": round(self.pressure, 2),
            "isMoving": is_moving(acceleration),
            "acceleration": acceleration,
            "recordedAt": _iso_ms(ts),
        }


class Simulator:
    """N nodes named raspberrypi-1..N, each producing a reading every `interval` s."""

    def __init__(self, nodes: int = 3, interval: float = READING_INTERVAL, seed: int | None = None,
                 prefix: str = "raspberrypi-"):
        if nodes < 1:
            raise ValueError("nodes must be >= 1")
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.interval = interval
        self.rng = random.Random(seed)
        self.nodes = [SensorNode(f"{prefix}{i + 1}", self.rng, interval) for i in range(nodes)]

    def tick(self, now: float | None = None) -> list[dict]:
        """One reading from every node, all taken at `now` (default: the time now)."""
        ts = time.time() if now is None else now
        return [n.reading(ts) for n in self.nodes]

    def run(self, seconds: float, emit: Callable[[dict], None], *, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic, idle: Callable[[], None] | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> int:
        """Calls emit(reading) for every reading for `seconds` (0: until should_stop()),
        on a fixed cadence (no drift however long emit takes); idle() is called between
        ticks. Returns the number of readings."""
        start = clock()
        n = 0
        for k in itertools.count():
            if should_stop() or (seconds and clock() - start >= seconds):
                break
            for reading in self.tick():
                emit(reading)
                n += 1
            if idle:
                idle()
            wait = start + (k + 1) * self.interval - clock()
            if wait > 0:
                sleep(wait)
        return n

    def readings(self, count: int, start: float | None = None) -> Iterator[dict]:
        """`count` ticks' worth of readings with simulated timestamps (no waiting)."""
        t0 = time.time() if start is None else start
        for k in range(count):
            yield from self.tick(t0 + k * self.interval)
