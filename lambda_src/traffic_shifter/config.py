"""The shifter's configuration: the Lambda's environment variables (templates/automation.py sets them),
read once into a ShifterConfig; the CLI reads the deployed function's variables the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .db.config import DbConfig
from .errors import ConfigError

#: Lambda environment variable -> ShifterConfig field (templates/automation.json sets them).
ENV_VARS = {
    "SSM_PREFIX": "ssm_prefix",
    "STATE_TABLE": "state_table",
    "LISTENER_ARNS": "listener_arns",
    "BLUE_TARGET_GROUP_ARNS": "blue_target_group_arns",
    "GREEN_TARGET_GROUP_ARNS": "green_target_group_arns",
    "HOSTED_ZONE_ID": "hosted_zone_id",
    "RECORD_NAME": "record_name",
    "GATE_ALARMS": "gate_alarms",
    "NOTIFY_TOPIC_ARN": "notify_topic_arn",
}
#: Optional: variable -> (ShifterConfig field, default). LOW_TRAFFIC_MIN_REQUESTS: requests green must
#: serve in a step's bake window before the step is judged (0: the guard is off; docs/traffic-shifting.md).
OPTIONAL_ENV_VARS = {"LOW_TRAFFIC_MIN_REQUESTS": ("low_traffic_min_requests", 0)}
ARN_LISTS = ("listener_arns", "blue_target_group_arns", "green_target_group_arns")


@dataclass(frozen=True)
class ShifterConfig:
    ssm_prefix: str
    state_table: str
    #: One per ALB, blue ALB first; the target groups in the same order (each ALB's own).
    listener_arns: tuple[str, ...]
    blue_target_group_arns: tuple[str, ...]
    green_target_group_arns: tuple[str, ...]
    hosted_zone_id: str
    record_name: str
    gate_alarms: tuple[str, ...]
    notify_topic_arn: str
    #: The database switchover's settings (None: no DB_* variables, the db_switchover step refuses).
    db: DbConfig | None = None
    #: The low-traffic guard (LOW_TRAFFIC_MIN_REQUESTS; 0: off).
    low_traffic_min_requests: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ShifterConfig:
        missing = [k for k in ENV_VARS if not (environ.get(k) or "").strip()]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (expected all of: {', '.join(ENV_VARS)})")
        values: dict[str, Any] = {field: environ[var].strip() for var, field in ENV_VARS.items()}
        values["ssm_prefix"] = values["ssm_prefix"].rstrip("/")
        values["gate_alarms"] = tuple(n.strip() for n in values["gate_alarms"].split(",") if n.strip())
        for name in ARN_LISTS:
            values[name] = tuple(a.strip() for a in values[name].split(",") if a.strip())
        counts = {name: len(values[name]) for name in ARN_LISTS}
        if len(set(counts.values())) != 1:
            raise ConfigError(
                "LISTENER_ARNS, BLUE_TARGET_GROUP_ARNS and GREEN_TARGET_GROUP_ARNS need one entry per ALB, "
                f"in the same order (blue ALB first); got {counts}"
            )
        values["db"] = DbConfig.from_env(environ)
        for var, (name, default) in OPTIONAL_ENV_VARS.items():
            raw = (environ.get(var) or "").strip()
            if not raw:
                values[name] = default
            elif not raw.isdigit():
                raise ConfigError(f"{var}={raw!r}: expected a whole number of requests >= 0 (0 turns the guard off)")
            else:
                values[name] = int(raw)
        return cls(**values)

    @property
    def weight_parameter(self) -> str:
        return f"{self.ssm_prefix}/traffic/green-weight"

    @property
    def plan_parameter(self) -> str:
        return f"{self.ssm_prefix}/shift/plan"

    @property
    def label(self) -> str:
        """``payments-migration/dev-d01``: names the deployment in notifications."""
        return self.ssm_prefix.strip("/")
