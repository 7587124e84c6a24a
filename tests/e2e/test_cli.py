"""The command line (SPEC §1): `hydrant check`, `--connect`, `--version`, `--help`."""

from __future__ import annotations

import re
import time

from support import free_port


def good_config(uri: str, extra_server: str = "", extra_endpoint: str = "") -> str:
    return f"""\
[server]
listen = "127.0.0.1:{free_port()}"
max_body = "80MiB"
max_inflight = "1GiB"
{extra_server}
[mongodb]
uri = "{uri}"

[[firehose]]
path = "/firehose/monitors"
access_keys = ["${{HYDRANT_E2E_KEY}}"]
database = "monitors"
collection = "firehose"
id = "_id"
object_ids = ["_id"]
dates = ["recordedAt"]
records = "json"
rejects = "firehose_rejects"
metadata = "_firehose"
{extra_endpoint}"""


def line_of(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in config")


ENV = {"HYDRANT_E2E_KEY": "k-123"}


def test_check_good_config(run_cli, write_config, mongo_uri):
    cfg = write_config(good_config(mongo_uri))
    r = run_cli("check", "--config", str(cfg), env=ENV)
    assert r.returncode == 0, r.stderr
    assert "config OK" in r.stdout
    assert "k-123" not in r.stdout + r.stderr


def test_check_connect_live_database(run_cli, write_config, mongo_uri):
    cfg = write_config(good_config(mongo_uri))
    r = run_cli("check", "--config", str(cfg), "--connect", env=ENV)
    assert r.returncode == 0, r.stderr


def assert_config_error(r, key: str, line: int):
    assert r.returncode == 1, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    errors = [l for l in r.stderr.splitlines() if key in l]
    assert errors, f"no error naming {key!r} in stderr: {r.stderr!r}"
    assert any(re.search(rf"\bline {line}\b", l) for l in errors), (
        f"no error naming {key!r} with 'line {line}': {r.stderr!r}"
    )


def test_check_unknown_key(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri, extra_endpoint='colection_typo = "oops"\n')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "colection_typo", line_of(text, "colection_typo"))


def test_check_unknown_key_in_server(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri, extra_server="bogus_setting = 1\n")
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "bogus_setting", line_of(text, "bogus_setting"))


def test_check_bad_value_type(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri).replace('collection = "firehose"', "collection = 42")
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "collection", line_of(text, "collection = 42"))


def test_check_bad_value(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri).replace('records = "json"', 'records = "xml"')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "records", line_of(text, 'records = "xml"'))


def test_check_bad_size(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri).replace('max_body = "80MiB"', 'max_body = "lots"')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "max_body", line_of(text, 'max_body = "lots"'))


def test_check_unset_env_var(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri).replace(f'uri = "{mongo_uri}"', 'uri = "${HYDRANT_E2E_UNSET_VAR}"')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    line = line_of(text, "HYDRANT_E2E_UNSET_VAR")
    assert_config_error(r, "HYDRANT_E2E_UNSET_VAR", line)
    assert_config_error(r, "uri", line)


def test_check_several_errors_one_per_line(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri, extra_server="bogus_setting = 1\n").replace('records = "json"', 'records = "xml"')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert_config_error(r, "bogus_setting", line_of(text, "bogus_setting"))
    assert_config_error(r, "records", line_of(text, 'records = "xml"'))


def test_check_missing_file(run_cli, tmp_path):
    r = run_cli("check", "--config", str(tmp_path / "nope.toml"))
    assert r.returncode != 0
    assert r.stderr.strip()


def test_check_toml_syntax_error(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri).replace('database = "monitors"', 'database = "monitors')
    r = run_cli("check", "--config", str(write_config(text)), env=ENV)
    assert r.returncode == 1
    assert re.search(rf"\bline {line_of(text, 'database = ')}\b", r.stderr), r.stderr


def test_check_connect_dead_database(run_cli, write_config):
    dead = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=1000"
    cfg = write_config(good_config(dead))
    r = run_cli("check", "--config", str(cfg), env=ENV)
    assert r.returncode == 0, "without --connect the database is not contacted"
    t0 = time.monotonic()
    r = run_cli("check", "--config", str(cfg), "--connect", env=ENV, timeout=60)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert time.monotonic() - t0 < 30


def test_version(run_cli):
    r = run_cli("--version")
    assert r.returncode == 0
    assert re.fullmatch(r"hydrant \d+\.\d+\.\d+\S*", r.stdout.strip()), r.stdout


def test_help(run_cli):
    r = run_cli("--help")
    assert r.returncode == 0
    out = r.stdout + r.stderr
    assert "serve" in out and "check" in out


def test_serve_refuses_a_bad_config(run_cli, write_config, mongo_uri):
    text = good_config(mongo_uri, extra_server="bogus_setting = 1\n")
    r = run_cli("serve", "--config", str(write_config(text)), env=ENV, timeout=30)
    assert r.returncode != 0
    assert "bogus_setting" in r.stderr
