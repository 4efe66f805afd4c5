"""The switchover's journal: its progress written to the state table before each action, and the
rules by which a later run finishes or undoes a switchover that died half way.

The journal is the ``db-writer`` item of the shift state table (conditional writes, like the traffic
plan's item). It doubles as the lock: a journal whose lease is live belongs to a running switchover;
the run renews the lease at every action and while it waits, so a lease that lapsed means the run
died (a Lambda timeout, a kill). Why a journal and not Step Functions: docs/db-switchover.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..model import ShiftState, from_iso, iso

LOCK_ID = "db-writer"

FENCE = "fence old writer"
QUIET = "check the fence took"
MARK = "write drain marker"
DRAIN = "wait for replication to drain"
UNFENCE = "unfence new writer"
STOP = "stop forward replication"
START = "start reverse replication"
#: The actions of a switchover, in order. The write pause is FENCE .. UNFENCE; STOP and START come
#: after it (the forward task has nothing left to copy: the old writer is fenced and the marker
#: proved the rest arrived; the reverse task starts from the new writer's binlog position read before the unfence).
STEPS = (FENCE, QUIET, MARK, DRAIN, UNFENCE, STOP, START)
#: Before the unfence only the fence needs undoing; from the unfence on a run is finished, never undone.
UNDOABLE = (FENCE,)
#: Once the new writer may have taken a write, a recovery finishes forward with these (each is idempotent).
FINISH = (UNFENCE, STOP, START)


@dataclass(frozen=True)
class Recovery:
    """What a run does about the journal it found."""

    action: Literal["none", "wait", "finish", "undo"]
    steps: tuple[str, ...]
    why: str


def recovery(pending: Mapping[str, Any] | None, *, now: float, new_fenced: bool | None) -> Recovery:
    """The rule (pure): no journal -> none; a live lease -> wait for its run; a dead run that unfenced
    the new writer (done, or begun and the new writer is not fenced: the GRANT landed) -> finish
    forward (the steps from the unfence on that are not done; re-running the one it died in is safe,
    each is idempotent): the new writer may have taken payments that exist nowhere else, so it is never
    undone; otherwise -> undo the fence: the old writer keeps the writes. Either way exactly one colour
    is unfenced afterwards. ``new_fenced``: whether the new writer is fenced now (read by the caller)."""
    if not pending:
        return Recovery("none", (), "no switchover in the journal")
    lease = from_iso(pending.get("lease_until"))
    run = f"switchover {pending.get('from')} -> {pending.get('to')} by {pending.get('by')} (run {pending.get('run')})"
    if lease is not None and now < lease:
        return Recovery("wait", (), f"{run} is running, its lease ends {pending.get('lease_until')}")
    done = list(pending.get("done") or [])
    doing = pending.get("doing")
    unfenced = UNFENCE in done or doing in (STOP, START) or (doing == UNFENCE and new_fenced is False)
    if unfenced:
        steps = tuple(s for s in FINISH if s not in done or s == doing)
        return Recovery("finish", steps, f"{run} died after unfencing {pending.get('to')} (done: {', '.join(done) or 'nothing'}): finishing it")
    attempted = done + ([doing] if doing and doing not in done else [])
    steps = tuple(s for s in reversed(attempted) if s in UNDOABLE)
    return Recovery("undo", steps, f"{run} died before {pending.get('to')} took a write (done: {', '.join(done) or 'nothing'}): undoing it")


class JournalStore:
    """The journal item, read and written through the shifter's StateStore (conditional on its version)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def load(self) -> ShiftState:
        return self.store.load()

    def write(self, expected: ShiftState, pending: Mapping[str, Any] | None, *, actor: str, now: float,
              status: str | None = None, reason: str = "", outcome: str = "") -> ShiftState:
        new = replace(expected, pending=dict(pending) if pending else None, updated_by=actor, updated_at=now,
                      status=status or expected.status or "idle", reason=reason[:1000] or expected.reason,
                      last_action=outcome or expected.last_action)
        return self.store.write(expected, new)


def new_entry(*, run: str, actor: str, frm: str, to: str, now: float, lease_seconds: float, path: str | None, token: str) -> dict[str, Any]:
    return {"run": run, "by": actor, "at": iso(now), "from": frm, "to": to, "path": path, "token": token,
            "done": [], "doing": None, "cdc_start": None, "lease_until": iso(now + lease_seconds)}


def progressed(entry: Mapping[str, Any], *, doing: str | None = None, done: Sequence[str] = (), now: float,
               lease_seconds: float, **extra: Any) -> dict[str, Any]:
    out = dict(entry, **extra)
    if done:
        out["done"] = [*out.get("done", []), *done]
        out["doing"] = None
    if doing is not None:
        out["doing"] = doing
    out["lease_until"] = iso(now + lease_seconds)
    return out


def describe(pending: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not pending:
        return None
    keys: Sequence[str] = ("run", "by", "at", "from", "to", "done", "doing", "lease_until")
    return {k: pending.get(k) for k in keys}


__all__ = ["LOCK_ID", "STEPS", "Recovery", "recovery", "JournalStore", "new_entry", "progressed", "describe", "Callable"]
