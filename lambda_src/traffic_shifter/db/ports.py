"""The small interfaces the switchover procedure moves the world through.

The procedure (procedure.py) and its judgments (guardrails.py, journal.py) know only these. Two sets
of adapters implement them: AWS (aws_world.DbWorld: Route 53 CNAME, DMS, RDS, CloudWatch; fence.py and
drain.py over SQL) and the rehearsal's local stand-ins (bluegreen/rehearsal: an HAProxy TCP frontend
as the writer name, MariaDB GTID replication as DMS).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

#: ``wait(done, timeout_seconds, what)``: poll ``done`` until true; raise TimeoutError at the timeout.
Wait = Callable[[Callable[[], bool], float, str], None]


class Fence(Protocol):
    """Who may write payments on a colour's database (fence.SqlGrantFence)."""

    def fence(self, colour: str) -> str: ...        # stop application writes; returns what was done

    def unfence(self, colour: str) -> str: ...      # allow application writes

    def is_fenced(self, colour: str) -> bool: ...


class Drain(Protocol):
    """Proof that replication carried every write of the old writer to the new one (drain.SqlMarkerDrain).

    After the fence: ``quiet(old)`` raises DrainError while a session of the application user or an
    open transaction is left; ``mark(old, token)`` writes a marker row with a login the fence does not
    touch; ``arrived(new, token)`` is true once that row is on the new writer. Replication applies in
    commit order, so the marker's arrival proves every earlier payment arrived. ``position(new)``, read
    after the arrival and before the unfence: the new writer's binary log position, where the reverse
    replication starts (every application write on the new writer comes after it).
    """

    def quiet(self, colour: str, *, opened_before: int | None = None) -> str: ...  # only sessions up to the fence's watermark count

    def mark(self, colour: str, token: str) -> str: ...

    def arrived(self, colour: str, token: str) -> bool: ...

    def position(self, colour: str) -> str: ...  # "<binlog file>:<position>", DMS's CdcStartPosition for MySQL


@dataclass(frozen=True)
class ReplicationSnapshot:
    """What the guardrails need to know of replication into ``to`` (read, not judged)."""

    #: channel/task id -> status of every path that may replicate INTO the target ("running", "stopped", ...).
    into: Mapping[str, str]
    #: channel/task id -> status of the path that would replicate back OUT of the target.
    reverse: Mapping[str, str]
    #: lag figures of the running path, seconds (None: no figure).
    latency: Mapping[str, float | None] = field(default_factory=dict)
    #: per table: {"table": "schema.name", "state": ..., "validation": ..., "failed": n, "suspended": n}.
    tables: tuple[Mapping[str, Any], ...] = ()


class Replication(Protocol):
    """Replication between the colours (DMS tasks on AWS, MariaDB GTID channels in the rehearsal)."""

    def snapshot(self, to: str) -> ReplicationSnapshot: ...

    def stop_into(self, to: str, wait: Wait) -> str: ...              # stop the path old -> ``to``

    def resume_into(self, to: str, path: str, wait: Wait) -> str: ... # undo of stop_into: continue ``path`` (a key of snapshot().into) from its checkpoint

    def start_from(self, colour: str, wait: Wait, *, position: str) -> str: ...   # ``colour`` -> the other, changes after ``position``

    def stop_from(self, colour: str, wait: Wait) -> str: ...          # undo of start_from


class WriterName(Protocol):
    """The one movable name of the writer (Route 53 CNAME ``writer.<zone>``, or an HAProxy TCP frontend)."""

    def writer_colour(self) -> str: ...

    def set_writer(self, colour: str, wait: Wait) -> str: ...

    def writer_target(self) -> str | None: ...  # what the name points at now (for ``bluegreen db status``)


class TargetHealth(Protocol):
    def cluster_health(self, colour: str) -> Mapping[str, Any]: ...   # {"status": ..., "writer_status": ...}
