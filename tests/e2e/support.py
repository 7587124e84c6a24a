"""Helpers for hydrant's end-to-end tests: FerretDB and hydrant processes, TOML
configs, Firehose requests, response checks, Prometheus text parsing.

Everything here talks to real processes on 127.0.0.1 only. Importing it puts
examples/ on sys.path, so tests can use the Firehose sender and the sensor simulator
(`from firehose_sender import FirehoseSender`).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Iterable

import pymongo
import requests

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "tests" / "fixtures" / "firehose-captures"  # see tests/fixtures/SOURCES.md
FERRETDB_BIN = Path(os.environ.get("FERRETDB_BIN", REPO / ".cache" / "bin" / "ferretdb"))
EXAMPLES = REPO / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
if str(REPO / "tests" / "support") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "support"))

from procs import die_with_parent, stop_process  # noqa: E402  (tests/support)



def hydrant_bin() -> Path:
    return Path(os.environ.get("HYDRANT_BIN", REPO / "build" / "hydrant")).resolve()


def is_sanitized(binary: Path) -> bool:
    """True for an ASan build (memory bounds are looser there)."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return "libasan" in out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


# --------------------------------------------------------------------------------------
# FerretDB


class FerretDB:
    """One FerretDB v1 (SQLite backend) on its own port and data directory.

    stop() and start() again keep the port and the data: the outage test uses that.
    """

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "ferretdb.log"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> None:
        if not FERRETDB_BIN.exists():
            raise RuntimeError(f"{FERRETDB_BIN} is missing: run scripts/install-deps.sh")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                str(FERRETDB_BIN),
                "--handler=sqlite",
                f"--sqlite-url=file:{self.data_dir}/",
                f"--state-dir={self.data_dir}",
                f"--listen-addr=127.0.0.1:{self.port}",
                "--debug-addr=-",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"FerretDB exited with {self.proc.returncode}: {self.log_tail()}")
            if wait_port(self.port, 0.2):
                try:
                    with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=2000) as c:
                        c.admin.command("ping")
                    return
                except pymongo.errors.PyMongoError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"FerretDB did not become ready on port {self.port}: {self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, timeout)
        self.proc = None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


# --------------------------------------------------------------------------------------
# TOML

DEFAULT_PATH = "/firehose/test"
DEFAULT_KEY = "test-key"


def endpoint_config(db_name: str, **overrides) -> dict:
    cfg = {
        "path": DEFAULT_PATH,
        "access_keys": [DEFAULT_KEY],
        "database": db_name,
        "collection": "records",
        "id": "_id",
        "records": "json",
        "rejects": "rejects",
    }
    cfg.update(overrides)
    return cfg



