"""Admission control on the real service with a real MariaDB: beyond its bound a process refuses at once
(503, Retry-After) instead of queueing, /health stays answered, and a refused payment retried with its
key is made exactly once. The bound is made small and held full by payments waiting on the project's
own fence (nothing timed is asserted)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from payment_api.admission import Admission, Limits
from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import RunningServer, count, payment, root_fence

LIMITS = Limits(limit=2, queue=1, queue_wait=0.05, retry_after=1)
SENT = 8



def test_admission__bound_full__refused_at_once_with_retry_after_health_answers_retries_land_once(schema):
    m, db = schema["mariadb"], schema["name"]
    settings = Settings.from_env(schema["env"])
    fence = root_fence(schema)
    app = Admission(create_app(settings, make_engine(settings)), LIMITS)
    headers = schema["identity"]

    def pay(i: int) -> httpx.Response:
        return httpx.post(f"{server.url}/payments", json=payment(i, "tok_adm_"), headers={**headers, "Idempotency-Key": f"adm-{i}"}, timeout=30)

    with RunningServer(app) as server, ThreadPoolExecutor(SENT) as pool:
        fence.fence("blue")  # the admitted payments wait on the fence, holding their places
        held = [pool.submit(pay, i) for i in range(LIMITS.limit)]
        deadline = time.time() + 10
        while app.in_flight < LIMITS.limit and time.time() < deadline:
            time.sleep(0.02)
        refused = [pay(i) for i in range(LIMITS.limit, SENT)]
        health = httpx.get(f"{server.url}/health", timeout=5)
        in_flight = app.in_flight
        fence.unfence("blue")
        first = [f.result() for f in held]
        retried = [pay(i) for i in range(LIMITS.limit, SENT)]
        again = pay(0)

    assert in_flight == LIMITS.limit, "the bound was not full; the test would prove nothing"
    assert [r.status_code for r in refused] == [503] * (SENT - LIMITS.limit)
    assert {r.headers.get("Retry-After") for r in refused} == {"1"} and "same Idempotency-Key" in refused[0].json()["error"]
    assert health.status_code == 200, health.text
    assert [r.status_code for r in first] == [201] * LIMITS.limit
    assert [r.status_code for r in retried] == [201] * (SENT - LIMITS.limit)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert app.refused == SENT - LIMITS.limit
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.payments WHERE idempotency_key LIKE 'adm-%%'") == SENT


def test_limits__nonsense__refused():
    import pytest

    with pytest.raises(ValueError, match="admission limits"):
        Limits(limit=0)
