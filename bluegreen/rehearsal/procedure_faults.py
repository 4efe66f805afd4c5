"""The fault matrix's scenarios on the cut-over procedure itself (issue 26): each runs the project's
shifter and switchover code against one failure, and matrix.py writes down what it must then do.

rollback-10, rollback-50  every green task killed during the 10 % (50 %) bake: the gates roll back
finish             an operator's switchover SIGKILLed right after the unfence (the writer moved): the
                   next run finishes it; then switched back to blue
lease-lost         an operator's switchover SIGSTOPped after the fence, past its lease: the next run
                   undoes it; SIGCONT: the resumed run must stop (LeaseLost) and change nothing
worker-killed      the shifter's Lambda SIGKILLed inside the plan's db_switchover step (after the fence):
                   the next run undoes it, the step runs again
drain-timeout      replication apply latency above the drain timeout (delays.py cdc_apply_seconds): the
                   drain times out and the switchover is undone
replication-broken replication into green stopped before the switchover: the guardrails refuse it
db-cut             the writer database frozen (SIGSTOP) for 5 s: the service's connections get no
                   answer, as with a network cut that drops packets; then SIGCONT
db-restart         the writer database SIGKILLed and started again on its datadir
switch-back-50     the plan's switchover to green at 50/50, then its switchover back to blue, still 50/50
operator-race      an operator's switchover to green started as the plan's db_switchover step comes due

None of them changes what the project's code does; every wait has a deadline and the count at the end
does not depend on timing. A run that ends a fault marks it (event ``fault end``): the time to recover
is measured from there (recovery_time.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import overload
from .adapters import HAProxyWriterName
from .lambda_process import worker_command
from .plans import FAULTS
from .world import aws_env

if TYPE_CHECKING:
    from .scenario import Rehearsal

#: Seconds the writer database is frozen in ``db-cut``.
CUT_SECONDS = 5.0
#: ``drain-timeout``'s replication apply latency: above the rehearsal's drain timeout (world.db_config, 10 s).
LAG_SPIKE_SECONDS = 14.0


def _warm_up(reh: Rehearsal, timeout: float = 60) -> None:
    """The warm-up counts from the first second of acknowledged load: the client's processes open their
    connections (a mutual-TLS handshake per merchant) before their schedule starts, which takes seconds on a
    loaded machine, and a fault before any payment flows would test nothing."""
    reh.marks.phase("warm-up (blue only)", reh.o.say)
    deadline = time.monotonic() + timeout
    while reh.load.acknowledged_so_far() < reh.o.rate and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(reh.o.warmup)


def _recovered(reh: Rehearsal, word: str, timeout: float = 60) -> dict[str, Any]:
    r = reh.lam.wait_for(lambda r: any(word in c for c in r.get("db_switchover_recovered") or ()), timeout,
                         f"the shifter's next run to recover the switchover ({word})")
    reh.marks.event("recovered", changes=r["db_switchover_recovered"])
    reh.recovery = {"at": r["ended"], "changes": r["db_switchover_recovered"]}
    return r


def rollback_at(reh: Rehearsal, weight: int) -> None:
    """Every green task killed while the shift bakes at ``weight`` %; the gates must roll it back."""
    if weight == 50:
        return reh.run_fault(FAULTS["hard-fault"])
    o = reh.o
    _warm_up(reh)
    reh._start_shift()
    reh._reach(0, weight)
    time.sleep(max(o.bake, o.timing.real(40 + o.timing.emf_delay)))
    reh._check_running("before the fault")
    reh.marks.phase(f"fault in green at {weight} %, rollback", o.say)
    reh.fault_at = time.time()
    reh.inject(FAULTS["hard-fault"])
    reh.wait_state(lambda s: s.get("status") == "rolled_back", max(60.0, o.timing.real(600)), "the automatic rollback")
    reh.marks.phase("all traffic blue", o.say)
    time.sleep(o.bake)


def finish(reh: Rehearsal) -> None:
    """Killed after the unfence: green may hold payments that exist nowhere else, so the next run must
    finish the switchover forward (never undo it); then the operator switches back to blue."""
    o = reh.o
    _warm_up(reh)
    reh.marks.phase("switchover killed after the unfence", o.say)
    killed = reh.switch("green", die_after="unfence")
    if killed.get("returncode") != -9 or not str(killed.get("killed_after", "")).startswith("unfence"):
        raise RuntimeError(f"the switchover process was to be killed after the unfence; it ended: {killed}")
    _recovered(reh, "finishing it")
    reh.marks.phase("finished by the next run (green writes)", o.say)
    time.sleep(o.bake)
    reh.marks.phase("switchover back to blue", o.say)
    back = reh.switch("blue")
    if not back.get("ok"):
        raise RuntimeError(f"the switchover back to blue failed: {back.get('error')}")
    reh.marks.phase("writer blue", o.say)
    time.sleep(o.bake)


def _operator(reh: Rehearsal, to: str, *extra: str) -> subprocess.Popen[str]:
    world = reh.world
    return subprocess.Popen(worker_command(Path(world.base) / "world.json", "switch", "--to", to, *extra),
                            stdout=subprocess.PIPE, stderr=open(Path(reh.log_dir or world.base) / "switchover.log", "a"),
                            text=True, env={**os.environ, **aws_env(world.moto_url)})


def _last_json(text: str) -> dict[str, Any]:
    lines = [json.loads(x) for x in text.splitlines() if x.strip().startswith("{")]
    return lines[-1] if lines else {}


def lease_lost(reh: Rehearsal) -> None:
    """Frozen after the fence until the next run has undone it; resumed, it must stop at its next journal
    write (LeaseLost) without touching the fence again: blue keeps the writes."""
    o = reh.o
    _warm_up(reh)
    reh.marks.phase("switchover stopped after the fence (SIGSTOP)", o.say)
    proc = _operator(reh, "green", "--stop-after", "fence")
    first = json.loads(proc.stdout.readline() or "{}") if proc.stdout else {}
    if not str(first.get("stopped_after", "")).startswith("fence"):
        proc.kill()
        raise RuntimeError(f"the switchover was to stop itself after the fence; it said {first}")
    stopped_at = first["at"]
    try:
        _recovered(reh, "undoing it")
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    reh.marks.event("fault end", detail="switchover resumed (SIGCONT)")
    out, _ = proc.communicate(timeout=120)
    result = _last_json(out)
    result.update({"to": "green", "via": "operator process, stopped past its lease", "delays": o.delays,
                   "stopped_at": stopped_at, "returncode": proc.returncode})
    reh.switchovers.append(result)
    reh.marks.event("switchover", to="green", ok=result.get("ok"), error=result.get("error"), stopped=True)
    reh.marks.phase("resumed run stopped (blue writes)", o.say)
    time.sleep(o.bake)


def worker_killed(reh: Rehearsal) -> None:
    """The Lambda's sandbox dies right after the plan step's fence; the next run undoes it, the step runs again."""
    o = reh.o
    _warm_up(reh)
    reh.lam.arm_kill("fence")
    reh._start_shift()
    for index, weight in ((0, 10), (1, 50), (2, 100)):
        reh._reach(index, weight)
    died = reh.lam.wait_for(lambda r: "worker died" in str(r.get("error", "")), o.bake * 3 + 60,
                            "the shifter's worker to die inside the db_switchover step")
    reh.marks.phase("Lambda killed inside db_switchover", o.say, at=died["ended"])
    _recovered(reh, "undoing it")
    reh.marks.event("fault end", detail="the dead run's fence undone")
    reh.marks.phase("undone by the next run (blue writes)", o.say)
    step = reh.lam.wait_for(lambda r: any(isinstance(c, str) and c.startswith("write pause ") for c in r.get("changes") or ()),
                            240, "the db_switchover step to run again")
    reh.switchovers.append(_plan_switchover(step, o.delays, "green"))
    reh.marks.phase("writer green (the step run again)", o.say, at=step["ended"])
    time.sleep(o.bake)


def drain_timeout(reh: Rehearsal) -> None:
    """Replication slower than the drain timeout: the drain must time out and the fence be undone."""
    o = reh.o
    _warm_up(reh)
    reh.marks.phase(f"switchover, replication lag {LAG_SPIKE_SECONDS:g} s", o.say)
    proc = _operator(reh, "green", "--delay", f"cdc_apply_seconds={LAG_SPIKE_SECONDS:g}")
    out, _ = proc.communicate(timeout=180)
    result = _last_json(out)
    result.update({"to": "green", "via": "operator process, lag spike", "delays": o.delays, "returncode": proc.returncode})
    reh.switchovers.append(result)
    reh.marks.event("switchover", to="green", ok=result.get("ok"), error=result.get("error"))
    reh.marks.event("fault end", detail="the switchover undone", at_run_end=result.get("ended"))
    reh.marks.phase("undone (blue writes)", o.say)
    time.sleep(o.bake)


def replication_broken(reh: Rehearsal) -> None:
    """Replication into green stopped: the guardrails must refuse the switchover with nothing changed."""
    o = reh.o
    _warm_up(reh)
    green = reh.stack.dbs["green"]
    green.execute("STOP SLAVE")
    reh.marks.phase("replication into green stopped; switchover asked", o.say)
    try:
        result = reh.switch("green")
    finally:
        green.execute("START SLAVE")
        reh.marks.event("fault end", detail="replication started again")
    reh.marks.phase("replication running again (blue writes)", o.say)
    time.sleep(o.bake)
    if result.get("ok"):
        raise RuntimeError(f"the switchover ran with replication stopped: {result.get('changes')}")


def _signal_db(reh: Rehearsal, colour: str, sig: int) -> None:
    proc = reh.stack.dbs[colour].proc
    if proc is None:
        raise RuntimeError(f"MariaDB {colour} is not running")
    os.killpg(proc.pid, sig)


def db_cut(reh: Rehearsal) -> None:
    o = reh.o
    _warm_up(reh)
    reh.marks.phase(f"writer database frozen {CUT_SECONDS:g} s", o.say)
    reh.fault_at = None
    _signal_db(reh, "blue", signal.SIGSTOP)
    try:
        time.sleep(CUT_SECONDS)
    finally:
        _signal_db(reh, "blue", signal.SIGCONT)
    reh.marks.event("fault end", detail="writer database answering again")
    reh.marks.phase("writer database back", o.say)
    time.sleep(o.bake)


def db_restart(reh: Rehearsal) -> None:
    """SIGKILL (no shutdown) and the same server started again on its datadir, as a crashed instance restarts."""
    o = reh.o
    _warm_up(reh)
    db = reh.stack.dbs["blue"]
    proc = db.proc
    if proc is None:
        raise RuntimeError("MariaDB blue is not running")
    reh.marks.phase("writer database killed, restarting", o.say)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    db.proc = subprocess.Popen(proc.args, stdout=subprocess.DEVNULL, stderr=open(Path(db.base or ".") / "err.log", "a"),
                               start_new_session=True)
    db._wait_ready()
    reh.restarts.append({"at": time.time(), "instance": "mariadb-blue"})
    reh.marks.event("fault end", detail="writer database restarted")
    reh.marks.phase("writer database back", o.say)
    time.sleep(o.bake)


def _plan_switchover(r: dict[str, Any], delays: str, to: str | None = None) -> dict[str, Any]:
    changes = r.get("changes") or []
    pause = [c for c in changes if isinstance(c, str) and c.startswith("write pause ")]
    return {"ok": bool(pause), "to": to, "via": "plan step", "changes": changes, "delays": delays,
            "write_pause": float(pause[-1].split()[2]) if pause else None, "started": r.get("started"), "ended": r.get("ended")}


def _is_switch(r: dict[str, Any]) -> bool:
    return any(isinstance(c, str) and c.startswith("write pause ") for c in r.get("changes") or ())


def switch_back_50(reh: Rehearsal) -> None:
    """The plan's switchover to green and back to blue, both with traffic 50/50."""
    o = reh.o
    _warm_up(reh)
    reh._start_shift()
    reh._reach(0, 10)
    reh._reach(1, 50)
    since = len(reh.lam.results)
    for to in ("green", "blue"):
        r = reh.lam.wait_for(_is_switch, o.bake * 3 + 90, f"the plan's switchover to {to} at 50/50", since=since)
        since = reh.lam.results.index(r) + 1
        s = _plan_switchover(r, o.delays, to)
        reh.switchovers.append(s)
        reh.marks.phase(f"writer {to} (traffic 50/50)", o.say, at=r["ended"])
    time.sleep(o.bake)


