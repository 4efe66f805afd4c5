"""AWS-like delays injected into the rehearsal's stand-ins for AWS: declared once, each with its source.

The local stand-ins answer at once where AWS takes time: a MariaDB replica applies a row in
milliseconds, a DMS task "stops" or "starts" with one SQL statement, every control-plane call goes to
a moto server on loopback. A write pause measured that way leaves AWS out. These delays put it back
into the adapters (adapters.py), never into the project's own code: the switchover procedure waits
for them exactly as it waits for AWS. Profiles: ``none`` (the stand-ins as they are) and ``aws``
(the defaults below); any value can be overridden (``--delay cdc_apply_seconds=5``).

Where AWS publishes no figure, the default is an assumption that says so, and the run's report
names the profile it used, so a figure is never quoted without its delays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class Delay:
    seconds: float
    where: str
    source: str


#: The AWS-like defaults, one place. ``where``: which stand-in waits; ``source``: why this value.
AWS_LIKE: dict[str, Delay] = {
    "cdc_apply_seconds": Delay(
        2.0,
        "replication: the drain marker is seen on the new writer only this long after it was written "
        "(DMS CDC's commit-to-apply latency)",
        "AWS publishes no typical DMS CDC latency and no SLA (https://docs.aws.amazon.com/dms/latest/userguide/"
        "CHAP_Task.CDC.html: 'There are no CDC latency SLAs'); DMS reads the MySQL binlog periodically "
        "(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Troubleshooting_Latency_Source_MySQL.html). "
        "Assumed 2 s for a healthy task; the switchover refuses to fence above 10 s (CDC_LATENCY_MAX_SECONDS), "
        "so 10 s is the worst the guardrail lets in: rerun with --delay cdc_apply_seconds=10 to see it"),
    "dms_stop_seconds": Delay(
        10.0,
        "replication: stopping the forward task takes this long before it reports stopped",
        "AWS documents the task states (stopping -> stopped) but no duration "
        "(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.Status.html); assumed 10 s. "
        "After the unfence: it lengthens the run, not the write pause"),
    "dms_start_seconds": Delay(
        30.0,
        "replication: starting the reverse CDC task takes this long before it reports running",
        "AWS documents the task states (starting -> running) but no duration "
        "(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.Status.html); assumed 30 s. "
        "After the unfence: it lengthens the run, not the write pause"),
    "api_call_seconds": Delay(
        0.02,
        "every AWS API call of the shifter and the switchover (journal writes, DMS/RDS/CloudWatch reads) "
        "waits this long before it is sent",
        "DynamoDB: 'single-digit millisecond performance at any scale' (https://aws.amazon.com/dynamodb/); "
        "the other control-plane reads are tens of ms from a Lambda in the same region: assumed 20 ms per call"),
    "sql_login_seconds": Delay(
        0.05,
        "every SQL session of the fence and the drain (a master login from the Lambda) waits this long before "
        "it opens: the Secrets Manager GetSecretValue call, TCP and the TLS handshake inside the VPC",
        "GetSecretValue is one API call (as api_call_seconds) plus a TLS 1.2 handshake (2 round trips, "
        "https://www.rfc-editor.org/rfc/rfc5246) inside one region: assumed 50 ms"),
}


@dataclass(frozen=True)
class Delays:
    """The delays one run injects (seconds); all zero is the ``none`` profile."""

    cdc_apply_seconds: float = 0.0
    dms_stop_seconds: float = 0.0
    dms_start_seconds: float = 0.0
    api_call_seconds: float = 0.0
    sql_login_seconds: float = 0.0

    @classmethod
    def profile(cls, name: str, overrides: dict[str, float] | None = None) -> Delays:
        if name not in PROFILES:
            raise ValueError(f"unknown delay profile {name!r}; choose one of {', '.join(PROFILES)}")
        base = cls(**{k: d.seconds for k, d in AWS_LIKE.items()}) if name == "aws" else cls()
        return replace(base, **(overrides or {}))

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


PROFILES = ("none", "aws")


def parse_override(text: str) -> tuple[str, float]:
    """``name=seconds`` -> (name, seconds); a clear ValueError otherwise."""
    name, eq, value = text.partition("=")
    names = [f.name for f in fields(Delays)]
    if not eq or name not in names:
        raise ValueError(f"--delay {text!r}: expected NAME=SECONDS with NAME one of {', '.join(names)}")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"--delay {text!r}: {value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 300:
        raise ValueError(f"--delay {text!r}: seconds must be within 0-300")
    return name, seconds


def sources() -> dict[str, dict[str, object]]:
    """For report.json: each delay's default, where it is injected, and its source."""
    return {k: asdict(d) for k, d in AWS_LIKE.items()}


__all__ = ["AWS_LIKE", "Delay", "Delays", "PROFILES", "parse_override", "sources"]
#: The ``none`` profile (all zero): the default wherever no delays are asked for.
NO_DELAYS = Delays()
