"""The parts of a rehearsal that exist only once it has started (the stack's processes, the shifter's
Lambda, the monitor, the sampler): ``started`` hands one over, or says it has not started, so that
code reading a part is typed for the part and a call out of order fails with a message, not with
``'NoneType' object has no attribute``."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class NotStarted(RuntimeError):
    """A part of the rehearsal was used before the rehearsal started it (a programming error)."""


def started(part: T | None, what: str) -> T:
    if part is None:
        raise NotStarted(f"{what} has not started: start the rehearsal first")
    return part


__all__ = ["NotStarted", "started"]
