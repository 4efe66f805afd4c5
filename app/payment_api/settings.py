"""The service's settings: one typed object read from the environment once, at start.

``VARIABLES`` is the one list of what the service reads. ``where`` says who sets a variable:

* ``task``: the ECS task definition (templates/compute.py). A test holds this set equal to the
  Environment + Secrets names of templates/compute.json, both ways.
* ``local``: only a local run sets it (a password login instead of an IAM token).
* ``migrate``: only the one-off migration task (an admin login with DDL rights).
* ``rotation``: only during a signing-key rotation's overlap window, as one more ECS secret
  (docs/payment-service.md, "Signed answers").
* ``rehearsal``: only the dress rehearsal (``scripts/rehearse``) sets it; never a task definition.

A missing or malformed variable stops the start with one message naming every bad variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

TRUE, FALSE = "true", "false"


@dataclass(frozen=True)
class Variable:
    name: str
    where: str  # task | local | migrate | rotation
    doc: str
    default: str | None = None  # None: required (or conditionally required, see _check)


VARIABLES: tuple[Variable, ...] = (
    Variable("APP_COLOUR", "task", "blue or green: reported in answers, logs and /health; never picks a database"),
    Variable("APP_PORT", "task", "port to listen on", "8080"),
    Variable("DB_ENDPOINTS", "task", "the clusters' RDS writer endpoints, blue=<host>,green=<host> (or one bare host): "
             "the service writes to the one the fence allows (database.py)"),
    Variable("DB_PORT", "task", "database port", "3306"),
    Variable("DB_NAME", "task", "schema of the payment tables"),
    Variable("DB_USER", "task", "the DML-only application user (payments_app)"),
    Variable("DB_IAM_AUTH", "task", "true: sign an IAM token per new connection, TLS verified with DB_CA_BUNDLE", FALSE),
    Variable("DB_CA_BUNDLE", "task", "CA bundle the database's TLS certificate is verified against (required with IAM)", ""),
    Variable("AWS_REGION", "task", "region the IAM database token is signed for (required with IAM)", ""),
    Variable("WRITE_RETRY_SECONDS", "task", "how long a refused or killed write is retried before 503", "10"),
    Variable("TLS_CERT_FILE", "task", "HTTPS certificate (PEM); with TLS_KEY_FILE: HTTPS, else plain HTTP", ""),
    Variable("TLS_KEY_FILE", "task", "HTTPS private key (PEM)", ""),
    Variable("TLS_SELF_SIGNED", "task", "true: create a per-task self-signed pair at the TLS paths at start", FALSE),
    Variable("METRICS_NAMESPACE", "task", "CloudWatch namespace of the EMF payment metrics (one per environment)",
             "PaymentService/local"),
    Variable("PAYMENT_SIGNING_KEY", "local", "the signing key itself (local runs and the rehearsal): a secret the Ed25519 "
             "key is derived from, or an Ed25519 private key in PKCS#8 PEM", ""),
    Variable("PAYMENT_SIGNING_KEY_SECRET_ARN", "task", "Secrets Manager secret (under our CMK) holding the signing key, read "
             "once at start with the task role: how a task in AWS gets it (signing.load_stored_key)", ""),
    Variable("PAYMENT_SIGNING_KEY_PREVIOUS", "rotation", "the previous signing secret: signs beside the new one while clients "
             "move to the new public key", ""),
    Variable("DB_RESOLVE", "local", "name=address[:port],...: open the TCP connection to that address while TLS "
             "still verifies the name (as curl --resolve; the rehearsal's endpoint names resolve nowhere)", ""),
    Variable("DB_PASSWORD", "local", "password of DB_USER when DB_IAM_AUTH is false", ""),
    Variable("DB_ADMIN_USER", "migrate", "login with DDL rights for `payment-api migrate`", ""),
    Variable("DB_ADMIN_PASSWORD", "migrate", "password of DB_ADMIN_USER", ""),
    Variable("REHEARSAL_FAULTS", "rehearsal", "true: the fault-injection control PUT /rehearsal/faults exists "
             "(refused on ECS and with DB_IAM_AUTH=true)", FALSE),
    Variable("METRICS_FLUSH_SECONDS", "rehearsal", "how often the EMF payment metrics are printed (the rehearsal "
             "compresses time)", "1"),
    Variable("DB_TLS_UNVERIFIED", "migrate", "true without DB_CA_BUNDLE: TLS required, the server certificate not "
             "verified (the schema stack's first run, before the RDS CA bundle is loaded)", FALSE),
)
#: Variables ECS sets in every task (container metadata endpoint): their presence means a deployed task.
ECS_MARKERS = ("ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI")
TASK_VARIABLES = frozenset(v.name for v in VARIABLES if v.where == "task")

_COLOUR = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class SettingsError(ValueError):
    """The environment cannot run the service; the message names every bad variable."""


@dataclass(frozen=True)
class Settings:
    app_colour: str
    app_port: int
    db_endpoints: tuple[tuple[str, str], ...]
    db_port: int
    db_name: str
    db_user: str
    db_iam_auth: bool
    db_ca_bundle: str
    aws_region: str
    write_retry_seconds: float
    tls_cert_file: str
    tls_key_file: str
    tls_self_signed: bool
    payment_signing_key: str
    payment_signing_key_previous: str
    db_password: str
    db_admin_user: str
    db_admin_password: str
    db_resolve: tuple[tuple[str, str, int | None], ...] = ()
    metrics_namespace: str = "PaymentService/local"
    rehearsal_faults: bool = False
    metrics_flush_seconds: float = 1.0
    db_tls_unverified: bool = False
    payment_signing_key_secret_arn: str = ""

    def __repr__(self) -> str:  # never print a secret by accident
        hidden = {"payment_signing_key", "payment_signing_key_previous", "db_password", "db_admin_password"}
        shown = ", ".join(f"{f.name}={'***' if f.name in hidden else getattr(self, f.name)!r}" for f in fields(self))
        return f"Settings({shown})"

    @property
    def db_host(self) -> str:
        """The first endpoint (a one-off task such as the migration works on one cluster)."""
        return self.db_endpoints[0][1]

    def db_address(self, host: str) -> tuple[str, int]:
        """Where the TCP connection to ``host`` goes: DB_RESOLVE's address for it, else the name itself."""
        for name, address, port in self.db_resolve:
            if name == host:
                return address, port or self.db_port
        return host, self.db_port

    @property
    def https(self) -> bool:
        return bool(self.tls_cert_file and self.tls_key_file)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, purpose: str = "serve") -> Settings:
        """Read and check every variable. ``purpose``: serve (the API) or migrate (the migration task)."""
        env = os.environ if env is None else env
        # Each value is checked by _check before it is used below (a missing one is a problem, not a None).
        raw: dict[str, Any] = {v.name: env.get(v.name, v.default) for v in VARIABLES}
        problems = _check(raw, purpose) + _check_rehearsal(raw, env)
        if problems:
            raise SettingsError("payment-api cannot start: " + "; ".join(problems))
        return cls(
            app_colour=raw["APP_COLOUR"] or "",
            app_port=int(raw["APP_PORT"]),
            db_endpoints=parse_endpoints(raw["DB_ENDPOINTS"]),
            db_port=int(raw["DB_PORT"]),
            db_name=raw["DB_NAME"],
            db_user=raw["DB_USER"] or "",
            db_iam_auth=raw["DB_IAM_AUTH"] == TRUE,
            db_ca_bundle=raw["DB_CA_BUNDLE"],
            aws_region=raw["AWS_REGION"],
            write_retry_seconds=float(raw["WRITE_RETRY_SECONDS"]),
            tls_cert_file=raw["TLS_CERT_FILE"],
            tls_key_file=raw["TLS_KEY_FILE"],
            tls_self_signed=raw["TLS_SELF_SIGNED"] == TRUE,
            payment_signing_key=raw["PAYMENT_SIGNING_KEY"] or "",
            payment_signing_key_previous=raw["PAYMENT_SIGNING_KEY_PREVIOUS"] or "",
            db_password=raw["DB_PASSWORD"],
            db_admin_user=raw["DB_ADMIN_USER"],
            db_admin_password=raw["DB_ADMIN_PASSWORD"],
            db_resolve=parse_resolve(raw["DB_RESOLVE"]),
            metrics_namespace=raw["METRICS_NAMESPACE"],
            rehearsal_faults=raw["REHEARSAL_FAULTS"] == TRUE,
            metrics_flush_seconds=float(raw["METRICS_FLUSH_SECONDS"]),
            db_tls_unverified=raw["DB_TLS_UNVERIFIED"] == TRUE,
            payment_signing_key_secret_arn=raw["PAYMENT_SIGNING_KEY_SECRET_ARN"] or "",
        )


