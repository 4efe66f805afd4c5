"""The count itself: a planted lost payment, a planted duplicate and a planted divergent row are each reported."""

from __future__ import annotations

from bluegreen.rehearsal.reconcile import Acknowledged, Books, divergent, reconcile


def ledger(*pairs):
    return [Acknowledged(key, pid, 1000.0 + i, "blue") for i, (key, pid) in enumerate(pairs)]


CHECKSUMS = {"payments": {"p1": "a", "p2": "b"}, "accounts": {"customer|c1|EUR": "x"}}
BOOKS_OK = Books({"EUR": 0}, accounts_off=0, payments_unbalanced=0)


def test_reconcile__everything_there__nothing_reported():
    out = reconcile(ledger(("k1", "p1"), ("k2", "p2")), {"k1": ["p1"], "k2": ["p2"]},
                    checksums={"blue": CHECKSUMS, "green": CHECKSUMS}, books=BOOKS_OK)
    assert (out["lost"], out["duplicated"], out["divergent_rows"], out["balance_ok"]) == (0, 0, 0, True)


def test_reconcile__planted_lost_payment__reported_by_key():
    out = reconcile(ledger(("k1", "p1"), ("k2", "p2")), {"k1": ["p1"]})
    assert out["lost"] == 1 and out["lost_keys"] == ["k2"]


def test_reconcile__acknowledged_id_differs_from_the_stored_one__lost():
    # The client was told p2; the database holds another payment for the key: what the client holds is gone.
    out = reconcile(ledger(("k2", "p2")), {"k2": ["p9"]})
    assert out["lost"] == 1


def test_reconcile__planted_duplicate__reported():
    out = reconcile(ledger(("k1", "p1")), {"k1": ["p1", "p7"]})
    assert out["duplicated"] == 1 and out["duplicated_keys"] == ["k1"] and out["lost"] == 0


def test_reconcile__one_key_acknowledged_with_two_ids__duplicate():
    out = reconcile(ledger(("k1", "p1"), ("k1", "p2")), {"k1": ["p1"]})
    assert out["duplicated"] == 1


def test_reconcile__planted_divergent_row__counted_per_table():
    green = {"payments": {"p1": "a", "p2": "CHANGED"}, "accounts": {"customer|c1|EUR": "x", "merchant|m1|EUR": "y"}}
    out = reconcile(ledger(("k1", "p1")), {"k1": ["p1"]}, checksums={"blue": CHECKSUMS, "green": green})
    assert out["divergent_rows"] == 2 and out["divergent_by_table"] == {"accounts": 1, "payments": 1}


def test_divergent__row_missing_on_one_side__counted():
    assert divergent({"t": {"1": "a", "2": "b"}}, {"t": {"1": "a"}}) == {"t": 1}


def test_reconcile__balances_do_not_sum_to_zero__balance_not_ok():
    out = reconcile([], {}, books=Books({"EUR": 0, "USD": 125}, accounts_off=0, payments_unbalanced=0))
    assert out["balance_ok"] is False
    out = reconcile([], {}, books=Books({"EUR": 0}, accounts_off=1, payments_unbalanced=0))
    assert out["balance_ok"] is False


def test_reconcile__no_database_access__divergence_and_balance_not_claimed():
    out = reconcile(ledger(("k1", "p1")), {"k1": ["p1"]})
    assert out["divergent_rows"] is None and out["balance_ok"] is None
