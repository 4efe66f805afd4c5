"""The rehearsal's report: ``report.json``, ``ledger.csv``, a PNG plot and a terminal table.

The figures are computed from what was recorded (the client's outcomes and attempts, the phase
marks, the switchovers' own timelines, HAProxy's weights over time) and judged against the targets
of the change board (TARGETS): replication caught up, lost 0, duplicated 0, mismatched 0, charged but
told failed 0, unexplained rows 0 (reconcile.py, on each database), divergent 0, balance intact, failed at most
0.01 % of requests, client write gap and fault-to-blue at most 2 s, achieved rate (acknowledged payments
over the load window) at least 99 %.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .gates import p99
from .loadgen import Attempt, Outcome
from .reconcile import Sent, write_sent

TARGETS = {
    "scenario_completed": ("==", True),
    "replication_caught_up": ("==", True),
    "lost": ("==", 0),
    "duplicated": ("==", 0),
    # Every acknowledgement verified with the service's published public key alone.
    "bad_signatures": ("==", 0),
    "mismatched": ("==", 0),
    "charged_but_failed": ("==", 0),
    "unexplained": ("==", 0),
    "divergent_rows": ("==", 0),
    "balance_ok": ("==", True),
    "failed_percent": ("<=", 0.01),
    # The write pause as clients saw it (the longest gap between acknowledgements across a switchover) and
    # the payments that failed inside it (issue 23): 2 s with no injected delay, 5 s with AWS-like delays.
    "pause_client_seen_s": ("<=", 2.0),
    "pause_client_seen_aws_s": ("<=", 5.0),
    "pause_failed": ("==", 0),
    # Every green task dead -> 0 % green, in AWS time (the compressed detection scaled back).
    "fault_to_blue_aws_s": ("<=", 30.0),
    "achieved_rate_percent": (">=", 99.0),
}
#: What differs per scenario (issue 25): the AWS-time targets of the gray failures, and the runs without a fault.
SCENARIO_TARGETS: dict[str, dict[str, tuple[str, Any]]] = {
    "errors": {"fault_to_blue_aws_s": ("<=", 60.0)},
    "one-task": {"fault_to_blue_aws_s": ("<=", 60.0)},
    "latency": {"fault_to_blue_aws_s": ("<=", 60.0)},
    "slow-db": {"fault_to_blue_aws_s": ("<=", 60.0)},
    "clean": {"fault_to_blue_aws_s": ("==", None), "rolled_back": ("==", False), "final_status": ("==", "completed")},
    "low-traffic": {"fault_to_blue_aws_s": ("==", None), "rolled_back": ("==", False), "final_status": ("==", "running")},
    # Twice the capacity for 30 s (issue 26): refused fast, accepted bounded, health green, back within 10 s,
    # every retried payment acknowledged (overload.py). Refusals are the design here, not failures.
    "overload": {"fault_to_blue_aws_s": ("==", None), "overload_refused_p99_ms": ("<=", 50.0),
                 "overload_accepted_p99_ms": ("<=", 1000.0), "overload_unhealthy_max": ("==", 0),
                 "time_to_recover_s": ("<=", 10.0), "overload_retried_unacknowledged": ("==", 0)},
}


def scenario_targets(scenario: str) -> dict[str, tuple[str, Any]]:
    return dict(SCENARIO_TARGETS.get(scenario, {}))


def pause_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per delay profile, the worst client-seen gap across the switchovers (None: no switchover with it), and
    the payments failed inside any of them."""
    def worst(profile: str) -> float | None:
        seen = [r["client_seen_s"] for r in rows if r.get("delays") == profile and r.get("client_seen_s") is not None]
        return max(seen) if seen else None
    return {"pause_client_seen_s": worst("none"), "pause_client_seen_aws_s": worst("aws"),
            "pause_failed": sum(r["failed_in_window"] for r in rows) if rows else None}


def detection(fault_at: float | None, alarm_at: float | None, blue_at: float | None, scale: float) -> dict[str, Any]:
    """Fault -> alarm and fault -> 0 % green, compressed (as measured) and in AWS time. The alarm part ran on
    the compressed clock and is multiplied back by the factor; the rollback after the alarm (the shifter's
    run, the weights moving) is not compressed and counts as measured."""
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    to_alarm = alarm_at - fault_at if fault_at and alarm_at else None
    to_blue = blue_at - fault_at if fault_at and blue_at else None
    rollback = blue_at - alarm_at if alarm_at and blue_at else None
    return {
        "fault_to_alarm_s": r(to_alarm),
        "fault_to_alarm_aws_s": r(to_alarm * scale) if to_alarm is not None else None,
        "fault_to_blue_s": r(to_blue),
        "fault_to_blue_aws_s": r(to_alarm * scale + max(0.0, rollback)) if to_alarm is not None and rollback is not None else None,
        "alarm_to_blue_s": r(rollback),
        "time_scale": scale,
    }


