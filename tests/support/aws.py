"""moto's server mode as a stand-in for AWS (Kinesis, EventBridge, Firehose, SQS, S3),
with IAM signature checks on.

    moto = Moto()
    moto.start()
    moto.create_stream("events", shards=2)
    ...                                  # point the client at moto.endpoint with
    ...                                  # moto.access_key_id / moto.secret_access_key
    records = moto.read_stream("events")
    moto.stop()

start() runs the venv's `moto_server` on 127.0.0.1, creates an IAM user with an access
key and a policy allowing kinesis:*, events:*, firehose:*, sqs:* and s3:* (while moto
still accepts anything), then turns authentication on with POST /moto-api/reset-auth
(body "0": every later request is checked). From then on a request must be SigV4-signed
with that key and secret; anything else is refused with 403. See README.md for where
moto differs from AWS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from procs import die_with_parent, stop_process

REGION = "us-east-1"
USER_NAME = "hydrant-e2e"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["kinesis:*", "events:*", "firehose:*", "sqs:*", "s3:*"],
        "Resource": "*",
    }],
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_server_bin() -> str:
    # the moto_server of the interpreter running the tests (the venv's)
    cand = Path(sys.executable).parent / "moto_server"
    return str(cand) if cand.exists() else "moto_server"


class Moto:
    def __init__(self, port: int | None = None, region: str = REGION):
        self.port = port or _free_port()
        self.region = region
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key_id: str | None = None
        self.secret_access_key: str | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "Moto":
        fd, name = tempfile.mkstemp(prefix=f"moto-{self.port}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._log = open(self.log_path, "wb")
        env = dict(os.environ)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "INITIAL_NO_AUTH_ACTION_COUNT"):
            env.pop(k, None)
        self._proc = subprocess.Popen(
            [_moto_server_bin(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not answer on {self.endpoint} in {timeout}s")
                time.sleep(0.1)
        try:
            self._create_principal()
            self._enable_auth()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, 10)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "Moto":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        """moto_server's own log (one line per request)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def _create_principal(self) -> None:
        # Auth is still off: any key signs. These are the last unchecked requests.
        iam = self.client("iam", access_key_id="bootstrap", secret_access_key="bootstrap")
        iam.create_user(UserName=USER_NAME)
        iam.put_user_policy(UserName=USER_NAME, PolicyName="e2e-aws",
                            PolicyDocument=json.dumps(POLICY))
        key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
        self.access_key_id = key["AccessKeyId"]
        self.secret_access_key = key["SecretAccessKey"]

    def _enable_auth(self) -> None:
        # INITIAL_NO_AUTH_ACTION_COUNT = 0 and the request counter reset: from now on
        # every request is authenticated (signature) and authorized (policy).
        # Not form-encoded (urllib's default): Flask would parse the body away and moto read "".
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "ok":
            raise RuntimeError(f"moto reset-auth answered {body}")

    # --- clients ------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment for a process that takes AWS credentials from the environment."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}

    def client(self, service: str, endpoint_url: str | None = None, max_attempts: int | None = None,
               access_key_id: str | None = None, secret_access_key: str | None = None, **config):
        """A boto3 client for moto (or for endpoint_url, e.g. a FaultProxy in front of it)
        with this server's credentials. max_attempts counts the first attempt too:
        max_attempts=1 turns boto3's retries off."""
        if max_attempts is not None:
            config["retries"] = {"total_max_attempts": max_attempts, "mode": "standard"}
        return boto3.session.Session().client(
            service,
            endpoint_url=endpoint_url or self.endpoint,
            region_name=self.region,
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            config=Config(**config),
        )

    # --- Kinesis ------------------------------------------------------------------------
    def create_stream(self, name: str, shards: int = 1, timeout: float = 30.0) -> str:
        """Creates a provisioned stream and waits until it is ACTIVE; returns its ARN."""
        k = self.client("kinesis")
        k.create_stream(StreamName=name, ShardCount=shards)
        deadline = time.monotonic() + timeout
        while True:
            summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            if summary["StreamStatus"] == "ACTIVE":
                return summary["StreamARN"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {name} is still {summary['StreamStatus']} after {timeout}s")
            time.sleep(0.1)

    def read_stream(self, name: str) -> list[dict]:
        """Every record of every shard (shards in id order, each in sequence order):
        dicts with Data (bytes), PartitionKey, SequenceNumber, ShardId."""
        k = self.client("kinesis")
        shards = []
        kwargs = {"StreamName": name}
        while True:
            page = k.list_shards(**kwargs)
            shards += [s["ShardId"] for s in page["Shards"]]
            if not page.get("NextToken"):
                break
            kwargs = {"NextToken": page["NextToken"]}
        out = []
        for shard_id in sorted(shards):
            it = k.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                page = k.get_records(ShardIterator=it, Limit=10000)
                for r in page["Records"]:
                    out.append({"Data": r["Data"], "PartitionKey": r["PartitionKey"],
                                "SequenceNumber": r["SequenceNumber"], "ShardId": shard_id})
                it = page.get("NextShardIterator")
                if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                    break
        return out
