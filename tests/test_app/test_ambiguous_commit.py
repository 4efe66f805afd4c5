"""An ambiguous commit (the connection dies during COMMIT) is settled by looking the key up, on a
real MariaDB: the session is really killed around the COMMIT by the admin, as the fence would."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from payment_api import retry
from payment_api.database import make_engine
from payment_api.payments import PaymentRequest, PaymentStore
from payment_api.settings import Settings

from .conftest import count, root

REQUEST = PaymentRequest("m-1", "c-1", 700, "EUR", "tok")


def kill(mariadb, thread_id):
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute("KILL %s", (thread_id,))


@pytest.fixture
def engine(schema):
    engine = make_engine(Settings.from_env(schema["env"]))
    yield engine
    engine.dispose()


def arm(engine, mariadb, *, commit_first: bool):
    """On the first COMMIT only: (optionally really commit, then) kill the session, so the COMMIT the
    client sends next fails with a lost connection."""
    fired = []

    @event.listens_for(engine.engines[engine.current], "commit")
    def _die(conn):
        if fired:
            return
        fired.append(True)
        dbapi = conn.connection.dbapi_connection
        if commit_first:
            dbapi.commit()  # the commit lands ...
        kill(mariadb, dbapi.thread_id())  # ... and the client never hears back
    return fired


@pytest.mark.parametrize("commit_first", [True, False], ids=["commit_landed", "commit_lost"])
def test_create__connection_killed_during_commit__one_payment_and_the_answer_matches_it(schema, engine, commit_first):
    fired = arm(engine, schema["mariadb"], commit_first=commit_first)
    out = PaymentStore(engine, "blue", retry.Backoff(5)).create("amb-1", REQUEST)
    assert fired
    assert out.status == 201 and out.attempts == 2
    assert any("ambiguous commit" in n for n in out.notes), out.notes
    # landed: the look-up finds it and answers with it; lost: the look-up finds nothing and it is made once
    assert out.kind == ("replayed" if commit_first else "created")
    db, m = schema["name"], schema["mariadb"]
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.payments WHERE idempotency_key = 'amb-1'") == 1
    assert count(m, f"SELECT payment_id FROM `{db}`.payments WHERE idempotency_key = 'amb-1'") == out.payment_id
    assert count(m, f"SELECT COALESCE(SUM(balance_minor), 0) FROM `{db}`.accounts") == 0
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.ledger_entries") == 2


def test_create__fenced_longer_than_the_budget__503_and_nothing_written(schema, engine):
    db, m = schema["name"], schema["mariadb"]
    with root(m) as conn, conn.cursor() as cur:
        cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON `{db}`.* FROM 'payments_app'@'%'")
    out = PaymentStore(engine, "blue", retry.Backoff(0.5)).create("fenced-1", REQUEST)
    assert out.kind == "unavailable" and out.status == 503 and out.attempts > 1
    assert all("1142" in n for n in out.notes), out.notes
    assert count(m, f"SELECT COUNT(*) FROM `{db}`.payments") == 0
