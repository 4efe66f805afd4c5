"""The parts of a rehearsal that exist only once it has started (the stack's processes, the shifter's
Lambda, the monitor, the sampler): ``started`` hands one over, or says it has not started, so that
code reading a part is typed for the part and a call out of order fails with a message, not with
``'NoneType' object has no attribute``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class NotStarted(RuntimeError):
    """A part of the rehearsal was used before the rehearsal started it (a programming error)."""


def started(part: T | None, what: str) -> T:
    if part is None:
        raise NotStarted(f"{what} has not started: start the rehearsal first")
    return part


class Part(Generic[T]):
    """An attribute ``x`` read through ``started(obj._x, what)``: ``world = Part[World]("the stack")``."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __set_name__(self, owner: type, name: str) -> None:
        self.private = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        return started(getattr(obj, self.private), self.what)


__all__ = ["NotStarted", "Part", "started"]
