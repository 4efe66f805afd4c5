"""The client's retry budget: retries add at most ratio x first attempts (plus the floor over time)."""

from __future__ import annotations

import asyncio

from bluegreen.rehearsal.retry_budget import RetryBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_retry_budget__every_request_fails__retries_bounded_by_the_ratio():
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_second=0.0, clock=clock)
    granted = 0
    for _ in range(1000):  # every first attempt fails and wants a retry at once
        budget.deposit()
        granted += budget.try_take()
    assert granted == 200


def test_retry_budget__floor__a_quiet_client_may_retry():
    clock = Clock()
    budget = RetryBudget(ratio=0.0, min_per_second=10.0, clock=clock)
    assert not budget.try_take()
    clock.now = 1.0
    assert sum(budget.try_take() for _ in range(50)) == 10


def test_retry_budget__take__waits_for_a_token_then_gives_up_at_the_deadline():
    budget = RetryBudget(ratio=0.0, min_per_second=0.0)
    assert asyncio.run(budget.take(budget.clock() + 0.05)) is False and budget.waited == 1
    budget.deposit()  # ratio 0: still nothing
    budget2 = RetryBudget(ratio=1.0, min_per_second=0.0)
    budget2.deposit()
    assert asyncio.run(budget2.take(budget2.clock() + 0.05)) is True and budget2.retries == 1
