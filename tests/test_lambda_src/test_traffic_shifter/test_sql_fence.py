"""The real fence (SqlGrantFence) against a real MySQL-compatible server: MariaDB started in a temp datadir.

CI installs it with ``apt-get install -y mariadb-server`` (Debian package ``mariadb-server``; the test
needs only the ``mariadbd`` and ``mariadb-install-db`` binaries, started by the project's one starter,
bluegreen/local_mariadb.py). Aurora differs in one statement: it has no SUPER, so the fence kills
sessions with ``CALL mysql.rds_kill(id)`` (the default) instead of ``KILL id`` (used here). Skipped,
saying so, only when the binaries are missing.
"""

from __future__ import annotations

import time

import pytest

pymysql = pytest.importorskip("pymysql")

from bluegreen import local_mariadb  # noqa: E402 - after pytest.importorskip('pymysql')
from traffic_shifter import SqlGrantFence  # noqa: E402 - after pytest.importorskip('pymysql')

MISSING = local_mariadb.missing("the real fence test")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=MISSING)


@pytest.fixture(scope="module")
def server():
    """A throw-away MariaDB on 127.0.0.1 (own datadir, socket and port), stopped and removed afterwards."""
    with local_mariadb.MariaDB("fence", binlog=False) as db:
        yield {"sock": db.socket_path, "port": db.port}


def admin(server):
    return pymysql.connect(unix_socket=server["sock"], user="root", autocommit=True)


@pytest.fixture
def db(server):
    """Schema payments with the application user (DML granted: the active writer) and DMS's own user."""
    with admin(server) as conn, conn.cursor() as cur:
        for stmt in (
            "DROP DATABASE IF EXISTS payments", "CREATE DATABASE payments",
            "CREATE TABLE payments.payments (id INT PRIMARY KEY, amount_cents BIGINT NOT NULL)",
            "DROP USER IF EXISTS 'payments_app'@'%'", "DROP USER IF EXISTS 'dms_repl'@'%'",
            "CREATE USER 'payments_app'@'%' IDENTIFIED BY 'app-pw'", "CREATE USER 'dms_repl'@'%' IDENTIFIED BY 'dms-pw'",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON payments.* TO 'payments_app'@'%'",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON payments.* TO 'dms_repl'@'%'",
        ):
            cur.execute(stmt)
    return server


def app(server, user="payments_app", password="app-pw"):
    return pymysql.connect(host="127.0.0.1", port=server["port"], user=user, password=password, database="payments", autocommit=True)


def root_login(server):
    """The fence's and the drain's login: root over the socket (the master secret's on AWS)."""
    return lambda colour: pymysql.connect(unix_socket=server["sock"], user="root")


def fence_for(server, kill_sql: str = "KILL %s") -> SqlGrantFence:
    return SqlGrantFence(root_login(server), kill_sql=kill_sql)


def insert(conn, pid):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO payments.payments VALUES (%s, 100)", (pid,))


def test_sql_fence__active_writer__reported_unfenced(db):
    assert fence_for(db).is_fenced("blue") is False


def test_sql_fence__fence__stale_pooled_connection_can_no_longer_write(db):
    stale = app(db)
    insert(stale, 1)
    fence_for(db).fence("blue")
    with pytest.raises(pymysql.err.OperationalError):  # killed: the pool must reconnect
        insert(stale, 2)


def test_sql_fence__kill_refused_for_another_reason__fence_fails(db):
    # A session the fencer cannot kill could still write: the fence must not report success.
    open_session = app(db)
    cannot_kill = fence_for(db, kill_sql="CALL mysql.no_such_kill_procedure(%s)")
    with pytest.raises(pymysql.err.MySQLError, match="no_such_kill_procedure"):
        cannot_kill.fence("blue")
    open_session.close()


