"""The gate alarms, computed from what HAProxy measures as CloudWatch computes them from the ALB's.

The thresholds and the "M of N" rule are the monitoring stack's own (templates/monitoring.json:
5xx rate above Http5xxRateThresholdPercent of requests, p99 above P99LatencyThresholdSeconds,
unhealthy targets above UnhealthyHostThreshold, DatapointsToAlarm of EvaluationPeriods); the CDC
latency threshold is the dms stack's. Only the period is compressed (60 s on AWS, ``period``
seconds here), so a rehearsal of minutes sees what a cut-over of hours would; docs/rehearsal.md says
what that changes. The judgments are pure functions of the samples; ``GateMonitor`` feeds them and
sets the alarms' states in CloudWatch (moto), where the shifter's own GateReader reads them.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OK, ALARM = "OK", "ALARM"


@dataclass(frozen=True)
class Thresholds:
    http_5xx_percent: float
    p99_seconds: float
    unhealthy_hosts: float
    cdc_latency_seconds: float
    periods: int
    datapoints: int
    period: float

    @classmethod
    def from_templates(cls, period: float, root: Path = ROOT) -> "Thresholds":
        mon = json.loads((root / "templates" / "monitoring.json").read_text())
        dms = json.loads((root / "templates" / "dms.json").read_text())
        params = mon["Parameters"]
        alarm = mon["Resources"]["GreenHttp5xxRateAlarm"]["Properties"]
        return cls(
            http_5xx_percent=float(params["Http5xxRateThresholdPercent"]["Default"]),
            p99_seconds=float(params["P99LatencyThresholdSeconds"]["Default"]),
            unhealthy_hosts=float(params["UnhealthyHostThreshold"]["Default"]),
            # The lower of the two CDC latency alarms (source side) is the stricter.
            cdc_latency_seconds=float(dms["Parameters"]["CdcLatencySourceThresholdSeconds"]["Default"]),
            periods=int(alarm["EvaluationPeriods"]),
            datapoints=int(alarm["DatapointsToAlarm"]),
            period=period,
        )


@dataclass(frozen=True)
class Sample:
    """One request as HAProxy logged it on a colour's target group."""

    at: float
    status: int
    seconds: float