_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def parse_endpoints(raw: str) -> tuple[tuple[str, str], ...]:
    """``blue=h1,green=h2`` -> (("blue", "h1"), ("green", "h2")); a bare ``h`` -> (("writer", "h"),)."""
    items = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if len(items) == 1 and "=" not in items[0]:
        return (("writer", items[0]),)
    return tuple((k.strip(), v.strip()) for k, _, v in (i.partition("=") for i in items))


def parse_resolve(raw: str) -> tuple[tuple[str, str, int | None], ...]:
    out = []
    for item in (p.strip() for p in (raw or "").split(",") if p.strip()):
        name, _, target = item.partition("=")
        address, _, port = target.partition(":")
        out.append((name.strip(), address.strip(), int(port) if port.isdigit() else None))
    return tuple(out)


def _check_endpoints(raw: str | None) -> list[str]:
    if not raw:
        return []
    items = [p.strip() for p in raw.split(",") if p.strip()]
    bad = f"DB_ENDPOINTS={raw!r} must be blue=<endpoint>,green=<endpoint> (or one bare host name)"
    if len(items) == 1 and "=" not in items[0]:
        return [] if _NAME.match(items[0]) else [bad]
    pairs = [i.partition("=") for i in items]
    names = [k.strip() for k, _, _ in pairs]
    if any(not eq or not _COLOUR.match(k.strip()) or not _NAME.match(v.strip()) for k, eq, v in pairs) or len(set(names)) != len(names):
        return [bad]
    if len({v.strip() for _, _, v in pairs}) != len(pairs):
        return [bad + ": each colour its own endpoint"]
    return []


