"""The database writer switchover, by job (docs/db-switchover.md):

- config.py: the DB_* environment variables (DbConfig);
- ports.py: the interfaces the procedure moves the world through (writer name, replication, fence, drain);
- fence.py: SqlGrantFence and the TLS-verified master-login connector;
- drain.py: the marker-row drain (SqlMarkerDrain);
- aws_world.py: the AWS adapters (Route 53 writer name, DMS, RDS);
- guardrails.py: the pure guardrail judgments; journal.py: the journal and the pure recovery rule;
- procedure.py: the switchover, its undo and its recovery; step.py: the plan step and entry points.
"""

from .config import COLOURS, DB_ENV_VARS, DbConfig, other
from .drain import DrainError, SqlMarkerDrain
from .fence import SqlGrantFence, secrets_connector
from .journal import LOCK_ID, Recovery, recovery
from .ports import Drain, Fence, Replication, ReplicationSnapshot, WriterName
from .procedure import LeaseLost, Switchover, SwitchoverFailed, SwitchoverRefused
from .step import DB_STEP, DbSwitchover

__all__ = [
    "COLOURS", "DB_ENV_VARS", "DB_STEP", "LOCK_ID", "DbConfig", "DbSwitchover", "Drain", "DrainError", "Fence",
    "LeaseLost", "Recovery", "Replication", "ReplicationSnapshot", "SqlGrantFence", "SqlMarkerDrain", "Switchover",
    "SwitchoverFailed", "SwitchoverRefused", "WriterName", "other", "recovery", "secrets_connector",
]
