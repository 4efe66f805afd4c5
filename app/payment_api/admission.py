"""Admission control: what one process accepts, and a fast 503 for the rest.

Beyond its capacity a process that queues without bound makes every answer slow, and the clients'
retries add to the load until nothing is answered in time (a metastable failure, issue 26). So each
process admits at most ``limit`` requests at once, lets at most ``queue`` more wait for at most
``queue_wait`` seconds, and answers every other one 503 with ``Retry-After`` at once: the client
retries it with the same idempotency key (nothing was done for it). The health check is never
counted nor refused: the load balancer must see a busy process as alive, or it would take away the
capacity that is left.

uvicorn's ``limit_concurrency`` (STYLE.md item 30) answers 503 beyond a bound too, but counts every
connection and task, /health included, and says nothing of when to come back; this is the same idea
as a pure ASGI middleware that exempts /health and sends Retry-After.

The limit counts requests, not CPU: a payment that waits on a fenced writer during a switchover
(retry.py, up to WRITE_RETRY_SECONDS) holds its place. LIMIT leaves room for the write pause at the
design rate (at 70 payments/s per task a 2 s pause holds about 150), so a switchover is not turned
into refusals; what is beyond that is refused, not queued.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

#: Requests one process works on at once (see the module's note on the write pause).
LIMIT = 200
#: Requests that may wait for a place, and how long each may wait before it is refused.
QUEUE = 50
QUEUE_WAIT_SECONDS = 0.05
#: What a refused client is told to wait before its retry (whole seconds: RFC 9110 delay-seconds).
RETRY_AFTER_SECONDS = 1
#: Paths never counted nor refused.
EXEMPT = frozenset({"/health"})


@dataclass(frozen=True)
class Limits:
    limit: int = LIMIT
    queue: int = QUEUE
    queue_wait: float = QUEUE_WAIT_SECONDS
    retry_after: int = RETRY_AFTER_SECONDS

    def __post_init__(self) -> None:
        if self.limit < 1 or self.queue < 0 or self.queue_wait < 0 or self.retry_after < 0:
            raise ValueError(f"admission limits must be limit >= 1, queue >= 0, queue_wait >= 0, retry_after >= 0: {self}")


REFUSAL = json.dumps({"error": "this instance is at its capacity; retry after Retry-After seconds with the same "
                               "Idempotency-Key (nothing was done for this request)"}, separators=(",", ":")).encode()


class Admission:
    """The ASGI middleware. ``refused``/``admitted``/``in_flight``/``waiting`` are its counters (one event loop per
    process, so plain integers are exact)."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()
        self._slots = asyncio.Semaphore(self.limits.limit)
        self.in_flight = self.waiting = self.admitted = self.refused = 0

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT:
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            self.refused += 1
            await self._refuse(send)
            return
        self.admitted += 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._slots.release()

    async def _enter(self) -> bool:
        if not self._slots.locked():
            await self._slots.acquire()  # a free place: returns at once
            return True
        if self.waiting >= self.limits.queue or not self.limits.queue_wait:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.limits.queue_wait)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    async def _refuse(self, send: Callable[[Message], Awaitable[None]]) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(REFUSAL)).encode()),
            (b"retry-after", str(self.limits.retry_after).encode()), (b"connection", b"keep-alive")]})
        await send({"type": "http.response.body", "body": REFUSAL})
