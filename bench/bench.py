#!/usr/bin/env python3
"""hydrant's benchmark: hydrant against the seed's Firehose function (Express + the
official driver, bench/baseline/server.js), same requests, same FerretDB, same
concurrency; then a memory check with 64 MiB deliveries.

Run through bench/run.sh, which installs and builds what this needs and passes
the paths in BENCH_* variables. Knobs (environment): see bench/README.md.
Prints a markdown report and writes it to bench/RESULTS.md (not with --quick).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pymongo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from procs import die_with_parent, stop_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MiB = 1024 * 1024
KEY = "bench-key"
PATH = "/firehose/bench"
DB = "bench"


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def env_str(name: str, default: str) -> str:
    v = os.environ.get(name, "")
    return v if v.strip() else default


QUICK = "--quick" in sys.argv[1:]
CONCURRENCY = env_int("BENCH_CONCURRENCY", 4)
RECORD_BYTES = env_int("BENCH_RECORD_BYTES", 300)
WARMUP = env_int("BENCH_WARMUP", 1 if QUICK else 2)
REQUESTS = {  # requests per measured run, by records per request
    500: env_int("BENCH_REQUESTS_500", 8 if QUICK else 600),
    10000: env_int("BENCH_REQUESTS_10K", 2 if QUICK else 30),
}
# The baseline is ~20x slower on this database: fewer requests keep the run short; the
# table's numbers are per record (and per request for latency), so they still compare.
BASELINE_REQUESTS = {
    500: env_int("BENCH_BASELINE_REQUESTS_500", 8 if QUICK else 160),
    10000: env_int("BENCH_BASELINE_REQUESTS_10K", 2 if QUICK else 8),
}
SCENARIOS = [s.strip() for s in env_str("BENCH_SCENARIOS", "500,500gz,10k,10kgz").split(",") if s.strip()]
SERVERS = [s.strip() for s in env_str("BENCH_SERVERS", "hydrant,baseline").split(",") if s.strip()]
MEMORY = env_int("BENCH_MEMORY", 1)
MEMORY_MIB = env_int("BENCH_MEMORY_MIB", 16 if QUICK else 64)
ID_INDEX = env_int("BENCH_FERRETDB_ID_INDEX", 1)
EXTERNAL_URI = os.environ.get("BENCH_MONGODB_URI", "")
RESULTS = Path(env_str("BENCH_RESULTS", str(CACHE / "bench" / "RESULTS-quick.md" if QUICK else ROOT / "bench" / "RESULTS.md")))

HYDRANT = Path(env_str("BENCH_HYDRANT", str(ROOT / "build" / "hydrant")))
LOADGEN = Path(env_str("BENCH_LOADGEN", str(CACHE / "bin" / "loadgen")))
FERRETDB = Path(env_str("BENCH_FERRETDB", str(CACHE / "bin" / "ferretdb")))
BASELINE_DIR = Path(env_str("BENCH_BASELINE_DIR", str(ROOT / "bench" / "baseline")))


def shown(p: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    return str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# processes and /proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of the whole process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Proc:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None, cwd: Path | None = None):
        self.name, self.argv, self.log_path, self.env, self.cwd = name, argv, log_path, env, cwd
        self.p: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.p = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=self.env, cwd=self.cwd, preexec_fn=die_with_parent)

    @property
    def pid(self) -> int:
        assert self.p
        return self.p.pid

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout: float = 60) -> None:
        if not self.p:
            return
        stop_process(self.p, timeout)
        self.p = None

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def wait_until(pred, timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what}: the process exited:\n{proc.tail()}")
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready after {timeout}s" + (f":\n{proc.tail()}" if proc else ""))


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.status == 200


# ------------------------------------------------------------------------------------------
# the database


class Database:
    """One FerretDB for the whole run (or BENCH_MONGODB_URI)."""

    def __init__(self, work: Path):
        self.work = work
        self.proc: Proc | None = None
        self.data = work / "ferretdb"
        if EXTERNAL_URI:
            self.uri = EXTERNAL_URI
        else:
            self.port = free_port()
            self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.client: pymongo.MongoClient | None = None

    def start(self) -> None:
        if not EXTERNAL_URI:
            self.data.mkdir(parents=True, exist_ok=True)
            self.proc = Proc("ferretdb", [
                str(FERRETDB), "--handler=sqlite", f"--sqlite-url=file:{self.data}/", f"--state-dir={self.data}",
                f"--listen-addr=127.0.0.1:{self.port}", "--debug-addr=-", "--telemetry=disable", "--log-level=warn",
            ], self.work / "ferretdb.log")
            self.proc.start()
            wait_until(lambda: port_open(self.port), 30, "FerretDB", self.proc)
        self.client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=10000)
        self.client.admin.command("ping")

    def stop(self) -> None:
        if self.client:
            self.client.close()
        if self.proc:
            self.proc.stop()

    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def version(self) -> str:
        if EXTERNAL_URI:
            try:
                return "MongoDB " + self.client.server_info().get("version", "?") + " (BENCH_MONGODB_URI)"
            except Exception:
                return "BENCH_MONGODB_URI"
        out = subprocess.run([str(FERRETDB), "--version"], capture_output=True, text=True).stdout
        first = out.splitlines()[0] if out else "?"
        return "FerretDB " + first.split("version:")[-1].strip() + " (SQLite backend)"

    def reset(self, *names: str) -> None:
        """Drops the collections and creates them again (empty), with the _id index fix."""
        db = self.client[DB]
        for name in names:
            db.drop_collection(name)
            db.create_collection(name)
            if ID_INDEX and not EXTERNAL_URI:
                self._id_index(name)

    def _id_index(self, name: str) -> None:
        # FerretDB v1.24's SQLite backend pushes `{_id: <value>}` filters down as
        # `_ferretdb_sjson->'$._id' = ?` but indexes `_ferretdb_sjson->"_id"`: SQLite
        # does not match the two expressions, so every lookup by _id (each of the
        # baseline's replaceOne upserts) scans the whole collection. An index on the
        # exact expression the queries use makes those lookups what they are on
        # MongoDB: an index search. Both servers' collections get it.
        path = self.data / f"{DB}.sqlite"
        con = sqlite3.connect(str(path), timeout=60)
        try:
            row = con.execute("SELECT table_name FROM _ferretdb_collections WHERE name = ?", (name,)).fetchone()
            if not row:
                raise RuntimeError(f"FerretDB has no table for {DB}.{name}")
            table = row[0]
            con.execute(f'CREATE INDEX IF NOT EXISTS "{table}_bench_id" ON "{table}" (_ferretdb_sjson->\'$._id\')')
            con.commit()
        finally:
            con.close()

    def count(self, name: str) -> int:
        return self.client[DB][name].count_documents({})


# ------------------------------------------------------------------------------------------
# the two servers


class Hydrant:
    name = "hydrant"

    def __init__(self, work: Path, db: Database):
        self.work, self.db = work, db
        self.collection, self.rejects = "hydrant", "hydrant_rejects"
        self.proc: Proc | None = None

    def start(self, max_inflight: str = "1GiB") -> None:
        self.port = free_port()
        cfg = self.work / f"hydrant-{max_inflight}.toml"
        cfg.write_text(f"""[server]