def _check_resolve(raw: str | None) -> list[str]:
    for item in (p.strip() for p in (raw or "").split(",") if p.strip()):
        name, eq, target = item.partition("=")
        address, colon, port = target.partition(":")
        if not eq or not _NAME.match(name.strip()) or not address.strip() or (colon and not (port.isdigit() and 0 < int(port) < 65536)):
            return [f"DB_RESOLVE={raw!r} must be name=address[:port],... (local use only)"]
    return []


def _check(raw: dict[str, Any], purpose: str) -> list[str]:
    if purpose not in ("serve", "migrate"):
        raise ValueError(f"purpose must be serve or migrate, not {purpose!r}")
    needed = ["DB_ENDPOINTS", "DB_NAME"]
    if purpose == "serve":
        needed += ["APP_COLOUR", "DB_USER"]
    problems = [f"{n} is not set" for n in needed if not raw[n]]
    if purpose == "serve" and bool(raw["PAYMENT_SIGNING_KEY"]) == bool(raw["PAYMENT_SIGNING_KEY_SECRET_ARN"]):
        problems.append("set exactly one of PAYMENT_SIGNING_KEY (local) and PAYMENT_SIGNING_KEY_SECRET_ARN (AWS): the key "
                        "that signs every answer")

    for name, low, high in (("APP_PORT", 1, 65535), ("DB_PORT", 1, 65535)):
        if not (raw[name] or "").isdigit() or not low <= int(raw[name]) <= high:
            problems.append(f"{name}={raw[name]!r} is not a port number (1-65535)")
    try:
        if not 0 < float(raw["WRITE_RETRY_SECONDS"] or "") <= 300:
            raise ValueError
    except ValueError:
        problems.append(f"WRITE_RETRY_SECONDS={raw['WRITE_RETRY_SECONDS']!r} must be a number of seconds in (0, 300]")
    problems += _check_endpoints(raw["DB_ENDPOINTS"]) + _check_resolve(raw["DB_RESOLVE"])
    for name in ("DB_IAM_AUTH", "TLS_SELF_SIGNED", "DB_TLS_UNVERIFIED"):
        if raw[name] not in (TRUE, FALSE):
            problems.append(f"{name}={raw[name]!r} must be true or false")
    if raw["APP_COLOUR"] and not _COLOUR.match(raw["APP_COLOUR"]):
        problems.append(f"APP_COLOUR={raw['APP_COLOUR']!r} must be a lower-case name such as blue or green")

    if raw["DB_IAM_AUTH"] == TRUE:
        if not raw["AWS_REGION"]:
            problems.append("AWS_REGION is not set (DB_IAM_AUTH=true signs a token for a region)")
        if not raw["DB_CA_BUNDLE"]:
            if not (purpose == "migrate" and raw["DB_TLS_UNVERIFIED"] == TRUE):
                problems.append("DB_CA_BUNDLE is not set (DB_IAM_AUTH=true connects over verified TLS)")
        elif not os.path.isfile(raw["DB_CA_BUNDLE"]):
            problems.append(f"DB_CA_BUNDLE={raw['DB_CA_BUNDLE']!r} is not a readable file")
    elif purpose == "serve" and not raw["DB_PASSWORD"]:
        problems.append("DB_PASSWORD is not set (DB_IAM_AUTH is false: a password login, for local use only)")
    elif raw["DB_CA_BUNDLE"] and not os.path.isfile(raw["DB_CA_BUNDLE"]):
        problems.append(f"DB_CA_BUNDLE={raw['DB_CA_BUNDLE']!r} is not a readable file")

    if raw["DB_TLS_UNVERIFIED"] == TRUE and purpose != "migrate":
        problems.append("DB_TLS_UNVERIFIED=true is for the migration only: the service always verifies TLS")
    if purpose == "migrate" and not raw["DB_ADMIN_USER"]:
        problems.append("DB_ADMIN_USER is not set (the migration needs a login with DDL rights, not the DML-only app user)")

    if purpose == "serve":
        if bool(raw["TLS_CERT_FILE"]) != bool(raw["TLS_KEY_FILE"]):
            problems.append("TLS_CERT_FILE and TLS_KEY_FILE must be set together (both: HTTPS; neither: plain HTTP)")
        if raw["TLS_SELF_SIGNED"] == TRUE and not (raw["TLS_CERT_FILE"] and raw["TLS_KEY_FILE"]):
            problems.append("TLS_SELF_SIGNED=true needs TLS_CERT_FILE and TLS_KEY_FILE (where to write the pair)")
        elif raw["TLS_SELF_SIGNED"] == FALSE:
            for name in ("TLS_CERT_FILE", "TLS_KEY_FILE"):
                if raw[name] and not os.path.isfile(raw[name]):
                    problems.append(f"{name}={raw[name]!r} is not a readable file")
    return problems


