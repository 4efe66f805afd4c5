"""An open-loop payment client: a constant arrival rate, each request with its own idempotency key.

Open loop: request i is due at ``start + i / rate`` whether or not earlier ones were answered, and
its latency counts from that due time, so a stall shows as latency and as a gap, never as a
politely slower schedule (no coordinated omission). The client retries as a real payment client
does: the same key and body, on 5xx, timeouts and refused connections, with capped backoff
(honouring Retry-After), for at most ``retry_budget`` seconds; then the request counts as failed.
Retries draw on a budget (retry_budget.RetryBudget: at most a fifth more than the first attempts, with
a floor), so a refusing or failing service never sees its load multiplied by the retries.
Every acknowledged payment (201, or 200 for a replay) goes into the ledger.

With ``tls`` (client_tls.ClientTLS) each payment goes out under its merchant's client certificate,
over that merchant's own connections, as separate acquirers and terminals would send them; the
merchant of each payment is one of the certificates' merchants.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from payment_api import signing

from .client_tls import ClientTLS
from .retry_budget import RetryBudget

RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: The merchants payments are made for (the rehearsal issues each a client certificate).
MERCHANTS = tuple(f"m-{i:03d}" for i in range(40))


@dataclass
class Outcome:
    key: str
    due: float
    done: float = 0.0
    status: int | None = None
    attempts: int = 0
    payment_id: str = ""
    colour: str = ""
    error: str = ""
    merchant: str = ""
    #: The answer's X-Payment-Signature checked with the published public keys: None when not checked.
    signature_ok: bool | None = None
    #: What was sent (the count compares the stored payment with it) and whether the answer was a replay.
    amount_minor: int = 0
    currency: str = ""
    card_token: str = ""
    replayed: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.status in (200, 201) and bool(self.payment_id)

    @property
    def latency(self) -> float:
        return self.done - self.due


@dataclass(frozen=True)
class Attempt:
    at: float
    status: int | None  # None: timeout or connection error
    seconds: float


@dataclass
class LoadGenerator:
    url: str
    rate: float
    duration: float | None = None  # None: until stop()
    retry_budget: float = 30.0
    attempt_timeout: float = 15.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    progress: Callable[[str], None] | None = None
    progress_every: float = 5.0
    verify: bool | str = True
    tls: ClientTLS | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"--rate must be above 0 payments/s, got {self.rate}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = 0.0
        self.stopped_at = 0.0
        self.status_line: Callable[[], str] = lambda: ""
        self.retries = RetryBudget()

    # -- life cycle (a thread with its own event loop, so the scenario drives the world meanwhile) --------
    def start(self) -> LoadGenerator:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="loadgen")
        self._thread.start()
        while not self.started_at:
            time.sleep(0.01)
        return self

    def stop(self, wait_seconds: float | None = None) -> None:
        """Stop sending; wait for the requests in flight (each ends within its retry budget)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=wait_seconds if wait_seconds is not None else self.retry_budget + self.attempt_timeout + 5)

    def join(self) -> None:
        if self._thread:
            self._thread.join()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the schedule -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        timeout = httpx.Timeout(self.attempt_timeout, connect=3.0)
        async with contextlib.AsyncExitStack() as stack:
            if self.tls:
                # One client per merchant, each presenting its own certificate on its own connections.
                limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)
                clients = {m: await stack.enter_async_context(httpx.AsyncClient(
                    base_url=self.url, limits=limits, timeout=timeout, verify=self.tls.context(m))) for m in self.tls.merchants}
                # Each merchant's first connection (a full handshake: no resumption with mutual TLS) before the
                # schedule starts, as a terminal connects once and then pays over the open connection.
                await asyncio.gather(*(self._connect(c) for c in clients.values()))
            else:
                limits = httpx.Limits(max_connections=2000, max_keepalive_connections=400)
                one = await stack.enter_async_context(httpx.AsyncClient(base_url=self.url, limits=limits, timeout=timeout,
                                                                        verify=self.verify))
                clients = dict.fromkeys(MERCHANTS, one)
            self.started_at = time.time()
            start = time.monotonic()
            tasks: set[asyncio.Task] = set()
            i = 0
            next_progress = start + self.progress_every
            while not self._stop.is_set():
                due_mono = start + i / self.rate
                if self.duration is not None and due_mono - start >= self.duration:
                    break
                delay = due_mono - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                outcome = Outcome(key=f"reh-{self.run_id}-{i:08d}", due=self.started_at + (due_mono - start))
                self.outcomes.append(outcome)
                body = self.body(i)
                outcome.merchant, outcome.amount_minor = body["merchant_id"], body["amount_minor"]
                outcome.currency, outcome.card_token = body["currency"], body["card_token"]
                task = asyncio.create_task(self._pay(clients[outcome.merchant], outcome, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
                if self.progress and time.monotonic() >= next_progress:
                    next_progress += self.progress_every
                    self.progress(self.summary_line())
            self.stopped_at = time.time()
            if tasks:
                await asyncio.wait(tasks, timeout=self.retry_budget + self.attempt_timeout + 5)

    @staticmethod
    async def _connect(client: httpx.AsyncClient) -> None:
        try:
            await client.get("/signing-keys")
        except httpx.HTTPError:
            pass  # the schedule's own requests report what is wrong

    def summary_line(self) -> str:
        now = time.time()
        done = [o for o in self.outcomes if o.done]
        recent = [o.latency for o in done if now - o.done < self.progress_every]
        p99 = sorted(recent)[int(0.99 * (len(recent) - 1))] * 1000 if recent else 0.0
        acked = sum(o.acknowledged for o in done)
        failed = sum(not o.acknowledged for o in done)
        extra = self.status_line()
        return (f"t={now - self.started_at:5.0f}s sent {len(self.outcomes)} acknowledged {acked} failed {failed} "
                f"in flight {len(self.outcomes) - len(done)} p99 {p99:.0f} ms{(' | ' + extra) if extra else ''}")

    def body(self, i: int) -> dict[str, Any]:
        rnd = random.Random(f"{self.run_id}-{i}")
        merchants = self.tls.merchants if self.tls else MERCHANTS
        return {"merchant_id": merchants[rnd.randrange(len(merchants))], "customer_id": f"c-{rnd.randrange(400):04d}",
                "amount_minor": rnd.randrange(100, 50_000), "currency": rnd.choice(("EUR", "USD", "GBP")),
                "card_token": f"tok_{uuid.UUID(int=rnd.getrandbits(128)).hex}"}

    async def _pay(self, client: httpx.AsyncClient, outcome: Outcome, body: dict[str, Any]) -> None:
        headers = {"Idempotency-Key": outcome.key}
        backoff = 0.1
        self.retries.deposit()
        while True:
            outcome.attempts += 1
            t0 = time.time()
            retry_after = 0.0
            try:
                resp = await client.post("/payments", json=body, headers=headers)
                status = resp.status_code
                self.attempts.append(Attempt(t0, status, time.time() - t0))
                if status in (200, 201):
                    if self.tls and self.tls.signing_keys:
                        outcome.signature_ok = signing.verify(self.tls.signing_keys, status, resp.content,
                                                              resp.headers.get(signing.HEADER, ""))
                    data = resp.json()
                    outcome.payment_id, outcome.colour = str(data.get("payment_id", "")), str(data.get("colour", ""))
                    outcome.status, outcome.done = status, time.time()
                    outcome.replayed = resp.headers.get("Idempotent-Replayed") == "true"
                    return
                if status not in RETRY_STATUSES:
                    outcome.status, outcome.error, outcome.done = status, resp.text[:200], time.time()
                    return
                retry_after = float(resp.headers.get("Retry-After") or 0)
                outcome.status, outcome.error = status, resp.text[:200]
            except (httpx.TimeoutException, httpx.TransportError) as err:
                self.attempts.append(Attempt(t0, None, time.time() - t0))
                outcome.status, outcome.error = None, f"{type(err).__name__}: {err}"[:200]
            if time.time() - outcome.due >= self.retry_budget:
                outcome.done = time.time()
                return
            await asyncio.sleep(min(max(backoff, min(retry_after, 1.0)), 1.0))
            backoff = min(backoff * 2, 1.0)
            left = self.retry_budget - (time.time() - outcome.due)
            if not await self.retries.take(self.retries.clock() + left):
                outcome.done = time.time()
                return


def _child(url: str, rate: float, offset: float, duration: float | None, run_id: str, verify: bool | str,
           tls: dict | None, start_at: float, stop, counters, results) -> None:  # multiprocessing primitives
    """One process of the fleet: its own open-loop schedule (every n-th request), outcomes sent back at the end."""
    gen = LoadGenerator(url, rate, duration=duration, run_id=run_id, verify=verify, tls=ClientTLS.from_dict(tls))
    delay = start_at + offset - time.time()
    if delay > 0:
        time.sleep(delay)
    gen.start()
    while not stop.is_set() and gen.running():
        stop.wait(0.5)
        done = [o for o in gen.outcomes if o.done]
        counters[:] = [len(gen.outcomes), sum(o.acknowledged for o in done), sum(not o.acknowledged for o in done)]
    gen.stop()
    results.put((gen.started_at, gen.stopped_at, gen.outcomes, gen.attempts))


@dataclass
class LoadFleet:
    """The generator over several processes (one Python process tops out well below 140 payments/s of
    HTTP), each with every n-th slot of one constant-rate schedule, so together they are one open loop."""

    url: str
    rate: float
    duration: float | None = None
    processes: int = 2
    progress: Callable[[str], None] | None = None
    progress_every: float = 5.0
    verify: bool | str = True
    tls: ClientTLS | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"--rate must be above 0 payments/s, got {self.rate}")
        import multiprocessing

        self._mp = multiprocessing.get_context("spawn")
        self._stop = self._mp.Event()
        self._results = self._mp.Queue()
        self._counters = [self._mp.Array("l", 3) for _ in range(self.processes)]
        self._procs: list[Any] = []
        self.outcomes: list[Outcome] = []
        self.attempts: list[Attempt] = []
        self.started_at = self.stopped_at = 0.0
        self.status_line: Callable[[], str] = lambda: ""
        self._ticker: threading.Thread | None = None
        self._done = threading.Event()

    def start(self) -> LoadFleet:
        start_at = time.time() + 1.5  # every process imported and ready, then one schedule for all
        each = self.rate / self.processes
        for k in range(self.processes):
            # Each process pays for its own share of the merchants: half the connections (and handshakes) each.
            tls = self.tls.subset(self.tls.merchants[k::self.processes]) if self.tls else None
            p = self._mp.Process(target=_child, daemon=True, args=(
                self.url, each, k / self.rate, self.duration, f"{self.run_id}{k}", self.verify,
                tls.as_dict() if tls else None, start_at,
                self._stop, self._counters[k], self._results))
            p.start()
            self._procs.append(p)
        while time.time() < start_at:
            time.sleep(0.05)
        self.started_at = start_at
        if self.progress:
            self._ticker = threading.Thread(target=self._tick, args=(self.progress,), daemon=True, name="loadfleet-progress")
            self._ticker.start()
        return self

    def acknowledged_so_far(self) -> int:
        """Payments acknowledged so far across the processes (their live counters)."""
        return sum(c[1] for c in self._counters)

    def _tick(self, progress: Callable[[str], None]) -> None:
        while not self._done.wait(self.progress_every):
            sent, acked, failed = (sum(c[i] for c in self._counters) for i in range(3))
            extra = self.status_line()
            progress(f"t={time.time() - self.started_at:5.0f}s sent {sent} acknowledged {acked} failed {failed} "
                          f"in flight {sent - acked - failed}{(' | ' + extra) if extra else ''}")

    def _collect(self, timeout: float) -> None:
        starts, stops = [], []
        for _ in self._procs:
            started, stopped, outcomes, attempts = self._results.get(timeout=timeout)
            starts.append(started)
            stops.append(stopped)
            self.outcomes += outcomes
            self.attempts += attempts
        for p in self._procs:
            p.join(timeout=10)
        self.outcomes.sort(key=lambda o: o.due)
        self.attempts.sort(key=lambda a: a.at)
        self.started_at, self.stopped_at = min(starts), max(stops)
        self._done.set()

    def stop(self, wait_seconds: float = 60.0) -> None:
        self._stop.set()
        self._collect(wait_seconds)

    def join(self) -> None:
        self._collect(timeout=(self.duration or 0) + 120)
