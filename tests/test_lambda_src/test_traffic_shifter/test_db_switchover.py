"""The database writer switchover against moto (db_world.py): guardrails, fence, drain, move, reverse, undo."""

from __future__ import annotations

import json
import time

import pytest

from traffic_shifter import ConfigError, DbConfig, PlanError, Shifter, StepKinds, SwitchoverFailed, SwitchoverRefused, parse_plan, standard_kinds
from traffic_shifter.db import DB_ENV_VARS, DbSwitchover

from .db_world import FakeFence, build_db_world
from .world import PLAN, shifter_clients


@pytest.fixture
def db(world, clock):
    d = build_db_world(world, clock)
    yield d
    d.close()


@pytest.fixture
def fence(db):
    return FakeFence(db)


@pytest.fixture
def kind(fence, clock):
    """The db_switchover kind with the fake fence and the test's clock (sleeping advances it)."""
    return DbSwitchover(lambda clients, config: fence, drain_factory=lambda clients, config: fence,
                        clock=clock, sleep=clock.advance)


@pytest.fixture
def shifter(world, db, clock, kind):
    return Shifter.from_env(world.env, clients=shifter_clients(), clock=clock, kinds=StepKinds(kind))


def switch(shifter, kind, to, actor="ops.alice"):
    return kind.switch(shifter.clients, shifter.config, to, actor)


def assert_unchanged(db, fence):
    """Everything as before a switchover to green: writer on blue, blue writable, forward replication running."""
    assert db.writer_colour() == "blue"
    assert fence.fenced == {"blue": False, "green": True}
    statuses = db.statuses()
    assert statuses["initial"] == "running"
    assert statuses["blue_to_green"] == "ready" and statuses["green_to_blue"] in ("ready", "stopped")  # never left running


def assert_refused_and_undone(shifter, kind, db, fence, error: str) -> None:
    """The switchover to green fails with ``error`` (a step's failure injected) and leaves everything as before."""
    with pytest.raises(SwitchoverFailed, match=error):
        switch(shifter, kind, "green")
    assert_unchanged(db, fence)


# -- the happy path ---------------------------------------------------------------------------------
def test_switchover__healthy__writer_name_moves_to_green(shifter, kind, db):
    switch(shifter, kind, "green")
    assert db.writer_target() == db.endpoints["green"]


def test_switchover__healthy__old_fenced_new_unfenced(shifter, kind, db, fence):
    switch(shifter, kind, "green")
    assert fence.fenced == {"blue": True, "green": False}
    assert fence.calls == [("fence", "blue"), ("unfence", "green")]


def test_switchover__healthy__forward_stopped_reverse_started_from_the_position_read_before_the_unfence(shifter, kind, db, fence):
    switch(shifter, kind, "green")
    assert db.statuses() == {"initial": "stopped", "blue_to_green": "ready", "green_to_blue": "running"}
    start = db.starts[-1]
    assert start["ReplicationTaskArn"] == db.task_arns["green_to_blue"]
    assert start["StartReplicationTaskType"] == "start-replication"
    # The exact position, read on green while green was still fenced: no whole-second CdcStartTime to wait for.
    assert fence.positions == [("green", start["CdcStartPosition"], True)] and "CdcStartTime" not in start
    assert kind.procedure(shifter.clients, shifter.config).journal.load().pending is None


def test_switchover__healthy__unfence_ends_the_pause_then_replication_turns_round(shifter, kind, db, world):
    world.calls.clear()
    switch(shifter, kind, "green")
    timeline = dict(kind.last.timeline)
    assert list(timeline) == ["fence old writer", "check the fence took", "write drain marker", "wait for replication to drain",
                              "unfence new writer", "stop forward replication", "start reverse replication"]
    assert kind.last.write_pause == timeline["unfence new writer"] >= 0
    # No DNS wait anywhere: the writer name (information for people) is set once, after everything, never polled.
    assert [c[1] for c in world.calls if c[0] == "route53"].count("GetChange") == 0


