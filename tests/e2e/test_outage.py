"""The database goes away mid-stream (SPEC §2, §3): while it is down no request is
answered 200, /readyz says 503, GET on the endpoint still answers 200; once it is
back on the same port and data, retrying the refused requests succeeds and every
record is stored exactly once."""

from __future__ import annotations

import threading
import time

import pymongo
import requests

from support import Firehose, check_response, endpoint_config, new_request_id


def test_database_outage_then_retries_land_once(start_hydrant, private_ferretdb, db_name):
    ferret = private_ferretdb
    uri = ferret.uri.rstrip("/") + "/?serverSelectionTimeoutMS=2000"
    hydrant = start_hydrant([endpoint_config(db_name)], mongodb={"uri": uri})
    fh = Firehose(hydrant)
    per_request = 20

    def records_for(k: int) -> list[dict]:
        return [{"_id": f"req{k}-rec{i}", "k": k, "i": i} for i in range(per_request)]

    # A sender streams requests one after another, as Firehose does.
    sent: list[dict] = []  # {k, rid, start, end, status}
    stop = threading.Event()

    def sender():
        s = Firehose(hydrant)
        k = 0
        while not stop.is_set() and k < 400:
            rid = new_request_id()
            start = time.monotonic()
            try:
                resp, _ = s.post(records_for(k), rid, timeout=60)
                status = resp.status_code
                check_response(resp, rid, resp.status_code)
            except requests.RequestException as e:  # a connection problem is a failure too
                status = repr(e)
            sent.append({"k": k, "rid": rid, "start": start, "end": time.monotonic(), "status": status})
            k += 1
            time.sleep(0.05)
        s.close()

    assert requests.get(hydrant.url("/readyz"), timeout=10).status_code == 200
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    time.sleep(1.5)
    assert any(s["status"] == 200 for s in sent), f"nothing succeeded before the outage: {sent}"

    ferret.stop()
    down_from = time.monotonic()
    time.sleep(6)  # several requests while the database is down
    ready = requests.get(hydrant.url("/readyz"), timeout=30)
    assert ready.status_code == 503, f"/readyz answered {ready.status_code} with the database down"
    get = fh.session.get(hydrant.url("/firehose/test"), timeout=10)
    check_response(get, None, 200)  # GET never touches MongoDB
    down_until = time.monotonic()
    ferret.start()
    time.sleep(2)
    stop.set()
    t.join(120)
    assert not t.is_alive()

    during = [s for s in sent if s["start"] >= down_from and s["end"] <= down_until]
    assert during, f"no request was made while the database was down: {sent}"
    wrong = [s for s in during if s["status"] == 200]
    assert not wrong, f"answered 200 while the database was down: {wrong}"
    bad_status = [s for s in during if s["status"] not in (500, 503)]
    assert not bad_status, f"statuses other than 500/503 during the outage: {bad_status}"
    slow = [s for s in during if s["end"] - s["start"] > 30]
    assert not slow, f"requests took over 30 s to fail: {slow}"

    # Retry every request that did not get 200, as Firehose would (same request id).
    deadline = time.monotonic() + 60
    for s in sent:
        while s["status"] != 200:
            assert time.monotonic() < deadline, f"retries still failing after the restart: {s}"
            try:
                resp, _ = fh.post(records_for(s["k"]), s["rid"], timeout=60)
                check_response(resp, s["rid"], resp.status_code)
                s["status"] = resp.status_code
            except requests.RequestException as e:
                s["status"] = repr(e)
            if s["status"] != 200:
                time.sleep(0.5)
    # and a replay of everything (Firehose may have retried any of them)
    for s in sent[:3]:
        resp, _ = fh.post(records_for(s["k"]), s["rid"], timeout=60)
        check_response(resp, s["rid"], 200)

    assert requests.get(hydrant.url("/readyz"), timeout=10).status_code == 200
    with pymongo.MongoClient(ferret.uri) as c:
        docs = list(c[db_name].records.find({}, {"_id": 1}))
        ids = [d["_id"] for d in docs]
        assert len(ids) == len(set(ids))
        expected = {f"req{s['k']}-rec{i}" for s in sent for i in range(per_request)}
        assert set(ids) == expected, (
            f"missing {len(expected - set(ids))}, unexpected {len(set(ids) - expected)}"
        )
        c.drop_database(db_name)
