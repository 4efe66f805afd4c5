"""The fault matrix (issue 26): ``scripts/rehearse --matrix [--rate R] [--scenarios a,b]`` runs each
scenario as its own rehearsal (setup, load, fault, recovery, count: cli.rehearse_local), judges it
against the outcome written down for it here BEFORE it runs (EXPECTED), and prints one line each;
``<out>/matrix.json`` holds the lines and ``<out>/matrix.png`` one plot. Each scenario's own report
is in ``<out>/<scenario>/``.

An expectation is judged only on facts the report states (final_writer, rolled_back, final_status,
switchovers, recovery, scenario_error); the count (lost, duplicated, charged but told failed, each 0)
is judged for every scenario alike. Timing (client write gap, time to recover) is reported, not judged
here: the report's own targets carry it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .plans import SCENARIOS, Options

Facts = dict[str, Any]


@dataclass(frozen=True)
class Expected:
    says: str
    check: Callable[[Facts], list[str]]


def _is(key: str, want: Any) -> Callable[[Facts], list[str]]:
    return lambda r: [] if r.get(key) == want else [f"{key} {r.get(key)!r}, expected {want!r}"]


def _all(*checks: Callable[[Facts], list[str]]) -> Callable[[Facts], list[str]]:
    return lambda r: [why for c in checks for why in c(r)]


def _completed(r: Facts) -> list[str]:
    return [] if r.get("scenario_completed") else [f"the scenario stopped: {r.get('scenario_error')}"]


def _recovered(word: str) -> Callable[[Facts], list[str]]:
    def check(r: Facts) -> list[str]:
        changes = (r.get("recovery") or {}).get("changes") or []
        return [] if any(word in c for c in changes) else [f"no recovery {word!r} (recovery: {changes})"]
    return check


def _switched(n: int) -> Callable[[Facts], list[str]]:
    """Exactly ``n`` switchovers moved the writer (had a write pause)."""
    def check(r: Facts) -> list[str]:
        moved = [s for s in r.get("switchovers") or () if s.get("ok") and s.get("write_pause") is not None]
        return [] if len(moved) == n else [f"{len(moved)} switchover(s) moved the writer, expected {n}"]
    return check


def _failed_with(*words: str) -> Callable[[Facts], list[str]]:
    """Some switchover failed, its error naming every one of ``words``."""
    def check(r: Facts) -> list[str]:
        errors = [str(s.get("error") or "") for s in r.get("switchovers") or () if not s.get("ok")]
        if any(all(w in e for w in words) for e in errors):
            return []
        return [f"no switchover failed with {' + '.join(words)!r} (errors: {[e[:160] for e in errors]})"]
    return check


ROLLED_BACK = _all(_completed, _is("rolled_back", True), _is("final_status", "rolled_back"), _is("final_writer", "blue"))

#: Each scenario's expected outcome, written down before it runs.
EXPECTED: dict[str, Expected] = {
    "default": Expected("writer to green by the plan step, the green fault rolled back to blue, writer back to blue",
                        _all(_completed, _is("rolled_back", True), _is("final_writer", "blue"), _switched(2))),
    "crash": Expected("killed after the fence: undone by the next run (blue writes), then as default",
                      _all(_completed, _recovered("undoing it"), _is("final_writer", "blue"), _switched(2))),
    "pause": Expected("writes pause and resume on green, then on blue",
                      _all(_completed, _switched(2), _is("final_writer", "blue"))),
    **{name: Expected("rolled back by the gates, writer stays blue", ROLLED_BACK)
       for name in ("hard-fault", "errors", "one-task", "latency", "slow-db")},
    "clean": Expected("the shift completes, no rollback",
                      _all(_completed, _is("rolled_back", False), _is("final_status", "completed"))),
    "low-traffic": Expected("holds at 10 % and says why, no rollback",
                            _all(_completed, _is("rolled_back", False), _is("final_status", "running"))),
    "rollback-10": Expected("green killed at 10 %: undone by the gates, all traffic blue, writer stays blue", ROLLED_BACK),
    "rollback-50": Expected("green killed at 50 %: undone by the gates, all traffic blue, writer stays blue", ROLLED_BACK),
    "finish": Expected("killed after the unfence: finished by the next run (green writes), then switched back",
                       _all(_completed, _recovered("finishing it"), _switched(1), _is("final_writer", "blue"))),
    "lease-lost": Expected("frozen past its lease: undone by the next run; resumed, it stops (LeaseLost), blue writes",
                           _all(_completed, _recovered("undoing it"), _failed_with("LeaseLost"), _switched(0),
                                _is("final_writer", "blue"))),
    "worker-killed": Expected("the Lambda killed in the plan's db_switchover: undone by the next run, the step runs "
                              "again, writer green",
                              _all(_completed, _recovered("undoing it"), _switched(1), _is("final_writer", "green"))),
    "drain-timeout": Expected("lag above the drain timeout: the drain times out, undone, writer stays blue",
                              _all(_completed, _failed_with("undone", "writer stays on blue"), _switched(0),
                                   _is("final_writer", "blue"))),
    "replication-broken": Expected("replication stopped: the guardrails refuse the cut-over, nothing moves",
                                   _all(_completed, _failed_with("refused", "nothing was changed"), _switched(0),
                                        _is("final_writer", "blue"))),
    "db-cut": Expected("writes pause for the cut and resume on blue; nothing switches",
                       _all(_completed, _switched(0), _is("final_writer", "blue"), _is("rolled_back", False))),
    "db-restart": Expected("writes pause until the database is back, resume on blue; nothing switches",
                           _all(_completed, _switched(0), _is("final_writer", "blue"), _is("rolled_back", False))),
    "switch-back-50": Expected("the plan's switchovers to green and back to blue at 50/50, no rollback",
                               _all(_completed, _switched(2), _is("final_writer", "blue"), _is("rolled_back", False))),
    "operator-race": Expected("exactly one of the two moves the writer to green; the other finds it moved or is refused",
                              _all(_completed, _switched(1), _is("final_writer", "green"), _is("rolled_back", False))),
    "overload": Expected("twice the capacity for 30 s: the excess refused (503), the rest served, back by itself; "
                         "nothing switches",
                         _all(_completed, _switched(0), _is("final_writer", "blue"), _is("rolled_back", False),
                              _is("overload_retried_unacknowledged", 0))),
}
#: What the count must show in every scenario.
COUNT = ("lost", "duplicated", "charged_but_failed")
#: ``--matrix`` without ``--scenarios``: every scenario but the long-running hold (low-traffic needs its own rate).
#: Nor the overload, which needs --capacity.
DEFAULT_MATRIX = tuple(s for s in SCENARIOS if s in EXPECTED and s not in ("low-traffic", "overload"))


def judge(scenario: str, report: Facts) -> dict[str, Any]:
    """The expectation and the count, judged on the report's facts (pure)."""
    why = EXPECTED[scenario].check(report)
    for key in COUNT:
        if report.get(key) != 0:
            why.append(f"{key} {report.get(key)}")
    return {"expected": EXPECTED[scenario].says, "met": not why, "why_not": why}


