"""The service authorises by the verified client certificate (client_identity.py) on a real MariaDB:
a client creates and reads only its own merchants' payments, keys are scoped to the merchant, and a
request without well-formed, self-consistent X-Amzn-Mtls-Clientcert-* headers is refused."""

from __future__ import annotations

import datetime

import pytest
from fastapi.testclient import TestClient

from payment_api import client_identity as ci
from payment_api import signing
from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.settings import Settings

from .conftest import PUBLIC_KEYS, alb_headers, count, grant_merchants


def body(merchant: str, **over):
    b = {"merchant_id": merchant, "customer_id": "c-1", "amount_minor": 700, "currency": "EUR", "card_token": "tok_x"}
    b.update(over)
    return b


def written(schema) -> tuple[int, int, int]:
    db, m = schema["name"], schema["mariadb"]
    return tuple(count(m, f"SELECT COUNT(*) FROM `{db}`.{t}") for t in ("payments", "ledger_entries", "idempotency_keys"))


@pytest.fixture
def merchants(schema, client_ca):
    """A service with two clients: A may act for merchant-a, B for merchant-b. -> (client, headers A, headers B)."""
    a, b = client_ca.client("merchant-a"), client_ca.client("merchant-b")
    grant_merchants(schema["env"], a.subject, ["merchant-a"])
    grant_merchants(schema["env"], b.subject, ["merchant-b"])
    settings = Settings.from_env(schema["env"])
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine)) as client:
        client.schema = schema
        yield client, alb_headers(a.certificate), alb_headers(b.certificate)
    engine.dispose()


def pay(client, headers, key, payload):
    return client.post("/payments", json=payload, headers={**headers, "Idempotency-Key": key})


def test_a_cannot_create_bs_payment__403_and_nothing_written(merchants):
    client, a, _ = merchants
    r = pay(client, a, "k-1", body("merchant-b"))
    assert r.status_code == 403 and "merchant-b" in r.json()["error"]
    assert signing.verify(PUBLIC_KEYS, r.status_code, r.content, r.headers[signing.HEADER])
    assert written(client.schema) == (0, 0, 0)
    assert pay(client, a, "k-1", body("merchant-a")).status_code == 201


def test_a_cannot_read_bs_payment__by_id_403__by_key_403(merchants):
    client, a, b = merchants
    created = pay(client, b, "k-b", body("merchant-b")).json()
    assert client.get(f"/payments/{created['payment_id']}", headers=b).status_code == 200
    by_id = client.get(f"/payments/{created['payment_id']}", headers=a)
    assert by_id.status_code == 403 and "amount_minor" not in by_id.text
    by_key = client.get("/payments", params={"merchant_id": "merchant-b", "idempotency_key": "k-b"}, headers=a)
    assert by_key.status_code == 403 and "payment_id" not in by_key.json()
    # Under its own merchant A finds nothing: B's key is neither there nor revealed.
    assert client.get("/payments", params={"merchant_id": "merchant-a", "idempotency_key": "k-b"}, headers=a).status_code == 404


def test_one_key_two_merchants__two_payments_each_replayed_to_its_own(merchants):
    client, a, b = merchants
    first_a = pay(client, a, "shared-key", body("merchant-a"))
    first_b = pay(client, b, "shared-key", body("merchant-b", amount_minor=900))
    assert first_a.status_code == first_b.status_code == 201  # no collision, no 409 that would reveal A's key
    assert first_a.json()["payment_id"] != first_b.json()["payment_id"]
    again_b = pay(client, b, "shared-key", body("merchant-b", amount_minor=900))
    assert again_b.content == first_b.content and again_b.headers["Idempotent-Replayed"] == "true"
    assert written(client.schema) == (2, 4, 2)


def test_client_without_grant__403_nothing_written(schema, client_ca):
    stranger = alb_headers(client_ca.client("nobody").certificate)
    settings = Settings.from_env(schema["env"])
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine)) as client:
        r = pay(client, stranger, "k-s", body("m-1"))
        assert r.status_code == 403 and "not granted" in r.json()["error"]
        assert client.get("/payments/anything", headers=stranger).status_code == 403
    engine.dispose()
    assert written(schema) == (0, 0, 0)


@pytest.mark.parametrize("missing", ci.REQUIRED)
def test_a_header_missing__403_nothing_written(merchants, missing):
    client, a, _ = merchants
    headers = {k: v for k, v in a.items() if k != missing}
    r = pay(client, headers, "k-m", body("merchant-a"))
    assert r.status_code == 403 and missing in r.json()["error"]
    assert client.get("/payments", params={"merchant_id": "merchant-a", "idempotency_key": "k-m"},
                      headers=headers).status_code == 403
    assert written(client.schema) == (0, 0, 0)


