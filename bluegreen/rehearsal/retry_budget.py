"""The client's retry budget: retries may add at most a fixed share to the load, whatever fails.

Without it, every request the service refuses or drops comes back (same key, after a backoff), so
an overloaded service sees its load multiplied by its own refusals: a metastable failure (issue 26).
As in Finagle's and gRPC's retry budgets, each first attempt deposits ``ratio`` of a token, and a
floor of ``min_per_second`` tokens a second keeps a quiet client able to retry; each retry takes one
token. A retry with no token waits for one (it is never sent early and never dropped: the request
still gets its whole time budget, so the count is unchanged; only the pace of retries is bounded).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RetryBudget:
    ratio: float = 0.2
    min_per_second: float = 10.0
    #: Tokens that may pile up in a quiet time (so a burst of retries after a pause is bounded too).
    cap: float = 50.0
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(default=0.0, init=False)
    retries: int = field(default=0, init=False)
    waited: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.ratio < 0 or self.min_per_second < 0 or self.cap < 1:
            raise ValueError(f"retry budget: ratio and min_per_second >= 0, cap >= 1: {self}")
        self._last = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.cap, self.tokens + (now - self._last) * self.min_per_second)
        self._last = now

    def deposit(self) -> None:
        """A first attempt was sent."""
        self._refill()
        self.tokens = min(self.cap, self.tokens + self.ratio)

    def try_take(self) -> bool:
        """Take a token for one retry now, if there is one."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            self.retries += 1
            return True
        return False

    async def take(self, deadline: float, poll: float = 0.02) -> bool:
        """Wait (until ``deadline`` on this budget's clock) for a token; False when none came in time."""
        if self.try_take():
            return True
        self.waited += 1
        while self.clock() < deadline:
            await asyncio.sleep(poll)
            if self.try_take():
                return True
        return False