def _check_rehearsal(raw: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """The rehearsal's settings; fault injection is refused wherever the service is deployed."""
    problems = []
    if not re.match(r"^[A-Za-z0-9/_.#:-]{1,255}$", raw["METRICS_NAMESPACE"] or "") or raw["METRICS_NAMESPACE"].startswith("AWS/"):
        problems.append(f"METRICS_NAMESPACE={raw['METRICS_NAMESPACE']!r} is not a custom CloudWatch namespace")
    try:
        if not 0.05 <= float(raw["METRICS_FLUSH_SECONDS"] or "") <= 60:
            raise ValueError
    except ValueError:
        problems.append(f"METRICS_FLUSH_SECONDS={raw['METRICS_FLUSH_SECONDS']!r} must be a number of seconds in [0.05, 60]")
    if raw["REHEARSAL_FAULTS"] not in (TRUE, FALSE):
        problems.append(f"REHEARSAL_FAULTS={raw['REHEARSAL_FAULTS']!r} must be true or false")
    elif raw["REHEARSAL_FAULTS"] == TRUE:
        on_ecs = [name for name in ECS_MARKERS if env.get(name)]
        if on_ecs:
            problems.append(f"REHEARSAL_FAULTS=true is refused: this is an ECS task ({on_ecs[0]} is set); fault "
                            "injection exists only in the dress rehearsal")
        if raw["DB_IAM_AUTH"] == TRUE:
            problems.append("REHEARSAL_FAULTS=true is refused with DB_IAM_AUTH=true (a deployed environment); fault "
                            "injection exists only in the dress rehearsal")
    return problems
