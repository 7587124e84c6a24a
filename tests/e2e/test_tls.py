"""HTTPS: hydrant terminates TLS itself when tls_cert and tls_key are set."""

from __future__ import annotations

import subprocess

import requests

from support import Firehose, check_response, endpoint_config


def make_cert(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-days", "2", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_https_delivery(tmp_path, start_hydrant, db, db_name):
    cert, key = make_cert(tmp_path)
    hydrant = start_hydrant([endpoint_config(db_name)], server={"tls_cert": str(cert), "tls_key": str(key)})
    assert hydrant.base_url.startswith("https://")
    fh = Firehose(hydrant, verify=str(cert))  # the self-signed cert is its own CA
    for _ in range(2):  # two requests over one kept-alive TLS connection
        resp, rid = fh.post([{"v": 1}, {"v": 2}])
        check_response(resp, rid, 200)
    resp, rid = fh.post([{"v": 3}], gzip_body=True)
    check_response(resp, rid, 200)
    assert db.records.count_documents({}) == 5
    assert requests.get(hydrant.url("/healthz"), verify=str(cert), timeout=10).status_code == 200
    # plain HTTP on the TLS port is not served
    try:
        r = requests.get(f"http://127.0.0.1:{hydrant.port}/healthz", timeout=10)
        assert r.status_code != 200
    except requests.RequestException:
        pass
    fh.close()
