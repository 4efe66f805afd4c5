"""The detection benchmark (issue 25): every detection scenario once and N clean runs, each a full
``scripts/rehearse`` run in its own process, then one table of fault -> alarm and fault -> 0 % green,
compressed and in AWS time, and the clean runs' rollbacks. Not a test: figures go to docs/rehearsal.md.

    python -m bluegreen.rehearsal.detection_benchmark --rate 140 --clean-runs 10 --out .rehearsal/detection
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .plans import FAULTS


def run(scenario: str, rate: float, out: Path, extra: list[str]) -> dict:
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "bluegreen.rehearsal", "--scenario", scenario, "--rate", f"{rate:g}",
                           "--out", str(out), *extra], capture_output=True, text=True, timeout=900)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    load = os.getloadavg()[0]
    return {"scenario": scenario, "exit": proc.returncode, "seconds": round(time.time() - started),
            "load_1min_after": round(load, 1), **{k: report.get(k) for k in (
                "fault_to_alarm_s", "fault_to_alarm_aws_s", "fault_to_blue_s", "fault_to_blue_aws_s", "lost",
                "duplicated", "failed", "achieved_rate", "rolled_back", "final_status", "scenario_error")},
            "first_alarm": next((c.get("reason", "") for c in report.get("alarm_changes", [])
                                 if c.get("gate") and c["state"] == "ALARM"), "")[:160]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="detection_benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=140.0)
    p.add_argument("--clean-runs", type=int, default=10)
    p.add_argument("--scenarios", default=",".join(FAULTS), help="comma-separated detection scenarios")
    p.add_argument("--out", default=".rehearsal/detection")
    p.add_argument("--bake", type=float, default=None, help="passed to each run (scripts/rehearse --bake)")
    p.add_argument("--time-scale", type=float, default=None, help="passed to each run (scripts/rehearse --time-scale)")
    args = p.parse_args(argv)
    extra = [x for name, v in (("--bake", args.bake), ("--time-scale", args.time_scale)) if v is not None
             for x in (name, f"{v:g}")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    plan = [s for s in args.scenarios.split(",") if s] + ["clean"] * args.clean_runs
    for i, scenario in enumerate(plan):
        row = run(scenario, args.rate, out / f"{i:02d}-{scenario}", extra)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "summary.json").write_text(json.dumps(rows, indent=2))
    clean = [r for r in rows if r["scenario"] == "clean"]
    print(f"\nclean runs: {len(clean)}, rolled back: {sum(bool(r['rolled_back']) for r in clean)}, "
          f"completed: {sum(r['final_status'] == 'completed' for r in clean)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
