"""``bluegreen db status|switchover`` against the moto world with the data tier (db_world.py)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
from pathlib import Path

import pytest

from bluegreen import cli

from .conftest import world_module

#: moto's caller identity: what the CLI sends as the invoking identity.
CALLER = "arn:aws:sts::123456789012:user/moto"

_DB_WORLD_FILE = Path(__file__).resolve().parents[1] / "test_lambda_src" / "test_traffic_shifter" / "db_world.py"
_spec = importlib.util.spec_from_file_location("traffic_shifter_test_db_world", _DB_WORLD_FILE)
db_world = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(db_world)


@pytest.fixture
def world(aws_credentials, monkeypatch):
    from traffic_shifter import DbSwitchover

    with world_module.moto_world(monkeypatch) as w:
        db = db_world.build_db_world(w, time.time)
        world_module.deploy_function(w)  # after: its environment carries the DB_* variables
        fence = db_world.FakeFence(db)
        # The db_switchover kind the CLI runs (main(db_kind=...)): the fake fence, a short poll.
        w.kind = DbSwitchover(lambda clients, config: fence, drain_factory=lambda clients, config: fence, poll_seconds=0.01)
        w.db, w.fence = db, fence
        try:
            yield w
        finally:
            db.close()


@pytest.fixture
def bluegreen(world):
    def session_factory(**kwargs):
        session = world_module.new_session(**kwargs)
        world.db.attach(session.events.register)
        return session

    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), session_factory=session_factory, stdout=out, stderr=err, db_kind=world.kind)
        return code, out.getvalue(), err.getvalue()

    return run


def test_db_status__healthy__writer_and_every_guardrail(world, bluegreen):
    code, out, err = bluegreen("db", "status", "--env", "dev")
    assert code == 0, err
    assert out.startswith("writer      blue (writer.db.payments.internal. -> aurora-blue-dev-d01")
    assert "switchover  to green: READY" in out
    for guardrail in ("replication running", "cdc latency", "table errors", "validation clean", "target cluster healthy", "one writer"):
        assert f"ok   {guardrail}" in out


def test_db_status__table_error__not_ready_and_says_which(world, bluegreen):
    world.db.table_stats[world.db.task_arns["initial"]][0]["TableState"] = "Table error"
    code, out, _ = bluegreen("db", "status", "--env", "dev", "--json")
    result = json.loads(out)
    assert code == 0 and result["ready"] is False
    assert [c["guardrail"] for c in result["guardrails"] if not c["ok"]] == ["table errors"]


def test_db_switchover__to_green__writer_moves_and_reverse_replication_runs(world, bluegreen):
    code, out, err = bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    assert code == 0, err
    assert world.db.writer_colour() == "green"
    assert world.db.task_status("green_to_blue") == "running"
    assert "changed: green: unfenced" in out


def test_db_switchover__guardrail_fails__exit_1_and_writer_stays(world, bluegreen):
    world.db.client("dms").stop_replication_task(ReplicationTaskArn=world.db.task_arns["initial"])
    code, _, err = bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    assert code == 1
    assert "refused, nothing was changed: replication running" in err
    assert world.db.writer_colour() == "blue" and world.fence.calls == []


def test_db_switchover__there_and_back__writer_on_blue_again(world, bluegreen):
    assert bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")[0] == 0
    world.db.publish_healthy()
    code, _, err = bluegreen("db", "switchover", "--to", "blue", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    assert code == 0, err
    assert world.db.writer_colour() == "blue" and world.fence.fenced == {"blue": False, "green": True}


def test_db_switchover__without_to__usage_error(world, bluegreen):
    code, _, err = bluegreen("db", "switchover", "--env", "dev")
    assert code == 2 and "needs --to" in err


# -- an unfinished switchover: what it is and what the next run does --------------------------------
class Killed(BaseException):
    """Not an Exception: like SIGKILL or a Lambda timeout, it skips the run's own undo (and the CLI's handler)."""


@pytest.fixture
def killable(world):
    """The CLI's db_switchover kind with a clock the test can move, and a switch that dies after ``step``."""
    from traffic_shifter import DbSwitchover

    offset = [0.0]
    kind = world.kind = DbSwitchover(lambda clients, config: world.fence, drain_factory=lambda clients, config: world.fence,
                                     clock=lambda: time.time() + offset[0], poll_seconds=0.01)

    def kill_after(step):
        original = kind.procedure

        def procedure(clients, config):
            proc = original(clients, config)
            proc.after_action = lambda name: (_ for _ in ()).throw(Killed(name)) if name == step else None
            return proc

        kind.procedure = procedure
        return lambda: kind.__dict__.pop("procedure")  # the next run is a fresh one

    kind.kill_after, kind.offset = kill_after, offset
    return kind


