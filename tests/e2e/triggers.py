"""Helpers for the [[trigger]] end-to-end tests: configs with nested tables, the
change-stream server, moto and the fault proxy (tests/support), and hydrant
processes that a test may SIGKILL and restart."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from aws import Moto  # noqa: E402
from changestream_server import ChangeStreamServer  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402

from support import Hydrant, free_port, metric_value, parse_metrics, toml_value  # noqa: E402

__all__ = ["Moto", "ChangeStreamServer", "FaultProxy", "trigger_config", "wait_for", "metrics_of", "trigger_metric"]


def _table(out: list[str], header: str, values: dict) -> None:
    out += ["", header]
    for k, v in values.items():
        if v is None:
            continue
        if isinstance(v, dict):
            continue
        out.append(f"{k} = {toml_value(v)}")


def trigger_config(mongodb_uri: str, triggers: list[dict], *, port: int | None = None, endpoints: list[dict] = (),
                   state: dict | None = None) -> tuple[str, int]:
    """TOML for a hydrant with `triggers` ([[trigger]] tables, each with a
    `destination` dict) and optional [[firehose]] `endpoints`."""
    port = port or free_port()
    out = ["[server]", f'listen = "127.0.0.1:{port}"', "", "[mongodb]", f"uri = {toml_value(mongodb_uri)}"]
    if state:
        _table(out, "[triggers]", state)
    for ep in endpoints:
        _table(out, "[[firehose]]", ep)
    for t in triggers:
        _table(out, "[[trigger]]", {k: v for k, v in t.items() if k != "destination"})
        dest = dict(t["destination"])
        attrs = dest.pop("common_attributes", None)
        _table(out, "[trigger.destination]", dest)
        if attrs:
            _table(out, "[trigger.destination.common_attributes]", attrs)
    return "\n".join(out) + "\n", port


def start(tmp_path: Path, text: str, port: int, name: str = "hydrant", env: dict | None = None) -> Hydrant:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(text)
    h = Hydrant(cfg, port, env=env)
    h.wait_healthy()
    return h


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def metrics_of(h: Hydrant):
    return parse_metrics(requests.get(h.url("/metrics"), timeout=5).text)


def trigger_metric(h: Hydrant, name: str, trigger: str, **labels) -> float:
    try:
        return metric_value(metrics_of(h), name, trigger=trigger, **labels)
    except (KeyError, AssertionError, StopIteration, ValueError):
        return 0.0


def readyz(h: Hydrant) -> dict:
    return json.loads(requests.get(h.url("/readyz"), timeout=15).text)
