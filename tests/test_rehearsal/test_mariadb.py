"""The one MariaDB starter (bluegreen/local_mariadb.py), its command line, GTID replication (mariadb_replication.py) and the one
replica status reader (with the rehearsal's adapter and data gate on it) against real servers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bluegreen import local_mariadb as mariadb
from bluegreen import mariadb_replication as replication
from bluegreen.local_mariadb import MariaDB, MariaDBError
from bluegreen.mariadb_replication import ReplicaStatus
from bluegreen.rehearsal.adapters import GtidReplication
from bluegreen.rehearsal.sampling import ReplicationReader

ROOT = Path(__file__).resolve().parents[2]
MISSING = mariadb.missing("the MariaDB starter's tests")
needs_server = pytest.mark.skipif(bool(MISSING), reason=MISSING)


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


@needs_server
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


@needs_server
def test_mariadb__stop__server_gone_and_datadir_removed():
    server = MariaDB("short").start()
    base, proc = server.base, server.proc
    assert server.admin_login().connect().open
    server.stop()
    assert proc.poll() is not None and not base.exists()


@needs_server
def test_mariadb__server_refuses_to_start__error_log_in_the_message_and_datadir_removed(tmp_path):
    server = MariaDB("bad", base_dir=tmp_path, extra_args=("--no-such-option",))
    with pytest.raises(MariaDBError, match="(?s)mariadbd bad did not start: .*unknown option .--no-such-option."):
        server.start()
    assert list(tmp_path.iterdir()) == [] and server.proc.poll() is not None


@needs_server
def test_mariadb__binlog_off__lone_server_takes_writes_without_a_binary_log():
    with MariaDB("lone", binlog=False) as server:
        server.execute("CREATE DATABASE p")
        server.execute("CREATE TABLE p.t (id INT PRIMARY KEY)")
        with server.admin_login("p").connect() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO p.t VALUES (1)")
        assert server.execute("SELECT @@GLOBAL.log_bin, COUNT(*) FROM p.t") == [(0, 1)]


@needs_server
def test_replication__blue_to_green__rows_arrive_in_order(pair):
    blue, green = pair
    replication.replicate(blue, green)
    write(blue, 1)
    write(blue, 2)
    replication.wait_caught_up(blue, green)
    assert rows(green) == [1, 2] and replication.replicating(green)


@needs_server
def test_replication__local_admin_statements__stay_out_of_the_binlog(pair):
    blue, green = pair
    blue.execute("CREATE USER IF NOT EXISTS 'only_blue'@'%' IDENTIFIED BY 'x'")
    write(blue, 3)
    replication.wait_caught_up(blue, green)
    assert green.execute("SELECT COUNT(*) FROM mysql.user WHERE user='only_blue'")[0][0] == 0


@needs_server
def test_replication__reversed_twice__each_writer_reaches_the_other(pair):
    blue, green = pair
    replication.reverse(blue, green)  # green writes now, blue replicates
    assert not replication.replication_status(green).configured and replication.replicating(blue)
    write(green, 10)
    replication.wait_caught_up(green, blue)
    replication.reverse(green, blue)
    write(blue, 11)
    replication.wait_caught_up(blue, green)
    assert rows(blue) == rows(green) and {10, 11} <= set(rows(green))


# -- the one replica status reader ----------------------------------------------------------------------
RUNNING = {"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes", "Last_IO_Errno": 0, "Last_SQL_Errno": 0,
           "Seconds_Behind_Master": 0, "Last_Error": ""}


@pytest.mark.parametrize(("row", "expected"), [
    ({}, ("stopped", False, False, None)),
    (RUNNING, ("running", True, False, 0.0)),
    ({**RUNNING, "Slave_IO_Running": "Connecting", "Seconds_Behind_Master": None}, ("starting", True, False, None)),
    ({**RUNNING, "Slave_IO_Running": "No", "Slave_SQL_Running": "No", "Seconds_Behind_Master": None},
     ("stopped", False, False, None)),
    ({**RUNNING, "Slave_SQL_Running": "No", "Last_SQL_Errno": 1062}, ("failed", False, True, 0.0)),
    ({**RUNNING, "Last_IO_Errno": 2003, "Seconds_Behind_Master": 7}, ("failed", False, True, 7.0)),
], ids=["replicates-from-nobody", "running", "fetcher-connecting", "stopped", "applier-failed", "fetcher-failed"])
def test_replica_status__row__state_applying_failed_and_lag(row, expected):
    status = ReplicaStatus(row)
    assert (status.state, status.applying, status.failed, status.lag) == expected


def wait(predicate, timeout, what):
    """db.ports.Wait, as the switchover passes it: poll until true or fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def paths(pair):
    """The rehearsal's replication adapter and data gate reader on the pair, blue -> green running."""
    blue, green = pair
    for server in pair:
        replication.stop_replication(server)
        server.execute("RESET SLAVE ALL")
    replication.replicate(blue, green)
    adapter = GtidReplication({"blue": blue.socket_path, "green": green.socket_path},
                              {"blue": blue.port, "green": green.port}, ("p.t",))
    wait(lambda: adapter.snapshot("green").into == {"blue->green": "running"}, 30, "blue -> green to run")
    return adapter, ReplicationReader({"blue": blue, "green": green})


