"""What ``bluegreen shift`` and ``bluegreen db`` print when ``--json`` is not given: the readable form
of the same result the JSON carries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def format_result(result: Mapping[str, Any]) -> str:
    if result.get("command") in ("evidence", "evidence verify"):
        return f"{result['command']}: {result['entries']} entries, chain head {result['head']}"
    if result.get("command") == "approve":
        return (f"approved: {result['change_id']} {result['action']} by {result['approved_by']} "
                f"until {result['expires_at']}")
    if str(result.get("command", "")).startswith("db "):
        return format_db(result)
    if result.get("command") == "status":
        return format_status(result)
    lines = []
    decision = result["decision"]
    lines.append(f"{decision['action']}: {decision['reason']}")
    lines += _changes(result.get("changes", []))
    lines += [f"  note: {n}" for n in result.get("notes", [])]
    tick = result.get("tick")
    if tick:
        lines.append(f"then {tick['decision']['action']}: {tick['decision']['reason']}")
        lines += _changes(tick.get("changes", []))
    state = result["state"]
    lines.append(f"status now: {state['status']} (step {_step(state['step_index'])}, version {state['version']})")
    return "\n".join(lines)


def _changes(changes: Sequence[str]) -> list[str]:
    return [f"  changed: {c}" for c in changes] or ["  changed: nothing"]


def _step(index: int) -> str:
    return "-" if index < 0 else str(index + 1)


def format_status(s: Mapping[str, Any]) -> str:
    state = s["state"]
    weights = s["weights"]
    plan = s["plan"]
    steps = plan.get("steps", []) if isinstance(plan, Mapping) else []
    rows = [
        ("deployment", f"{s.get('environment', '')} (function {s.get('function', '')})"),
        ("status", f"{state['status']}, step {_step(state['step_index'])} of {len(steps) or '?'}, version {state['version']}"),
        ("step started", state.get("step_started_at") or "-"),
        ("reason", state.get("reason") or "-"),
        ("updated by", f"{state.get('updated_by') or '-'} at {state.get('updated_at') or '-'}"),
    ]
    if state.get("pending"):
        rows.append(("in progress", json.dumps(state["pending"], sort_keys=True)))
    route53 = ", ".join(f"{r['type']} {r['blue']}/{r['green']}" for r in weights["route53"]) or "no weighted records"
    expected = s.get("expected_green_weight")
    sync = "in sync" if s.get("in_sync") else "NOT in sync"
    listeners = weights.get("listeners") or []
    if listeners:
        # One ALB per colour (issue 16): every listener's weights, by its load balancer's name.
        alb = ", ".join(f"{_alb_name(lw['listener'])} {lw['blue']}/{lw['green']}" for lw in listeners)
    else:
        alb = f"ALB {weights['alb']['blue']}/{weights['alb']['green']}"
    rows.append(("weights", f"{alb} | Route 53 {route53} | SSM {weights['ssm']}"))
    rows.append(("", f"(blue/green; the state expects green {expected if expected is not None else '?'}: {sync})"))
    for i, gate in enumerate(s["gates"]):
        reason = f": {gate['reason']}" if gate["state"] != "OK" else ""
        rows.append(("gates" if i == 0 else "", f"{gate['state']:<17} {gate['name']}{reason}"))
    if not s["gates"]:
        rows.append(("gates", "none configured (the shift never advances)"))
    for problem in s.get("problems", []):
        rows.append(("PROBLEM", problem))
    for i, step in enumerate(steps):
        mark = ">" if i == state["step_index"] else " "
        what = f"green {step['green_weight']}" if step.get("kind", "traffic") == "traffic" else step["kind"]
        rows.append(("plan" if i == 0 else "", f"{mark} {i + 1}. {what}, bake {step['bake_seconds']} s"))
    if state.get("plan_hash"):
        # The shift runs the plan it was started on; an edited parameter holds it (docs/traffic-shifting.md).
        same = state["plan_hash"] == s.get("plan_hash")
        rows.append(("plan bound", f"{state['plan_hash']} "
                                   f"({'the parameter holds it' if same else 'the parameter holds ' + str(s.get('plan_hash')) + ': EDITED, the shift holds'})"))
    low = s.get("low_traffic")
    if low:
        served = "?" if low["green_requests"] is None else f"{low['green_requests']:.0f}"
        rows.append(("traffic", f"green served {served} request(s) this bake (LOW_TRAFFIC_MIN_REQUESTS {low['min_requests']})"
                                + (": too few, the step holds" if low["holding"] else "")))
    nxt = s.get("next_tick") or {}
    rows.append(("next tick", f"{nxt.get('action')}: {nxt.get('reason')}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _alb_name(listener_arn: str) -> str:
    """``arn:...:listener/app/alb-blue-dev-d01/<id>/<id>`` -> ``alb-blue-dev-d01``."""
    parts = listener_arn.split("/")
    return parts[2] if len(parts) >= 5 and parts[1] in ("app", "net") else listener_arn


def format_db(result: Mapping[str, Any]) -> str:
    if result["command"] == "db switchover":
        return "\n".join([f"db switchover -> {result['to']}:", *_changes(result["changes"])])
    lines = [f"writer      {result['writer']} ({result['writer_name']} -> {result['writer_target']})",
             f"switchover  to {result['switchover_to']}: {'READY' if result['ready'] else 'NOT ready'}"
             + (" (an unfinished switchover is recovered first: see below)" if result.get("unfinished") else "")]
    for c in result["guardrails"]:
        lines.append(f"  {'ok  ' if c['ok'] else 'FAIL'} {c['guardrail']}: {json.dumps(c['saw'], default=str, sort_keys=True)}")
    lines += _format_unfinished(result.get("unfinished"), result.get("next_run") or {}, result.get("checked_at"))
    return "\n".join(lines)


#: What the next run (the next tick, or any ``bluegreen db`` command) does about the journal.
NEXT_RUN = {
    "none": "nothing to recover",
    "wait": "WAIT: the switchover's run is alive (its lease is live); nothing is touched",
    "finish": "FINISH it forward",
    "undo": "UNDO it (the old writer keeps the writes)",
}


def _format_unfinished(unfinished: Mapping[str, Any] | None, nxt: Mapping[str, Any], checked_at: str | None) -> list[str]:
    """The journal of a switchover that has not closed, and the recovery rule's verdict on it."""
    if not unfinished:
        lines = ["unfinished  none"]
    else:
        lease = unfinished.get("lease_until") or "-"
        # Both are ISO-8601 UTC strings of one format, so they compare as text; journal.recovery decides the same way.
        alive = checked_at is not None and bool(checked_at) and lease != "-" and checked_at < lease
        lines = [
            f"unfinished  switchover {unfinished.get('from')} -> {unfinished.get('to')} by {unfinished.get('by')} "
            f"since {unfinished.get('at')} (run {unfinished.get('run')})",
            f"            journal: done {', '.join(unfinished.get('done') or []) or '-'}; "
            f"in progress {unfinished.get('doing') or '-'}",
            f"            lease until {lease} ({'live: its run is still going' if alive else 'lapsed: its run died'}"
            f"{', checked ' + checked_at if checked_at else ''})",
        ]
    action = str(nxt.get("action") or "none")
    steps = list(nxt.get("steps") or [])
    lines.append(f"next run    {NEXT_RUN.get(action, action)}{': ' + ', '.join(steps) if steps else ''}")
    if unfinished and nxt.get("why"):
        lines.append(f"            {nxt['why']}")
    return lines