def test_switchover__the_pause_holds_one_journal_write__the_unfences_own(shifter, kind, db, fence, world, monkeypatch):
    # The checks between the fence and the unfence (quiet, marker, drain) change nothing a recovery needs,
    # so the pause waits on one DynamoDB write (the unfence's, carrying the reverse start position), not four.
    marks: dict[str, int] = {}
    for op in ("fence", "unfence"):
        real = getattr(fence, op)
        monkeypatch.setattr(fence, op, lambda colour, _real=real, _op=op: (marks.setdefault(_op, len(world.calls)), _real(colour))[1])
    switch(shifter, kind, "green")
    between = [c for c in world.calls[marks["fence"]:marks["unfence"]] if c[0] == "dynamodb"]
    assert [op for _, op in between if op != "GetItem"] == ["PutItem"], between


def test_switchover__slow_checks_inside_the_pause__the_run_keeps_its_lease(shifter, kind, db, fence, clock, monkeypatch):
    # The unjournaled checks still renew the lease: a slow check must not let another run judge this one dead.
    from traffic_shifter.model import from_iso

    leases: list[float] = []
    real_mark, real_arrived = fence.mark, fence.arrived

    def slow_mark(colour, token):
        clock.advance(20)  # past half the 30 s lease since the fence's journal write
        return real_mark(colour, token)

    def arrived(colour, token):
        leases.append(from_iso(kind.procedure(shifter.clients, shifter.config).journal.load().pending["lease_until"]) - clock())
        return real_arrived(colour, token)

    monkeypatch.setattr(fence, "quiet", lambda colour: (clock.advance(20), f"{colour}: quiet")[1])
    monkeypatch.setattr(fence, "mark", slow_mark)
    monkeypatch.setattr(fence, "arrived", arrived)
    switch(shifter, kind, "green")
    assert leases and min(leases) > 0 and fence.fenced == {"blue": True, "green": False}


def test_switchover__already_there__changes_nothing(shifter, kind, db, fence, world):
    world.calls.clear()
    assert kind.last is None or True
    assert kind.procedure(shifter.clients, shifter.config).run("blue", actor="ops") == []
    assert fence.calls == []
    assert not [c for c in world.calls if c[1] in ("ChangeResourceRecordSets", "StartReplicationTask", "StopReplicationTask")]


def test_switchover__logged__every_action_with_what_it_saw(shifter, kind, db, caplog):
    caplog.set_level("INFO")
    switch(shifter, kind, "green")
    records = {r.getMessage(): r for r in caplog.records if hasattr(r, "db_switchover")}
    assert {"db switchover: guardrails", "db switchover: fence old writer done", "db switchover: stop forward replication done",
            "db switchover: start reverse replication done", "db switchover: unfence new writer done", "db switchover: complete"} <= set(records)
    checks = records["db switchover: guardrails"].db_switchover["checks"]
    assert {c["guardrail"] for c in checks} >= {"replication running", "cdc latency", "table errors",
                                                "validation clean", "target cluster healthy", "one writer"}
    assert all("saw" in c for c in checks)
    assert "write_pause_seconds" in records["db switchover: complete"].db_switchover


# -- guardrails: each one refuses on its own, before anything moves --------------------------------
def _stop_initial(db):
    db.client("dms").stop_replication_task(ReplicationTaskArn=db.task_arns["initial"])


def _latency_high(db):
    db.publish(db.task_arns["initial"], db.clock() - 10, CDCLatencySource=2, CDCLatencyTarget=45)


def _latency_missing(db):
    db.client("cloudwatch")  # no datapoints in the window: move the clock past them
    db.world_clock_advance(10 * 60)


def _table_error(db):
    db.table_stats[db.task_arns["initial"]][1]["TableState"] = "Table error"


def _validation_mismatch(db):
    db.table_stats[db.task_arns["initial"]][2].update(ValidationState="Mismatched records", ValidationFailedRecords=3)


def _validation_suspended(db):
    db.table_stats[db.task_arns["initial"]][0].update(ValidationSuspendedRecords=1)


def _no_tables(db):
    db.table_stats[db.task_arns["initial"]] = []


def _cluster_stopped(db):
    db.client("rds").stop_db_cluster(DBClusterIdentifier="aurora-green-dev-d01")