def operator_race(reh: Rehearsal) -> None:
    """An operator's switchover to green started as the plan's step comes due: one of them moves the writer,
    the other finds it moved or is refused (the journal is the lock)."""
    o = reh.o
    _warm_up(reh)
    reh._start_shift()
    reh._reach(0, 10)
    reh._reach(1, 50)
    at_100 = reh._reach(2, 100)["ended"]
    since = len(reh.lam.results)
    time.sleep(max(0.0, at_100 + o.bake - time.time()))
    reh.marks.phase("operator's switchover racing the plan step", o.say)
    box: dict[str, Any] = {}
    operator = threading.Thread(target=lambda: box.update(reh.switch("green")), daemon=True)
    operator.start()
    step = reh.wait_state(lambda s: s.get("step_index", -1) >= 3 or s.get("status") == "rolled_back", o.bake * 3 + 120,
                          "the db_switchover step")
    operator.join(timeout=180)
    plan = [_plan_switchover(r, o.delays, "green") for r in reh.lam.results[since:] if _is_switch(r)]
    reh.switchovers.extend(plan)
    reh.marks.phase("writer green", o.say, at=step["ended"])
    time.sleep(o.bake)


RUNS = {
    "rollback-10": lambda reh: rollback_at(reh, 10),
    "rollback-50": lambda reh: rollback_at(reh, 50),
    "finish": finish,
    "lease-lost": lease_lost,
    "worker-killed": worker_killed,
    "drain-timeout": drain_timeout,
    "replication-broken": replication_broken,
    "db-cut": db_cut,
    "db-restart": db_restart,
    "switch-back-50": switch_back_50,
    "operator-race": operator_race,
    "overload": lambda reh: overload.run(reh, _warm_up),
}
def writer_now(reh: Rehearsal) -> str:
    return HAProxyWriterName(reh.world.haproxy()).writer_colour()


__all__ = ["RUNS", "writer_now"]
