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

Each step waits on what the project's own code reports (the shifter's results, the journal), with
a deadline; the count at the end does not depend on timing.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from bluegreen import local_mariadb as mdb

from .adapters import AWS_CODE, LOCAL_ADAPTERS, HAProxyTraffic, HAProxyWriterName
from .delays import Delays
from .gates import GateMonitor, Thresholds
from .lambda_process import LambdaProcess, alarm_event, worker_command
from .loadgen import LoadFleet
from .stack import Stack
from .world import GATES, World, aws_env, clients, prepare_aws

SCENARIOS = ("default", "crash", "pause")


@dataclass
class Options:
    scenario: str = "default"
    rate: float = 140.0
    #: Seconds of each bake (a step's hold with the gates watched) and of each steady phase.
    bake: float = 10.0
    gate_period: float = 1.0
    tick_seconds: float = 1.0
    warmup: float = 3.0
    port: int | None = None
    keep: bool = False
    say: Callable[[str], None] = print
    #: The delay profile of the shifter's processes (delays.py: none | aws) and overrides of single values.
    delays: str = "none"
    delay_overrides: dict[str, float] = field(default_factory=dict)


@dataclass
class Marks:
    """The phases as they happened: (name, start) in order; each ends where the next begins."""

    items: list[tuple[str, float]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def phase(self, name: str, say: Callable[[str], None], at: float | None = None) -> None:
        self.items.append((name, at or time.time()))
        say(f"rehearsal: phase {name}")

    def event(self, what: str, **detail: Any) -> None:
        self.events.append({"at": time.time(), "event": what, **detail})

    def spans(self, end: float) -> list[tuple[str, float, float]]:
        ends = [t for _, t in self.items[1:]] + [end]
        return [(name, start, stop) for (name, start), stop in zip(self.items, ends)]


def grace_for(gate_period: float) -> int:
    """The db switchover step's grace (StepKind.grace_seconds, judged by decisions.alarm_grace): the switchover,
    the payments it held draining out of the queue, and three alarm periods (on this shared 2-core machine
    the pause alone can take several seconds)."""
    return max(10, math.ceil(10 * gate_period))


def plan_for(scenario: str, bake: float, gate_period: float = 1.0) -> dict[str, Any]:
    b = max(1, round(bake))
    # The last step's bake outlasts the run: the fault comes during it, while the shift still runs.
    steps = [{"green_weight": 10, "bake_seconds": b}, {"green_weight": 50, "bake_seconds": b},
             {"green_weight": 100, "bake_seconds": b},
             {"kind": "db_switchover", "to": "green", "bake_seconds": 3600, "grace_seconds": grace_for(gate_period)}]
    return {"steps": steps, "description": f"rehearsal ({scenario})"}


class ReplicationReader:
    """(lag of the running path, any path failed) from each server's replica status, over one kept
    root connection per server (the data gate samples it often)."""

    def __init__(self, dbs: dict[str, Any]) -> None:
        self.dbs, self.conns = dbs, {}

    def _status(self, colour: str) -> mdb.ReplicaStatus:
        try:
            conn = self.conns.get(colour) or self.dbs[colour].root()
            self.conns[colour] = conn
            return mdb.replica_status(conn)
        except pymysql.err.MySQLError:
            self.conns.pop(colour, None)
            raise

    def __call__(self) -> tuple[float | None, bool]:
        statuses = [self._status(colour) for colour in self.dbs]
        lags = [st.lag for st in statuses if st.lag is not None]
        return (max(lags) if lags else None), any(st.failed for st in statuses)


class Sampler:
    """Weights and the writer as HAProxy holds them, every 0.1 s, for the plot and the rollback time."""

    def __init__(self, world: World) -> None:
        self.proxy = world.haproxy()
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    def _run(self) -> None:
        writer = HAProxyWriterName(self.proxy)
        while not self._stop.wait(0.1):
            try:
                stats = self.proxy.stats()
                w = {(r["pxname"], r["svname"]): int(r["weight"]) for r in stats if r["svname"] not in ("FRONTEND", "BACKEND")}
                self.rows.append({
                    "at": time.time(),
                    "records_green": w.get(("dns", "alb_green")),
                    "listeners_green": [w.get((HAProxyTraffic.listener(e), "green")) for e in ("blue", "green")],
                    "writer": writer.writer_colour(),
                })
            except Exception:  # noqa: BLE001 - a missed sample is a gap in the plot, not a failure
                continue

    def start(self) -> "Sampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def first_all_blue(self, after: float) -> float | None:
        for row in self.rows:
            if row["at"] >= after and row["records_green"] == 0 and row["listeners_green"] == [0, 0]:
                return row["at"]
        return None


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

    def __init__(self, options: Options, *, log_dir: Path | None = None) -> None:
        if options.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {options.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        self.o = options
        self.log_dir = log_dir
        self.marks = Marks()
        self.switchovers: list[dict[str, Any]] = []
        self.fault_at: float | None = None
        self.stack = Stack(keep=options.keep, payments_port=options.port)
        self.world: World | None = None
        self.monitor: GateMonitor | None = None
        self.lam: LambdaProcess | None = None
        self.load: LoadFleet | None = None
        self.sampler: Sampler | None = None

    # -- set-up and tear-down ---------------------------------------------------------------------------
    def start(self) -> World:
        say = self.o.say
        self.world = self.stack.start(say=say)
        self.world.delays = Delays.profile(self.o.delays, self.o.delay_overrides).to_dict()
        self.world.save()
        prepare_aws(self.world, plan_for(self.o.scenario, self.o.bake, self.o.gate_period))
        cw = clients(self.world)("cloudwatch")
        th = Thresholds.from_templates(self.o.gate_period)
        proxy = self.world.haproxy()
        dbs = self.stack.dbs

        def unhealthy(colour: str) -> int:
            return proxy.unhealthy(colour)

        replication = ReplicationReader(dbs)

        # The shifter's JSON log (every decision with its inputs) is the rehearsal's audit trail.
        self.lam = LambdaProcess(self.world, tick_seconds=self.o.tick_seconds,
                                 log_path=(self.log_dir / "shifter.log") if self.log_dir else None)
        self.monitor = GateMonitor(
            self.world.ports["log"], th, unhealthy=unhealthy, replication=replication,
            set_alarm=lambda n, s, r: cw.set_alarm_state(AlarmName=n, StateValue=s, StateReason=r[:1000]),
            gates={GATES[0]: "green", GATES[1]: "data"},
            on_change=lambda n, s, r: (self.marks.event("gate", gate=n, state=s, reason=r),
                                       self.lam.send(alarm_event(n, s, r, time.time()))),
        )
        self.thresholds = th
        self.monitor.start()
        self.lam.start()
        self.sampler = Sampler(self.world).start()
        return self.world

    def stop(self) -> None:
        for part in (self.sampler, self.lam, self.monitor):
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
        o, say = self.o, self.o.say
        step_wait = o.bake * 3 + 60
        self.marks.phase("warm-up (blue only)", say)
        time.sleep(o.warmup)
        if o.scenario == "pause":
            return self.pauses()
        if o.scenario == "crash":
            self.crash_and_recover()
        started = self.command("start")
        if "error" in started:
            raise RuntimeError(f"the shifter refused to start: {started['error']}")
        for index, weight in ((0, 10), (1, 50), (2, 100)):
            r = self.wait_state(lambda s, i=index: s.get("step_index", -1) >= i or s.get("status") == "rolled_back",
                                step_wait, f"step {index + 1} (green {weight} %)")
            self._still_running(r, f"step {index + 1}")
            self.marks.phase(f"shift green {weight} %", say, at=r["ended"])
        r = self.wait_state(lambda s: s.get("step_index", -1) >= 3 or s.get("status") == "rolled_back", step_wait,
                            "the database switchover step")
        self._still_running(r, "the database switchover step")
        self.marks.event("switchover", to="green", ok=True, via="plan step (the shifter's Lambda)")
        self.switchovers.append(self._plan_step_switchover())
        self.marks.phase("writer green", say, at=r["ended"])
        # The fault comes after the switchover's grace: an alarm then rolls back, as it would on AWS.
        time.sleep(max(o.bake, grace_for(o.gate_period) + o.gate_period))
        now = self.lam.results[-1].get("state") or {} if self.lam.results else {}
        if now.get("status") != "running":
            raise RuntimeError(f"the shift was no longer running before the fault (status {now.get('status')}: "
                               f"{now.get('reason')}); see the gate events and shifter.log")
        self.marks.phase("fault in green, rollback", say)
        self.fault_at = time.time()
        killed = self.stack.kill_colour("green")
        self.marks.event("fault", killed=killed)
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
        self.load = LoadFleet(self.world.url, self.o.rate, progress=self.o.say, tls=self.stack.tls)
        self.load.status_line = self._status_line
        return self.load.start()

    def _status_line(self) -> str:
        row = self.sampler.rows[-1] if self.sampler and self.sampler.rows else {}
        gates = ",".join(f"{n.split('-')[1]}:{s}" for n, s in (self.monitor.state.items() if self.monitor else ()))
        return f"green {row.get('records_green')} % writer {row.get('writer')} gates {gates}"

    def settle(self) -> None:
        """Stop the load, let every request finish, and let replication carry the last writes."""
        self.load.stop()
        writer = HAProxyWriterName(self.world.haproxy()).writer_colour()
        other = "green" if writer == "blue" else "blue"
        self.writer, self.replication_error = writer, None
        try:
            mdb.wait_caught_up(self.stack.dbs[writer], self.stack.dbs[other], timeout=60)
        except mdb.MariaDBError as err:  # counted and reported as a failed target (cli.rehearse_local)
            self.replication_error = str(err)


def adapters_report() -> dict[str, Any]:
    return {"local": dict(LOCAL_ADAPTERS), "project_code": list(AWS_CODE)}


__all__ = ["Options", "Rehearsal", "SCENARIOS", "adapters_report", "plan_for"]