def _writer_instance_stopped(db):
    db.client("rds").stop_db_instance(DBInstanceIdentifier="aurora-green-1-dev-d01")


def _reverse_running(db):
    db.client("dms").start_replication_task(ReplicationTaskArn=db.task_arns["green_to_blue"], StartReplicationTaskType="start-replication")


GUARDRAILS = [
    ("replication running", _stop_initial),
    ("cdc latency", _latency_high),
    ("cdc latency", _latency_missing),
    ("table errors", _table_error),
    ("table errors", _no_tables),
    ("validation clean", _validation_mismatch),
    ("validation clean", _validation_suspended),
    ("target cluster healthy", _cluster_stopped),
    ("target cluster healthy", _writer_instance_stopped),
    ("reverse task idle", _reverse_running),
]


@pytest.mark.parametrize("guardrail,breakage", GUARDRAILS, ids=[f.__name__.strip("_") for _, f in GUARDRAILS])
def test_switchover__guardrail_fails__refused_naming_it_and_nothing_moves(shifter, kind, db, fence, clock, world, guardrail, breakage):
    db.world_clock_advance = clock.advance
    breakage(db)
    before = db.statuses()
    world.calls.clear()
    with pytest.raises(SwitchoverRefused, match=f"refused, nothing was changed: {guardrail}") as err:
        switch(shifter, kind, "green")
    assert [c.split(":")[0].strip() for c in str(err.value).split("changed: ", 1)[1].split("; ")][0] == guardrail
    assert db.writer_colour() == "blue"
    assert fence.calls == [] and fence.fenced == {"blue": False, "green": True}
    assert db.statuses() == before
    assert not [c for c in world.calls if c[1] in ("ChangeResourceRecordSets", "StartReplicationTask", "StopReplicationTask")]


def test_switchover__target_already_writable__refused_as_two_writers(shifter, kind, db, fence):
    fence.fenced["green"] = False
    with pytest.raises(SwitchoverRefused, match="blue and green accept"):
        switch(shifter, kind, "green")
    assert fence.calls == []


def test_switchover__only_the_failed_guardrail__is_reported(shifter, kind, db):
    _table_error(db)
    with pytest.raises(SwitchoverRefused) as err:
        switch(shifter, kind, "green")
    assert "table errors" in str(err.value) and "validation clean" not in str(err.value) and "cdc latency" not in str(err.value)


# -- the wait ---------------------------------------------------------------------------------------
def test_switchover__replication_never_drains__times_out_and_undoes_the_fence(shifter, kind, db, fence, clock):
    fence.drain = False
    t0 = clock()
    assert_refused_and_undone(shifter, kind, db, fence,
                              "timed out after 15 s waiting for the drain marker to replicate to green")
    assert 15 <= clock() - t0 < 25  # the drain timeout, not a metric period
    assert [c for c in fence.calls if c[0] in ("fence", "unfence")] == [("fence", "blue"), ("unfence", "blue")]


def test_switchover__marker_arrives_after_a_few_polls__moves_once_it_is_there(shifter, kind, db, fence, clock):
    fence.drain_after = 3
    switch(shifter, kind, "green")
    assert db.writer_colour() == "green"
    assert fence.drain_after == 0


def test_switchover__fence_did_not_take__waits_then_moves_once_sessions_are_gone(shifter, kind, db, fence):
    fence.sessions_left = 2
    switch(shifter, kind, "green")
    assert db.writer_colour() == "green"


def test_switchover__sessions_never_end__refused_to_drain_and_undone(shifter, kind, db, fence):
    fence.sessions_left = 10_000
    assert_refused_and_undone(shifter, kind, db, fence, "the fence did not take")
    assert fence.markers == {}  # no drain point recorded while a session was left


# -- a failure injected at each step leaves the writer where it was --------------------------------
def test_switchover__fence_fails__nothing_else_happens(shifter, kind, db, fence):
    fence.fail["fence"] = RuntimeError("connection refused")
    assert_refused_and_undone(shifter, kind, db, fence, "connection refused.*writer stays on blue")


