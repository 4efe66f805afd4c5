"""The plan step ``{"kind": "db_switchover", "to": "green", "bake_seconds": N}`` and its entry points
(the tick, ``bluegreen db status|switchover|recover``): the procedure built from AWS adapters."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from ..aws import StateStore
from ..errors import ConfigError, PlanError
from ..model import LOG_SERVICE, iso
from ..steps import Step, StepContext, StepKind
from .aws_world import DbWorld
from .config import COLOURS, DB_ENV_VARS, DbConfig, other
from .drain import SqlMarkerDrain
from .fence import SqlGrantFence, secrets_connector
from .journal import LOCK_ID, JournalStore, describe
from .ports import Drain, Fence
from .procedure import POLL_SECONDS, Switchover

logger = Logger(service=LOG_SERVICE)

DB_STEP = "db_switchover"
#: What a run may still take after its budget (SWITCHOVER_BUDGET_SECONDS): the undo's calls. With the
#: default budget of 200 s this is the Lambda's 300 s timeout; the plan step's claim lasts this long.
UNDO_SECONDS = 100.0
FenceFactory = Callable[[Callable[[str], Any], DbConfig], Fence]
DrainFactory = Callable[[Callable[[str], Any], DbConfig], Drain]
#: (clients, config, clock) -> one object that is the WriterName, the Replication and the TargetHealth.
WorldFactory = Callable[[Callable[[str], Any], DbConfig, Callable[[], float]], Any]


def default_fence(clients: Callable[[str], Any], config: DbConfig) -> Fence:
    return SqlGrantFence(secrets_connector(clients, config), user=config.app_user, schema=config.app_schema)


def default_drain(clients: Callable[[str], Any], config: DbConfig) -> Drain:
    return SqlMarkerDrain(secrets_connector(clients, config), user=config.app_user, schema=config.marker_schema)


def default_world(clients: Callable[[str], Any], config: DbConfig, clock: Callable[[], float]) -> DbWorld:
    return DbWorld(clients, config, clock)


class DbSwitchover(StepKind):
    name = DB_STEP
    #: ``grace_seconds`` (optional): how long after the step began an alarm holds the shift instead of
    #: rolling it back (grace_seconds below, decisions.alarm_grace); cover the switchover and its write pause's aftermath.
    fields = ("to", "grace_seconds")
    required = ("to",)
    grace_why = "its write pause slows both colours alike"

    def __init__(self, fence_factory: FenceFactory = default_fence, *, drain_factory: DrainFactory | None = None,
                 world_factory: WorldFactory = default_world, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, poll_seconds: float = POLL_SECONDS,
                 after_action: Callable[[str], None] | None = None) -> None:
        # The factories default to AWS; the rehearsal passes its local stand-ins (bluegreen/rehearsal).
        self.fence_factory, self.clock, self.sleep, self.poll_seconds = fence_factory, clock, sleep, poll_seconds
        self.drain_factory = drain_factory or default_drain
        self.world_factory, self.after_action = world_factory, after_action
        self.last: Switchover | None = None

    def validate(self, raw: Mapping[str, Any], where: str) -> int | None:
        if raw["to"] not in COLOURS:
            raise PlanError(f"{where}: to must be 'blue' or 'green', got {raw['to']!r}")
        grace = raw.get("grace_seconds", 0)
        if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= 3600:
            raise PlanError(f"{where}: grace_seconds must be a whole number of seconds from 0 to 3600, got {grace!r}")
        return None

    def grace_seconds(self, raw: Mapping[str, Any]) -> int:
        return int(raw.get("grace_seconds") or 0)

    def procedure(self, clients: Callable[[str], Any], config: Any) -> Switchover:
        db: DbConfig | None = config.db
        if db is None:
            raise ConfigError(f"db_switchover needs the database environment variables: {', '.join(DB_ENV_VARS)}")
        world = self.world_factory(clients, db, self.clock)
        self.last = Switchover(
            writer=world, replication=world, health=world,
            fence=self.fence_factory(clients, db), drain=self.drain_factory(clients, db),
            journal=JournalStore(StateStore(clients, config.state_table, plan_id=LOCK_ID)),
            config=db, log=logger, clock=self.clock, sleep=self.sleep, poll_seconds=self.poll_seconds,
            after_action=self.after_action,
        )
        return self.last

    #: The operator's commands this kind answers when the Lambda is invoked with them (``bluegreen db``):
    #: they run inside the VPC, as the function's role, never from an operator's shell.
    commands = ("db status", "db switchover")

    def command(self, clients: Callable[[str], Any], config: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        """``{"command": "db status"}`` or ``{"command": "db switchover", "to": "green", "actor": ..., "reason": ...,
        "caller": <the operator's AWS identity>}``: what ``bluegreen db`` prints. A switchover that outlives this
        invocation (a Lambda timeout) leaves its journal; the next run (a tick, the command again) continues it."""
        name = event.get("command")
        if name == "db status":
            return {"ok": True, "command": name, **self.status(clients, config)}
        if name != "db switchover":
            raise PlanError(f"unknown database command {name!r} (known: {', '.join(self.commands)})")
        to = event.get("to")
        if to not in COLOURS:
            raise PlanError(f"db switchover needs \"to\": blue or green, got {to!r}")
        actor = str(event.get("actor") or "").strip()
        if not actor:
            raise PlanError("db switchover needs an actor (who asks), for the journal and the audit trail")
        caller = str(event.get("caller") or "").strip()
        who = f"{actor} (via {caller})" if caller else actor
        logger.info("db switchover: asked", extra={"db_switchover": {"to": to, "actor": actor, "caller": caller,
                                                                      "reason": event.get("reason", "")}})
        changes = self.switch(clients, config, to, who)
        last = self.last
        return {"ok": True, "command": name, "to": to, "actor": who, "reason": event.get("reason", ""), "changes": changes,
                "write_pause_seconds": last.write_pause if last else None, "timeline": last.timeline if last else []}

    def switch(self, clients: Callable[[str], Any], config: Any, to: str, actor: str) -> list[str]:
        """A switchover (the plan step and ``bluegreen db switchover``); first recovers a dead one."""
        return self.procedure(clients, config).run(to, actor=actor)

    def recover(self, clients: Callable[[str], Any], config: Any, actor: str) -> list[str]:
        """Finish or undo a switchover whose run died; [] when none is unfinished (every tick calls this)."""
        if getattr(config, "db", None) is None:
            return []
        return self.procedure(clients, config).recover(actor=actor)

    def status(self, clients: Callable[[str], Any], config: Any) -> dict[str, Any]:
        proc = self.procedure(clients, config)
        fenced = {c: proc.fence.is_fenced(c) for c in COLOURS}
        unfenced = [c for c in COLOURS if not fenced[c]]
        # The writer is the colour the fence lets write (what the service finds); none while a switchover pauses.
        writer = unfenced[0] if len(unfenced) == 1 else ("none" if not unfenced else "both")
        to = other(writer) if writer in COLOURS else (proc.pending() or {}).get("to", "green")
        checks = proc.guardrails(to)
        nxt = proc.next_run()
        try:
            label = proc.writer.writer_target()
        except Exception as err:  # noqa: BLE001 - information only
            label = f"unreadable: {type(err).__name__}"
        return {"writer": writer, "fenced": fenced, "writer_name": config.db.writer_record_name, "writer_target": label,
                "switchover_to": to, "guardrails": [c.to_dict() for c in checks], "ready": all(c.ok for c in checks),
                "unfinished": describe(proc.pending()), "next_run": {"action": nxt.action, "steps": list(nxt.steps), "why": nxt.why},
                # The time the lease is judged against (a lease past it belongs to a run that died).
                "checked_at": iso(self.clock())}

    def apply(self, step: Step, ctx: StepContext) -> list[str]:
        config = getattr(ctx, "config", None)
        if config is None:
            raise ConfigError("db_switchover: the step context carries no shifter configuration")
        return self.switch(ctx.client, config, step.raw["to"], ctx.actor)

    def claim_seconds(self, step: Step, config: Any) -> float:
        """The plan step's claim on the shift state lasts the switchover's whole run: its budget, then
        the undo's share of the Lambda's time (UNDO_SECONDS), so no tick acts while it may still run."""
        db = getattr(config, "db", None)
        return (db.budget_seconds if db is not None else 0.0) + UNDO_SECONDS

    def on_rollback(self, step: Step, ctx: StepContext) -> list[str]:
        # A traffic rollback never moves the writer: both colours write through the writer name, so
        # sending traffic back to blue loses nothing. Moving the writer back is its own guarded step.
        return []

