"""The cut-over contract under load: the project's own SqlGrantFence (revoke + kill) on the writer,
lifted 2 s later, while a real uvicorn server takes a steady stream of concurrent payments.

Then everything is counted: every acknowledged payment is in the database exactly once, nothing is
charged twice, the balances still sum to 0, and every in-flight request got 201 or 503 (never an
acknowledgement of something that did not commit). Then the IAM-token path: the same run with an
injected token function, one token per new connection, over TLS verified against the test CA.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
from sqlalchemy import event

from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import APP_USER, RunningServer, count, root, root_fence

WORKERS = 6
PAUSE_SECONDS = 0.02
FENCED_SECONDS = 2.0


def run_load(url: str, stop: threading.Event, identity: dict) -> list[dict]:
    results, lock = [], threading.Lock()

    def worker(w: int) -> None:
        with httpx.Client(base_url=url, timeout=30, headers=identity) as client:
            i = 0
            while not stop.is_set():
                key = f"cut-{w}-{i}"
                body = {"merchant_id": f"m-{i % 4}", "customer_id": f"c-{w}", "amount_minor": 100 + i,
                        "currency": "EUR", "card_token": f"tok-{w}-{i}"}
                started = time.monotonic()
                try:
                    r = client.post("/payments", json=body, headers={"Idempotency-Key": key})
                    out = {"status": r.status_code, "json": r.json()}
                except httpx.HTTPError as err:  # a lost answer counts as unacknowledged
                    out = {"status": None, "json": {}, "error": repr(err)}
                out.update(key=key, body=body, started=started, ended=time.monotonic())
                with lock:
                    results.append(out)
                i += 1
                time.sleep(PAUSE_SECONDS)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    return results, threads


def cutover(schema, settings, engine):
    fence = root_fence(schema)
    stop = threading.Event()
    with RunningServer(create_app(settings, engine)) as server:
        results, threads = run_load(server.url, stop, schema["identity"])
        time.sleep(1.0)
        fenced_at = time.monotonic()
        fence_msg = fence.fence("blue")
        time.sleep(FENCED_SECONDS)
        unfenced_at = time.monotonic()
        fence.unfence("blue")
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        # A client whose answer was 503 (or lost) retries with the same key, as the contract says.
        with httpx.Client(base_url=server.url, timeout=30, headers=schema["identity"]) as client:
            retried = {r["key"]: client.post("/payments", json=r["body"], headers={"Idempotency-Key": r["key"]})
                       for r in results if r["status"] != 201}
    return {"results": results, "retried": retried, "fenced_at": fenced_at, "unfenced_at": unfenced_at,
            "fence_msg": fence_msg}


def assert_counted(schema, run):
    m, db = schema["mariadb"], schema["name"]
    results = run["results"]
    assert "killed" in run["fence_msg"] and "killed 0" not in run["fence_msg"], run["fence_msg"]
    assert {r["status"] for r in results} <= {201, 503}, {r["status"] for r in results}
    acked = [r for r in results if r["status"] == 201]
    assert len(acked) > 50
    # The fence was really crossed: requests started while fenced and were acknowledged after the unfence.
    crossed = [r for r in acked if run["fenced_at"] < r["started"] < run["unfenced_at"] and r["ended"] > run["unfenced_at"]]
    assert crossed, "no request waited across the fence: the test did not exercise it"
    longest = max(r["ended"] - r["started"] for r in acked)
    print(f"\ncut-over: {len(results)} requests, {len(acked)} acknowledged, {len(crossed)} waited across the "
          f"{FENCED_SECONDS:g} s fence (longest {longest:.2f} s), {len(run['retried'])} unacknowledged then retried; "
          f"{run['fence_msg']}")
    with root(m) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT idempotency_key, payment_id, amount_minor FROM `{db}`.payments")
        rows = cur.fetchall()
    by_key = {}
    for key, pid, amount in rows:
        by_key.setdefault(key, []).append((pid, amount))
    for r in acked:  # every acknowledged payment exactly once, with the id the client was given
        assert by_key.get(r["key"]) == [(r["json"]["payment_id"], r["body"]["amount_minor"])], r["key"]
    assert all(len(v) == 1 for v in by_key.values())  # nothing charged twice
    assert set(by_key) <= {r["key"] for r in results}
    for key, answer in run["retried"].items():  # the client's retry settles every unacknowledged one, once
        assert answer.status_code == 201
        assert by_key.get(key) == [(answer.json()["payment_id"], answer_amount(results, key))]
    assert len(rows) == len(acked) + len(run["retried"])
    assert count(m, f"SELECT COALESCE(SUM(balance_minor), 0) FROM `{db}`.accounts") == 0
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.ledger_entries") == 2 * count(m, f"SELECT COUNT(*) FROM `{db}`.payments")


def answer_amount(results, key):
    return next(r["body"]["amount_minor"] for r in results if r["key"] == key)


def test_cutover__fence_then_unfence_under_load__every_ack_exactly_once(schema):
    settings = Settings.from_env(schema["env"])
    engine = make_engine(settings)
    try:
        assert_counted(schema, cutover(schema, settings, engine))
    finally:
        engine.dispose()


def test_cutover__iam_token_path__one_token_per_new_connection_and_nothing_lost(schema, caplog):
    caplog.set_level(logging.DEBUG)
    m = schema["mariadb"]
    token_value = "iam-token-stand-in"  # MariaDB has no IAM: the user's password equals what the signer returns
    with root(m) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER USER '{APP_USER}'@'%' IDENTIFIED BY '{token_value}' REQUIRE SSL")
    env = dict(schema["env"], DB_IAM_AUTH="true", DB_CA_BUNDLE=m["ca"], AWS_REGION="us-east-1")
    env.pop("DB_PASSWORD")
    settings = Settings.from_env(env)
    tokens, connections = [], []

    def token(host):
        assert host == "127.0.0.1"  # signed for the endpoint the connection goes to
        tokens.append(time.monotonic())
        return token_value

    engine = make_engine(settings, token=token)
    event.listen(engine.engines["writer"], "connect", lambda dbapi_conn, rec: connections.append(dbapi_conn))
    try:
        run = cutover(schema, settings, engine)
        assert_counted(schema, run)
        assert len(tokens) == len(connections) > 0  # one fresh token per new connection, never reused
        assert any(t > run["fenced_at"] for t in tokens)  # the killed sessions were replaced with new logins
        with engine.connect() as conn:  # and the application's sessions really are TLS
            assert conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetchone()[1]
        logged = [rec.getMessage() + json.dumps(getattr(rec, "fields", {})) for rec in caplog.records]
        assert any('"outcome": "created"' in line for line in logged)
        assert not [line for line in logged if token_value in line]  # the token never reaches a log line
    finally:
        engine.dispose()