def test_switchover__route53_refuses_the_writer_name__switchover_completes_the_name_is_information_only(shifter, kind, db, fence):
    db.fail_once("route53", "ChangeResourceRecordSets")
    changes = switch(shifter, kind, "green")
    assert fence.fenced == {"blue": True, "green": False} and db.statuses()["green_to_blue"] == "running"
    assert any(c.startswith("writer name (information only) not updated") for c in changes)


@pytest.mark.parametrize("call", ["StopReplicationTask", "StartReplicationTask"])
def test_switchover__replication_fails_after_the_unfence__green_keeps_the_writes_next_run_finishes(shifter, kind, db, fence, clock, call):
    db.fail_once("dms", call)
    with pytest.raises(SwitchoverFailed, match=r"green writes \(unfenced\).*journal is kept"):
        switch(shifter, kind, "green")
    # Never undone once green may hold payments: green writes, blue stays fenced (no two writers).
    assert fence.fenced == {"blue": True, "green": False}
    clock.advance(31)
    changes = kind.recover(shifter.clients, shifter.config, "traffic-shifter (tick)")
    assert "finishing it" in changes[0] and assert_one_writer(db, fence) == "green"


def test_switchover__unfencing_new_writer_fails__everything_undone(shifter, kind, db, fence):
    fence.fail["unfence:green"] = RuntimeError("grant failed")
    assert_refused_and_undone(shifter, kind, db, fence, "grant failed.*writer stays on blue")


def test_switchover__unfence_lands_but_its_answer_is_lost__finished_never_undone(shifter, kind, db, fence, monkeypatch):
    real_unfence = fence.unfence

    def lands_then_fails(colour):
        real_unfence(colour)
        if colour == "green":
            raise ConnectionError("lost the answer to GRANT")
        return f"{colour}: unfenced"

    monkeypatch.setattr(fence, "unfence", lands_then_fails)
    changes = switch(shifter, kind, "green")
    # green may have taken payments the moment the GRANT landed: fencing it again and unfencing blue would
    # strand them (nothing replicates green -> blue yet). So the run finishes forward.
    assert any("lost the answer to GRANT" in c and "finishing" in c for c in changes)
    assert assert_one_writer(db, fence) == "green"


def test_switchover__an_undo_fails_too__says_undo_incomplete(shifter, kind, db, fence):
    fence.fail["unfence:green"] = RuntimeError("grant failed")
    fence.fail["unfence:blue"] = RuntimeError("blue unreachable")
    with pytest.raises(SwitchoverFailed, match="UNDO INCOMPLETE: undo of 'fence old writer' failed"):
        switch(shifter, kind, "green")


def test_switchover__failure__recorded_and_lock_released(shifter, kind, db, fence, world):
    fence.fail["fence"] = RuntimeError("boom")
    with pytest.raises(SwitchoverFailed):
        switch(shifter, kind, "green")
    switch(shifter, kind, "green")  # not refused by a lock left behind
    assert db.writer_colour() == "green"


def test_switchover__another_one_running__refused(shifter, kind, db, fence, world, clock):
    from traffic_shifter.aws import StateStore
    from traffic_shifter.model import ShiftState, iso

    store = StateStore(shifter.clients, world.env["STATE_TABLE"], plan_id="db-writer")
    store.write(ShiftState(), ShiftState(pending={"by": "ops.bob", "at": "2025-06-15T15:06:00Z", "from": "blue", "to": "green",
                                                  "done": ["fence old writer"], "lease_until": iso(clock() + 20)}))
    with pytest.raises(SwitchoverRefused, match="another db switchover \\(ops.bob\\)"):
        switch(shifter, kind, "green")
    assert fence.calls == []


# -- back again: the same procedure, the same guardrails -------------------------------------------
def test_switch_back__after_switchover__writer_on_blue_and_green_is_the_fallback(shifter, kind, db, fence, clock):
    switch(shifter, kind, "green")
    clock.advance(600)
    db.publish_healthy()
    switch(shifter, kind, "blue")
    assert db.writer_colour() == "blue"
    assert fence.fenced == {"blue": False, "green": True}
    assert db.statuses() == {"initial": "stopped", "blue_to_green": "running", "green_to_blue": "stopped"}
    assert db.starts[-1]["ReplicationTaskArn"] == db.task_arns["blue_to_green"]
    assert db.starts[-1]["StartReplicationTaskType"] == "start-replication"


