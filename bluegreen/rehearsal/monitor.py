"""The rehearsal's CloudWatch: the deployed alarms (alarms.py) evaluated on the metrics AWS would publish
(cloudwatch.py), on one compressed clock, and the gates' states set in moto for the shifter to read.

One declared time-compression factor (``TimeModel.scale``) divides every alarm period, the delay
before a period is judged, the target groups' health-check interval and ECS's task replacement
alike; nothing else is shortened. A figure measured here is scaled back to AWS time by multiplying
the compressed part by the factor (report.py). The delays are AWS's as declared below; each can be
overridden (``scripts/rehearse --help``).
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import alarms as al
from . import cloudwatch as cw
from .gates import Thresholds, judge_data

#: Declared AWS delays (AWS seconds), what each stands for, and the source or the assumption.
AWS_DELAYS: dict[str, tuple[float, str]] = {
    "emf_delay": (5.0, "an EMF period is judged 5 s after it ends: the log flush interval AWS recommends for "
                       "high-resolution EMF alarms (CloudWatch_Embedded_Metric_Format_Alarms.html); the awslogs "
                       "driver's delivery is assumed no slower"),
    "alb_delay": (0.0, "an ALB or Container Insights minute is judged as soon as it ends (assumed: AWS publishes "
                       "these per minute and documents no further delay; the slow line is not what the targets "
                       "are measured on)"),
    "ecs_restart": (60.0, "a killed task's replacement answers health checks 60 s later (assumed: ECS's service "
                          "scheduler starts a replacement at once, Fargate's image pull and start take tens of "
                          "seconds; ECS documents no figure)"),
}


#: The most the rehearsal compresses time by itself: a 10 s alarm period lasts 1 s.
MAX_SCALE = 10.0
#: A period of the shift's first step must carry this many times the alarms' minimum sample, expected:
#: Poisson arrivals then fall below the minimum in about 1 % of periods, and the shift judges, not holds.
SAMPLE_MARGIN = 2.0


def expected_sample(rate: float, green_weight: float, period: float, scale: float) -> float:
    """Green payments expected in one compressed period at ``green_weight`` % of ``rate`` payments/s."""
    return rate * green_weight / 100 * period / scale


def fitting_scale(rate: float, green_weight: float, period: float, minimum: int) -> float:
    """The largest factor, up to MAX_SCALE in half steps and at least 1, at which a period of the first step
    still carries SAMPLE_MARGIN times the minimum sample. Compression divides a period's payments by the
    factor, so a fixed factor would starve the alarms at a low rate (AWS would hold the shift too, at that
    rate divided by the factor). Below 1 the rate itself is too low for the sample, as it would be on AWS."""
    fit = expected_sample(rate, green_weight, period, 1.0) / (SAMPLE_MARGIN * minimum)
    return max(1.0, min(MAX_SCALE, math.floor(fit * 2) / 2))


@dataclass(frozen=True)
class TimeModel:
    scale: float = MAX_SCALE
    emf_delay: float = AWS_DELAYS["emf_delay"][0]
    alb_delay: float = AWS_DELAYS["alb_delay"][0]
    ecs_restart: float = AWS_DELAYS["ecs_restart"][0]

    def real(self, aws_seconds: float) -> float:
        return aws_seconds / self.scale

    def delay_for(self, alarm: al.AlarmDef) -> float:
        """AWS seconds between a period's end and its judgment, by where the alarm's metrics come from."""
        own = any(not m.namespace.startswith(("AWS/", "ECS/")) for m in alarm.metrics)
        return self.emf_delay if own else self.alb_delay

    def as_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, **{k: {"aws_seconds": getattr(self, k), "real_seconds": round(self.real(getattr(self, k)), 3),
                                            "why": why} for k, (_, why) in AWS_DELAYS.items()}}


@dataclass(frozen=True)
class Gate:
    """A gate the shifter reads: a composite, a metric alarm, or the replication judgment (``data``)."""

    kind: str  # composite | alarm | data
    logical: str = ""


class AlarmMonitor:
    def __init__(self, log_port: int, defs: al.Definitions, timing: TimeModel, gates: Mapping[str, Gate], *,
                 th: Thresholds, edges: Iterable[str], unhealthy: Callable[[str], int], running: Callable[[str], int],
                 replication: Callable[[], tuple[float | None, bool]], log_files: Callable[[], Iterable[Path]],
                 set_alarm: Callable[[str, str, str], None], on_change: Callable[[str, str, str], None],
                 health_interval: float, eval_seconds: float = 0.05) -> None:
        self.defs, self.timing, self.gates, self.th, self.edges = defs, timing, dict(gates), th, tuple(edges)
        self.unhealthy, self.running, self.replication = unhealthy, running, replication
        self.set_alarm, self.on_change = set_alarm, on_change
        self.health_interval, self.eval_seconds = health_interval, eval_seconds
        self.store = cw.MetricStore()
        self.emf = cw.EmfTail(self.store, log_files)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", log_port))
        self.sock.settimeout(0.05)
        self.lags: deque[tuple[float, float | None, bool]] = deque()
        self.alarm_states: dict[str, str] = dict.fromkeys(defs.alarms, al.INSUFFICIENT)
        self.state = dict.fromkeys(self.gates, al.OK)
        #: Every state change of every alarm and gate: the report's evidence.
        self.changes: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=f, daemon=True, name=n) for f, n in (
            (self._receive, "cw-log"), (self._judge, "cw-judge"), (self._sample, "cw-health"),
            (self._sample_replication, "cw-replication"))]

    def start(self) -> AlarmMonitor:
        self.started = time.time()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.sock.close()

    # -- what AWS would publish ---------------------------------------------------------------------
    def _receive(self) -> None:
        from .gates import parse_log_line

        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.time()
            parsed = parse_log_line(data.decode(errors="replace"), now)
            if parsed and parsed[0].startswith("tg_"):
                frontend, sample = parsed
                cw.put_request(self.store, frontend[3:], sample.at, sample.status, sample.seconds, sample.termination)

    def _sample(self) -> None:
        while not self._stop.wait(self.health_interval):
            now = time.time()
            for colour in ("blue", "green"):
                try:
                    cw.put_unhealthy(self.store, colour, self.edges, now, self.unhealthy(colour))
                except Exception:  # noqa: BLE001 - no reading is a missing datapoint, as on AWS
                    pass
                cw.put_running(self.store, colour, now, self.running(colour))

    def _sample_replication(self) -> None:
        while not self._stop.wait(0.25):
            try:
                lag, failed = self.replication()
            except Exception:  # noqa: BLE001 - a failed reading breaches the data gate only
                lag, failed = None, True
            with self._lock:
                self.lags.append((time.time(), lag, failed))

    # -- judging --------------------------------------------------------------------------------------
    def evaluate_all(self, now: float) -> dict[str, al.Verdict]:
        out = {}
        for logical, alarm in self.defs.alarms.items():
            out[logical] = al.evaluate(alarm, self.store, now, scale=self.timing.scale,
                                       delay=self.timing.delay_for(alarm), since=self.started,
                                       current=self.alarm_states[logical])
        return out

    def _judge(self) -> None:
        keep = self.timing.real(600)
        while not self._stop.wait(self.eval_seconds):
            try:
                self.emf.poll()
                self._judge_once(time.time(), keep)
            except Exception as err:  # noqa: BLE001 - one bad round must not stop the gates; it is recorded
                self.changes.append({"at": time.time(), "error": f"{type(err).__name__}: {err}"})

    def _judge_once(self, now: float, keep: float) -> None:
        verdicts = self.evaluate_all(now)
        for logical, v in verdicts.items():
            if v.state != self.alarm_states[logical]:
                self.alarm_states[logical] = v.state
                self.changes.append({"at": now, "alarm": self.defs.alarms[logical].name, "state": v.state,
                                     "reason": v.reason})
        with self._lock:
            while self.lags and self.lags[0][0] < now - keep:
                self.lags.popleft()
            data = judge_data(list(self.lags), now, self.th)
        self.store.forget_before(now - keep)
        for name, gate in self.gates.items():
            if gate.kind == "composite":
                comp = self.defs.composites[gate.logical]
                state = al.composite_state(comp, self.alarm_states)
                firing = [self.defs.alarms[m].name + ": " + verdicts[m].reason for m in comp.members
                          if self.alarm_states[m] == al.ALARM]
                reason = "; ".join(firing) or "no member alarm in ALARM"
            elif gate.kind == "alarm":
                state, reason = self.alarm_states[gate.logical], verdicts[gate.logical].reason
            else:
                state, reason = data
            if state != self.state[name]:
                self.state[name] = state
                self.changes.append({"at": now, "gate": name, "state": state, "reason": reason})
                self.set_alarm(name, state, reason)
                self.on_change(name, state, reason)
