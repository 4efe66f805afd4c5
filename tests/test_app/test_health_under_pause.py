"""The health check answers during a write pause, however many payments are waiting on the fence.

Found by the rehearsal: every payment waiting on a fenced writer sleeps in a worker thread between
its retries; with anyio's default 40 threads, 40 waiting payments queued every later request, the
health check with them, so the load balancer marked a healthy task down in the middle of a
switchover (and the gate rolled the shift back). Here: more payments than that wait on the project's
own fence, and /health must still answer, then every payment lands once the fence lifts.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import RunningServer, payment, root_fence

WAITING = 80  # twice anyio's default thread count



def test_health__payments_waiting_on_the_fence__health_answers_and_every_payment_lands(schema):
    settings = Settings.from_env(schema["env"])
    fence = root_fence(schema)
    with RunningServer(create_app(settings, make_engine(settings))) as server, ThreadPoolExecutor(WAITING) as pool:
        fence.fence("blue")
        pending = [pool.submit(httpx.post, f"{server.url}/payments", json=payment(i, "tok_"), headers={**schema["identity"], "Idempotency-Key": f"hp-{i}"},
                               timeout=30) for i in range(WAITING)]
        time.sleep(1.0)
        waiting = sum(not f.done() for f in pending)
        health = httpx.get(f"{server.url}/health", timeout=5)
        fence.unfence("blue")
        results = [f.result() for f in pending]
        answers = [r.status_code for r in results]
    assert waiting > 40, f"only {waiting} payments were waiting on the fence; the test would prove nothing"
    assert health.status_code == 200, health.text
    assert answers == [201] * WAITING, [r.text for r in results if r.status_code != 201][:3]
