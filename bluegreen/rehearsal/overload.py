"""The overload scenario (issue 26): twice the stack's measured capacity for 30 s, then back to the
normal rate. The service must refuse fast what it cannot take (503 + Retry-After from its admission
limit, app/payment_api/admission.py), keep what it accepts bounded, keep answering its health checks,
and come back by itself; the client retries refused payments with the same key within its retry budget
(retry_budget.py), so every retried payment is made exactly once or told failed.

``--capacity`` is the whole stack's capacity in payments/s, measured beforehand with ``payment-api
bench`` or the wrk bench (docs/payment-service.md, "Capacity"); the burst is a second open-loop client
at ``2 x capacity - rate`` on top of the run's own load, its payments counted with the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .haproxy import COLOURS
from .loadgen import LoadFleet
from .report import percentile

if TYPE_CHECKING:
    from .scenario import Rehearsal

BURST_SECONDS = 30.0
#: After the load falls: long enough to see p99 back under 50 ms within the 10 s target.
AFTER_SECONDS = 15.0


class HealthWatch:
    """The target groups' health as HAProxy's checks hold it, sampled every 0.2 s: the most servers down."""

    def __init__(self, reh: Rehearsal) -> None:
        self.proxy = reh.world.haproxy()
        self.worst = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="health-watch")

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.worst = max(self.worst, sum(self.proxy.unhealthy(c) for c in COLOURS))
                self.samples += 1
            except Exception:  # noqa: BLE001 - a missed sample is not a down server
                continue

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def figures(outcomes: list[Any], attempts: list[Any], start: float, fall: float) -> dict[str, Any]:
    """What the burst did (pure): refused and accepted answers' p99 inside it, and the retried payments."""
    inside = [a for a in attempts if start <= a.at <= fall]
    refused = [a.seconds * 1000 for a in inside if a.status == 503]
    accepted = [a.seconds * 1000 for a in inside if a.status is not None and a.status < 300]
    retried = [o for o in outcomes if o.attempts > 1 and start <= o.due <= fall]
    def p99(values: list[float]) -> float | None:
        got = percentile(values, 0.99)
        return None if got is None else round(got, 1)

    return {"overload_refused": len(refused), "overload_accepted": len(accepted),
            "overload_no_answer": sum(1 for a in inside if a.status is None),
            "overload_refused_p99_ms": p99(refused), "overload_accepted_p99_ms": p99(accepted),
            "overload_retried": len(retried),
            "overload_retried_unacknowledged": sum(1 for o in retried if not o.acknowledged)}


def run(reh: Rehearsal, warm_up: Callable[[Rehearsal], None]) -> None:
    """``warm_up``: the procedure scenarios' (procedure_faults.py, which runs this one)."""
    o = reh.o
    capacity = o.capacity
    if not capacity:
        raise RuntimeError("the overload scenario needs --capacity PAYMENTS_PER_S (the stack's, measured with "
                           "payment-api bench or app/bench/wrk_capacity.py: docs/payment-service.md)")
    extra = 2 * capacity - o.rate
    if extra <= 0:
        raise RuntimeError(f"--rate {o.rate:g} is already at least twice --capacity {capacity:g}: nothing to add")
    warm_up(reh)
    reh.marks.phase(f"overload: {2 * capacity:g} payments/s for {BURST_SECONDS:g} s", o.say)
    with HealthWatch(reh) as health:
        burst = LoadFleet(reh.world.url, extra, duration=BURST_SECONDS, tls=reh.stack.tls, run_id="burst")
        burst.start()
        fall = burst.started_at + BURST_SECONDS
        time.sleep(max(0.0, fall - time.time()))
        reh.marks.events.append({"at": fall, "event": "fault end", "detail": "load back to normal"})
        reh.marks.phase("load back to normal", o.say, at=fall)
        burst.join()  # its last payments' retries
        time.sleep(max(0.0, fall + max(o.bake, AFTER_SECONDS) - time.time()))
    # The burst's payments are the run's: counted, reconciled and reported with the rest.
    reh.load.outcomes += burst.outcomes
    reh.load.attempts += burst.attempts
    reh.overload = {"overload_capacity": capacity, "overload_rate": 2 * capacity, "overload_burst_s": BURST_SECONDS,
                    "overload_unhealthy_max": health.worst, "overload_health_samples": health.samples,
                    **figures(burst.outcomes, burst.attempts, burst.started_at, fall)}


__all__ = ["BURST_SECONDS", "HealthWatch", "figures", "run"]