def test_spoofed_subject__bs_subject_over_as_certificate__403_nothing_written(merchants):
    """A caller that writes B's subject beside A's certificate (a header the load balancer did not set)."""
    client, a, b = merchants
    spoofed = {**a, ci.SUBJECT: b[ci.SUBJECT]}
    r = pay(client, spoofed, "k-sp", body("merchant-b"))
    assert r.status_code == 403 and "disagree" in r.json()["error"]
    assert written(client.schema) == (0, 0, 0)


def test_no_headers_at_all__403_but_health_answers(merchants):
    client, _, _ = merchants
    r = client.post("/payments", json=body("merchant-a"), headers={"Idempotency-Key": "k-n"})
    assert r.status_code == 403 and "mutual TLS" in r.json()["error"]
    assert client.get("/health").status_code == 200  # the load balancer's health check carries no certificate
    assert written(client.schema) == (0, 0, 0)


# -- the header checks alone (pure) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good(client_ca):
    issued = client_ca.client("pure")
    return alb_headers(issued.certificate), issued


@pytest.mark.parametrize("header,value,problem", [
    (ci.SERIAL, "not-hex", "hexadecimal"),
    (ci.SERIAL, "0A1B", "disagree"),
    (ci.SUBJECT, "", "distinguished name"),
    (ci.SUBJECT, "CN=x,=broken", "RFC 2253"),
    (ci.ISSUER, "CN=some other CA", "disagree"),
    (ci.VALIDITY, "NotBefore=2020-01-01;NotAfter=2030-01-01", "ISO 8601"),
    (ci.VALIDITY, "NotBefore=2020-01-01T00:00:00Z;NotAfter=2030-02-30T00:00:00Z", "does not exist"),
    (ci.VALIDITY, "NotBefore=2020-01-01T00:00:00Z;NotAfter=2099-01-01T00:00:00Z", "disagrees"),
    (ci.LEAF, "-----BEGIN%20CERTIFICATE-----%0Anot base64!%0A-----END%20CERTIFICATE-----%0A", "URL-encoded PEM"),
    (ci.LEAF, "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A", "readable"),
])
def test_from_headers__malformed_or_inconsistent__refused_naming_the_header(good, header, value, problem):
    headers, _ = good
    with pytest.raises(ci.IdentityError, match=problem):
        ci.from_headers({**headers, header: value})


def test_from_headers__well_formed__the_subject(good):
    headers, issued = good
    identity = ci.from_headers(headers)
    assert identity.subject == issued.subject and identity.serial == issued.certificate.serial_number


def test_from_headers__expired_certificate__refused(client_ca):
    now = datetime.datetime.now(datetime.UTC)
    old = client_ca.client("expired", not_before=now - datetime.timedelta(days=10),
                           not_after=now - datetime.timedelta(days=1))
    with pytest.raises(ci.IdentityError, match="not valid at this time"):
        ci.from_headers(alb_headers(old.certificate))


def test_merchant_directory__revoked_grant__refused_after_the_cache_time(schema, identity):
    from payment_api.migrate import admin_engine

    clock = [0.0]
    engine = make_engine(Settings.from_env(schema["env"]))
    directory = ci.MerchantDirectory(engine, ttl=30, clock=lambda: clock[0])
    assert "m-1" in directory.merchants(identity.subject)
    admin = admin_engine(Settings.from_env(schema["env"], purpose="migrate"))
    with admin.begin() as conn:
        assert ci.revoke(conn, identity.subject, ["m-1"]) == 1
    admin.dispose()
    assert "m-1" in directory.merchants(identity.subject)  # cached
    clock[0] = 31.0
    assert "m-1" not in directory.merchants(identity.subject) and "m-2" in directory.merchants(identity.subject)
    engine.dispose()


def test_cli_clients__grant_list_revoke__with_the_admin_login(schema, capsys, monkeypatch):
    from payment_api.cli import main

    for name, value in schema["env"].items():
        monkeypatch.setenv(name, value)
    subject = "CN=acquirer-7,O=Example Acquirer"
    assert main(["clients", "grant", "--subject", subject, "--merchant", "m-7", "--merchant", "m-8"]) == 0
    assert main(["clients", "list", "--subject", subject]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [f"{subject}\tm-7", f"{subject}\tm-8"]
    assert main(["clients", "revoke", "--subject", subject, "--merchant", "m-7"]) == 0
    assert main(["clients", "revoke", "--subject", subject]) == 0
    assert "1 grant(s) removed" in capsys.readouterr().out
    assert main(["clients", "grant", "--subject", "not a DN", "--merchant", "m-1"]) == 2
    assert "RFC 2253" in capsys.readouterr().err