def test_switch_back__reverse_replication_in_error__refused(shifter, kind, db, fence, clock):
    switch(shifter, kind, "green")
    clock.advance(600)
    db.publish_healthy()
    db.table_stats[db.task_arns["green_to_blue"]][0]["TableState"] = "Table error"
    with pytest.raises(SwitchoverRefused, match="table errors"):
        switch(shifter, kind, "blue")
    assert db.writer_colour() == "green" and fence.fenced == {"blue": True, "green": False}


# -- the plan ---------------------------------------------------------------------------------------
PLAN_WITH_DB = {"steps": [*PLAN["steps"], {"kind": "db_switchover", "to": "green", "bake_seconds": 300}]}


def _run_plan(world, shifter, clock, db):
    world.put_plan(PLAN_WITH_DB)
    shifter.run("start", actor="ops.alice")
    for _ in range(len(PLAN_WITH_DB["steps"]) + 1):
        clock.advance(601)
        db.publish_healthy()
        shifter.tick()


def test_plan__traffic_to_100_then_switchover__completes_with_writer_on_green(world, shifter, clock, db, fence):
    for gate in ("alarm-green-health-dev-d01", "alarm-data-replication-dev-d01", "alarm-green-5xx-dev-d01"):
        world.set_gate(gate, "OK")
    _run_plan(world, shifter, clock, db)
    assert world.state_item()["status"] == "completed"
    assert world.weights() == {"alb": (0, 100), "route53": (0, 100), "ssm": "100"}
    assert db.writer_colour() == "green" and fence.fenced == {"blue": True, "green": False}
    assert db.statuses()["green_to_blue"] == "running"


def test_plan__switchover_not_reached_before_green_100(world, shifter, clock, db, fence):
    for gate in ("alarm-green-health-dev-d01", "alarm-data-replication-dev-d01", "alarm-green-5xx-dev-d01"):
        world.set_gate(gate, "OK")
    world.put_plan(PLAN_WITH_DB)
    shifter.run("start", actor="ops.alice")
    for _ in range(3):
        clock.advance(601)
        shifter.tick()
    assert world.weights()["ssm"] == "100" and db.writer_colour() == "blue" and fence.calls == []


def test_traffic_rollback__after_switchover__never_touches_the_writer(world, shifter, clock, db, fence):
    for gate in ("alarm-green-health-dev-d01", "alarm-data-replication-dev-d01", "alarm-green-5xx-dev-d01"):
        world.set_gate(gate, "OK")
    _run_plan(world, shifter, clock, db)
    calls = list(fence.calls)
    starts = len(db.starts)
    world.calls.clear()
    shifter.run("rollback", actor="ops.alice", reason="declines up")
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}
    assert db.writer_colour() == "green" and fence.calls == calls and len(db.starts) == starts
    assert not [c for c in world.calls if c[0] in ("rds", "dms") or c[1] == "GetSecretValue"]


def test_traffic_rollback__gate_alarm_during_the_switchover_bake__writer_stays(world, shifter, clock, db, fence):
    for gate in ("alarm-green-health-dev-d01", "alarm-data-replication-dev-d01", "alarm-green-5xx-dev-d01"):
        world.set_gate(gate, "OK")
    _run_plan(world, shifter, clock, db)
    world.set_gate("alarm-green-health-dev-d01", "ALARM")
    shifter.run("rollback", actor="ops")
    assert db.writer_colour() == "green"


def test_plan_then_switch_back__end_to_end__nothing_moves_without_guardrails(world, shifter, kind, clock, db, fence):
    for gate in ("alarm-green-health-dev-d01", "alarm-data-replication-dev-d01", "alarm-green-5xx-dev-d01"):
        world.set_gate(gate, "OK")
    _run_plan(world, shifter, clock, db)
    shifter.run("rollback", actor="ops.alice")
    clock.advance(60)
    db.publish_healthy()
    switch(shifter, kind, "blue", actor="ops.alice")
    assert db.writer_colour() == "blue" and fence.fenced == {"blue": False, "green": True}
    assert world.weights()["ssm"] == "0"


