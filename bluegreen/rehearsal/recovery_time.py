"""Time to recover (issue 26): from the end of a fault, or from each unfence, until the p99 latency of
acknowledged payments over a sliding one-second window is back under 50 ms.

Latency is the client's, from each payment's due time (the open-loop schedule) to its acknowledgement,
so a queue that outlasts the fault shows as slow answers until it has drained. The window slides in
0.1 s steps over acknowledgement times; a window with fewer than MIN_SAMPLE acknowledgements is not
judged (at 20 payments/s a second holds 20). Pure: the recorded outcomes in, the figures out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .gates import p99

#: The p99 a recovered system answers under (ms), the window (s), its step (s) and the smallest sample judged.
P99_MS, WINDOW_S, STEP_S, MIN_SAMPLE = 50.0, 1.0, 0.1, 5


def time_to_recover(acks: Sequence[tuple[float, float]], start: float, until: float, *,
                    p99_ms: float = P99_MS) -> float | None:
    """Seconds from ``start`` until the first window ending at t (start < t <= until) of acknowledgements
    done in (max(start, t - WINDOW_S), t] whose p99 is under ``p99_ms``; None if none before ``until``.
    ``acks``: (acknowledged at, latency ms), any order."""
    done = sorted(a for a in acks if start < a[0] <= until)
    t = start + STEP_S
    lo = 0
    hi = 0
    while t <= until + 1e-9:
        while hi < len(done) and done[hi][0] <= t:
            hi += 1
        while lo < hi and done[lo][0] <= max(start, t - WINDOW_S):
            lo += 1
        window = [lat for _, lat in done[lo:hi]]
        if len(window) >= MIN_SAMPLE and (p99(window) or 0.0) < p99_ms:
            return round(t - start, 2)
        t += STEP_S
    return None


def recovery_points(report: dict[str, Any], events: Sequence[dict[str, Any]], first_blue: float | None) -> list[dict[str, Any]]:
    """Where recovery is measured from: every switchover's unfence (fence + its pause; a plan step's run end
    when it reported no fence time), every marked ``fault end``, and the rollback's arrival at 0 % green."""
    points = []
    for s in report.get("switchovers") or ():
        if not s.get("ok") or s.get("write_pause") is None:
            continue
        at = (s["fence_at"] + s["write_pause"]) if s.get("fence_at") else s.get("ended")
        if at:
            points.append({"from": f"unfence ({s.get('via')} to {s.get('to')})", "at": at})
    recovered = report.get("recovery") or {}
    if recovered.get("at"):
        points.append({"from": "the next run's recovery of a dead switchover", "at": recovered["at"]})
    for e in events:
        if e.get("event") == "fault end":
            points.append({"from": f"fault end: {e.get('detail')}", "at": e["at"]})
    if first_blue:
        points.append({"from": "rollback: all traffic blue", "at": first_blue})
    return sorted(points, key=lambda p: p["at"])


def measure(points: Sequence[dict[str, Any]], acks: Sequence[tuple[float, float]], until: float) -> dict[str, Any]:
    """Each point's time to recover (None: not before the load ended, ``observed_s`` after the point), the
    worst of them (``time_to_recover_s``; None when one never recovered or there was no point) and whether
    every one recovered (``p99_recovered``; None without a point)."""
    rows = [{**p, "seconds": time_to_recover(acks, p["at"], until), "observed_s": round(until - p["at"], 2)} for p in points]
    worst = [r["seconds"] for r in rows]
    recovered = all(w is not None for w in worst) if rows else None
    return {"recovery_times": rows, "time_to_recover_s": max(worst) if rows and recovered else None,
            "p99_recovered": recovered,
            "not_recovered_within_s": min((r["observed_s"] for r in rows if r["seconds"] is None), default=None)}


__all__ = ["MIN_SAMPLE", "P99_MS", "measure", "recovery_points", "time_to_recover"]