def test_sql_fence__session_ended_before_kill__fence_succeeds(db):
    # "Unknown thread id" (1094): the session went away on its own, which is what the kill wanted.
    ends_first = fence_for(db, kill_sql="KILL 999999999 + 0 * %s")
    app(db).close()
    keep = app(db)
    assert "killed 0 session(s)" in ends_first.fence("blue")
    keep.close()


def test_sql_fence__fence__new_connection_refused_writes_but_may_read(db):
    fence_for(db).fence("blue")
    with app(db) as conn:
        with pytest.raises(pymysql.err.OperationalError, match="INSERT command denied") as err:
            insert(conn, 3)
        assert err.value.args[0] == 1142
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM payments.payments")


def test_sql_fence__fence__dms_user_still_writes_the_reverse_replication(db):
    fence_for(db).fence("blue")
    with app(db, "dms_repl", "dms-pw") as conn:
        insert(conn, 4)


def test_sql_fence__fence__reported_fenced_and_idempotent(db):
    f = fence_for(db)
    f.fence("blue")
    assert f.is_fenced("blue") is True
    assert "already fenced" in f.fence("blue")


def test_sql_fence__unfence__application_writes_again(db):
    f = fence_for(db)
    f.fence("blue")
    f.unfence("blue")
    assert f.is_fenced("blue") is False
    with app(db) as conn:
        insert(conn, 5)


def test_sql_fence__fence_and_unfence__measured(db, capsys):
    f = fence_for(db)
    pools = [app(db) for _ in range(20)]
    t0 = time.perf_counter()
    f.fence("blue")
    t1 = time.perf_counter()
    f.unfence("blue")
    t2 = time.perf_counter()
    with capsys.disabled():
        print(f"\nSqlGrantFence on MariaDB: fence (revoke + kill 20 sessions) {1000 * (t1 - t0):.1f} ms, unfence {1000 * (t2 - t1):.1f} ms")
    assert t1 - t0 < 1.0
    for p in pools:
        p.close()


def drain_for(server):
    from traffic_shifter.db import SqlMarkerDrain

    return SqlMarkerDrain(root_login(server))


def test_drain_quiet__service_reconnects_after_the_fence__the_fence_still_counts_as_taken(db):
    # The rehearsal found it: the service reconnects at once (the writer name still points here), so
    # "no session of the user" never holds; a session opened after the REVOKE has no DML and does not count.
    before = app(db)
    fence = fence_for(db)
    fence.fence("blue")
    after = app(db)  # logged in after the REVOKE: may read, cannot write
    with pytest.raises(pymysql.err.OperationalError):
        insert(after, 7)
    assert "opened before the fence" in drain_for(db).quiet("blue", opened_before=fence.watermarks["blue"])
    with pytest.raises(Exception, match="the fence did not take: 1 session"):
        drain_for(db).quiet("blue")  # without the watermark every session counts
    after.close()
    before.close()


def test_drain_quiet__a_session_older_than_the_fence_is_left__refused(db):
    fence = fence_for(db)
    fence.fence("blue")
    # A pre-fence session that survived the kills (as if the KILL had not landed yet): below the watermark.
    fence.watermarks["blue"] += 1000
    survivor = app(db)
    with pytest.raises(Exception, match="the fence did not take: 1 session"):
        drain_for(db).quiet("blue", opened_before=fence.watermarks["blue"])
    survivor.close()


def test_drain_marker__first_creates_the_table__later_only_insert(db):
    drain = drain_for(db)
    with admin(db) as conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS bluegreen_ops")
    assert drain.arrived("blue", "t1") is False  # no table yet: not arrived, no error
    drain.mark("blue", "t1")
    drain.mark("blue", "t2")
    assert drain.arrived("blue", "t1") and drain.arrived("blue", "t2") and not drain.arrived("blue", "t3")


def test_drain_position__binary_log_off__refused_with_what_to_do(db):
    # The server of this module has no binary log: the reverse replication would have no start position.
    with pytest.raises(Exception, match="binary logging is off on the new writer"):
        drain_for(db).position("green")