@needs_server
def test_gtid_replication__stop_and_start_from_the_new_writer__paths_as_the_switchover_sees_them(pair, paths):
    adapter, _ = paths
    blue, green = pair
    assert adapter.stop_into("green", wait) == "replication blue -> green stopped"
    assert adapter.start_from("green", wait, position="") == "replication green -> blue started from blue's GTID position"
    write(green, 20)
    replication.wait_caught_up(green, blue)
    snapshot = adapter.snapshot("blue")
    assert snapshot.into == {"green->blue": "running"} and snapshot.reverse == {"blue->green": "stopped"}
    assert 20 in rows(blue)
    assert adapter.stop_from("green", wait) == "replication green -> blue stopped"
    assert adapter.snapshot("blue").into == {"green->blue": "stopped"}


@needs_server
def test_replication_reader__applier_fails_on_a_conflicting_row__reported_failed_until_repaired(pair, paths):
    _, reader = paths
    blue, green = pair
    assert reader() == (0.0, False)
    green.execute("INSERT INTO p.t VALUES (30)")  # local to green (kept out of its binlog), then blue's copy conflicts
    write(blue, 30)
    wait(lambda: reader()[1], 30, "the duplicate key to stop green's applier")
    green.execute("DELETE FROM p.t WHERE id = 30")
    replication.replicate(blue, green)
    replication.wait_caught_up(blue, green)
    assert reader() == (0.0, False) and rows(green) == rows(blue)


# -- the command line: a command with a throw-away server ------------------------------------------------------
@needs_server
def test_main__command__runs_with_the_admin_login_and_server_removed_after(tmp_path):
    probe = ("import os, pymysql; c = pymysql.connect(host=os.environ['MARIADB_HOST'], "
             "port=int(os.environ['MARIADB_PORT']), user=os.environ['MARIADB_USER'], "
             "password=os.environ['MARIADB_PASSWORD']); cur = c.cursor(); cur.execute('SELECT 40 + 2'); "
             "print(cur.fetchone()[0], os.environ['MARIADB_DIR']); raise SystemExit(3)")
    done = subprocess.run([sys.executable, "-m", "bluegreen.local_mariadb", "--name", "cli", "--", sys.executable,
                           "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    answer, datadir = done.stdout.split()
    assert (done.returncode, answer) == (3, "42")  # the command's own exit code
    assert Path(datadir).name.startswith("mariadb-cli-") and not Path(datadir).exists()


def test_main__mariadb_server_missing__says_what_to_install_and_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(mariadb.shutil, "which", lambda name: None)
    monkeypatch.setattr(mariadb.Path, "exists", lambda self: False)
    assert mariadb.main(["--name", "payment-api-local", "--", "true"]) == 1
    assert capsys.readouterr().err == ("payment-api-local: mariadbd and mariadb-install-db not found: "
                                       "apt-get install -y mariadb-server (Debian package mariadb-server)\n")


def test_main__no_command__usage_error():
    with pytest.raises(SystemExit) as exit_:
        mariadb.main(["--name", "x"])
    assert exit_.value.code == 2


@needs_server
def test_drain_position__binlog_position_of_the_new_writer__later_writes_come_after_it(pair):
    # The reverse replication's start (DMS CdcStartPosition "<file>:<position>"): read before the unfence,
    # every application write on the new writer lands after it.
    from traffic_shifter.db import SqlMarkerDrain

    blue, _ = pair
    drain = SqlMarkerDrain(lambda colour: blue.root(binlog=True))
    before = drain.position("blue")
    name, offset = before.rsplit(":", 1)
    write(blue, 9001)
    after_name, after_offset = drain.position("blue").rsplit(":", 1)
    assert name and (after_name, int(after_offset)) > (name, int(offset))