listen = "127.0.0.1:{self.port}"
max_body = "80MiB"
max_inflight = "{max_inflight}"

[mongodb]
uri = "{self.db.uri}"
write_concern = "majority"

[[firehose]]
path = "{PATH}"
access_keys = ["{KEY}"]
database = "{DB}"
collection = "{self.collection}"
id = "_id"
object_ids = ["_id"]
dates = ["recordedAt"]
records = "json"
rejects = "{self.rejects}"
""")
        self.proc = Proc("hydrant", [str(HYDRANT), "serve", "--config", str(cfg)], self.work / "hydrant.log")
        self.proc.start()
        wait_until(lambda: http_ok(f"http://127.0.0.1:{self.port}/readyz"), 30, "hydrant", self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def collections(self) -> list[str]:
        return [self.collection, self.rejects]

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
            self.proc = None


class Baseline(Hydrant):
    name = "baseline"

    def __init__(self, work: Path, db: Database):
        super().__init__(work, db)
        self.collection, self.rejects = "baseline", ""

    def start(self, max_inflight: str = "") -> None:
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port), MONGODB_URI=self.db.uri, FIREHOSE_ACCESS_KEY=KEY,
                   DB=DB, COLLECTION=self.collection)
        self.proc = Proc("baseline", ["node", "server.js"], self.work / "baseline.log", env=env, cwd=BASELINE_DIR)
        self.proc.start()
        wait_until(lambda: port_open(self.port), 30, "baseline", self.proc)

    def collections(self) -> list[str]:
        return [self.collection]


# ------------------------------------------------------------------------------------------
# measuring


def loadgen(url: str, records: int, requests: int, concurrency: int, gzip: bool = False,
            record_bytes: int = RECORD_BYTES, body_bytes: int = 0, label: str = "") -> dict:
    argv = [str(LOADGEN), "-url", url, "-access-key", KEY, "-records", str(records), "-requests", str(requests),
            "-concurrency", str(concurrency), "-record-bytes", str(record_bytes), "-label", label]
    if gzip:
        argv.append("-gzip")
    if body_bytes:
        argv += ["-body-bytes", str(body_bytes)]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.stderr.strip():
        for line in r.stderr.strip().splitlines()[:5]:
            log(f"  loadgen: {line[:300]}")
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"loadgen failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def record_failure(row: dict, server, e: Exception) -> None:
    """A server that fails is a result in its row, with its last output when it died."""
    row["failure"] = str(e)[:500]
    log(f"  {server.name} failed: {e}")
    if server.proc and not server.proc.alive():
        row["failure"] = f"{server.name} exited: " + server.proc.tail(400)


def run_scenario(db: Database, server: Hydrant, records: int, gzip: bool, requests: int) -> dict:
    label = f"{records}{' gzip' if gzip else ''}"
    db.reset(*[c for c in server.collections() if c])
    server.start()
    row: dict = {"server": server.name, "records_per_request": records, "gzip": gzip, "requests": requests}
    try:
        warm = loadgen(server.url, records, WARMUP, min(CONCURRENCY, WARMUP), gzip, label=label + " warm-up") if WARMUP else None
        pid, dbpid = server.proc.pid, db.pid()
        (u0, s0) = cpu_times(pid)
        dbcpu0 = cpu_seconds(dbpid) if dbpid else 0.0
        res = loadgen(server.url, records, requests, CONCURRENCY, gzip, label=label)
        (u1, s1) = cpu_times(pid)
        cpu = (u1 - u0) + (s1 - s0)
        dbcpu = (cpu_seconds(dbpid) - dbcpu0) if dbpid else None
        row.update(result=res, cpu_s=cpu, cpu_user_s=u1 - u0, cpu_sys_s=s1 - s0, db_cpu_s=dbcpu,
                   peak_rss_kib=status_kib(pid, "VmHWM"),
                   warmup_records=warm["records_ok"] if warm else 0)
    except Exception as e:  # a server that fails is a result, not the end of the run
        record_failure(row, server, e)
    finally:
        server.stop()
    try:
        row["docs"] = db.count(server.collection)
        if server.rejects:
            row["rejects"] = db.count(server.rejects)
    except Exception as e:
        row["docs_error"] = str(e)
    return row


def memory_check(db: Database, server: Hydrant, deliveries: int, records: int, max_inflight: str,
                 body_bytes: int) -> dict:
    """`deliveries` requests at once; bodies of `body_bytes` (0: records of RECORD_BYTES)."""
    db.reset(*[c for c in server.collections() if c])
    server.start(max_inflight)
    row = {"server": server.name, "deliveries": deliveries, "records": records, "max_inflight": max_inflight}
    try:
        pid = server.proc.pid
        row["idle_rss_kib"] = status_kib(pid, "VmRSS")
        res = loadgen(server.url, records, deliveries, deliveries, body_bytes=body_bytes,
                      label=f"memory {deliveries}x{records}")
        row.update(result=res, peak_rss_kib=status_kib(pid, "VmHWM"))
    except Exception as e:
        record_failure(row, server, e)
    finally:
        server.stop()
    return row


# ------------------------------------------------------------------------------------------
# the report


def sh(argv: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=30).stdout.strip()
    except Exception:
        return ""


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return f"{os.cpu_count()} × {model}, {mem_kib / MiB:.1f} GiB RAM, Linux {os.uname().release}"


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def scenario_name(records: int, gzip: bool) -> str:
    return f"{records:,} rec/req{', gzip' if gzip else ''}"


def throughput_table(rows: list[dict]) -> list[str]:
    out = ["| scenario | server | requests × records | records/s | p50 ms | p99 ms | CPU s / M records "
           "| peak RSS MiB | FerretDB CPU s / M records | check: docs / sent |",
           "|---|---|---|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        name = scenario_name(r["records_per_request"], r["gzip"])
        if "result" not in r:
            out.append(f"| {name} | {r['server']} | {r['requests']} × {r['records_per_request']:,} | failed: "
                       f"{r.get('failure', '?')[:120].replace('|', '/')} | | | | | | |")
            continue
        res = r["result"]
        recs = res["records_ok"]
        per_m = (r["cpu_s"] / recs * 1e6) if recs else None
        db_per_m = (r["db_cpu_s"] / recs * 1e6) if recs and r.get("db_cpu_s") is not None else None
        sent = recs + r.get("warmup_records", 0)
        docs = r.get("docs")
        check = f"{docs:,} / {sent:,}" + (" ✓" if docs == sent else " ✗")
        if r.get("rejects"):
            check += f", {r['rejects']} rejects"
        errs = "".join(f" ({n}× {s})" for s, n in res["errors"].items())
        out.append(
            f"| {name} | {r['server']} | {res['requests']} × {r['records_per_request']:,}{errs} "
            f"| {fmt_int(res['records_per_s'])} | {fmt(res['latency_ms']['p50'])} | {fmt(res['latency_ms']['p99'])} "
            f"| {fmt(per_m, 2)} | {r['peak_rss_kib'] / 1024:,.0f} | {fmt(db_per_m, 2)} | {check} |")
    return out


def ratio_table(rows: list[dict]) -> list[str]:
    by: dict = {}
    for r in rows:
        if "result" in r and r["result"]["records_ok"]:
            by.setdefault((r["records_per_request"], r["gzip"]), {})[r["server"]] = r
    out = ["| scenario | baseline CPU / hydrant CPU per record (target ≥ 10) | hydrant records/s ÷ baseline's "
           "| baseline peak RSS ÷ hydrant's |", "|---|--:|--:|--:|"]
    for (records, gzip), pair in by.items():
        if "hydrant" not in pair or "baseline" not in pair:
            continue
        h, b = pair["hydrant"], pair["baseline"]
        hc = h["cpu_s"] / h["result"]["records_ok"]
        bc = b["cpu_s"] / b["result"]["records_ok"]
        if hc > 0:
            cpu_ratio = f"{bc / hc:.1f}×" + (" ✓" if bc / hc >= 10 else "")
        else:  # under one clock tick: the ratio is at least this
            bound = bc / (1 / CLK_TCK / h["result"]["records_ok"])
            cpu_ratio = f"> {bound:.0f}× (hydrant < 1 tick)" + (" ✓" if bound >= 10 else "")
        out.append(f"| {scenario_name(records, gzip)} | {cpu_ratio} "
                   f"| {h['result']['records_per_s'] / b['result']['records_per_s']:.1f}× "
                   f"| {b['peak_rss_kib'] / h['peak_rss_kib']:.1f}× |")
    return out


def parse_size(s: str) -> int:
    for suffix, mult in (("GiB", 1024 * MiB), ("MiB", MiB)):
        if s.endswith(suffix):
            return int(s[: -len(suffix)]) * mult
    return int(s)


def memory_table(rows: list[dict]) -> list[str]:
    out = ["| check | server | max_inflight | answers | latency max s | idle RSS MiB | peak RSS MiB "
           "| peak ÷ bodies taken in | (peak − idle) ÷ max_inflight |", "|---|---|--:|---|--:|--:|--:|--:|--:|"]
    for r in rows:
        rb = r.get("result", {}).get("record_bytes", 0)
        size = f"{rb / 1e6:.1f} MB" if rb >= 1e6 else f"{rb / 1e3:.0f} kB"
        body = r.get("result", {}).get("body_bytes_avg", MEMORY_MIB * MiB) / MiB
        body_s = f"{body:.0f}" if body > 10 else f"{body:.1f}"
        size = f"{rb / 1e6:.1f} MB" if rb >= 1e6 else (f"{rb / 1e3:.0f} kB" if rb >= 1e3 else f"{rb} B")
        what = f"{r['deliveries']} × {body_s} MiB" + (" at once" if r["deliveries"] > 1 else "") + \
            f" ({r['records']:,} records of ~{size})"
        if "result" not in r:
            out.append(f"| {what} | {r['server']} | {r['max_inflight'] or '–'} | failed: "
                       f"{r.get('failure', '?')[:120].replace('|', '/')} | | | | | |")
            continue
        res = r["result"]
        answers = f"{res['ok']} × 200" + "".join(f", {n} × {s}" for s, n in res["errors"].items())
        in_flight = res["ok"] * res["body_bytes_avg"]  # bodies that were taken in
        if res["errors"].get("503"):
            answers += " (over max_inflight)"
        peak = r["peak_rss_kib"] * 1024
        ratio = peak / in_flight if in_flight else None
        limit = parse_size(r["max_inflight"]) if r["max_inflight"] else 0
        vs_limit = f"{(peak - r['idle_rss_kib'] * 1024) / limit:.2f}" if limit else "–"
        out.append(f"| {what} | {r['server']} | {r['max_inflight'] or '–'} | {answers} "
                   f"| {res['latency_ms']['max'] / 1000:.1f} | {r['idle_rss_kib'] / 1024:,.0f} "
                   f"| {peak / MiB:,.0f} | {fmt(ratio, 2)}{'×' if ratio else ''} | {vs_limit} |")
    return out


def report(rows, mem_rows, meta) -> str:
    L = [f"# hydrant benchmark results", "",
         f"- date: {meta['date']}",
         f"- machine: {meta['machine']}",
         f"- database: {meta['database']}" + (
             "; with an extra SQLite index on `_ferretdb_sjson->'$._id'` in both servers' collections "
             "(see bench/README.md: without it FerretDB v1 scans the whole collection on every `_id` lookup)"
             if ID_INDEX and not EXTERNAL_URI else ""),
         f"- hydrant: {meta['hydrant']}",
         f"- baseline: {meta['baseline_dir']}/server.js ({meta['baseline']})",
         f"- load generator: bench/loadgen ({meta['go']}), concurrency {CONCURRENCY}, one keep-alive connection "
         f"per worker, records of ~{RECORD_BYTES} B of JSON (base64 in the body), {WARMUP} warm-up request(s) "
         f"per run not counted",
         f"- command: `{meta['command']}`",
         f"- run took {meta['minutes']:.1f} min", ""]
    if rows:
        L += ["## Throughput, latency, CPU, memory", ""] + throughput_table(rows) + [""] + ratio_table(rows) + [""]
    if mem_rows:
        L += ["## Memory: 64 MiB deliveries" if MEMORY_MIB == 64 else f"## Memory: {MEMORY_MIB} MiB deliveries", ""]
        L += memory_table(mem_rows) + [""]
    L += ["## How to read this", "",
          "Each row is one server taking the same kind of pre-built Firehose deliveries (sensor readings with "
          "unique `_id`s, the X-Amz-Firehose-* headers, a 200 with the right `requestId` expected) into its own "
          "empty collection of the same FerretDB, at the same concurrency. Each server is restarted for each row, so "
          "*peak RSS* (VmHWM, a lifetime peak) is that row's alone. The baseline gets fewer requests of the same "
          "shape because it is much slower here; every number is per record or per request, so they compare.", "",
          "- *CPU s / M records*: the server process's user+system CPU (utime+stime of /proc/<pid>/stat, all "
          "threads) over the measured requests, per million records acknowledged. The target is about this "
          "column: hydrant at least 10× below the baseline (the second table).",
          "- *records/s*, *p50/p99 ms*: wall-clock, with the load generator, the server and FerretDB sharing the "
          "machine. FerretDB does most of the work (its column: its own CPU for the same records), so these mostly "
          "say how much database work each server causes: hydrant inserts a batch, the baseline upserts record by "
          "record.",
          "- *check*: documents in the collection afterwards ÷ records acknowledged (warm-up included); ✓ when "
          "nothing was lost or duplicated.",
          f"- Memory: deliveries of {MEMORY_MIB} MiB (the Firehose maximum is 64 MiB before compression) to a "
          "fresh server. *peak ÷ bodies taken in* is VmHWM over the bytes of the bodies that were accepted at once "
          "(target for one delivery: under 4×). hydrant counts what a request will hold against `max_inflight` and "
          "answers the rest 503 + Retry-After (Firehose retries those), so with eight at once its peak follows "
          "*(peak − idle) ÷ max_inflight* (≤ 1: bounded by the configuration), not the number sent; the baseline "
          "has no such limit.", ""]
    return "\n".join(L)


def main() -> int:
    t0 = time.monotonic()
    for p, what in ((HYDRANT, "hydrant"), (LOADGEN, "loadgen")):
        if not p.exists():
            log(f"{what} missing at {p}: run bench/run.sh")
            return 2
    if "baseline" in SERVERS and not (BASELINE_DIR / "node_modules").exists():
        log(f"the baseline is not installed in {BASELINE_DIR}: run bench/run.sh")
        return 2
    (CACHE / "bench").mkdir(parents=True, exist_ok=True)
    for old in sorted((CACHE / "bench").glob("run-*"), key=lambda p: p.stat().st_mtime)[:-4]:
        shutil.rmtree(old, ignore_errors=True)  # keep the logs of the last few runs
    work = Path(tempfile.mkdtemp(prefix=time.strftime("run-%Y%m%d-%H%M%S-"), dir=CACHE / "bench"))
    log(f"work directory (logs): {work}")
    db = Database(work)
    rows: list[dict] = []
    mem_rows: list[dict] = []
    try:
        db.start()
        log(f"database: {db.version()} at {db.uri}")
        servers = {"hydrant": Hydrant(work, db), "baseline": Baseline(work, db)}
        for sc in SCENARIOS:
            records = 10000 if sc.startswith("10k") else int(sc.rstrip("gz").replace("k", "000"))
            gzip = sc.endswith("gz")
            for name in SERVERS:
                n = (REQUESTS if name == "hydrant" else BASELINE_REQUESTS).get(records, REQUESTS.get(records, 10))
                log(f"{scenario_name(records, gzip)}: {name}, {n} requests at concurrency {CONCURRENCY}")
                row = run_scenario(db, servers[name], records, gzip, n)
                if "result" in row:
                    res = row["result"]
                    log(f"  {res['records_per_s']:,.0f} records/s, p50 {res['latency_ms']['p50']} ms, "
                        f"p99 {res['latency_ms']['p99']} ms, cpu {row['cpu_s']:.2f} s, "
                        f"peak {row['peak_rss_kib'] // 1024} MiB, errors {res['errors']}, docs {row.get('docs')}")
                rows.append(row)
        if MEMORY:
            # max_inflight: 4 bodies' worth (256MiB at 64 MiB: hydrant, which counts what a request
            # will hold, admits fewer), then plenty (2GiB) so that all eight are taken
            def size(mib: int) -> str:
                return f"{mib // 1024}GiB" if mib % 1024 == 0 else f"{mib}MiB"

            small, big = size(4 * MEMORY_MIB), size(32 * MEMORY_MIB)
            body = MEMORY_MIB * MiB
            checks = [("hydrant", 1, 10000, big, body), ("hydrant", 1, 50, big, body),
                      ("hydrant", 8, 10000, small, body), ("hydrant", 8, 10000, big, body),
                      ("hydrant", 8, 50, big, body),
                      # many small records (10,000 of RECORD_BYTES, ~4 MiB) cost more memory per body byte:
                      # sixteen at once against a max_inflight with room for about five
                      ("hydrant", 16, 10000, size(MEMORY_MIB), 0),
                      ("baseline", 1, 10000, "", body), ("baseline", 1, 50, "", body), ("baseline", 8, 50, "", body)]
            for name, n, records, inflight, body_bytes in checks:
                if name not in SERVERS:
                    continue
                log(f"memory: {name}, {n} × " + (f"{MEMORY_MIB} MiB" if body_bytes else "1") +
                    f" ({records} records each)" + (f", max_inflight {inflight}" if inflight else ""))
                row = memory_check(db, servers[name], n, records, inflight, body_bytes)
                if "result" in row:
                    log(f"  peak {row['peak_rss_kib'] // 1024} MiB, ok {row['result']['ok']}, "
                        f"errors {row['result']['errors']}")
                mem_rows.append(row)
    finally:
        db.stop()
    shutil.rmtree(db.data, ignore_errors=True)

    exe = "bench/run.sh" + (" --quick" if QUICK else "")
    knobs = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
                     if k.startswith("BENCH_") and k not in ("BENCH_HYDRANT", "BENCH_LOADGEN", "BENCH_FERRETDB",
                                                             "BENCH_BASELINE_DIR"))
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"], ROOT) or "?"
    dirty = " (with uncommitted changes)" if sh(["git", "status", "--porcelain", "--", "src", "CMakeLists.txt"], ROOT) else ""
    bver = sh(["node", "-p", "'node ' + process.version + ', express ' + require('express/package.json').version"
               " + ', mongodb driver ' + require('mongodb/package.json').version"], BASELINE_DIR)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "database": db.version(),
        "hydrant": f"commit {commit}{dirty}, {shown(HYDRANT)} (RelWithDebInfo)",
        "baseline": bver or "?",
        "baseline_dir": shown(BASELINE_DIR),
        "go": sh([str(shutil.which("go") or "/usr/local/go/bin/go"), "version"]).replace("go version ", "") or "Go",
        "command": (knobs + " " if knobs else "") + exe,
        "minutes": (time.monotonic() - t0) / 60,
    }
    text = report(rows, mem_rows, meta)
    print(text)
    (work / "results.json").write_text(json.dumps({"meta": meta, "rows": rows, "memory": mem_rows}, indent=1))
    if str(RESULTS) not in ("", "-"):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        # the "## Triggers" section (bench/trigger_bench.py) is another run's: kept as it is
        old = RESULTS.read_text() if RESULTS.exists() else ""
        i = old.find("\n## Triggers\n")
        RESULTS.write_text(text + (old[i:] if i >= 0 else ""))
        log(f"written to {RESULTS} (raw numbers: {work / 'results.json'})")
    failed = any("result" not in r for r in rows if r["server"] == "hydrant") or \
        any("result" not in r for r in mem_rows if r["server"] == "hydrant")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