def line(scenario: str, report: Facts, verdict: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": scenario, "met": verdict["met"], "expected": verdict["expected"], "why_not": verdict["why_not"],
            **{k: report.get(k) for k in (*COUNT, "requests", "acknowledged", "failed_percent", "client_write_gap_s",
                                          "time_to_recover_s", "p99_recovered", "not_recovered_within_s", "achieved_rate", "final_writer",
                                          "rolled_back", "final_status", "scenario_error")},
            "targets_missed": [n for n, t in (report.get("targets") or {}).items() if t.get("met") is False]}


HEADER = (f"{'scenario':<19} {'met':<4} {'lost':>4} {'dup':>4} {'cbf':>4} {'failed %':>9} {'gap s':>6} {'recover s':>9}  "
          "expected")


def row(m: dict[str, Any]) -> str:
    def f(v: Any, spec: str = "") -> str:
        return "-" if v is None else format(v, spec)
    recover = (f"> {m['not_recovered_within_s']:.1f}" if m.get("p99_recovered") is False
               else f(m.get("time_to_recover_s"), ".1f"))
    text = (f"{m['scenario']:<19} {'yes' if m['met'] else 'NO':<4} {f(m['lost']):>4} {f(m['duplicated']):>4} "
            f"{f(m['charged_but_failed']):>4} {f(m['failed_percent'], '.2f'):>9} {f(m['client_write_gap_s'], '.2f'):>6} "
            f"{recover:>9}  {m['expected']}")
    return text + (f"\n{'':<24}not met: {'; '.join(m['why_not'])}" if m["why_not"] else "")


def plot(path: Path, lines: Sequence[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m["scenario"] for m in lines]
    colours = ["tab:green" if m["met"] else "tab:red" for m in lines]
    fig, axes = plt.subplots(3, 1, figsize=(12, 9), sharex=True)
    for ax, key, label in ((axes[0], "client_write_gap_s", "client write gap (s)"),
                           (axes[1], "time_to_recover_s", "time to recover, p99 < 50 ms (s)"),
                           (axes[2], "failed_percent", "failed (% of requests)")):
        ax.bar(names, [m.get(key) or 0 for m in lines], color=colours)
        ax.set_ylabel(label, fontsize=8)
    axes[2].tick_params(axis="x", rotation=40)
    fig.suptitle("fault matrix: green = expectation and count met, red = not")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(base: Options, scenarios: Sequence[str], out: Path,
        rehearse: Callable[[Options, Path], Facts], options_for: Callable[[str], Options] | None = None) -> list[dict[str, Any]]:
    """Each scenario as its own rehearsal; one line each, printed as it ends; matrix.json and matrix.png."""
    out.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = []
    print(HEADER, flush=True)
    for scenario in scenarios:
        o = options_for(scenario) if options_for else replace(base, scenario=scenario)
        try:
            report = rehearse(o, out / scenario)
        except Exception as err:  # noqa: BLE001 - one scenario's set-up failing is its line, not the matrix's end
            report = {"scenario_completed": False, "scenario_error": f"{type(err).__name__}: {err}"}
        m = line(scenario, report, judge(scenario, report))
        lines.append(m)
        print(row(m), flush=True)
    summary = {"rate": base.rate, "load_average": os.getloadavg(), "lines": lines,
               "met": sum(m["met"] for m in lines), "of": len(lines)}
    (out / "matrix.json").write_text(json.dumps(summary, indent=2, default=str))
    plot(out / "matrix.png", lines)
    return lines


__all__ = ["COUNT", "DEFAULT_MATRIX", "EXPECTED", "Expected", "HEADER", "judge", "line", "row", "run"]
