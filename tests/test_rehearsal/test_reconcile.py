"""The count itself: every fault that can happen, planted, is reported, on the database it happened on.

Planted in a real MariaDB (the service's own schema, two databases as blue and green on one server,
read by the count's own reader): a payment deleted from the final writer, one missing from the other
database only, a changed amount, a replay that created a second row under another key (the UNIQUE
key allows it), a row for a key the client gave up on, a row nobody sent. The pure judgments around
them (the ledger, replays, checksums, books) are tested without a server.
"""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.schema import CreateTable

from bluegreen import local_mariadb as mariadb
from bluegreen.rehearsal.reconcile import Books, Sent, divergent, payment_rows, read_sent, reconcile, write_sent
from payment_api.schema import payments

MISSING = mariadb.missing("the count's tests against a real database")
needs_server = pytest.mark.skipif(bool(MISSING), reason=MISSING)


def request(i: int, *, acknowledged: bool = True, replayed: bool = False) -> Sent:
    return Sent(f"k{i}", f"m-{i % 3:03d}", 100 + i, ("EUR", "USD", "GBP")[i % 3], f"tok_{i:032x}",
                f"p{i}" if acknowledged else "", 1000.0 + i if acknowledged else 0.0, replayed, "blue")


def row(s: Sent, **changed) -> dict:
    return {"payment_id": s.payment_id or f"p{s.idempotency_key[1:]}", "idempotency_key": s.idempotency_key,
            "merchant_id": s.merchant_id, "amount_minor": s.amount_minor, "currency": s.currency,
            "card_token": s.card_token, **changed}


SENT = [request(i) for i in range(6)] + [request(6, acknowledged=False)]
CHECKSUMS = {"payments": {"p1": "a", "p2": "b"}, "accounts": {"customer|c1|EUR": "x"}}
BOOKS_OK = Books({"EUR": 0}, accounts_off=0, payments_unbalanced=0)


@pytest.fixture(scope="module")
def server():
    with mariadb.MariaDB("count") as db:
        ddl = str(CreateTable(payments).compile(create_engine("mysql+pymysql://")))
        with db.root() as conn, conn.cursor() as cur:
            for schema in ("blue", "green"):
                cur.execute(f"CREATE DATABASE {schema}")
                cur.execute(f"USE {schema}")
                cur.execute(ddl)
        yield db


def store(db, schema: str, rows) -> None:
    with db.root() as conn, conn.cursor() as cur:
        cur.execute(f"DELETE FROM {schema}.payments")
        for r in rows:
            cur.execute(f"INSERT INTO {schema}.payments (payment_id, idempotency_key, merchant_id, customer_id, amount_minor, "
                        "currency, card_token, status, colour, created_at) VALUES (%s, %s, %s, 'c-1', %s, %s, %s, 'captured', "
                        "'blue', %s)", (r["payment_id"], r["idempotency_key"], r["merchant_id"], r["amount_minor"],
                                        r["currency"], r["card_token"], datetime.datetime(2026, 12, 7)))


def count(db, sent=SENT):
    with db.root() as conn:
        return reconcile(sent, {colour: payment_rows(conn, colour) for colour in ("blue", "green")})


@needs_server
def test_count__every_payment_on_both__nothing_reported(server):
    for colour in ("blue", "green"):
        store(server, colour, [row(s) for s in SENT[:6]])
    out = count(server)
    figures = ("lost", "duplicated", "mismatched", "charged_but_failed", "unexplained")
    assert [out[f] for f in figures] == [0] * 5 and out["acknowledged_counted"] == 6 and out["requests_counted"] == 7


