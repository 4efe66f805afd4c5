"""The shifter's "Lambda" for the rehearsal: a worker process fed one event at a time.

Scheduled ticks come every ``tick_seconds`` (EventBridge's schedule on AWS, a minute apart) and
alarm state changes at once (EventBridge's alarm rule). A worker that dies (a crash, a kill) is
started again for the next event, as Lambda starts a fresh sandbox.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .started import started
from .world import World, aws_env


def alarm_event(name: str, state: str, reason: str, at: float) -> dict[str, Any]:
    """The CloudWatch "Alarm State Change" event EventBridge delivers to the shifter."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int((at % 1) * 1000):03d}+0000"
    return {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "time": stamp,
            "detail": {"alarmName": name, "state": {"value": state, "reason": reason, "timestamp": stamp}}}


def worker_command(world_path: Path, mode: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bluegreen.rehearsal.worker", mode, "--world", str(world_path), *extra]


def _pipe(stream: IO[str] | None) -> IO[str]:
    """A pipe of the worker, started with stdin and stdout PIPE (so never None)."""
    return started(stream, "the shifter worker's pipe")


class LambdaProcess:
    def __init__(self, world: World, *, tick_seconds: float = 1.0, log_path: Path | None = None) -> None:
        self.world, self.tick_seconds = world, tick_seconds
        self.world_path = Path(world.base) / "world.json"
        self.log_path = log_path or Path(world.base) / "lambda.log"
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.results: list[dict[str, Any]] = []
        self.restarts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, daemon=True, name="lambda"),
                         threading.Thread(target=self._schedule, daemon=True, name="schedule")]
        self._log = open(self.log_path, "a")

    def start(self) -> LambdaProcess:
        self._spawn()
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.events.put({"stop": True})
        for t in self._threads:
            t.join(timeout=30)
        if self._proc and self._proc.poll() is None:
            _pipe(self._proc.stdin).close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._log.close()

    def send(self, event: dict[str, Any]) -> int:
        """Queue ``event``; returns how many results there were before it (for ``wait_for(since=)``)."""
        since = len(self.results)
        self.events.put(event)
        return since

    def arm_kill(self, step: str) -> None:
        """The next sandbox dies (SIGKILL) right after its switchover's ``step`` (worker ``--die-after``): the
        worker is replaced by one armed so, between two events, as Lambda recycles a sandbox; later ones are not."""
        self.events.put({"recycle": step})

    def _spawn(self, die_after: str | None = None) -> subprocess.Popen[str]:
        extra = ["--die-after", die_after] if die_after else []
        self._proc = proc = subprocess.Popen(worker_command(self.world_path, "lambda", *extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self._log, text=True, bufsize=1, env={**os.environ, **aws_env(self.world.moto_url)})
        line = _pipe(proc.stdout).readline()
        if not line or not json.loads(line).get("ready"):
            raise RuntimeError(f"the shifter worker did not start; see {self.log_path}")
        return proc

    def _schedule(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            if self.events.empty():
                self.events.put({"detail-type": "Scheduled Event", "source": "aws.events"})

    def _serve(self) -> None:
        while True:
            event = self.events.get()
            if event.get("stop"):
                return
            if event.get("recycle"):
                if self._proc is not None and self._proc.poll() is None:
                    _pipe(self._proc.stdin).close()
                    self._proc.wait(timeout=30)
                self._spawn(event["recycle"])
                continue
            proc = self._proc
            if proc is None or proc.poll() is not None:
                self.restarts += 1
                proc = self._spawn()
            sent = time.time()
            try:
                _pipe(proc.stdin).write(json.dumps(event) + "\n")
                _pipe(proc.stdin).flush()
                line = _pipe(proc.stdout).readline()
            except (BrokenPipeError, OSError):
                line = ""
            result = json.loads(line) if line else {"ok": False, "error": "the worker died during this invocation"}
            result.setdefault("started", sent)
            result.setdefault("ended", time.time())
            result["event"] = event.get("detail-type")  # None: an operator command
            self.results.append(result)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str, *, since: int | None = None) -> dict[str, Any]:
        """The first result (from ``since``, default now) for which ``predicate(result)`` holds."""
        seen = len(self.results) if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for result in self.results[seen:]:
                if predicate(result):
                    return result
            time.sleep(0.05)
        last = self.results[-1] if self.results else {}
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; the last shifter run said: "
                           f"{json.dumps(last.get('decision') or last.get('error'), default=str)[:400]}")