# -- configuration and plan validation --------------------------------------------------------------
def test_db_step__to_not_a_colour__plan_refused():
    with pytest.raises(PlanError, match="step 2: to must be 'blue' or 'green'"):
        parse_plan(json.dumps({"steps": [{"green_weight": 100, "bake_seconds": 0}, {"kind": "db_switchover", "to": "red", "bake_seconds": 0}]}),
                   kinds=standard_kinds())


def test_db_config__some_variables_missing__names_them(world, db):
    env = {**world.env}
    del env["DMS_TASK_GREEN_TO_BLUE_ARN"]
    with pytest.raises(ConfigError, match="missing database variable\\(s\\): DMS_TASK_GREEN_TO_BLUE_ARN"):
        DbConfig.from_env(env)


def test_db_config__none_set__no_database_switchover():
    assert DbConfig.from_env({}) is None


def test_db_step__without_database_variables__refused_before_anything(world, clock, kind):
    env = {k: v for k, v in world.env.items() if k not in DB_ENV_VARS}
    shifter = Shifter.from_env(env, clients=shifter_clients(), clock=clock)
    with pytest.raises(ConfigError, match="db_switchover needs the database environment variables"):
        kind.switch(shifter.clients, shifter.config, "green", "ops")


# -- the write pause, measured ------------------------------------------------------------------------
def test_switchover__real_clock__moves_the_writer_and_records_its_write_pause(world, db, fence, capsys):
    """Real clock, 10 ms polling: the pause is recorded and printed, never asserted (speed is measured by
    bench_switchover.py and reported in docs/db-switchover.md)."""
    db.clock = time.time
    db.publish_healthy()
    kind = DbSwitchover(lambda clients, config: fence, drain_factory=lambda clients, config: fence, poll_seconds=0.01)
    shifter = Shifter.from_env(world.env, clients=shifter_clients(), kinds=StepKinds(kind))
    changes = kind.switch(shifter.clients, shifter.config, "green", "ops")
    pause = kind.last.write_pause
    with capsys.disabled():
        print(f"\nwrite pause (fence -> unfence): {pause * 1000:.0f} ms; timeline {kind.last.timeline}")
    assert db.writer_colour() == "green"
    assert f"write pause {pause:.3f} s (fence -> unfence)" in changes
    assert [name for name, _ in kind.last.timeline][0] == "fence old writer" and dict(kind.last.timeline)["unfence new writer"] == pause


# -- killed after every action: the next run finishes or undoes it ----------------------------------
class Killed(BaseException):
    """Not an Exception: like SIGKILL or a Lambda timeout, it skips the run's own undo."""


def switch_killed_after(shifter, kind, step: str) -> None:
    """A switchover to green whose process dies right after ``step``; the next run is a fresh one."""
    def procedure(clients, config, _original=kind.procedure):
        proc = _original(clients, config)

        def after(name):
            if name == step:
                raise Killed(step)

        proc.after_action = after
        return proc

    kind.procedure = procedure
    with pytest.raises(Killed):
        switch(shifter, kind, "green")
    del kind.procedure


def assert_one_writer(db, fence):
    """Exactly one colour unfenced, the writer name on it, and replication flowing away from it."""
    writer = db.writer_colour()
    assert fence.fenced == {writer: False, ("green" if writer == "blue" else "blue"): True}
    statuses = db.statuses()
    if writer == "blue":
        assert statuses["initial"] == "running" and statuses["green_to_blue"] != "running"
    else:
        assert statuses["green_to_blue"] == "running" and statuses["initial"] != "running"
    return writer


STEPS_KILLED = ["fence old writer", "check the fence took", "write drain marker", "wait for replication to drain",
                "unfence new writer", "stop forward replication", "start reverse replication"]