def test_db_status__nothing_unfinished__says_none(world, bluegreen):
    code, out, err = bluegreen("db", "status", "--env", "dev")
    assert code == 0, err
    assert out.splitlines()[-2:] == ["unfinished  none", "next run    nothing to recover"]


def db_status(bluegreen):
    """``db status --json`` and its text form (both from one read of the journal)."""
    code, out, err = bluegreen("db", "status", "--env", "dev", "--json")
    assert code == 0, err
    result = json.loads(out)
    return result, cli.format_db(result)


def journal_line(unfinished):
    return f"            journal: done {', '.join(unfinished['done']) or '-'}; in progress {unfinished['doing'] or '-'}"


def test_db_status__run_killed_lease_live__shows_the_journal_and_wait(world, bluegreen, killable):
    revive = killable.kill_after("fence old writer")
    with pytest.raises(Killed):
        bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    revive()

    result, text = db_status(bluegreen)
    plain = bluegreen("db", "status", "--env", "dev")[1]

    u = result["unfinished"]
    # Who asked (their AWS identity, never a typed name) and who invoked: both in the journal.
    assert (u["from"], u["to"], u["by"]) == ("blue", "green", f"{CALLER} (cli) (via {CALLER})")
    assert "fence old writer" in [*u["done"], u["doing"]]  # the journal names the action it died after
    lines = text.splitlines()
    unfinished = next(i for i, line in enumerate(lines) if line.startswith("unfinished"))
    assert lines[unfinished] == f"unfinished  switchover blue -> green by {CALLER} (cli) (via {CALLER}) since {u['at']} (run {u['run']})"
    assert lines[unfinished + 1] == journal_line(u)
    assert f"lease until {u['lease_until']} (live: its run is still going, checked 20" in lines[unfinished + 2]
    assert lines[unfinished + 3] == "next run    WAIT: the switchover's run is alive (its lease is live); nothing is touched"
    assert "is running, its lease ends" in lines[unfinished + 4]
    assert f"unfinished  switchover blue -> green by {CALLER} (cli) (via {CALLER})" in plain
    assert world.fence.fenced == {"blue": True, "green": True}  # status changed nothing: zero writers until recovery


def test_db_status__run_died_before_the_unfence__next_run_undoes_the_fence(world, bluegreen, killable):
    revive = killable.kill_after("write drain marker")
    with pytest.raises(Killed):
        bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    revive()
    killable.offset[0] = 31  # past SWITCHOVER_LEASE_SECONDS (30): the run is dead

    result, text = db_status(bluegreen)

    assert result["next_run"]["action"] == "undo" and result["next_run"]["steps"] == ["fence old writer"]
    assert journal_line(result["unfinished"]) in text
    assert "(lapsed: its run died, checked " in text
    assert "next run    UNDO it (the old writer keeps the writes): fence old writer" in text
    assert "died before green took a write" in text
    # And the next run does exactly that: blue writes again, the journal is closed.
    assert bluegreen("db", "switchover", "--to", "blue", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")[0] == 0
    assert world.fence.fenced == {"blue": False, "green": True} and world.db.writer_colour() == "blue"
    assert bluegreen("db", "status", "--env", "dev")[1].splitlines()[-2] == "unfinished  none"


def test_db_status__run_died_after_the_unfence__next_run_finishes_it(world, bluegreen, killable):
    revive = killable.kill_after("unfence new writer")
    with pytest.raises(Killed):
        bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")
    revive()
    killable.offset[0] = 31

    result, text = db_status(bluegreen)

    steps = result["next_run"]["steps"]
    assert text.startswith("writer      green")
    assert journal_line(result["unfinished"]) in text
    assert result["next_run"]["action"] == "finish"
    assert set(steps) <= {"stop forward replication", "start reverse replication", "unfence new writer"} and "unfence new writer" in steps
    assert f"next run    FINISH it forward: {', '.join(steps)}" in text
    assert bluegreen("db", "switchover", "--to", "green", "--env", "dev", "--change-id", "CHG-1", "--reason", "test")[0] == 0
    assert world.fence.fenced == {"blue": True, "green": False} and world.db.task_status("green_to_blue") == "running"
