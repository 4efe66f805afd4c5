"""The rehearsal's stand-ins for the Lambda and for an operator's ``bluegreen db switchover``: separate
processes running the project's shifter (world.shifter), so a kill is a real kill.

    python -m bluegreen.rehearsal.worker lambda --world W    # one JSON event per stdin line -> one result line
    python -m bluegreen.rehearsal.worker switch --world W --to green [--die-after fence] [--delays aws]
        [--stop-after fence] [--delay cdc_apply_seconds=12]

``--die-after STEP`` SIGKILLs the process right after the switchover journaled STEP as done: the
journal is left as a crashed Lambda leaves it, and the next run finds it (db/journal.py).
``--stop-after STEP`` SIGSTOPs it there instead (a run frozen past its lease: a GC pause, a throttled
sandbox); whoever sent SIGCONT finds it carrying on where it stopped (the fault matrix, matrix.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from typing import Any

# Results go to the real stdout, one JSON line each; the shifter's own JSON logs (powertools writes to
# stdout) go to stderr, which the rehearsal keeps as the audit trail. Set before the shifter is imported.
RESULTS = os.fdopen(os.dup(1), "w", buffering=1)
sys.stdout = sys.stderr

from .delays import PROFILES, Delays, parse_override  # noqa: E402 - after sys.stdout is redirected: the shifter's logger must take stderr
from .world import World, local_switchover, shifter  # noqa: E402 - after sys.stdout is redirected: the shifter's logger must take stderr


def emit(doc: dict[str, Any]) -> None:
    RESULTS.write(json.dumps(doc, default=str) + "\n")
    RESULTS.flush()


def signal_after(step: str | None, signum: int, said: str):
    """An after-action hook that records ``said`` and sends this process ``signum`` once the step named
    ``step`` is done (None: no hook)."""
    if not step:
        return None

    def after(name: str) -> None:
        # ``fence`` names "fence old writer" (db/journal.py's action names, by their first word).
        if name == step or name.split()[0] == step:
            emit({said: name, "at": time.time()})
            os.kill(os.getpid(), signum)

    return after


def die_after(step: str | None):
    return signal_after(step, signal.SIGKILL, "killed_after")


def stop_after(step: str | None):
    return signal_after(step, signal.SIGSTOP, "stopped_after")


def lambda_loop(world: World, step: str | None) -> int:
    """Each line is one invocation (events are handled one at a time, as with reserved concurrency 1)."""
    shift = shifter(world, switchover=local_switchover(world, after_action=die_after(step)))
    emit({"ready": True})
    for line in sys.stdin:
        event = json.loads(line)
        started = time.time()
        try:
            if "command" in event:  # an operator's command (bluegreen shift start|pause|rollback ...)
                result: dict[str, Any] = shift.run(event["command"], actor=event.get("actor", ""), reason=event.get("reason", ""))
            else:
                result = shift.tick(event)
        except Exception as err:  # noqa: BLE001 - reported to the driver as the Lambda's error would be
            result = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        result["started"], result["ended"] = started, time.time()
        emit(result)
    return 0


def switch(world: World, to: str, step: str | None, delays: Delays | None = None, stop: str | None = None) -> int:
    kind = local_switchover(world, after_action=die_after(step) or stop_after(stop), delays=delays)
    shift = shifter(world, switchover=kind, delays=delays)
    started = time.time()
    try:
        changes = kind.switch(shift.clients, shift.config, to, "operator (rehearsal)")
        last = kind.last
        out = {"ok": True, "changes": changes, "timeline": last.timeline if last else [],
               "write_pause": last.write_pause if last else None,
               "fence_at": last.fence_at if last else None}
    except Exception as err:  # noqa: BLE001 - the caller reports it
        out = {"ok": False, "error": f"{type(err).__name__}: {err}"}
    out["started"], out["ended"] = started, time.time()
    emit(out)
    return 0 if out["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.rehearsal.worker")
    parser.add_argument("mode", choices=("lambda", "switch"))
    parser.add_argument("--world", required=True)
    parser.add_argument("--to", choices=("blue", "green"))
    parser.add_argument("--die-after", default=None)
    parser.add_argument("--delays", choices=PROFILES, default=None, help="this switchover's delay profile (default: the world's)")
    parser.add_argument("--stop-after", default=None, help="SIGSTOP this process right after that step (switch only)")
    parser.add_argument("--delay", action="append", default=[], metavar="NAME=SECONDS",
                        help="override one delay of this switchover's profile (switch only)")
    args = parser.parse_args(argv)
    # The shifter logs JSON (powertools) to stdout; results go there too, so its logs go to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    world = World.load(args.world)
    if args.mode == "lambda":
        return lambda_loop(world, args.die_after)
    if not args.to:
        parser.error("switch needs --to blue|green")
    overrides = dict(parse_override(d) for d in args.delay)
    delays = Delays.profile(args.delays or "none", overrides) if (args.delays or overrides) else None
    if overrides and not args.delays:  # overrides apply to the world's own profile
        delays = Delays(**{**world.delays, **overrides})
    return switch(world, args.to, args.die_after, delays, args.stop_after)


if __name__ == "__main__":
    sys.exit(main())