@needs_server
def test_count__planted_faults_in_a_real_database__each_caught_on_its_database(server):
    good = [row(s) for s in SENT[:6]]
    # blue, the final writer: payment k1 deleted, k2's amount changed, a replay of k3 stored again under
    # another key, the given-up k6 charged after all, and a payment nobody sent.
    store(server, "blue", [r for r in good if r["idempotency_key"] not in ("k1", "k2")]
          + [row(SENT[2], amount_minor=SENT[2].amount_minor + 1),
             row(SENT[3], payment_id="p3-again", idempotency_key="k3-retry"),
             row(SENT[6]),
             row(request(99), payment_id="p-nobody", idempotency_key="k-nobody", card_token="tok_nobody")])
    # green, the other database: only k4 missing.
    store(server, "green", [r for r in good if r["idempotency_key"] != "k4"])
    out = count(server)
    assert (out["lost"], out["lost_keys"]) == (2, ["k1", "k4"])
    assert (out["mismatched"], out["mismatched_keys"]) == (1, ["k2"])
    assert (out["duplicated"], out["duplicated_keys"]) == (1, ["k3"])
    assert (out["charged_but_failed"], out["charged_but_failed_keys"]) == (1, ["k6"])
    assert (out["unexplained"], out["unexplained_keys"]) == (1, ["p-nobody"])
    assert out["by_database"]["blue"] == {"lost": 1, "duplicated": 1, "mismatched": 1, "charged_but_failed": 1,
                                          "unexplained": 1}
    assert out["by_database"]["green"] == {"lost": 1, "duplicated": 0, "mismatched": 0, "charged_but_failed": 0,
                                           "unexplained": 0}


@needs_server
def test_count__changed_currency_or_merchant__mismatched(server):
    store(server, "blue", [row(SENT[0], currency="JPY"), row(SENT[1], merchant_id="m-999")] + [row(s) for s in SENT[2:6]])
    store(server, "green", [row(s) for s in SENT[:6]])
    out = count(server)
    assert out["mismatched_keys"] == ["k0", "k1"] and out["by_database"]["green"]["mismatched"] == 0


def test_reconcile__acknowledged_id_differs_from_the_stored_one__lost():
    # The client was told p2; the database holds another payment for the request: what the client holds is gone.
    out = reconcile(SENT[2:3], {"w": [row(SENT[2], payment_id="p9")]})
    assert out["lost"] == 1


def test_reconcile__one_key_acknowledged_with_two_ids__duplicate_in_the_ledger():
    twice = [SENT[1], Sent(**{**SENT[1].__dict__, "payment_id": "p1-bis"})]
    out = reconcile(twice, {"w": [row(SENT[1])]})
    assert out["duplicated"] == 1 and out["ledger_duplicated"] == 1


def test_reconcile__rows_over_http_without_card_tokens__matched_by_merchant_and_key():
    rows = [{k: v for k, v in row(s).items() if k != "card_token"} for s in SENT[:6]]
    out = reconcile(SENT, {"service": rows})
    assert (out["lost"], out["unexplained"], out["charged_but_failed"]) == (0, 0, 0)


def test_reconcile__replays__counted_and_shown():
    sent = [request(0), request(1, replayed=True), request(2, replayed=True)]
    out = reconcile(sent, {"w": [row(s) for s in sent]})
    assert (out["replays"], out["replay_keys"]) == (2, ["k1", "k2"])


def test_sent__written_and_read_back__equal(tmp_path):
    write_sent(tmp_path / "ledger.csv", SENT)
    assert read_sent(tmp_path / "ledger.csv") == SENT


def test_reconcile__planted_divergent_row__counted_per_table():
    green = {"payments": {"p1": "a", "p2": "CHANGED"}, "accounts": {"customer|c1|EUR": "x", "merchant|m1|EUR": "y"}}
    out = reconcile([], {}, checksums={"blue": CHECKSUMS, "green": green})
    assert out["divergent_rows"] == 2 and out["divergent_by_table"] == {"accounts": 1, "payments": 1}


def test_divergent__row_missing_on_one_side__counted():
    assert divergent({"t": {"1": "a", "2": "b"}}, {"t": {"1": "a"}}) == {"t": 1}


def test_reconcile__balances_do_not_sum_to_zero__balance_not_ok():
    assert reconcile([], {}, books=Books({"EUR": 0, "USD": 125}, accounts_off=0, payments_unbalanced=0))["balance_ok"] is False
    assert reconcile([], {}, books=Books({"EUR": 0}, accounts_off=1, payments_unbalanced=0))["balance_ok"] is False
    assert reconcile([], {}, books=BOOKS_OK)["balance_ok"] is True


def test_reconcile__no_database_access__divergence_and_balance_not_claimed():
    out = reconcile(SENT, {"service": [row(s) for s in SENT[:6]]})
    assert out["divergent_rows"] is None and out["balance_ok"] is None
