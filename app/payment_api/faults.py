"""Fault injection for the dress rehearsal (gray failures): an error rate, added latency, a slow database.

It exists only when the service starts with ``REHEARSAL_FAULTS=true``, which no task definition sets
(tests/test_app/test_faults.py reads templates/compute.json) and which the settings refuse on ECS and
with IAM database auth (any deployed environment). Then ``PUT /rehearsal/faults`` sets, for this one
process, what the rehearsal asks: one instance of N failing is this control on one instance.

An injected error is answered before the payment is looked at (nothing written, the client retries
with the same key), so injection can make payments slow or failed, never lost or duplicated.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import event

ROUTE = "/rehearsal/faults"


@dataclass(frozen=True)
class Faults:
    #: Share of payments answered 500 (0-1).
    error_rate: float = 0.0
    #: Added to every payment before it is handled (ms).
    added_latency_ms: float = 0.0
    #: Added to every database statement of this process, with its connection held (ms).
    db_delay_ms: float = 0.0

    @classmethod
    def parse(cls, body: object) -> Faults:
        """From a JSON body; ValueError naming what is wrong."""
        if not isinstance(body, dict) or set(body) - set(cls.__dataclass_fields__):
            raise ValueError(f"a JSON object with some of {', '.join(cls.__dataclass_fields__)}")
        values = {}
        for key, value in body.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            values[key] = float(value)
        if values.get("error_rate", 0.0) > 1:
            raise ValueError("error_rate must be between 0 and 1")
        return cls(**values)


class FaultInjector:
    def __init__(self, engine: Any, rng: random.Random | None = None) -> None:
        self.faults = Faults()
        self.rng = rng or random.Random()
        # An Engine, or database.WriterEngines (one engine per endpoint): every engine's statements are slowed.
        for each in getattr(engine, "engines", {None: engine}).values():
            event.listen(each, "before_cursor_execute", self._slow_statement)

    def _slow_statement(self, *_args: object) -> None:
        if self.faults.db_delay_ms:
            time.sleep(self.faults.db_delay_ms / 1000)  # in the worker thread, the connection held: a slow database

    async def before_payment(self) -> bool:
        """Apply the added latency; True when this payment is to fail."""
        f = self.faults
        if f.added_latency_ms:
            await asyncio.sleep(f.added_latency_ms / 1000)
        return bool(f.error_rate) and self.rng.random() < f.error_rate

    def set(self, faults: Faults) -> dict:
        self.faults = faults
        return asdict(faults)

    def get(self) -> dict:
        return asdict(self.faults)
