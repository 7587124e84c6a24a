"""Starts and stops the change-stream test server (tests/support/changestream-server).

    from changestream_server import ChangeStreamServer
    with ChangeStreamServer(data_dir=tmp_path / "db", oplog_max=1000) as server:
        client = pymongo.MongoClient(server.uri)
        ...
        server.restart()   # same port, same data dir: data, oplog and resume tokens kept

The jar is built by scripts/install-deps.sh into .cache/changestream-server/; set
CHANGESTREAM_SERVER_JAR to use another one.
"""
from __future__ import annotations

import os
import pathlib
import queue
import re
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_JAR = ROOT / ".cache" / "changestream-server" / "changestream-server.jar"
from procs import die_with_parent, stop_process  # noqa: E402  (tests/support)

READY = re.compile(r"^changestream-server listening on (\S+):(\d+)$")


def jar_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("CHANGESTREAM_SERVER_JAR", str(DEFAULT_JAR)))


class ChangeStreamServer:
    """A MongoDB-compatible server with change streams (mongo-java-server and our oplog).

    data_dir: keep data and oplog on disk there (H2), across restarts; None: in memory.
    oplog_max: how many oplog entries to keep (older ones are dropped: resuming from
        before them fails with ChangeStreamHistoryLost, code 286). None: the server's default.
    port: None picks a free port on the first start (kept for restarts).
    """

    def __init__(self, data_dir=None, oplog_max=None, port=None, bind="127.0.0.1",
                 start_timeout=30.0, extra_args=()):
        self.data_dir = pathlib.Path(data_dir) if data_dir is not None else None
        self.oplog_max = oplog_max
        self.port = port
        self.bind = bind
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []  # the server's stdout and stderr lines, for failure messages
        self._lines: queue.Queue = queue.Queue()

    @property
    def uri(self) -> str:
        # directConnection=true: pymongo and libmongoc talk to this one server as a replica set
        # primary without discovering anything (the server reports setName "rs0", hosts [itself])
        return f"mongodb://{self.bind}:{self.port}/?directConnection=true"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "ChangeStreamServer":
        if self.running:
            raise RuntimeError("changestream-server is already running")
        jar = jar_path()
        if not jar.is_file():
            raise FileNotFoundError(f"{jar} is missing: run scripts/install-deps.sh")
        # a small heap and a quick-starting JIT: it is a test server on a shared 2-core machine
        cmd = ["java", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar),
               "--port", str(self.port or 0), "--bind", self.bind]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--data-dir", str(self.data_dir)]
        if self.oplog_max is not None:
            cmd += ["--oplog-max", str(self.oplog_max)]
        cmd += self.extra_args
        self._lines = queue.Queue()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise TimeoutError(f"changestream-server did not start in {self.start_timeout}s:\n"
                                   + "\n".join(self.output[-30:]))
            try:
                line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"changestream-server exited with {self.proc.returncode}:\n"
                                       + "\n".join(self.output[-30:]))
                continue
            m = READY.match(line)
            if m:
                self.port = int(m.group(2))
                return self

    def _pump(self, stream):
        for line in stream:
            line = line.rstrip("\n")
            self.output.append(line)
            self._lines.put(line)

    def stop(self, timeout=20.0) -> int | None:
        """SIGTERM and wait: the server closes connections, writes its store and exits with 0."""
        if self.proc is None:
            return None
        code = stop_process(self.proc, timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL: what was acknowledged is on disk (the store is committed after each write)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> "ChangeStreamServer":
        self.stop()
        return self.start()

    def __enter__(self) -> "ChangeStreamServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
