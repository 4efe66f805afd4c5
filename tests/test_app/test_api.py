"""POST/GET /payments and /health through FastAPI's TestClient against a real MariaDB."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import pytest
from fastapi.testclient import TestClient

from payment_api import signing
from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import PUBLIC_KEYS, count, free_port

VISA_TEST_PAN = "4111111111111111"


def body(**over):
    b = {"merchant_id": "m-1", "customer_id": "c-1", "amount_minor": 1250, "currency": "EUR", "card_token": "tok_abc123"}
    b.update(over)
    return b


@pytest.fixture
def service(schema, identity):
    settings = Settings.from_env(schema["env"])
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine), headers=identity) as client:
        client.schema = schema
        yield client
    engine.dispose()


def post(client, key, payload):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/payments", json=payload, headers=headers)


def table_counts(schema):
    db, m = schema["name"], schema["mariadb"]
    return tuple(count(m, f"SELECT COUNT(*) FROM `{db}`.{t}") for t in ("payments", "ledger_entries", "idempotency_keys"))


def balance_sum(schema):
    return count(schema["mariadb"], f"SELECT COALESCE(SUM(balance_minor), 0) FROM `{schema['name']}`.accounts")


def test_post_payment__no_idempotency_key__400_and_nothing_stored(service):
    r = post(service, None, body())
    assert r.status_code == 400
    assert "Idempotency-Key" in r.json()["error"]
    assert table_counts(service.schema) == (0, 0, 0)


def test_post_payment__first_request__201_signed_and_double_entry(service):
    r = post(service, "k-1", body())
    assert r.status_code == 201
    assert set(r.json()) == {"payment_id", "status", "colour"} and r.json()["colour"] == "blue"
    assert signing.verify(PUBLIC_KEYS, r.status_code, r.content, r.headers[signing.HEADER])
    assert table_counts(service.schema) == (1, 2, 1)
    db, m = service.schema["name"], service.schema["mariadb"]
    assert count(m, f"SELECT balance_minor FROM `{db}`.accounts WHERE kind='customer' AND owner_id='c-1'") == -1250
    assert count(m, f"SELECT balance_minor FROM `{db}`.accounts WHERE kind='merchant' AND owner_id='m-1'") == 1250
    assert balance_sum(service.schema) == 0


def test_post_payment__replay_same_body__same_answer_nothing_changed(service):
    first = post(service, "k-2", body())
    before = table_counts(service.schema)
    again = post(service, "k-2", dict(reversed(list(body().items()))))  # same body, other key order
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert table_counts(service.schema) == before == (1, 2, 1)


def test_post_payment__same_key_other_body__409_nothing_changed(service):
    first = post(service, "k-3", body())
    r = post(service, "k-3", body(amount_minor=999))
    assert r.status_code == 409
    assert r.json()["payment_id"] == first.json()["payment_id"]
    assert table_counts(service.schema) == (1, 2, 1)


def test_post_payment__twenty_threads_one_key__one_payment(service):
    answers, barrier = [], threading.Barrier(20)

    def go():
        barrier.wait()
        answers.append(post(service, "k-race", body()))

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 20
    assert len({a.content for a in answers}) == 1
    assert table_counts(service.schema) == (1, 2, 1)
    assert balance_sum(service.schema) == 0


def test_post_payment__card_token_is_a_pan__422_not_stored_not_logged(service, caplog):
    caplog.set_level(logging.DEBUG)
    for pan in (VISA_TEST_PAN, "4111 1111 1111 1111", "5500-0000-0000-0004"):
        r = post(service, f"k-pan-{pan[:2]}", body(card_token=pan))
        assert r.status_code == 422
        assert "card number" in r.json()["error"]
        assert "1111" not in r.text and "0004" not in r.text
    # Also when another field is invalid (pydantic would echo the body as "input"):
    r = post(service, "k-pan-x", {"card_token": VISA_TEST_PAN})
    assert r.status_code == 422 and VISA_TEST_PAN not in r.text
    assert table_counts(service.schema) == (0, 0, 0)
    logged = "\n".join(logging.Formatter().format(rec) + json.dumps(getattr(rec, "fields", {})) for rec in caplog.records)
    assert "1111111111" not in logged and "000000000004" not in logged
    assert '"outcome": "pan_refused"' in logged


def test_post_payment__token_not_passing_luhn__accepted(service):
    assert post(service, "k-4", body(card_token="4111111111111112")).status_code == 201


@pytest.mark.parametrize("bad", [
    {"amount_minor": 0}, {"amount_minor": -5}, {"amount_minor": "10"}, {"amount_minor": 1.5},
    {"currency": "eur"}, {"currency": "EURO"}, {"merchant_id": ""}, {"extra": 1},
])
def test_post_payment__invalid_body__422_names_the_field(service, bad):
    r = post(service, f"k-bad-{uuid.uuid4()}", body(**bad))
    assert r.status_code == 422
    assert r.json()["problems"]
    assert table_counts(service.schema) == (0, 0, 0)


def test_post_payment__concurrent_burst__balances_sum_to_zero_and_match_ledger(service):
    def go(i):
        r = post(service, f"k-burst-{i}", body(customer_id=f"c-{i % 7}", merchant_id=f"m-{i % 3}", amount_minor=100 + i))
        assert r.status_code == 201

    threads = [threading.Thread(target=go, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db, m = service.schema["name"], service.schema["mariadb"]
    assert table_counts(service.schema) == (60, 120, 60)
    assert balance_sum(service.schema) == 0
    assert count(m, f"SELECT SUM(amount_minor) FROM `{db}`.payments") == sum(100 + i for i in range(60))
    # every balance equals the sum of its ledger entries
    assert count(m, f"""SELECT COUNT(*) FROM `{db}`.accounts a WHERE a.balance_minor <> (
        SELECT SUM(e.amount_minor) FROM `{db}`.ledger_entries e WHERE e.account_kind = a.kind
        AND e.account_owner_id = a.owner_id AND e.currency = a.currency)""") == 0


def test_get_payment__by_id_and_by_key__found_without_card_token(service):
    created = post(service, "k-5", body()).json()
    by_id = service.get(f"/payments/{created['payment_id']}")
    by_key = service.get("/payments", params={"merchant_id": "m-1", "idempotency_key": "k-5"})
    assert by_id.status_code == by_key.status_code == 200
    assert by_id.json() == by_key.json()
    assert by_id.json()["amount_minor"] == 1250 and by_id.json()["idempotency_key"] == "k-5"
    assert "card_token" not in by_id.json()
    assert signing.verify(PUBLIC_KEYS, by_id.status_code, by_id.content, by_id.headers[signing.HEADER])


def test_get_payment__unknown__404(service):
    assert service.get(f"/payments/{uuid.uuid4()}").status_code == 404
    assert service.get("/payments", params={"merchant_id": "m-1", "idempotency_key": "nope"}).status_code == 404
    assert service.get("/payments").status_code == 400


def test_health__writer_answers__200_names_colour_and_version(service):
    r = service.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["colour"] == "blue" and r.json()["version"]


def test_health__database_down__503(schema, identity):
    env = dict(schema["env"], DB_PORT=str(free_port()))  # nothing listens there
    settings = Settings.from_env(env)
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine), headers=identity) as client:
        r = client.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        assert client.get("/payments/x").status_code == 503
    engine.dispose()


def test_post_payment__writer_fenced_past_the_budget__503_with_retry_after(schema, identity):
    from .conftest import root

    with root(schema["mariadb"]) as conn, conn.cursor() as cur:
        cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON `{schema['name']}`.* FROM 'payments_app'@'%'")
    settings = Settings.from_env(dict(schema["env"], WRITE_RETRY_SECONDS="0.5"))
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine), headers=identity) as client:
        r = post(client, "k-fenced", body())
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert "same Idempotency-Key" in r.json()["error"]
        assert signing.verify(PUBLIC_KEYS, r.status_code, r.content, r.headers[signing.HEADER])
        assert client.get("/health").status_code == 200  # reads still answer: the task stays in service
    engine.dispose()
    assert table_counts(schema) == (0, 0, 0)


def test_signing_keys__public_keys__verify_every_answer(service):
    r = service.get("/signing-keys")
    assert r.status_code == 200 and r.json()["algorithm"] == "Ed25519"
    published = r.json()["keys"]
    assert published == PUBLIC_KEYS
    for answer in (post(service, "k-sig", body()), post(service, None, body()), service.get("/health"),
                   service.get("/payments/nope")):
        assert signing.verify(published, answer.status_code, answer.content, answer.headers[signing.HEADER]), answer.text
