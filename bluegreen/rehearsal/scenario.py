"""The rehearsal's scenarios: real payments flow while the project's shifter and switchover move them.

default: shift 0 -> 10 -> 50 -> 100 % with bakes, the database switchover to green as the plan's
         last step, a fault in green (every green instance killed), the automatic rollback to blue
         (the writer stays green), the switchover back to blue, end.
crash:   as default, but the switchover to green is an operator's process killed right after the
         fence; the shifter's next run finds the journal and finishes or undoes it; then the
         switchover is run again, and the rest follows.
pause:   the write pause both ways, under steady load on blue: an operator's switchover to green with
         no injected delay, then back to blue with the AWS-like delays (delays.py), each with its
         own pause as the switchover and as the clients saw it.

The detection scenarios shift 0 -> 10 -> 50 % and, during the 50 % bake, inject one fault into green
(FAULTS); the shifter must roll back by itself. The writer stays blue:
hard-fault  every green instance killed (ECS replaces them after its declared delay)
errors      2 % of green's payments answered 500
one-task    one green instance of two answers every payment 500 (its health check still passes)
latency     every green payment 200 ms slower
slow-db     every database statement of green 50 ms slower, connections held
clean:       no fault; 0 -> 10 -> 50 -> 100 % must complete without a rollback.
low-traffic: no fault, too few payments for the minimum sample: the shift must hold at 10 % and say
             why, neither advancing nor rolling back.

Each step waits on what the project's own code reports (the shifter's results, the journal), with
a deadline; the count at the end does not depend on timing.

The scenarios' names, faults, options and plans are in plans.py; what a run records beside the
payments (phases, weights, replication) in sampling.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bluegreen.local_mariadb import MariaDBError
from bluegreen.mariadb_replication import wait_caught_up

from . import alarms as al
from . import cloudwatch as cwm
from .adapters import AWS_CODE, LOCAL_ADAPTERS, HAProxyWriterName
from .delays import Delays
from .gates import Thresholds
from .haproxy import COLOURS
from .lambda_process import LambdaProcess, alarm_event, worker_command
from .loadgen import LoadFleet
from .monitor import AlarmMonitor, Gate
from .plans import FAULTS, PROCEDURE_FAULTS, SCENARIOS, Options, grace_for, plan_for
from .sampling import Marks, ReplicationReader, Sampler
from .stack import Stack
from .started import Part
from .world import GATE_SOURCES, GATES, World, aws_env, clients, prepare_aws


def run_switch_process(world: World, to: str, *, die_after: str | None = None, timeout: float = 180,
                       log_dir: Path | None = None, delays: str | None = None) -> dict[str, Any]:
    """``bluegreen db switchover --to`` as its own process (the operator's), optionally killed after a step."""
    extra = ["--to", to] + (["--die-after", die_after] if die_after else []) + (["--delays", delays] if delays else [])
    log = open((log_dir or Path(world.base)) / "switchover.log", "a")
    proc = subprocess.run(worker_command(Path(world.base) / "world.json", "switch", *extra), capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **aws_env(world.moto_url)})
    log.write(proc.stderr)
    log.close()
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip().startswith("{")]
    out = lines[-1] if lines else {"ok": False, "error": f"no answer (exit {proc.returncode})"}
    out["returncode"] = proc.returncode
    return out


