"""Two tasks (a blue and a green server, each with its own pool) racing one key still make one
payment: the key is unique in the database, not in a process."""

from __future__ import annotations

import threading

import httpx

from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import RunningServer, count


def test_two_tasks__same_key_racing_on_both__one_payment_one_answer(schema):
    engines = {c: make_engine(Settings.from_env(dict(schema["env"], APP_COLOUR=c))) for c in ("blue", "green")}
    body = {"merchant_id": "m-9", "customer_id": "c-9", "amount_minor": 4200, "currency": "GBP", "card_token": "tok9"}
    answers, barrier = [], threading.Barrier(20)
    try:
        with RunningServer(create_app(Settings.from_env(dict(schema["env"], APP_COLOUR="blue")), engines["blue"])) as b, \
             RunningServer(create_app(Settings.from_env(dict(schema["env"], APP_COLOUR="green")), engines["green"])) as g:
            def go(url):
                with httpx.Client(base_url=url, timeout=30, headers=schema["identity"]) as client:
                    barrier.wait()
                    answers.append(client.post("/payments", json=body, headers={"Idempotency-Key": "both-tasks"}))

            threads = [threading.Thread(target=go, args=(url,)) for url in [b.url, g.url] * 10]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        for e in engines.values():
            e.dispose()
    assert [a.status_code for a in answers] == [201] * 20
    assert len({a.content for a in answers}) == 1  # the winner's answer, whichever colour it was
    db, m = schema["name"], schema["mariadb"]
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.payments") == 1
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.ledger_entries") == 2
    assert count(m, f"SELECT COALESCE(SUM(balance_minor), 0) FROM `{db}`.accounts") == 0
