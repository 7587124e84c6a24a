"""The database goes away mid-stream (SPEC §2, §3), with the traffic sent the way a
Firehose delivery stream sends it (examples/firehose_sender.py): while the database
is down no request is answered 200, /readyz says 503 and GET on the endpoint still
answers 200; the stream retries the refused batch with the same request id (1 s,
2 s, 4 s ...) and keeps buffering; once the database is back on the same port and
data, the retry succeeds and every record is stored exactly once."""

from __future__ import annotations

import threading
import time

import pymongo
import requests

from support import DEFAULT_KEY, DEFAULT_PATH, check_response, endpoint_config
from firehose_sender import Attempt, FirehoseSender  # examples/, put on sys.path by support


def test_database_outage_then_retries_land_once(start_hydrant, private_ferretdb, db_name):
    ferret = private_ferretdb
    uri = ferret.uri.rstrip("/") + "/?serverSelectionTimeoutMS=2000"
    hydrant = start_hydrant([endpoint_config(db_name)], mongodb={"uri": uri})

    attempts: list[tuple[Attempt, float | None]] = []  # every POST, with the wait it led to
    lock = threading.Lock()

    def on_attempt(a: Attempt, next_delay: float | None) -> None:
        with lock:
            attempts.append((a, next_delay))

    # Buffering 0.3 s, up to 8 KiB (~20 records); a retry duration that outlasts the outage.
    sender = FirehoseSender(hydrant.url(DEFAULT_PATH), DEFAULT_KEY, buffer_size=8 << 10, buffer_interval=0.3,
                            retry_duration=120, timeout=60, background=True, on_attempt=on_attempt)
    produced: list[str] = []
    stop = threading.Event()

    def producer():  # a record every 20 ms, as a steady PutRecord client would
        n = 0
        while not stop.is_set() and n < 5000:
            rid = f"rec{n:05d}"
            sender.put({"_id": rid, "n": n, "pad": "p" * 300})
            produced.append(rid)
            n += 1
            time.sleep(0.02)

    assert requests.get(hydrant.url("/readyz"), timeout=10).status_code == 200
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    time.sleep(1.5)
    with lock:
        assert any(a.status == 200 for a, _ in attempts), f"nothing succeeded before the outage: {attempts}"

    ferret.stop()
    down_from = time.monotonic()
    time.sleep(6)  # the stream keeps trying while the database is down
    ready = requests.get(hydrant.url("/readyz"), timeout=30)
    assert ready.status_code == 503, f"/readyz answered {ready.status_code} with the database down"
    get = requests.get(hydrant.url(DEFAULT_PATH), timeout=10)
    check_response(get, None, 200)  # GET never touches MongoDB
    down_until = time.monotonic()
    ferret.start()
    time.sleep(2)
    stop.set()
    t.join(30)
    assert not t.is_alive(), "the producer was blocked by the sender"
    sender.close()  # delivers what is buffered; waits for the retries (at most 16 s +15% apart now)

    with lock:
        during = [(a, w) for a, w in attempts if a.started >= down_from and a.ended <= down_until]
    assert len(during) >= 2, f"fewer than 2 attempts while the database was down: {during}"
    wrong = [a for a, _ in during if a.status == 200]
    assert not wrong, f"answered 200 while the database was down: {wrong}"
    bad_status = [a for a, _ in during if a.status not in (500, 503)]
    assert not bad_status, f"statuses other than 500/503 during the outage: {bad_status}"
    slow = [a for a, _ in during if a.ended - a.started > 30]
    assert not slow, f"requests took over 30 s to fail: {slow}"
    # the stream retried one batch, with its request id, on Firehose's schedule
    assert len({a.request_id for a, _ in during}) == 1, "the failing batch changed its request id"
    stuck = next(d for d in sender.deliveries if d.request_id == during[0][0].request_id)
    assert stuck.ok and len(stuck.attempts) >= 3
    assert stuck.attempts[-1].started > down_until, "the batch succeeded before the database came back"
    for n, wait in enumerate(stuck.delays):
        assert 0.85 * 2 ** n <= wait <= 1.15 * 2 ** n, stuck.delays

    # every batch made it, none was given up
    assert sender.deliveries and not sender.failed, [(d.request_id, d.error, d.gave_up) for d in sender.failed]
    delivered = [r for d in sender.deliveries for r in d.records]
    assert len(delivered) == len(produced)

    # and a replay of some batches, as Firehose may repeat any of them, changes nothing
    for d in sender.deliveries[:3]:
        again = FirehoseSender(hydrant.url(DEFAULT_PATH), DEFAULT_KEY, retry_duration=30).deliver(
            d.records, request_id=d.request_id)
        assert again.ok, again.error

    assert requests.get(hydrant.url("/readyz"), timeout=10).status_code == 200
    with pymongo.MongoClient(ferret.uri) as c:
        ids = [doc["_id"] for doc in c[db_name].records.find({}, {"_id": 1})]
        assert len(ids) == len(set(ids)), "a record was stored twice"
        expected = set(produced)
        assert set(ids) == expected, (
            f"missing {sorted(expected - set(ids))[:10]}, unexpected {sorted(set(ids) - expected)[:10]}"
        )
        c.drop_database(db_name)