@pytest.mark.parametrize("step", STEPS_KILLED)
def test_switchover__killed_after_each_action__next_run_leaves_exactly_one_writer(shifter, kind, db, fence, clock, step):
    switch_killed_after(shifter, kind, step)
    clock.advance(31)   # the dead run's lease lapses (SWITCHOVER_LEASE_SECONDS 30)

    changes = kind.recover(shifter.clients, shifter.config, "traffic-shifter (tick)")

    writer = assert_one_writer(db, fence)
    assert writer == ("green" if STEPS_KILLED.index(step) >= STEPS_KILLED.index("unfence new writer") else "blue")
    assert changes and ("finishing it" in changes[0] or "undoing it" in changes[0])
    assert kind.procedure(shifter.clients, shifter.config).pending() is None  # journal closed


def test_switchover__killed_run_lease_still_live__next_run_waits_and_changes_nothing(shifter, kind, db, fence, clock):
    switch_killed_after(shifter, kind, "fence old writer")
    calls = list(fence.calls)
    with pytest.raises(SwitchoverRefused, match="another db switchover .* is running"):
        kind.recover(shifter.clients, shifter.config, "ops.bob")
    assert fence.calls == calls


def test_switchover__killed_then_switch_again__recovers_first_then_switches(shifter, kind, db, fence, clock):
    switch_killed_after(shifter, kind, "write drain marker")
    clock.advance(31)
    changes = switch(shifter, kind, "green")
    assert "undoing it" in changes[0]
    assert assert_one_writer(db, fence) == "green"


def test_shifter_tick__dead_switchover_in_the_journal__the_tick_recovers_it(world, shifter, kind, db, fence, clock):
    switch_killed_after(shifter, kind, "unfence new writer")
    clock.advance(31)
    shifter.tick()
    assert assert_one_writer(db, fence) == "green"


def test_db_status__dead_switchover__shows_it_and_what_the_next_run_does(shifter, kind, db, fence, clock):
    switch_killed_after(shifter, kind, "fence old writer")
    clock.advance(31)
    status = kind.status(shifter.clients, shifter.config)
    # One journal write per action: the fence is recorded as begun (it may have landed) until the next one begins.
    assert status["unfinished"]["done"] == [] and status["unfinished"]["doing"] == "fence old writer"
    assert status["next_run"]["action"] == "undo" and status["next_run"]["steps"] == ["fence old writer"]


# -- the operator's commands, answered by the Lambda (bluegreen db invokes it) -------------------------
from .world import lambda_context  # noqa: E402 - the Lambda context Powertools reads


@pytest.fixture
def lambda_with_db(shifter, monkeypatch):
    from traffic_shifter import handler

    monkeypatch.setattr(handler, "_shifter", shifter)
    return handler


def test_lambda_handler__db_status__answered_by_the_db_kind(lambda_with_db, db, fence):
    result = lambda_with_db.lambda_handler({"command": "db status"}, lambda_context())
    assert result["ok"] and result["command"] == "db status"
    assert result["writer"] == "blue" and result["fenced"] == {"blue": False, "green": True}
    assert result["switchover_to"] == "green" and result["ready"] is True


def test_lambda_handler__db_switchover__runs_it_and_journals_who_asked_and_who_invoked(lambda_with_db, db, fence, world):
    event = {"command": "db switchover", "to": "green", "actor": "jane", "reason": "CHG-4711",
             "caller": "arn:aws:sts::123456789012:assumed-role/role-operator-dev-d01/bluegreen-jane"}
    result = lambda_with_db.lambda_handler(event, lambda_context())
    assert result["ok"] and result["to"] == "green" and result["write_pause_seconds"] is not None
    assert result["actor"] == "jane (via arn:aws:sts::123456789012:assumed-role/role-operator-dev-d01/bluegreen-jane)"
    assert fence.fenced == {"blue": True, "green": False}


@pytest.mark.parametrize("event, error", [
    ({"command": "db switchover", "actor": "jane"}, "needs \"to\""),
    ({"command": "db switchover", "to": "purple", "actor": "jane"}, "needs \"to\""),
    ({"command": "db switchover", "to": "green"}, "needs an actor"),
])
def test_lambda_handler__db_switchover_incomplete__refused_naming_what_is_missing(lambda_with_db, fence, event, error):
    result = lambda_with_db.lambda_handler(event, lambda_context())
    assert result["ok"] is False and error in result["error"]
    assert fence.calls == []