def alarm_summary(defs: Any) -> list[dict[str, Any]]:
    """The alarms the monitor evaluated, as read from the template (report evidence, not a source)."""
    out = []
    for a in defs.alarms.values():
        out.append({"name": a.name, "metrics": sorted({f"{m.namespace} {m.name} {m.stat}" for m in a.metrics}),
                    "period_s": a.period, "threshold": a.threshold, "comparison": a.comparison,
                    "datapoints_to_alarm": f"{a.datapoints} of {a.evaluation_periods}", "missing_data": a.missing})
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def client_write_gap(acknowledged_at: Sequence[float]) -> float:
    """The longest time between two consecutive acknowledgements: the write pause as clients saw it."""
    times = sorted(acknowledged_at)
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


def write_pauses(switchovers: Sequence[dict[str, Any]], outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Per switchover: its own pause (fence -> unfence), the longest gap between acknowledgements the
    clients saw across it, and the payments that failed while it ran (due between its start and end)."""
    acked = sorted(o.done for o in outcomes if o.acknowledged)
    rows = []
    for s in switchovers:
        start, end = s.get("started"), s.get("ended")
        if start is None or end is None:
            continue
        gaps = [b - a for a, b in zip(acked, acked[1:], strict=False) if b >= start and a <= end]
        rows.append({
            "to": s.get("to"), "via": s.get("via"), "delays": s.get("delays"), "ok": s.get("ok"),
            "switchover_s": s.get("write_pause"),
            "client_seen_s": round(max(gaps), 3) if gaps else None,
            "failed_in_window": sum(1 for o in outcomes if start <= o.due <= end and o.done and not o.acknowledged),
            "run_s": round(end - start, 3),
        })
    return rows


def pauses_by_delays(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The worst of each delay profile: {"none": {...}, "aws": {...}}."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if not r.get("ok"):
            continue
        best = out.setdefault(r["delays"], {"switchover_s": None, "client_seen_s": None, "failed_in_window": 0, "switchovers": 0})
        for k in ("switchover_s", "client_seen_s"):
            if r.get(k) is not None:
                best[k] = r[k] if best[k] is None else max(best[k], r[k])
        best["failed_in_window"] += r["failed_in_window"]
        best["switchovers"] += 1
    return out


def _rounded(ms: float | None) -> float | None:
    """A latency to 0.1 ms; None (no latencies) stays None."""
    return None if ms is None else round(ms, 1)


def phase_rows(spans: Sequence[tuple[str, float, float]], outcomes: Sequence[Outcome], attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    rows = []
    for name, start, end in spans:
        due = [o for o in outcomes if start <= o.due < end and o.done]
        lat = [o.latency * 1000 for o in due if o.acknowledged]
        rows.append({
            "name": name, "start": round(start, 3), "end": round(end, 3),
            "requests": len(due),
            "p50_ms": _rounded(percentile(lat, 0.50)),
            "p99_ms": _rounded(p99(lat)),
            # Errors: attempts answered 5xx or not at all (retried by the client), and requests that failed.
            "errors": sum(1 for a in attempts if start <= a.at < end and (a.status is None or a.status >= 500)),
            "failed": sum(1 for o in due if not o.acknowledged),
        })
    return rows


def judge(report: dict[str, Any], overrides: dict[str, tuple[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    out = {}
    for name, (op, want) in {**TARGETS, **(overrides or {})}.items():
        got = report.get(name)
        if got is None and op == "==" and want is None:
            out[name] = {"target": "none (no fault)", "value": None, "met": True}
            continue
        if got is None:
            out[name] = {"target": f"{op} {want}", "value": None, "met": None}
            continue
        met = got == want if op == "==" else got <= want if op == "<=" else got >= want
        out[name] = {"target": f"{op} {want}", "value": got, "met": bool(met)}
    return out


def write_ledger(path: Path, outcomes: Sequence[Outcome]) -> None:
    """The acknowledged payments with what was sent for each (reconcile.read_sent reads it back)."""
    write_sent(path, [Sent(o.key, o.merchant, o.amount_minor, o.currency, o.card_token, o.payment_id, round(o.done, 6),
                           o.replayed, o.colour) for o in outcomes if o.acknowledged])


def write_requests(path: Path, outcomes: Sequence[Outcome]) -> None:
    """Every request the client made (acknowledged or not): for a closer look than the report's."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["idempotency_key", "due", "done", "status", "attempts", "latency_ms", "colour", "replayed", "error"])
        for o in outcomes:
            w.writerow([o.key, f"{o.due:.6f}", f"{o.done:.6f}", o.status, o.attempts,
                        f"{o.latency * 1000:.1f}" if o.done else "", o.colour, o.replayed, o.error])


def plot(path: Path, report: dict[str, Any], outcomes: Sequence[Outcome], attempts: Sequence[Attempt],
         weights: Sequence[dict[str, Any]]) -> None:
    import matplotlib  # only the report needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = report["started_at"]
    end = report["ended_at"]
    seconds = range(int(end - t0) + 1)
    acks = [0] * len(seconds)
    errs = [0] * len(seconds)
    lat: list[list[float]] = [[] for _ in seconds]
    for o in outcomes:
        if o.acknowledged and 0 <= int(o.done - t0) < len(seconds):
            acks[int(o.done - t0)] += 1
            lat[int(o.done - t0)].append(o.latency * 1000)
    for a in attempts:
        if (a.status is None or a.status >= 500) and 0 <= int(a.at - t0) < len(seconds):
            errs[int(a.at - t0)] += 1
    fig, axes = plt.subplots(4, 1, figsize=(12, 10), sharex=True)
    axes[0].step([w["at"] - t0 for w in weights], [w["records_green"] for w in weights], where="post", label="records green %")
    axes[0].step([w["at"] - t0 for w in weights], [w["listeners_green"][0] for w in weights], where="post",
                 label="listeners green %", linestyle="--")
    axes[0].plot([w["at"] - t0 for w in weights], [100 if w["writer"] == "green" else 0 for w in weights], label="writer green",
                 linestyle=":")
    axes[0].set_ylabel("green %")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].plot(list(seconds), acks)
    axes[1].axhline(report["target_rate"], color="grey", linewidth=0.5)
    axes[1].set_ylabel("acknowledged / s")
    axes[2].plot(list(seconds), errs, color="tab:red")
    axes[2].set_ylabel("5xx or no answer / s")
    axes[3].plot(list(seconds), [p99(v) or 0 for v in lat], color="tab:purple")
    axes[3].set_ylabel("p99 ms (from due time)")
    axes[3].set_xlabel("seconds")
    for ph in report["phases"]:
        for ax in axes:
            ax.axvline(ph["start"] - t0, color="grey", linewidth=0.5, linestyle="--")
        axes[0].annotate(ph["name"], (ph["start"] - t0, 102), fontsize=7, rotation=20)
    fig.suptitle(f"rehearsal {report['scenario']}: lost {report['lost']}, duplicated {report['duplicated']}, "
                 f"write pause {report['write_pause_s']} s, fault to blue {report['fault_to_blue_s']} s "
                 f"({report.get('fault_to_blue_aws_s')} s AWS)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def table(report: dict[str, Any]) -> str:
    lines = [f"rehearsal {report['scenario']}: {report['requests']} requests at {report['achieved_rate']} of "
             f"{report['target_rate']} payments/s",
             f"{'phase':<34} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'failed':>7}"]
    for ph in report["phases"]:
        lines.append(f"{ph['name'][:34]:<34} {ph['requests']:>8} {ph['p50_ms'] or '-':>8} {ph['p99_ms'] or '-':>8} "
                     f"{ph['errors']:>7} {ph['failed']:>7}")
    lines.append("")
    for name, counts in (report.get("by_database") or {}).items():
        lines.append(f"  count on {name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    if "replays" in report:
        lines.append(f"  replays (Idempotent-Replayed, the ambiguous-commit path): {report['replays']}"
                     + (f" e.g. {', '.join(report['replay_keys'][:3])}" if report["replays"] else ""))
    lines.append("")
    for name, t in report["targets"].items():
        mark = "n/a " if t["met"] is None else "ok  " if t["met"] else "MISS"
        lines.append(f"  {mark} {name:<22} {str(t['value']):>10}   target {t['target']}")
    return "\n".join(lines)


def write(out: Path, report: dict[str, Any], outcomes: Sequence[Outcome], attempts: Sequence[Attempt],
          weights: Sequence[dict[str, Any]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    write_ledger(out / "ledger.csv", outcomes)
    write_requests(out / "requests.csv", outcomes)
    plot(out / "rehearsal.png", report, outcomes, attempts, weights)
