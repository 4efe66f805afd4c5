"""The switchover's configuration: the Lambda's DB_* environment variables, read once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..model import COLOURS, other

__all__ = ["COLOURS", "DB_ENV_VARS", "DB_TUNABLES", "DbConfig", "other"]

#: Lambda environment variable -> DbConfig field; all or none must be set (templates/automation.json).
DB_ENV_VARS = {
    "WRITER_ZONE_ID": "writer_zone_id",
    "WRITER_RECORD_NAME": "writer_record_name",
    "BLUE_CLUSTER_ID": "blue_cluster_id",
    "GREEN_CLUSTER_ID": "green_cluster_id",
    "DMS_INSTANCE_ID": "dms_instance_id",
    "DMS_TASK_INITIAL_ARN": "task_initial_arn",
    "DMS_TASK_BLUE_TO_GREEN_ARN": "task_blue_to_green_arn",
    "DMS_TASK_GREEN_TO_BLUE_ARN": "task_green_to_blue_arn",
    "BLUE_DB_SECRET_ARN": "blue_secret_arn",
    "GREEN_DB_SECRET_ARN": "green_secret_arn",
}
#: Optional tunables: variable -> (field, default).
DB_TUNABLES = {
    "APP_DB_USER": ("app_user", "payments_app"),
    "APP_DB_SCHEMA": ("app_schema", "payments"),
    "MARKER_SCHEMA": ("marker_schema", "bluegreen_ops"),
    "CDC_LATENCY_MAX_SECONDS": ("cdc_latency_max_seconds", 10.0),
    # The marker takes about the replication lag, which the guardrail holds under 10 s before the fence.
    "DRAIN_TIMEOUT_SECONDS": ("drain_timeout_seconds", 15.0),
    "DRAIN_METRIC_PERIOD": ("metric_period", 60),
    # The whole forward run must end by then (the Lambda timeout is 300 s): what is left is the undo's.
    "SWITCHOVER_BUDGET_SECONDS": ("budget_seconds", 200.0),
    # A live run renews its lease at every action and poll; a lease that lapsed means the run died.
    "SWITCHOVER_LEASE_SECONDS": ("lease_seconds", 30.0),
    "DB_CA_BUNDLE": ("ca_bundle", ""),
    "DB_CA_BUNDLE_PARAMETER": ("ca_bundle_parameter", ""),
    "DB_TLS_VERIFY": ("tls_verify", "true"),
}


#: The fence must show it took (killed sessions rolled back) within this.
QUIET_TIMEOUT_SECONDS = 5.0
#: What the pause's own calls may take beyond the waits: the fence, marker and unfence (or, on failure, the
#: undo's unfence of the old writer) SQL sessions, each bounded by its 5 s connect timeout, and journal writes.
PAUSE_CALLS_SECONDS = 5.0


def pause_budget_seconds(config: DbConfig) -> float:
    """The longest a switchover's write pause can last before a writer takes writes again (the new one,
    or the old one after the run's own undo): the service's write retry window must cover it
    (bluegreen.cfn.WRITE_RETRY_SECONDS, docs/db-switchover.md). A run that DIES is longer (lease + tick)."""
    return QUIET_TIMEOUT_SECONDS + config.drain_timeout_seconds + PAUSE_CALLS_SECONDS


@dataclass(frozen=True)
class DbConfig:
    writer_zone_id: str
    writer_record_name: str
    blue_cluster_id: str
    green_cluster_id: str
    dms_instance_id: str
    task_initial_arn: str
    task_blue_to_green_arn: str
    task_green_to_blue_arn: str
    blue_secret_arn: str
    green_secret_arn: str
    app_user: str = "payments_app"
    app_schema: str = "payments"
    marker_schema: str = "bluegreen_ops"
    cdc_latency_max_seconds: float = 10.0
    drain_timeout_seconds: float = 15.0
    metric_period: int = 60
    budget_seconds: float = 200.0
    lease_seconds: float = 30.0
    ca_bundle: str = ""
    ca_bundle_parameter: str = ""
    tls_verify: str = "true"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DbConfig | None:
        """None when no database variable is set (a traffic-only deployment); all-or-nothing otherwise."""
        present = [k for k in DB_ENV_VARS if (environ.get(k) or "").strip()]
        if not present:
            return None
        missing = [k for k in DB_ENV_VARS if k not in present]
        if missing:
            raise ConfigError(f"missing database variable(s): {', '.join(missing)} (set all of {', '.join(DB_ENV_VARS)} or none)")
        values: dict[str, Any] = {f: environ[v].strip() for v, f in DB_ENV_VARS.items()}
        for var, (fname, default) in DB_TUNABLES.items():
            raw = (environ.get(var) or "").strip()
            if not raw:
                continue
            try:
                convert: Any = type(default)  # the tunable's own type: float, int or str
                values[fname] = convert(raw)
            except ValueError:
                raise ConfigError(f"{var}={raw!r} is not a {type(default).__name__}") from None
        if values.get("tls_verify", "true").lower() not in ("true", "false"):
            raise ConfigError(f"DB_TLS_VERIFY={values['tls_verify']!r}: expected true or false")
        name = values["writer_record_name"].lower()
        values["writer_record_name"] = name if name.endswith(".") else name + "."
        return cls(**values)

    @property
    def verify_tls(self) -> bool:
        return self.tls_verify.lower() != "false"

    def cluster_id(self, colour: str) -> str:
        return self.blue_cluster_id if colour == "blue" else self.green_cluster_id

    def secret_arn(self, colour: str) -> str:
        return self.blue_secret_arn if colour == "blue" else self.green_secret_arn

    def tasks_into(self, colour: str) -> tuple[str, ...]:
        """Tasks replicating INTO ``colour`` (any of them may be the running one)."""
        return (self.task_initial_arn, self.task_blue_to_green_arn) if colour == "green" else (self.task_green_to_blue_arn,)

    def cdc_task_from(self, colour: str) -> str:
        """The CDC-only task FROM ``colour`` (started from a time when ``colour`` becomes the writer)."""
        return self.task_green_to_blue_arn if colour == "green" else self.task_blue_to_green_arn
