"""What a database error means for a write, and how long to keep trying (pure decisions).

The writer fence (docs/db-switchover.md) shows up in the client as one of a few MySQL error codes.
Each is decided here once; payments.py carries the decision out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

#: The fence revoked the user's DML: "INSERT command denied to user".
ER_TABLEACCESS_DENIED = 1142
#: The server went away / the connection was lost (a killed session, seen by the client).
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013
#: MariaDB: "Connection was killed" (the fence's KILL, seen on the next statement).
ER_CONNECTION_KILLED = 1927
#: A read-only server (a writer that failed over to reader, or read_only set): --read-only / super_read_only.
ER_OPTION_PREVENTS_STATEMENT = 1290
ER_READ_ONLY_MODE = 1836
#: Client could not connect at all (the writer is restarting, the name not yet moved).
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005
#: InnoDB rolled the transaction back to break a lock cycle, or a lock wait timed out.
ER_LOCK_DEADLOCK = 1213
ER_LOCK_WAIT_TIMEOUT = 1205
#: Login refused (an IAM token signed a moment too early, a user being re-created): worth a retry too.
ER_ACCESS_DENIED = 1045

CONNECTION_LOST = frozenset({CR_SERVER_GONE, CR_SERVER_LOST, ER_CONNECTION_KILLED})
FENCED = frozenset({ER_TABLEACCESS_DENIED, ER_OPTION_PREVENTS_STATEMENT, ER_READ_ONLY_MODE})
UNREACHABLE = frozenset({CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST, ER_ACCESS_DENIED})
TRANSIENT = frozenset({ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT})


class Action(Enum):
    #: Drop the connection (it is killed, or points at a fenced or read-only server), open a new one
    #: (new name resolution, new token) and run the whole transaction again with the same key.
    RECONNECT_AND_RETRY = "reconnect_and_retry"
    #: Same connection is fine; run the transaction again (InnoDB already rolled it back).
    RETRY = "retry"
    #: Refused by the fence (no DML on this endpoint): keep the connection (a new TLS login per waiting
    #: payment and attempt would flood both databases during the pause), let the writer choice turn to the
    #: other endpoint, and re-read the session's schema privileges before this connection's next use
    #: (MySQL applies a GRANT to an open session at its next USE): database.py does both.
    REFRESH_AND_RETRY = "refresh_and_retry"
    #: Not a cut-over effect (a bug, bad data): answer 500, never retry blindly.
    FAIL = "fail"


def mysql_code(error: BaseException) -> int | None:
    """The MySQL error number of a DB-API error, wrapped by SQLAlchemy or not."""
    inner = getattr(error, "orig", None) or error
    args = getattr(inner, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def classify(code: int | None) -> Action:
    if code == ER_TABLEACCESS_DENIED:
        return Action.REFRESH_AND_RETRY
    if code in CONNECTION_LOST or code in FENCED or code in UNREACHABLE:
        return Action.RECONNECT_AND_RETRY
    if code in TRANSIENT:
        return Action.RETRY
    return Action.FAIL


def decide(error: BaseException) -> Action:
    """The action for an error SQLAlchemy raised: its own disconnect detection counts as connection lost."""
    if getattr(error, "connection_invalidated", False):
        return Action.RECONNECT_AND_RETRY
    return classify(mysql_code(error))


def commit_is_ambiguous(code: int | None) -> bool:
    """Lost during COMMIT: the commit may or may not have landed. Only a key look-up can tell."""
    return code in CONNECTION_LOST


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, bounded by a deadline (WRITE_RETRY_SECONDS)."""

    budget_seconds: float
    first_seconds: float = 0.05
    #: A write waiting on the fence is answered at most this long after the unfence (the rehearsal measured
    #: a 1 s cap adding up to 1 s to a ~1 s pause, enough to trip the p99 gate). Lower means more logins per
    #: waiting payment: at 0.5 s about 3 per second (RDS IAM authentication allows ~200 new connections/s).
    cap_seconds: float = 0.5

    def delay(self, attempt: int, elapsed: float, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None when the budget is spent."""
        remaining = self.budget_seconds - elapsed
        if remaining <= 0:
            return None
        ceiling = min(self.cap_seconds, self.first_seconds * (2 ** attempt))
        wait = (rng or random).uniform(ceiling / 2, ceiling)
        return min(wait, remaining)

    def retry_after_header(self) -> str:
        """Retry-After (whole seconds) on a 503: about one fence-and-move later."""
        return str(max(1, round(self.cap_seconds * 2)))
