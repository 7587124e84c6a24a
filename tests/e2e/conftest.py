"""Fixtures for hydrant's end-to-end tests.

- A session FerretDB (own free port, own data dir) unless MONGODB_URI is set.
- `start_hydrant(...)`: writes a TOML config and runs the real `hydrant serve`
  ($HYDRANT_BIN, default build/hydrant) on a free port; teardown sends SIGTERM
  and asserts exit code 0.
- Each test gets its own database name, dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import pymongo
import pytest

import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from support import (
    DEFAULT_KEY,
    DEFAULT_PATH,
    FerretDB,
    Firehose,
    Hydrant,
    endpoint_config,
    free_port,
    hydrant_bin,
    render_config,
)

@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    ferret = FerretDB(tmp_path_factory.mktemp("ferretdb-session"))
    ferret.start()
    try:
        yield ferret.uri
    finally:
        ferret.stop()


@pytest.fixture(scope="session")
def mongo(mongo_uri):
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10000, socketTimeoutMS=120000)
    yield client
    client.close()


_counter = itertools.count(1)


@pytest.fixture
def db_name(request, mongo_uri):
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower().removeprefix("test_")).strip("_")
    name = f"e2e{next(_counter)}_{os.getpid() % 10000}_{slug}"[:60].rstrip("_")
    yield name
    # A short timeout: a database a test left in a bad state must not hang the session.
    try:
        with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=3000, socketTimeoutMS=15000) as c:
            c.drop_database(name)
    except pymongo.errors.PyMongoError:
        pass


@pytest.fixture
def db(mongo, db_name):
    return mongo[db_name]


@pytest.fixture
def start_hydrant(tmp_path, db_name, mongo_uri):
    """Factory: start_hydrant(endpoints=[...], server={...}, mongodb={...}, env={...}) -> Hydrant.

    endpoints default to one firehose endpoint (endpoint_config); server gets
    `listen` on a free port unless given."""
    started: list[Hydrant] = []
    binary = hydrant_bin()

    def start(endpoints=None, server=None, mongodb=None, env=None, wait=True) -> Hydrant:
        if not binary.exists():
            pytest.fail(f"hydrant binary {binary} does not exist (build it, or set HYDRANT_BIN)")
        port = free_port()
        srv = {"listen": f"127.0.0.1:{port}"}
        srv.update(server or {})
        mdb = {"uri": mongo_uri}
        mdb.update(mongodb or {})
        eps = endpoints if endpoints is not None else [endpoint_config(db_name)]
        cfg_path = tmp_path / f"hydrant-{len(started)}.toml"
        cfg_path.write_text(render_config(srv, mdb, eps))
        scheme = "https" if srv.get("tls_cert") else "http"
        h = Hydrant(cfg_path, port, scheme=scheme, env=env)
        started.append(h)
        if wait:
            h.wait_healthy(verify=srv["tls_cert"] if scheme == "https" else True)
        return h

    yield start

    problems = []
    for i, h in enumerate(started):
        rc = h.terminate()
        # the whole output stays next to the config, for reports longer than the summary
        (tmp_path / f"hydrant-{i}.stdout").write_text("\n".join(h.lines) + "\n")
        (tmp_path / f"hydrant-{i}.stderr").write_text("\n".join(h.stderr_lines) + "\n")
        if rc != 0:
            problems.append(f"hydrant (pid {h.pid}) exited with {rc} after SIGTERM "
                            f"(full output: {tmp_path}/hydrant-{i}.std*)\n{h.output()}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def hydrant(start_hydrant) -> Hydrant:
    return start_hydrant()


@pytest.fixture
def firehose(hydrant):
    fh = Firehose(hydrant, DEFAULT_PATH, DEFAULT_KEY)
    yield fh
    fh.close()


@pytest.fixture
def private_ferretdb(tmp_path):
    """A FerretDB of the test's own, which the test may stop and start again
    (same port, same data)."""
    ferret = FerretDB(tmp_path / "ferretdb-private")
    ferret.start()
    yield ferret
    ferret.stop()


@pytest.fixture
def run_cli(tmp_path):
    """Runs `hydrant ARGS...`; returns CompletedProcess (text)."""
    binary = hydrant_bin()

    def run(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
        if not binary.exists():
            pytest.fail(f"hydrant binary {binary} does not exist (build it, or set HYDRANT_BIN)")
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout,
                              env=full_env, stdin=subprocess.DEVNULL, cwd=tmp_path)

    return run


@pytest.fixture
def write_config(tmp_path):
    def write(text: str, name: str = "check.toml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return write


# --- AWS: moto (signature checks on) and the fault proxy in front of it (tests/support)

@pytest.fixture(scope="module")
def moto():
    from aws import Moto  # tests/support, on sys.path below
    m = Moto()
    m.start()
    yield m
    m.stop()


@pytest.fixture
def proxy(moto):
    from fault_proxy import FaultProxy
    p = FaultProxy(upstream=moto.endpoint, credentials={moto.access_key_id: moto.secret_access_key})
    p.start()
    yield p
    p.stop()

