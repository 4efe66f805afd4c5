"""The rehearsal's MariaDB starter and GTID replication against real servers (Debian's mariadb-server)."""

from __future__ import annotations

import socket

import pytest

from bluegreen.rehearsal import mariadb
from bluegreen.rehearsal.mariadb import MariaDB, MariaDBError

pytestmark = pytest.mark.skipif(not mariadb.available(), reason=f"mariadbd not found: {mariadb.INSTALL_HINT}")


@pytest.fixture(scope="module")
def pair():
    with MariaDB("blue", server_id=1) as blue, MariaDB("green", server_id=2) as green:
        with blue.root(binlog=True) as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE p")
            cur.execute("CREATE TABLE p.t (id INT PRIMARY KEY)")
        yield blue, green


def write(server, row):
    with server.root(binlog=True) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO p.t VALUES (%s)", (row,))


def rows(server):
    return [r[0] for r in server.execute("SELECT id FROM p.t ORDER BY id")]


def test_mariadb__port_taken__clear_error_and_nothing_started():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(MariaDBError, match="port 127.0.0.1:.* is taken"):
            MariaDB("x", port=taken.getsockname()[1]).start()


def test_mariadb__binaries_missing__names_the_debian_package(monkeypatch):
    monkeypatch.setattr(mariadb.shutil, "which", lambda name: None)
    monkeypatch.setattr(mariadb.Path, "exists", lambda self: False)
    with pytest.raises(MariaDBError, match="apt-get install -y mariadb-server"):
        mariadb.binaries()


def test_mariadb__stop__server_gone_and_datadir_removed():
    server = MariaDB("short").start()
    base, proc = server.base, server.proc
    assert server.admin_login().connect().open
    server.stop()
    assert proc.poll() is not None and not base.exists()


def test_replication__blue_to_green__rows_arrive_in_order(pair):
    blue, green = pair
    mariadb.replicate(blue, green)
    write(blue, 1)
    write(blue, 2)
    mariadb.wait_caught_up(blue, green)
    assert rows(green) == [1, 2] and mariadb.replicating(green)


def test_replication__local_admin_statements__stay_out_of_the_binlog(pair):
    blue, green = pair
    blue.execute("CREATE USER IF NOT EXISTS 'only_blue'@'%' IDENTIFIED BY 'x'")
    write(blue, 3)
    mariadb.wait_caught_up(blue, green)
    assert green.execute("SELECT COUNT(*) FROM mysql.user WHERE user='only_blue'")[0][0] == 0


def test_replication__reversed_twice__each_writer_reaches_the_other(pair):
    blue, green = pair
    mariadb.reverse(blue, green)  # green writes now, blue replicates
    assert not mariadb.replication_status(green) and mariadb.replicating(blue)
    write(green, 10)
    mariadb.wait_caught_up(green, blue)
    mariadb.reverse(green, blue)
    write(blue, 11)
    mariadb.wait_caught_up(blue, green)
    assert rows(blue) == rows(green) and {10, 11} <= set(rows(green))
