"""The fault matrix (matrix.py, procedure_faults.py) and the time to recover (recovery_time.py).

The pure parts on made-up inputs that would fail a wrong rule; then a short subset of the matrix with
every real server (MariaDB, HAProxy, the payment service, moto, the shifter's worker): each scenario's
written expectation and the count (lost 0, duplicated 0, charged but told failed 0) asserted. The
subset is two scenarios whose fault is the procedure's own and needs no shift (tens of seconds each at
25 payments/s); the full matrix is a documented command (docs/rehearsal.md). Timing is reported only.
"""

from __future__ import annotations

import json

import pytest

from bluegreen import local_mariadb as mariadb
from bluegreen.rehearsal import cli, haproxy, matrix
from bluegreen.rehearsal.recovery_time import measure, recovery_points, time_to_recover

needs_servers = pytest.mark.skipif(not (mariadb.available() and haproxy.available()),
                                   reason="needs Debian's mariadb-server and haproxy: apt-get install -y mariadb-server haproxy")


def test_time_to_recover__the_first_one_second_window_with_p99_under_50_ms():
    # 20 acknowledgements a second: slow (a queue draining) for 3 s after t=100, fast from then on.
    acks = [(100 + i / 20, 900.0 if i < 60 else 10.0) for i in range(200)]
    got = time_to_recover(acks, 100.0, 110.0)
    # The window must have slid past the last slow answer (at 102.95): recovered just after 3.95 s.
    assert got is not None and 3.9 <= got <= 4.1
    assert time_to_recover([(100 + i / 20, 900.0) for i in range(200)], 100.0, 110.0) is None


def test_recovery_points__unfences_fault_ends_and_the_rollback():
    report = {"switchovers": [{"ok": True, "write_pause": 1.5, "fence_at": 10.0, "via": "operator process", "to": "green"},
                              {"ok": False, "error": "refused"}]}
    events = [{"event": "fault end", "at": 30.0, "detail": "database back"}, {"event": "phase", "at": 5.0}]
    points = recovery_points(report, events, first_blue=20.0)
    assert [p["at"] for p in points] == [11.5, 20.0, 30.0]
    got = measure(points, [(t / 10, 5.0) for t in range(400)], until=40.0)
    assert got["p99_recovered"] and got["time_to_recover_s"] is not None


def test_judge__an_expectation_and_the_count_each_fail_the_line():
    ok = {"scenario_completed": True, "final_writer": "blue", "lost": 0, "duplicated": 0, "charged_but_failed": 0,
          "switchovers": [{"ok": False, "error": "db switchover blue -> green refused, nothing was changed: replication"}]}
    assert matrix.judge("replication-broken", ok)["met"]
    assert not matrix.judge("replication-broken", {**ok, "final_writer": "green"})["met"]
    assert not matrix.judge("replication-broken", {**ok, "charged_but_failed": 1})["met"]
    moved = {**ok, "switchovers": [{"ok": True, "write_pause": 0.4}]}
    assert matrix.judge("replication-broken", moved)["why_not"] == [
        "no switchover failed with 'refused + nothing was changed' (errors: [])", "1 switchover(s) moved the writer, expected 0"]


def test_every_scenario_has_its_expectation_written_down():
    from bluegreen.rehearsal.plans import SCENARIOS

    assert set(SCENARIOS) == set(matrix.EXPECTED)


#: The CI subset (about a minute each on a quiet machine): the recovery's two paths, "finish" and "undo" with the
#: resumed run stopped by LeaseLost. The rest is the documented full matrix.
CI_SUBSET = ("finish", "lease-lost")


@needs_servers
def test_matrix__a_short_subset_meets_its_expectations_and_counts_nothing_lost(tmp_path, capsys):
    code = cli.main(["--matrix", "--scenarios", ",".join(CI_SUBSET), "--rate", "25", "--bake", "3",
                     "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "matrix.json").read_text())
    lines = {m["scenario"]: m for m in summary["lines"]}
    assert list(lines) == list(CI_SUBSET)
    for name, m in lines.items():
        assert m["met"], (name, m["why_not"], m["scenario_error"])
        assert (m["lost"], m["duplicated"], m["charged_but_failed"]) == (0, 0, 0), name
    assert code == 0
    assert (tmp_path / "matrix.png").stat().st_size > 0
    assert "scenario" in capsys.readouterr().out


def test_overload_figures__refused_and_accepted_inside_the_burst_and_retried_payments():
    from bluegreen.rehearsal.loadgen import Attempt, Outcome
    from bluegreen.rehearsal.overload import figures

    attempts = [Attempt(10.0 + i / 100, 503, 0.004) for i in range(100)] + [Attempt(11.0, 201, 0.8), Attempt(11.5, None, 2.0),
                                                                          Attempt(50.0, 503, 9.0)]  # after the burst
    retried = Outcome(key="a", due=12.0)
    retried.attempts = 3
    got = figures([retried], attempts, start=10.0, fall=40.0)
    assert (got["overload_refused"], got["overload_accepted"], got["overload_no_answer"]) == (100, 1, 1)
    assert got["overload_refused_p99_ms"] == 4.0 and got["overload_accepted_p99_ms"] == 800.0
    # Retried and never acknowledged: the target that fails.
    assert (got["overload_retried"], got["overload_retried_unacknowledged"]) == (1, 1)