class Rehearsal:
    """One run: the stack, the gate monitor, the shifter's Lambda, the load, the scenario, the count."""

    world = Part[World]("the rehearsal's stack")
    monitor = Part[AlarmMonitor]("the gate monitor")
    lam = Part[LambdaProcess]("the shifter's Lambda")
    load = Part[LoadFleet]("the load")
    sampler = Part[Sampler]("the sampler")

    def __init__(self, options: Options, *, log_dir: Path | None = None) -> None:
        if options.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {options.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        self.o = options
        self.log_dir = log_dir
        self.marks = Marks()
        self.switchovers: list[dict[str, Any]] = []
        self.fault_at: float | None = None
        self.defs = al.load({**cwm.local_names(COLOURS, COLOURS), **options.alarm_parameters})
        namespace = next(m.namespace for a in self.defs.alarms.values() for m in a.metrics
                         if not m.namespace.startswith(("AWS/", "ECS/")))
        self.stack = Stack(keep=options.keep, payments_port=options.port, scale=options.timing.scale,
                           metrics_namespace=namespace)
        self.restarts: list[dict[str, Any]] = []
        self.hold_reasons: list[str] = []
        #: The overload scenario's figures (overload.py), merged into the report.
        self.overload: dict[str, Any] = {}
        # Set by start() and start_load() (the Parts above hand them over once they exist).
        self._world: World | None = None
        self._monitor: AlarmMonitor | None = None
        self._lam: LambdaProcess | None = None
        self._load: LoadFleet | None = None
        self._sampler: Sampler | None = None

    # -- set-up and tear-down ---------------------------------------------------------------------------
    def start(self) -> World:
        say = self.o.say
        self._world = world = self.stack.start(say=say)
        world.delays = Delays.profile(self.o.delays, self.o.delay_overrides).to_dict()
        world.save()
        prepare_aws(world, plan_for(self.o.scenario, self.o.bake, self.o.timing))
        cw = clients(world)("cloudwatch")
        timing = self.o.timing
        # The data gate (replication) keeps its own judgment on the dms stack's threshold, per compressed minute.
        th = Thresholds.from_templates(timing.real(60))
        proxy = world.haproxy()
        dbs = self.stack.dbs

        def unhealthy(colour: str) -> int:
            return proxy.unhealthy(colour)

        replication = ReplicationReader(dbs)

        # The shifter's JSON log (every decision with its inputs) is the rehearsal's audit trail.
        self._lam = lam = LambdaProcess(world, tick_seconds=self.o.tick_seconds,
                                        log_path=(self.log_dir / "shifter.log") if self.log_dir else None)

        def on_change(name: str, state: str, reason: str) -> None:
            self.marks.event("gate", gate=name, state=state, reason=reason)
            lam.send(alarm_event(name, state, reason, time.time()))

        self._monitor = monitor = AlarmMonitor(
            world.ports["log"], self.defs, timing, {name: Gate(*GATE_SOURCES[name]) for name in GATES},
            th=th, edges=COLOURS, unhealthy=unhealthy, running=self.stack.running, replication=replication,
            log_files=self.stack.log_files, health_interval=self.stack.proxy_check_interval,
            set_alarm=lambda n, s, r: cw.set_alarm_state(AlarmName=n, StateValue=s, StateReason=r[:1000]),
            on_change=on_change,
        )
        self.thresholds = th
        monitor.start()
        lam.start()
        self._sampler = Sampler(world).start()
        return world

    def stop(self) -> None:
        for part in (self._sampler, self._lam, self._monitor):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - stop the rest whatever one of them does
                    pass
        if not self.o.keep:
            self.stack.stop()

    # -- the scenario -------------------------------------------------------------------------------------
    def command(self, name: str) -> dict[str, Any]:
        since = self.lam.send({"command": name, "actor": "operator (rehearsal)", "reason": f"rehearsal {self.o.scenario}"})
        return self.lam.wait_for(lambda r: r.get("event") is None, 30, f"the shifter to take {name}", since=since)

    def wait_state(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        return self.lam.wait_for(lambda r: bool(r.get("state")) and predicate(r["state"]), timeout, what)

    def switch(self, to: str, *, die_after: str | None = None, delays: str | None = None) -> dict[str, Any]:
        result = run_switch_process(self.world, to, die_after=die_after, log_dir=self.log_dir, delays=delays)
        result["to"], result["die_after"], result["via"] = to, die_after, "operator process"
        result["delays"] = delays or self.o.delays
        self.switchovers.append(result)
        self.marks.event("switchover", to=to, ok=result.get("ok"), write_pause=result.get("write_pause"),
                         killed=bool(die_after), error=result.get("error"))
        return result

    def run(self) -> None:
        if self.o.scenario in PROCEDURE_FAULTS:
            from .procedure_faults import RUNS  # the fault matrix's scenarios (they use this class)

            return RUNS[self.o.scenario](self)
        if self.o.scenario in FAULTS:
            return self.run_fault(FAULTS[self.o.scenario])
        if self.o.scenario == "clean":
            return self.run_clean()
        if self.o.scenario == "low-traffic":
            return self.run_low_traffic()
        return self.run_default()

    def _start_shift(self) -> None:
        started = self.command("start")
        if "error" in started:
            raise RuntimeError(f"the shifter refused to start: {started['error']}")

    def _reach(self, index: int, weight: int) -> dict[str, Any]:
        r = self.wait_state(lambda s: s.get("step_index", -1) >= index or s.get("status") == "rolled_back",
                            self.o.bake * 3 + 60, f"step {index + 1} (green {weight} %)")
        self._still_running(r, f"step {index + 1}")
        self.marks.phase(f"shift green {weight} %", self.o.say, at=r["ended"])
        return r

    def run_fault(self, fault: dict[str, Any]) -> None:
        """Shift to 50 %, let the fast alarms see green healthy there, inject the fault, wait for the rollback."""
        o, say = self.o, self.o.say
        self.marks.phase("warm-up (blue only)", say)
        time.sleep(o.warmup)
        self._start_shift()
        self._reach(0, 10)
        at_50 = self._reach(1, 50)["ended"]
        # Four fast periods (and the EMF delay) at 50 %: every alarm judged on healthy green first.
        time.sleep(max(o.bake, o.timing.real(40 + o.timing.emf_delay)))
        self._check_running("before the fault")
        self.marks.phase(f"fault in green ({o.scenario}), rollback", say)
        self.fault_at = time.time()
        self.inject(fault)
        try:
            self.wait_state(lambda s: s.get("status") == "rolled_back", max(60.0, o.timing.real(600)),
                            "the automatic rollback")
        finally:
            self.clear_faults(fault)
        early = [e for e in self.marks.events if e["event"] == "gate" and e["state"] == "ALARM"
                 and at_50 <= e["at"] < self.fault_at]
        if early:
            raise RuntimeError(f"a gate alarmed before the fault (a false alarm, not detection): {early[0]['gate']}: "
                               f"{early[0]['reason'][:300]}")
        self.marks.phase("all traffic blue", say)
        time.sleep(o.bake)

    def inject(self, fault: dict[str, Any]) -> None:
        green = [s.name for s in self.stack.services if s.colour == "green"]
        if fault.get("kill"):
            killed = self.stack.kill_colour("green")
            self.marks.event("fault", killed=killed)
            delay = self.o.timing.real(self.o.timing.ecs_restart)
            # ECS's service scheduler replaces the stopped tasks (after the declared delay): the fault can heal.
            timer = threading.Timer(delay, self._replace, args=(killed,))
            timer.daemon = True
            timer.start()
            return
        targets = green[:1] if "one" in fault else green
        faults: dict[str, float] = fault.get("one") or fault.get("every") or {}
        for name in targets:
            self.stack.set_faults(name, **faults)
        self.marks.event("fault", instances=targets, faults=faults)

    def _replace(self, names: list[str]) -> None:
        for s in self.stack.services:
            if s.name in names and (s.proc is None or s.proc.poll() is not None):
                self.stack.start_service(s)
                self.restarts.append({"at": time.time(), "instance": s.name})
                self.marks.event("ecs replaced task", instance=s.name)

    def clear_faults(self, fault: dict[str, Any]) -> None:
        if fault.get("kill"):
            return
        for s in self.stack.services:
            if s.colour == "green" and s.proc is not None and s.proc.poll() is None:
                try:
                    self.stack.set_faults(s.name)
                except Exception:  # noqa: BLE001 - a fault left set only matters to green, now at 0 %
                    pass

    def run_clean(self) -> None:
        """No fault: the whole plan must complete, and no gate may roll it back."""
        o, say = self.o, self.o.say
        self.marks.phase("warm-up (blue only)", say)
        time.sleep(o.warmup)
        self._start_shift()
        for index, weight in ((0, 10), (1, 50), (2, 100)):
            self._reach(index, weight)
        r = self.wait_state(lambda s: s.get("status") in ("completed", "rolled_back"), o.bake * 6 + 120,
                            "the plan to complete")
        self._still_running(r, "completion")
        self.marks.phase("completed (green 100 %)", say, at=r["ended"])
        time.sleep(o.bake)

    def run_low_traffic(self) -> None:
        """Too few payments for the fast alarms' minimum sample: the shift must hold at 10 % and say why."""
        o, say = self.o, self.o.say
        self.marks.phase("warm-up (blue only)", say)
        time.sleep(o.warmup)
        self._start_shift()
        self._reach(0, 10)
        since = len(self.lam.results)
        time.sleep(max(3 * o.bake, o.timing.real(120)))
        self._check_running("at the end of the low-traffic hold")
        state = (self.lam.results[-1].get("state") or {}) if self.lam.results else {}
        if state.get("step_index") != 0:
            raise RuntimeError(f"the shift left the 10 % step under low traffic (step {state.get('step_index')})")
        self.hold_reasons = sorted({(r.get("decision") or {}).get("reason", "") for r in self.lam.results[since:]
                                    if (r.get("decision") or {}).get("action") == "hold"})
        self.marks.phase("held at 10 % (low traffic)", say)

    def wait_gates_ok(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(state == "ALARM" for state in self.monitor.state.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"a gate stayed in ALARM for {timeout:.0f} s before the fault: {self.monitor.state}")
            time.sleep(0.05)

    def _check_running(self, when: str) -> None:
        now = (self.lam.results[-1].get("state") or {}) if self.lam.results else {}
        if now.get("status") != "running":
            raise RuntimeError(f"the shift was no longer running {when} (status {now.get('status')}: "
                               f"{now.get('reason')}); see the gate events and shifter.log")

    def run_default(self) -> None:
        o, say = self.o, self.o.say
        step_wait = o.bake * 3 + 60
        self.marks.phase("warm-up (blue only)", say)
        time.sleep(o.warmup)
        if o.scenario == "pause":
            return self.pauses()
        if o.scenario == "crash":
            self.crash_and_recover()
        self._start_shift()
        for index, weight in ((0, 10), (1, 50), (2, 100)):
            self._reach(index, weight)
        r = self.wait_state(lambda s: s.get("step_index", -1) >= 3 or s.get("status") == "rolled_back", step_wait,
                            "the database switchover step")
        self._still_running(r, "the database switchover step")
        self.marks.event("switchover", to="green", ok=True, via="plan step (the shifter's Lambda)")
        self.switchovers.append(self._plan_step_switchover())
        self.marks.phase("writer green", say, at=r["ended"])
        # The fault comes after the switchover's grace: an alarm then rolls back, as it would on AWS.
        time.sleep(max(o.bake, grace_for(o.timing) + o.timing.real(10)))
        # A gate the pause tripped may still be in ALARM (held by the grace) on a loaded machine: the fault
        # comes once every gate is OK again, so that its detection is a new alarm, not an old one.
        self.wait_gates_ok(max(60.0, o.timing.real(600)))
        self._check_running("before the fault")
        self.marks.phase("fault in green, rollback", say)
        self.fault_at = time.time()
        self.inject(FAULTS["hard-fault"])
        self.wait_state(lambda s: s.get("status") == "rolled_back", 60, "the automatic rollback")
        time.sleep(o.bake)
        self.marks.phase("switchover back to blue", say)
        back = self.switch("blue")
        if not back.get("ok"):
            raise RuntimeError(f"the switchover back to blue failed: {back.get('error')}")
        self.marks.phase("writer blue, all traffic blue", say)
        time.sleep(o.bake)

    def pauses(self) -> None:
        """The write pause with no injected delay (to green), then with the AWS-like ones (back to blue)."""
        o, say = self.o, self.o.say
        for to, delays in (("green", "none"), ("blue", "aws")):
            self.marks.phase(f"switchover to {to}, delays {delays}", say)
            result = self.switch(to, delays=delays)
            if not result.get("ok"):
                raise RuntimeError(f"the switchover to {to} ({delays} delays) failed: {result.get('error')}")
            self.marks.phase(f"writer {to}", say)
            time.sleep(o.bake)

    def crash_and_recover(self) -> None:
        """An operator's switchover to green, killed right after the fence (blue fenced, green not yet
        the writer: no database takes payments); the shifter's next run finds the journal and, once its
        lease has lapsed, undoes it. Before the shift: all traffic is blue, so the stall is blue's alone."""
        say = self.o.say
        self.marks.phase("switchover killed after the fence", say)
        killed = self.switch("green", die_after="fence")
        if killed.get("returncode") != -9 or killed.get("killed_after") != "fence old writer":
            raise RuntimeError(f"the switchover process was to be killed after the fence; it ended: {killed}")
        recovered = self.lam.wait_for(
            lambda r: any("undoing it" in c or "finishing it" in c for c in r.get("db_switchover_recovered") or ()),
            60, "the shifter's next run to recover the killed switchover")
        self.recovery = {"at": recovered["ended"], "changes": recovered["db_switchover_recovered"],
                         "killed_at": killed.get("at")}
        self.marks.event("recovered", changes=recovered["db_switchover_recovered"])
        self.marks.phase("recovered (blue writes again)", say, at=recovered["ended"])
        time.sleep(self.o.bake)

    @staticmethod
    def _still_running(result: dict[str, Any], what: str) -> None:
        state = result.get("state") or {}
        if state.get("status") == "rolled_back":
            raise RuntimeError(f"the shifter rolled back before {what}: {state.get('reason')}")

    def _plan_step_switchover(self) -> dict[str, Any]:
        """The plan step's switchover, as the shifter's run reported it."""
        for r in reversed(self.lam.results):
            changes = r.get("changes") or []
            pause = [c for c in changes if isinstance(c, str) and c.startswith("write pause ")]
            if pause:
                return {"ok": True, "to": "green", "via": "plan step", "changes": changes, "delays": self.o.delays,
                        "write_pause": float(pause[-1].split()[2]), "started": r.get("started"), "ended": r.get("ended")}
        return {"ok": False, "to": "green", "via": "plan step", "error": "no write pause in the shifter's results"}

    # -- the load --------------------------------------------------------------------------------------
    def start_load(self) -> LoadFleet:
        self._load = LoadFleet(self.world.url, self.o.rate, progress=self.o.say, tls=self.stack.tls)
        self.load.status_line = self._status_line
        return self.load.start()

    def _status_line(self) -> str:
        row = self._sampler.rows[-1] if self._sampler and self._sampler.rows else {}
        gates = ",".join(f"{n.split('-')[1]}-{n.split('-')[2]}:{s}" for n, s in (self._monitor.state.items() if self._monitor else ()))
        return f"green {row.get('records_green')} % writer {row.get('writer')} gates {gates}"

    def settle(self) -> None:
        """Stop the load, let every request finish, and let replication carry the last writes."""
        self.load.stop()
        writer = HAProxyWriterName(self.world.haproxy()).writer_colour()
        other = "green" if writer == "blue" else "blue"
        self.writer, self.replication_error = writer, None
        try:
            wait_caught_up(self.stack.dbs[writer], self.stack.dbs[other], timeout=60)
        except MariaDBError as err:  # counted and reported as a failed target (cli.rehearse_local)
            self.replication_error = str(err)


def adapters_report() -> dict[str, Any]:
    return {"local": dict(LOCAL_ADAPTERS), "project_code": list(AWS_CODE)}


__all__ = ["Rehearsal", "adapters_report", "run_switch_process"]