def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def render_config(server: dict, mongodb: dict, endpoints: Iterable[dict] = ()) -> str:
    """Endpoints are [[firehose]] tables unless they say otherwise with a `table`
    key (e.g. `{"table": "segment", "kind": "webhook", ...}`)."""
    out = ["[server]"]
    out += [f"{k} = {toml_value(v)}" for k, v in server.items()]
    out += ["", "[mongodb]"]
    out += [f"{k} = {toml_value(v)}" for k, v in mongodb.items()]
    for ep in endpoints:
        out += ["", f"[[{ep.get('table', 'firehose')}]]"]
        out += [f"{k} = {toml_value(v)}" for k, v in ep.items() if v is not None and k != "table"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# hydrant


class Hydrant:
    """A running `hydrant serve` with its captured log lines."""

    def __init__(self, config_path: Path, port: int, scheme: str = "http", env: dict | None = None):
        self.config_path = config_path
        self.port = port
        self.scheme = scheme
        self.base_url = f"{scheme}://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lock = threading.Lock()
        full_env = dict(os.environ)
        # LeakSanitizer at exit would turn a leak into a non-zero exit code: that is wanted.
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [str(hydrant_bin()), "serve", "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=full_env,
            preexec_fn=die_with_parent,
        )
        self.pid = self.proc.pid
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines), daemon=True),
        ]
        for t in self._threads:
            t.start()
        self.returncode: int | None = None

    def _pump(self, stream, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                sink.append(raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_healthy(self, timeout: float = 30.0, verify: Any = True) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the pumps drain
                raise RuntimeError(
                    f"hydrant exited with {self.proc.returncode} during start-up\n" + self.output()
                )
            try:
                r = requests.get(self.url("/healthz"), timeout=2, verify=verify)
                if r.status_code == 200:
                    return
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"hydrant not healthy after {timeout}s (last: {last})\n" + self.output())

    def output(self) -> str:
        """Recent stdout, and stderr from its first sanitizer report (or its tail)."""
        with self._lock:
            out, err = list(self.lines[-40:]), list(self.stderr_lines)
        start = next((i for i, l in enumerate(err)
                      if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l
                      or "runtime error:" in l), max(0, len(err) - 80))
        err_text = "\n".join(err[start:start + 80])[:12000]
        return "stdout (last lines):\n" + "\n".join(out)[-4000:] + "\nstderr:\n" + err_text

    def log_records(self) -> list[dict]:
        """The JSON log lines on stdout, parsed (lines that are not JSON are skipped)."""
        out = []
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def all_output(self) -> str:
        with self._lock:
            return "\n".join(self.lines + self.stderr_lines)

    def vm_hwm_bytes(self) -> int:
        """Peak resident set size of the server so far (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = -9999  # never a passing exit code
        for t in self._threads:
            t.join(5)
        return self.returncode

    def wait_exit(self, timeout: float) -> int:
        """Waits for the process to exit by itself (no signal); returns the exit code."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = -9999
        for t in self._threads:
            t.join(5)
        return self.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------------------
# Firehose requests


def b64(data: bytes | str | dict | list) -> str:
    if isinstance(data, (dict, list)):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode("ascii")


def new_request_id() -> str:
    return str(uuid.uuid4())


SOURCE_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/hydrant-e2e"


def firehose_headers(
    request_id: str | None,
    access_key: str | None = None,
    common_attributes: dict | None = None,
    version: str | None = "1.0",
    source_arn: str | None = SOURCE_ARN,
) -> dict:
    h = {"Content-Type": "application/json"}
    if version is not None:
        h["X-Amz-Firehose-Protocol-Version"] = version
    if request_id is not None:
        h["X-Amz-Firehose-Request-Id"] = request_id
    if source_arn is not None:
        h["X-Amz-Firehose-Source-Arn"] = source_arn
    if access_key is not None:
        h["X-Amz-Firehose-Access-Key"] = access_key
    if common_attributes is not None:
        h["X-Amz-Firehose-Common-Attributes"] = json.dumps({"commonAttributes": common_attributes})
    return h


def firehose_body(request_id: str, records: Iterable[bytes | str | dict], timestamp: int | None = None) -> bytes:
    """records: bytes/str are base64-encoded as given; dicts are JSON-encoded first.
    A str starting with 'b64:' is put in the body verbatim (for bad base64)."""
    recs = []
    for r in records:
        if isinstance(r, str) and r.startswith("b64:"):
            recs.append({"data": r[4:]})
        else:
            recs.append({"data": b64(r)})
    return json.dumps(
        {"requestId": request_id, "timestamp": timestamp or int(time.time() * 1000), "records": recs}
    ).encode()


class Firehose:
    """Sends Firehose deliveries to one endpoint over one keep-alive session."""

    def __init__(self, hydrant: Hydrant, path: str = "/firehose/test", access_key: str | None = "test-key",
                 verify: Any = True):
        self.hydrant = hydrant
        self.path = path
        self.access_key = access_key
        self.session = requests.Session()
        # per request: a session's verify loses to REQUESTS_CA_BUNDLE from the environment
        self.verify = verify

    def post_raw(self, body: bytes, headers: dict, timeout: float = 120) -> requests.Response:
        return self.session.post(self.hydrant.url(self.path), data=body, headers=headers, timeout=timeout,
                                 verify=self.verify)

    def post(self, records, request_id: str | None = None, *, gzip_body: bool = False,
             common_attributes: dict | None = None, access_key: Any = "default",
             timeout: float = 120) -> tuple[requests.Response, str]:
        rid = request_id or new_request_id()
        key = self.access_key if access_key == "default" else access_key
        headers = firehose_headers(rid, key, common_attributes)
        body = firehose_body(rid, records)
        if gzip_body:
            body = gzip.compress(body, 6)
            headers["Content-Encoding"] = "gzip"
        return self.post_raw(body, headers, timeout), rid

    def close(self) -> None:
        self.session.close()


def check_response(resp: requests.Response, request_id: str | None, status: int | Iterable[int]) -> dict:
    """The Firehose response contract (SPEC §2), for every status."""
    statuses = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in statuses, (
        f"status {resp.status_code}, expected {sorted(statuses)}; body: {resp.text[:500]!r}"
    )
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", f"Content-Type {ctype!r}"
    assert "Content-Length" in resp.headers, f"no Content-Length: {dict(resp.headers)}"
    assert "Content-Encoding" not in resp.headers, f"Content-Encoding {resp.headers['Content-Encoding']!r}"
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    assert len(resp.content) <= 1 << 20
    body = resp.json()
    assert isinstance(body, dict), body
    if request_id is not None:
        assert body.get("requestId") == request_id, body
    else:
        assert isinstance(body.get("requestId"), str), body
    ts = body.get("timestamp")
    assert isinstance(ts, int) and not isinstance(ts, bool), f"timestamp {ts!r} is not an integer"
    now_ms = time.time() * 1000
    assert abs(ts - now_ms) < 120_000, f"timestamp {ts} is not near now ({now_ms:.0f})"
    if resp.status_code == 200:
        assert "errorMessage" not in body or not body["errorMessage"], body
    else:
        msg = body.get("errorMessage")
        assert isinstance(msg, str) and msg, f"no errorMessage on {resp.status_code}: {body}"
        assert len(msg) <= 8192
    return body


# --------------------------------------------------------------------------------------
# Prometheus text format


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(_LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def metric_value(samples, name: str, **labels) -> float:
    """Sum of the samples named `name` whose labels include `labels`."""
    total = 0.0
    for n, ls, v in samples:
        if n == name and all(ls.get(k) == str(val) for k, val in labels.items()):
            total += v
    return total


# --------------------------------------------------------------------------------------
# gzip bomb, generated without holding the inflated data in memory


def _gf2_times(mat: list[int], vec: int) -> int:
    s = 0
    i = 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC of A+B from crc(A), crc(B), len(B)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << (n - 1) for n in range(1, 32)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def gzip_bomb(inflated_size: int, chunk: int = 1 << 20) -> bytes:
    """A valid gzip stream of `inflated_size` zero bytes (a multiple of `chunk`), about
    1/1000 of that size, made without ever holding the inflated data: a full flush
    resets the compressor, so every chunk compresses to the same bytes, and the CRC
    of n chunks comes from crc32_combine by doubling."""
    assert inflated_size % chunk == 0
    zeros = bytes(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()  # the final (empty) block
    crc, acc_crc, acc_len, n = 0, zlib.crc32(zeros), chunk, inflated_size // chunk
    while n:
        if n & 1:
            crc = crc32_combine(crc, acc_crc, acc_len)
        n >>= 1
        if n:
            acc_crc = crc32_combine(acc_crc, acc_crc, acc_len)
            acc_len *= 2
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (inflated_size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + block * (inflated_size // chunk) + tail + trailer