def p99(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def windows(now: float, th: Thresholds) -> list[tuple[float, float]]:
    """The evaluation periods, newest first: the one in progress and the complete ones before it, aligned
    to whole periods as CloudWatch's are. (Windows sliding with ``now`` would not do: a burst inside one
    period would, sliding, straddle two, and every single-period breach would become "2 of 3".)"""
    current = math.floor(now / th.period) * th.period
    return [(current - k * th.period, current - (k - 1) * th.period) for k in range(th.periods)]


def breaching_5xx(samples: Iterable[Sample], th: Thresholds) -> bool:
    samples = list(samples)
    # No request, no error (TreatMissingData notBreaching, as the 5xx alarm has).
    return bool(samples) and 100.0 * sum(s.status >= 500 for s in samples) / len(samples) > th.http_5xx_percent


def breaching_p99(samples: Iterable[Sample], th: Thresholds) -> bool:
    value = p99([s.seconds for s in samples])
    return value is not None and value > th.p99_seconds


def judge_colour(samples: Sequence[Sample], unhealthy: Sequence[tuple[float, int]], now: float, th: Thresholds,
                 since: float = 0.0) -> tuple[str, str]:
    """(state, reason) of a colour's health composite: ALARM when any member alarm is in ALARM."""
    reasons = []
    for name, breach in (("5xx rate", breaching_5xx), ("p99", breaching_p99)):
        hits = sum(breach([s for s in samples if lo < s.at <= hi], th) for lo, hi in windows(now, th))
        if hits >= th.datapoints:
            reasons.append(f"{name} breaching in {hits} of {th.periods} periods")
    # Unhealthy hosts: the Maximum in each period; no reading in a period breaches (TreatMissingData breaching).
    hits = 0
    for lo, hi in windows(now, th):
        counts = [n for at, n in unhealthy if lo < at <= hi]
        # A period before the monitor started is not "missing data" (the alarm did not exist yet).
        hits += (not counts and lo >= since) or bool(counts) and max(counts) > th.unhealthy_hosts
    if hits >= th.datapoints:
        reasons.append(f"unhealthy targets in {hits} of {th.periods} periods")
    return (ALARM, "; ".join(reasons)) if reasons else (OK, "every member alarm OK")


def judge_data(lags: Sequence[tuple[float, float | None, bool]], now: float, th: Thresholds) -> tuple[str, str]:
    """Replication health from (at, lag seconds or None when stopped, failed) samples of the running path."""
    hits = 0
    for lo, hi in windows(now, th):
        period = [(lag, failed) for at, lag, failed in lags if lo < at <= hi]
        # A stopped path publishes no latency (a switchover's moment between stop and start): not breaching.
        hits += any(failed or (lag is not None and lag > th.cdc_latency_seconds) for lag, failed in period)
    if hits >= th.datapoints:
        return ALARM, f"replication failed or CDC latency above {th.cdc_latency_seconds:.0f} s in {hits} of {th.periods} periods"
    return OK, "replication current"


def parse_log_line(line: str, now: float) -> tuple[str, Sample] | None:
    """A syslog datagram of haproxy.LOG_FORMAT -> (frontend, sample); None for anything else."""
    i = line.find("RH ")
    if i < 0:
        return None
    parts = line[i + 3:].split()
    if len(parts) < 4:
        return None
    frontend, _backend, status, active_ms = parts[:4]
    try:
        return frontend, Sample(now, int(status), max(0, int(active_ms)) / 1000.0)
    except ValueError:
        return None


def _at(item: Sample | tuple) -> float:
    return item.at if isinstance(item, Sample) else item[0]


class GateMonitor:
    """Receives HAProxy's request log, samples health and replication, judges the gates every tick of
    ``eval_seconds`` and, on a change, sets the alarm in CloudWatch and calls ``on_change``."""

    def __init__(self, log_port: int, th: Thresholds, *, unhealthy: Callable[[str], int],
                 replication: Callable[[], tuple[float | None, bool]], set_alarm: Callable[[str, str, str], None],
                 gates: dict[str, str], on_change: Callable[[str, str, str], None], eval_seconds: float = 0.1,
                 sample_seconds: float = 0.25) -> None:
        self.th, self.unhealthy, self.replication, self.set_alarm = th, unhealthy, replication, set_alarm
        self.gates, self.on_change, self.eval_seconds, self.sample_seconds = gates, on_change, eval_seconds, sample_seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", log_port))
        self.sock.settimeout(0.05)
        self.keep = th.period * th.periods + 1
        self.samples: dict[str, deque[Sample]] = {"tg_blue": deque(), "tg_green": deque(), "payments": deque()}
        self.health: dict[str, deque[tuple[float, int]]] = {"blue": deque(), "green": deque()}
        self.lags: deque[tuple[float, float | None, bool]] = deque()
        self.state = {name: OK for name in gates}
        self.changes: list[dict[str, Any]] = []
        #: Every request seen on each frontend: (at, status, seconds) for the report's per-colour view.
        self.history: dict[str, list[Sample]] = {k: [] for k in self.samples}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._receive, daemon=True, name="gate-log"),
                         threading.Thread(target=self._judge, daemon=True, name="gate-judge"),
                         threading.Thread(target=self._sample_health, daemon=True, name="gate-health"),
                         threading.Thread(target=self._sample_replication, daemon=True, name="gate-replication")]
        self._lock = threading.Lock()

    def start(self) -> "GateMonitor":
        self.started = time.time()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.sock.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            parsed = parse_log_line(data.decode(errors="replace"), time.time())
            if parsed and parsed[0] in self.samples:
                with self._lock:
                    self.samples[parsed[0]].append(parsed[1])
                    self.history[parsed[0]].append(parsed[1])

    def _sample_health(self) -> None:
        while not self._stop.wait(self.sample_seconds):
            for colour in self.health:
                try:
                    count = self.unhealthy(colour)
                except Exception:  # noqa: BLE001 - no reading is missing data (breaching for this alarm)
                    continue
                with self._lock:
                    self.health[colour].append((time.time(), count))

    def _sample_replication(self) -> None:
        # Its own thread: SHOW SLAVE STATUS waits while a switchover stops or starts a path, and
        # that wait must not starve the health samples.
        while not self._stop.wait(self.sample_seconds):
            try:
                lag, failed = self.replication()
            except Exception:  # noqa: BLE001 - a failed reading breaches the data gate only
                lag, failed = None, True
            with self._lock:
                self.lags.append((time.time(), lag, failed))

    def _judge(self) -> None:
        while not self._stop.wait(self.eval_seconds):
            now = time.time()
            with self._lock:
                for q in (*self.samples.values(), *self.health.values(), self.lags):
                    while q and _at(q[0]) < now - self.keep:
                        q.popleft()
                green = judge_colour(list(self.samples["tg_green"]), list(self.health["green"]), now, self.th, self.started)
                data = judge_data(list(self.lags), now, self.th)
            verdicts = {"green": green, "data": data}
            for name, kind in self.gates.items():
                state, reason = verdicts[kind]
                if state != self.state[name]:
                    self.state[name] = state
                    self.changes.append({"at": now, "gate": name, "state": state, "reason": reason})
                    self.set_alarm(name, state, reason)
                    self.on_change(name, state, reason)
