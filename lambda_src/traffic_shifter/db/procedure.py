"""The database writer switchover: one writer at a time, moved only when the other side is current.

The tasks of both colours know both clusters' endpoints and write wherever the fence allows
(app/payment_api/database.py). Exactly one colour accepts payment writes: on every other the
application user has no INSERT/UPDATE/DELETE (the fence). No DNS change is on the write path. A
switchover ``old`` -> ``new`` (docs/db-switchover.md):

1. guardrails, all checked before anything moves (guardrails.judge);
2. fence the old writer (revoke the application user's DML, kill its sessions);
3. check the fence took (no session, no open transaction), write a drain marker on the old writer,
   wait until it is on the new one: replication applies in commit order, so every payment is there;
4. read the new writer's binary log position and unfence it: writes resume, on the new side (the end
   of the write pause); 5. stop forward replication, start the reverse from that position (the old
   writer stays a warm fallback); 6. point the writer name (information for people) at the new writer.

Every action that changes something is journaled (journal.py) before it runs; the checks between the
fence and the unfence (quiet, marker, drain) change nothing a recovery must know of, so they are logged
and journaled as done with the unfence's write, which keeps the pause to two journal writes. Every wait ends by a deadline that leaves the
rest of the Lambda's time to the undo, and a failure before the unfence undoes the fence. From the
unfence on the run is finished, never undone: the new writer may hold payments nowhere else. A run that
dies (killed, timed out) leaves its journal; the next run (a tick, the CLI) finishes or undoes it by
journal.recovery. So no crash leaves zero writers for longer than a lease plus one tick, and never two.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConcurrentUpdateError, ShiftError
from ..model import from_iso
from . import journal as j
from .config import COLOURS, QUIET_TIMEOUT_SECONDS, DbConfig, other
from .drain import DrainError
from .guardrails import Check, judge
from .ports import Drain, Fence, Replication, TargetHealth, WriterName

#: The marker is polled this often during the drain (the Lambda's in-process loop: nothing between polls).
POLL_SECONDS = 0.2


class SwitchoverRefused(ShiftError):
    """A guardrail failed (or another switchover runs) before anything moved; the message says which."""


class SwitchoverFailed(ShiftError):
    """A step failed after the guardrails; what was done has been undone (the message says how far)."""


class LeaseLost(ShiftError):
    """Another run took the journal over (this one was judged dead): this run stops and undoes nothing."""


@dataclass
class Switchover:
    writer: WriterName
    replication: Replication
    health: TargetHealth
    fence: Fence
    drain: Drain
    journal: j.JournalStore
    config: DbConfig
    log: Any
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = POLL_SECONDS
    #: (action, seconds since the fence) of every action, and the write pause (fence -> unfence) of the last run.
    timeline: list[tuple[str, float]] = field(default_factory=list)
    write_pause: float | None = None
    #: When the last run fenced (its clock): the write pause starts there.
    fence_at: float = 0.0
    #: Test seam: called after each journaled action completes (a test raises or kills the process there).
    after_action: Callable[[str], None] | None = None

    def _info(self, message: str, **saw: Any) -> None:
        self.log.info(message, extra={"db_switchover": saw})

    # -- waiting, bounded by the run's deadline, renewing the lease -------------------------------------
    def _waiter(self, deadline: float, renew: Callable[[], None]) -> Callable[[Callable[[], bool], float, str], None]:
        def wait(done: Callable[[], bool], timeout: float, what: str) -> None:
            start = self.clock()
            limit = min(start + timeout, deadline)
            while not done():
                if self.clock() >= limit:
                    why = "" if start + timeout <= deadline else " (the run's deadline: the rest is the undo's)"
                    raise TimeoutError(f"timed out after {limit - start:.0f} s waiting for {what}{why}")
                renew()
                self.sleep(self.poll_seconds)

        return wait

    # -- reading --------------------------------------------------------------------------------------
    def writer_colour(self) -> str:
        """The colour the fence lets write (the one the service finds); refuses when not exactly one."""
        unfenced = [c for c in COLOURS if not self.fence.is_fenced(c)]
        if len(unfenced) != 1:
            raise SwitchoverRefused(
                f"{' and '.join(unfenced) if unfenced else 'no colour'} accept(s) payment writes; expected exactly one. "
                "An unfinished switchover is recovered by the next run (bluegreen db status shows it); otherwise "
                "fix the grants by hand (docs/runbook-cutover.md) before any switchover")
        return unfenced[0]

    def label(self, colour: str) -> str:
        """Point the writer name (for people; the service does not use it) at ``colour``, never failing the run."""
        try:
            return self.writer.set_writer(colour, lambda done, timeout, what: None)
        except Exception as err:  # noqa: BLE001 - information only: the switchover itself is complete
            self.log.warning("db switchover: writer name not updated", extra={"db_switchover": {"error": str(err)}})
            return f"writer name (information only) not updated: {type(err).__name__}: {err}"

    def guardrails(self, to: str) -> list[Check]:
        fenced = {c: self.fence.is_fenced(c) for c in COLOURS}
        return judge(to, self.replication.snapshot(to), self.health.cluster_health(to), fenced,
                     max_latency_seconds=self.config.cdc_latency_max_seconds)

    # -- the forward run --------------------------------------------------------------------------------
    def run(self, to: str, *, actor: str) -> list[str]:
        if to not in COLOURS:
            raise SwitchoverRefused(f"unknown colour {to!r}; expected blue or green")
        recovered = self.recover(actor=actor)
        current = self.writer_colour()
        self._info("db switchover: read which colour the fence lets write", writer=current, to=to, actor=actor)
        if current == to:
            return recovered
        frm = current
        checks = self.guardrails(to)
        self._info("db switchover: guardrails", to=to, checks=[c.to_dict() for c in checks])
        failed = [c for c in checks if not c.ok]
        if failed:
            raise SwitchoverRefused(
                f"db switchover {frm} -> {to} refused, nothing was changed: "
                + "; ".join(f"{c.name}: {json.dumps(c.saw, default=str, sort_keys=True)}" for c in failed)
            )
        path = next(k for k, s in self.replication.snapshot(to).into.items() if s == "running")
        start = self.clock()
        deadline = start + self.config.budget_seconds
        entry = j.new_entry(run=uuid.uuid4().hex, actor=actor, frm=frm, to=to, now=start,
                            lease_seconds=self.config.lease_seconds, path=path, token=uuid.uuid4().hex)
        state = self._claim(entry, actor)
        book = _Book(self, state, entry, actor)
        wait = self._waiter(deadline, book.renew)
        undo: list[tuple[str, Callable[[], str]]] = []
        changes: list[str] = list(recovered)
        self.timeline = []
        t_fence = self.clock()

        previous: list[str] = []

        def act(name: str, do: Callable[[], str], undo_fn: Callable[[], str] | None = None, *, journaled: bool = True) -> None:
            # One journal write per journaled action: those before it done, this one begun. A run that dies
            # in between leaves "doing" on an action that may have landed; the recovery rule treats
            # "doing" as attempted (undone, or run again: every action is idempotent). An unjournaled
            # check that dies leaves "doing" on the fence: undone, as the rule wants before the unfence.
            if journaled:
                book.step(done=previous, doing=name)
                previous.clear()
            else:
                book.renew()  # a live run keeps its lease (a write only once half of it is gone)
            if undo_fn is not None:
                # Registered before acting: a call that landed but whose wait failed is undone too.
                undo.append((name, undo_fn))
            self._info(f"db switchover: {name}", to=to)
            done = do()
            changes.append(done)
            previous.append(name)
            self.timeline.append((name, round(self.clock() - t_fence, 6)))
            self._info(f"db switchover: {name} done", result=done, seconds_since_fence=self.timeline[-1][1])
            if self.after_action:
                self.after_action(name)

        unfence_tried = False
        try:
            act(j.FENCE, lambda: self.fence.fence(frm), lambda: self.fence.unfence(frm))
            t_fence = self.fence_at = self.clock()
            self.timeline = [(j.FENCE, 0.0)]
            act(j.QUIET, lambda: self._quiet(frm, wait), journaled=False)
            act(j.MARK, lambda: self.drain.mark(frm, entry["token"]), journaled=False)
            act(j.DRAIN, lambda: self._drained(to, entry["token"], wait), journaled=False)
            # The reverse replication starts from the new writer's binary log position now: every forward
            # apply (the marker was the last) is before it, every application write after it (the
            # unfence comes next). Journaled with the unfence, so a recovery that finishes has it.
            book.entry["cdc_start"] = self.drain.position(to)
            unfence_tried = True
            act(j.UNFENCE, lambda: self.fence.unfence(to))
        except LeaseLost:
            raise
        except Exception as err:
            if unfence_tried and not self._still_fenced(to):
                # The GRANT landed (or cannot be told apart): the new writer may hold payments. Finish, never undo.
                self.write_pause = round(self.clock() - t_fence, 6)
                return self._finish_after_unfence(book, frm, to, path, changes, actor, err)
            undone, undo_errors = self._undo(undo)
            self.log.error("db switchover failed; undone", extra={"db_switchover": {
                "to": to, "error": f"{type(err).__name__}: {err}", "done": changes, "undone": undone, "undo_errors": undo_errors}})
            where = "writer stays on " + frm if not undo_errors else "UNDO INCOMPLETE: " + "; ".join(undo_errors)
            message = (f"db switchover {frm} -> {to} failed ({type(err).__name__}: {err}); undone: "
                       f"{'; '.join(undone) or 'nothing to undo'}; {where}")
            # An incomplete undo keeps the journal (lease lapsing): the next run retries by the recovery rule.
            book.close(outcome=type(err).__name__, reason=message, keep=bool(undo_errors))
            raise SwitchoverFailed(message) from err
        self.write_pause = self.timeline[-1][1]
        changes.append(f"write pause {self.write_pause:.3f} s (fence -> unfence)")
        return self._finish_after_unfence(book, frm, to, path, changes, actor, None)

    def _still_fenced(self, to: str) -> bool:
        try:
            return self.fence.is_fenced(to)
        except Exception:  # noqa: BLE001 - cannot tell: treat as unfenced (finishing is always safe)
            return False

    def _finish_after_unfence(self, book: _Book, frm: str, to: str, path: str | None, changes: list[str],
                              actor: str, unfence_error: Exception | None) -> list[str]:
        """After the unfence: stop the forward path, start the reverse one, label the name. A failure here
        keeps the journal (the next run finishes it); the new writer keeps the writes either way."""
        wait = self._waiter(self.clock() + self.config.budget_seconds, book.renew)
        position = book.entry.get("cdc_start") or self.drain.position(to)
        previous = [j.UNFENCE]
        try:
            if unfence_error is not None:
                changes.append(f"unfence of {to} reported {type(unfence_error).__name__}: {unfence_error}; it landed "
                               f"({to} is not fenced): finishing")
            for name, do in ((j.STOP, lambda: self.replication.stop_into(to, wait)),
                             (j.START, lambda: self.replication.start_from(to, wait, position=position))):
                book.step(done=previous, doing=name)
                self._info(f"db switchover: {name}", to=to)
                changes.append(do())
                previous = [name]
                self.timeline.append((name, round(self.clock() - self.fence_at, 6)))
                self._info(f"db switchover: {name} done", result=changes[-1], seconds_since_fence=self.timeline[-1][1])
                if self.after_action:
                    self.after_action(name)
        except LeaseLost:
            raise
        except Exception as err:
            message = (f"db switchover {frm} -> {to}: {to} writes (unfenced), but {previous[-1]!r} was the last step done: "
                       f"{type(err).__name__}: {err}; the old writer {frm} is fenced and NOT replicated to until the next "
                       "run finishes it (the journal is kept)")
            self.log.error("db switchover: finish incomplete", extra={"db_switchover": {"to": to, "error": message}})
            book.close(outcome=type(err).__name__, reason=message, keep=True)
            raise SwitchoverFailed(message) from err
        changes.append(self.label(to))
        book.close(outcome="switched", reason="; ".join(changes), status="done")
        self._info("db switchover: complete", to=to, changes=changes, timeline=self.timeline, write_pause_seconds=self.write_pause)
        return changes

    def _quiet(self, colour: str, wait: Callable[..., None]) -> str:
        seen: list[str] = []

        def quiet() -> bool:
            try:
                before = getattr(self.fence, "watermarks", {}).get(colour)
                seen.append(self.drain.quiet(colour) if before is None else self.drain.quiet(colour, opened_before=before))
                return True
            except DrainError as err:
                seen.append(str(err))
                return False

        try:
            wait(quiet, QUIET_TIMEOUT_SECONDS, f"the fence on {colour} to take")
        except TimeoutError as err:
            raise DrainError(f"{err}: {seen[-1] if seen else ''}") from err
        return seen[-1]

    def _drained(self, to: str, token: str, wait: Callable[..., None]) -> str:
        t0 = self.clock()
        wait(lambda: self.drain.arrived(to, token), self.config.drain_timeout_seconds, f"the drain marker to replicate to {to}")
        return f"drain marker {token} on {to} after {self.clock() - t0:.3f} s: every earlier write has arrived"

    def _undo(self, undo: list[tuple[str, Callable[[], str]]]) -> tuple[list[str], list[str]]:
        undone, errors = [], []
        for name, fn in reversed(undo):
            try:
                undone.append(fn())
                self._info(f"db switchover: undo {name}", result=undone[-1])
            except Exception as err:  # noqa: BLE001 - keep undoing the rest, report all
                errors.append(f"undo of {name!r} failed: {type(err).__name__}: {err}")
                self.log.error("db switchover: undo failed", extra={"db_switchover": {"step": name, "error": str(err)}})
        return undone, errors

    # -- the journal ------------------------------------------------------------------------------------
    def _claim(self, entry: dict[str, Any], actor: str) -> Any:
        state = self.journal.load()
        rule = j.recovery(state.pending, now=self.clock(), new_fenced=None)
        if rule.action == "wait":
            raise SwitchoverRefused(f"another db switchover ({(state.pending or {}).get('by')}) is running since "
                                    f"{(state.pending or {}).get('at')}; nothing was changed ({rule.why})")
        try:
            return self.journal.write(state, entry, actor=actor, now=self.clock(), status="running", outcome="claimed")
        except ConcurrentUpdateError as err:
            raise SwitchoverRefused(f"another run claimed the db switchover first; nothing was changed ({err})") from err

    def pending(self) -> Mapping[str, Any] | None:
        return self.journal.load().pending

    def next_run(self) -> j.Recovery:
        """What the next run will do about the journal (for ``bluegreen db status``)."""
        state = self.journal.load()
        fenced = self._still_fenced(state.pending["to"]) if state.pending else None
        return j.recovery(state.pending, now=self.clock(), new_fenced=fenced)

    def recover(self, *, actor: str) -> list[str]:
        """Finish or undo a switchover whose run died (journal.recovery); [] when there is none."""
        state = self.journal.load()
        if not state.pending:
            return []
        rule = j.recovery(state.pending, now=self.clock(), new_fenced=self._still_fenced(state.pending["to"]))
        if rule.action == "wait":
            raise SwitchoverRefused(f"another db switchover ({state.pending.get('by')}) is running since "
                                    f"{state.pending.get('at')}; nothing was changed ({rule.why})")
        entry = dict(state.pending, by=actor, recovering=rule.action,
                     lease_until=j.progressed(state.pending, now=self.clock(), lease_seconds=self.config.lease_seconds)["lease_until"])
        try:
            state = self.journal.write(state, entry, actor=actor, now=self.clock(), status="recovering", outcome=f"recover:{rule.action}")
        except ConcurrentUpdateError as err:
            raise SwitchoverRefused(f"another run is recovering the db switchover; nothing was changed ({err})") from err
        book = _Book(self, state, entry, actor)
        wait = self._waiter(self.clock() + self.config.budget_seconds, book.renew)
        frm, to = entry["from"], entry["to"]
        self.log.warning("db switchover: recovering a run that died", extra={"db_switchover": {"rule": rule.why, "steps": rule.steps}})
        # A run that reached the unfence journaled the position; one that did not is undone, not finished.
        position = entry.get("cdc_start") or ""
        actions: dict[str, Callable[[], str]] = (
            {j.UNFENCE: lambda: self.fence.unfence(to),
             j.STOP: lambda: self.replication.stop_into(to, wait),
             j.START: lambda: self.replication.start_from(to, wait, position=position or self.drain.position(to))}
            if rule.action == "finish" else
            {j.FENCE: lambda: self.fence.unfence(frm)}
        )
        changes = [rule.why]
        try:
            for step in rule.steps:
                changes.append(actions[step]())
                self._info(f"db switchover: recovery {rule.action} {step}", result=changes[-1])
        except Exception as err:
            # Keep the journal: the next run applies the same rule again.
            book.close(outcome=f"recover:{rule.action} failed", reason=f"{rule.why}; failed: {type(err).__name__}: {err}", keep=True)
            raise SwitchoverFailed(f"recovery ({rule.action}) of the dead switchover failed: {type(err).__name__}: {err}; "
                                   "the journal is kept and the next run tries again") from err
        if rule.action == "finish":
            changes.append(self.label(to))
        book.close(outcome=f"recovered:{rule.action}", reason="; ".join(changes), status="done")
        return changes


class _Book:
    """The journal entry of one run, written before and after each action; renews the lease."""

    def __init__(self, proc: Switchover, state: Any, entry: dict[str, Any], actor: str) -> None:
        self.proc, self.state, self.entry, self.actor = proc, state, entry, actor

    def _write(self, pending: dict[str, Any] | None, **kw: Any) -> None:
        try:
            self.state = self.proc.journal.write(self.state, pending, actor=self.actor, now=self.proc.clock(), **kw)
        except ConcurrentUpdateError as err:
            raise LeaseLost(f"the db switchover journal was taken over by another run ({err}); this run stops here") from err

    def step(self, *, doing: str | None = None, done: Sequence[str] = ()) -> None:
        self.entry = j.progressed(self.entry, doing=doing, done=done, now=self.proc.clock(), lease_seconds=self.proc.config.lease_seconds)
        self._write(self.entry, status=self.state.status or "running")

    def renew(self) -> None:
        lease = from_iso(self.entry.get("lease_until")) or 0.0
        if lease - self.proc.clock() < self.proc.config.lease_seconds / 2:
            self.step()

    def close(self, *, outcome: str, reason: str, status: str = "idle", keep: bool = False) -> None:
        self._write(self.entry if keep else None, status=status, reason=reason, outcome=outcome)


__all__ = ["Switchover", "SwitchoverRefused", "SwitchoverFailed", "LeaseLost", "POLL_SECONDS", "other"]
