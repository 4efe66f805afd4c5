"""The data gate (replication health) and HAProxy's request log lines, for the rehearsal's monitor.

The colour gates are the monitoring template's own alarms, evaluated by alarms.py on the metrics
cloudwatch.py builds (monitor.py). The data gate stands in for the dms and database stacks' alarms:
a failed path or CDC latency above the dms stack's threshold, "M of N" of the monitoring stack's
gate evaluation, per compressed minute.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    def from_templates(cls, period: float, root: Path = ROOT) -> Thresholds:
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
    #: HAProxy's termination state: "--" when the server answered, else who cut it (the proxy's own 5xx).
    termination: str = "--"


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
    termination = parts[4] if len(parts) > 4 else "--"
    try:
        return frontend, Sample(now, int(status), max(0, int(active_ms)) / 1000.0, termination)
    except ValueError:
        return None
