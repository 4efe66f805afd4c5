"""Custom resource ``Custom::SchemaMigration``: the payment schema and its IAM-auth user on one cluster.

Runs the payment service's own migration (``payment_api.migrate``: what ``payment-api migrate
--create-app-user [--fenced]`` runs, Alembic to head) from inside the VPC, before any ECS task needs
the schema: the compute stack depends on the schema stack that owns these resources. The master
credentials are read from Secrets Manager here, in the function, and never leave AWS: no stack
parameter, output, response or log line holds them.

Properties (strings, as CloudFormation sends them):
  ClusterIdentifier     the cluster (the resource's name, and in every message)
  MasterSecretArn       its master secret: username, password, host, port (the database stack's
                        SecretTargetAttachment writes host and port)
  DatabaseName          the schema (payments)
  AppUser               the application user (payments_app): IAM database authentication, TLS required
  Fenced                "true": a NEW app user gets SELECT only (green is not the writer at the start);
                        an existing user's grants are never touched (the writer fence owns them)
  CaBundleParameter     SSM String parameter holding the RDS CA bundle: TLS verified, host name included.
                        Until an operator loads it (the first launch of an environment: the parameters
                        stack creates it with a placeholder) TLS is required but not verified, as the DMS
                        endpoints without a certificate; the answer's ``Tls`` says which
  BinlogRetentionHours  hours of binary log the cluster keeps for DMS CDC (mysql.rds_set_configuration)
  Release               changes whenever the migration must run again (the zip's key: new revisions)

Create and Update migrate (idempotent: the schema is created if missing and upgraded to head, the
user created if missing). Delete changes nothing: the schema is the cluster's data and goes with it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)
# botocore logs response bodies at DEBUG, and GetSecretValue's holds the master password.
for _sdk in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_sdk).setLevel(logging.WARNING)

SUCCESS, FAILED = "SUCCESS", "FAILED"
CA_BUNDLE_FILE = Path("/tmp/rds-ca-bundle.pem")
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
REQUIRED = ("ClusterIdentifier", "MasterSecretArn", "DatabaseName", "AppUser", "CaBundleParameter", "BinlogRetentionHours")
#: mysql.rds_set_configuration accepts 1..2160 hours (90 days) on Aurora MySQL 3.
BINLOG_HOURS = (1, 2160)
MAX_REASON = 1024
RESPONSE_TIMEOUT_SECONDS = 15


class PropertyError(ValueError):
    """The template's properties are wrong; nothing was changed."""


@dataclass(frozen=True)
class Spec:
    cluster: str
    secret_arn: str
    database: str
    app_user: str
    fenced: bool
    ca_parameter: str
    binlog_hours: int

    @property
    def physical_id(self) -> str:
        return f"schema-{self.cluster}-{self.database}"


def parse_spec(properties: dict) -> Spec:
    missing = [key for key in REQUIRED if not str(properties.get(key) or "").strip()]
    if missing:
        raise PropertyError(f"missing properties: {', '.join(missing)}")
    fenced = str(properties.get("Fenced", "false")).lower()
    if fenced not in ("true", "false"):
        raise PropertyError(f"Fenced must be true or false, got {properties.get('Fenced')!r}")
    hours = str(properties["BinlogRetentionHours"])
    if not hours.isdigit() or not BINLOG_HOURS[0] <= int(hours) <= BINLOG_HOURS[1]:
        raise PropertyError(f"BinlogRetentionHours must be {BINLOG_HOURS[0]}-{BINLOG_HOURS[1]}, got {hours!r}")
    return Spec(cluster=str(properties["ClusterIdentifier"]), secret_arn=str(properties["MasterSecretArn"]),
                database=str(properties["DatabaseName"]), app_user=str(properties["AppUser"]), fenced=fenced == "true",
                ca_parameter=str(properties["CaBundleParameter"]), binlog_hours=int(hours))


def migration_environment(spec: Spec, secret: dict, ca_file: str | None, region: str) -> dict[str, str]:
    """The variables ``payment-api migrate`` reads (payment_api.settings), from the master secret."""
    missing = [key for key in ("username", "password", "host", "port") if not secret.get(key)]
    if missing:
        raise PropertyError(f"the master secret of {spec.cluster} lacks {', '.join(missing)} (the database stack's "
                            "SecretTargetAttachment writes host and port)")
    return {
        "DB_ENDPOINTS": str(secret["host"]), "DB_PORT": str(secret["port"]), "DB_NAME": spec.database,
        "DB_USER": spec.app_user, "DB_IAM_AUTH": "true", "DB_CA_BUNDLE": ca_file or "",
        "DB_TLS_UNVERIFIED": "false" if ca_file else "true", "AWS_REGION": region,
        "DB_ADMIN_USER": str(secret["username"]), "DB_ADMIN_PASSWORD": str(secret["password"]),
    }


# ------------------------------------------------------------------------------------- adapters
@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)


def ca_bundle(ssm: Any, parameter: str) -> str | None:
    """The RDS CA bundle from SSM, written to /tmp for PyMySQL; None while the parameter holds none."""
    pem = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    if PEM_CERTIFICATE not in pem:
        logger.warning("SSM %s holds no PEM certificate yet: TLS without certificate verification (load the RDS CA "
                       "bundle, docs/deployment.md, and the next run verifies)", parameter)
        return None
    CA_BUNDLE_FILE.write_text(pem)
    return str(CA_BUNDLE_FILE)


def run(spec: Spec, clients: Callable[[str], Any] = client, region: str | None = None) -> dict[str, str]:
    """Migrate one cluster; returns the response Data (what was done, the schema revision)."""
    from sqlalchemy import text

    from payment_api.migrate import admin_engine, current_revision, migrate
    from payment_api.settings import Settings

    secret = json.loads(clients("secretsmanager").get_secret_value(SecretId=spec.secret_arn)["SecretString"])
    ca_file = ca_bundle(clients("ssm"), spec.ca_parameter)
    region = region or os.environ.get("AWS_REGION", "us-east-1")
    settings = Settings.from_env(migration_environment(spec, secret, ca_file, region), purpose="migrate")
    done = migrate(settings, create_app_user=True, fenced=spec.fenced, say=logger.info)
    engine = admin_engine(settings)
    try:
        with engine.begin() as conn:
            # DMS CDC reads the binary log: RDS keeps it only as long as this says (docs/data-tier.md).
            conn.execute(text("CALL mysql.rds_set_configuration('binlog retention hours', :h)"), {"h": spec.binlog_hours})
        revision = current_revision(engine) or ""
    finally:
        engine.dispose()
    done.append(f"binlog retention {spec.binlog_hours} hours")
    tls = "verified against the RDS CA bundle" if ca_file else f"encrypted, not verified ({spec.ca_parameter} not loaded)"
    logger.info("%s: %s; TLS %s", spec.cluster, "; ".join(done), tls)
    return {"Revision": revision, "Done": "; ".join(done)[:MAX_REASON], "Tls": tls}


# ------------------------------------------------------------------------------------ protocol
def response_body(event: dict, status: str, reason: str, physical_id: str, data: dict | None) -> dict:
    body = {"Status": status, "Reason": reason[:MAX_REASON] or f"See /aws/lambda/{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', '')}",
            "PhysicalResourceId": physical_id, "StackId": event.get("StackId"), "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId")}
    if data:
        body["Data"] = data
    return body


def send(event: dict, body: dict, attempts: int = 3) -> bool:
    """PUT the response to the pre-signed ResponseURL (as cfn-response does); a failed PUT is retried, then logged."""
    payload = json.dumps(body).encode()
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(event["ResponseURL"], data=payload, method="PUT",
                                         headers={"Content-Type": "", "Content-Length": str(len(payload))})
        try:
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
                logger.info("response %s sent to CloudFormation: HTTP %s", body["Status"], response.status)
                return True
        except (urllib.error.URLError, OSError) as err:
            logger.warning("sending the response failed (attempt %d of %d): %s", attempt, attempts, err)
            if attempt < attempts:
                time.sleep(2 * attempt)
    logger.error("CloudFormation never got the %s response for %s", body["Status"], body["LogicalResourceId"])
    return False


def _reason(err: Exception) -> str:
    # A driver message never carries the password, but scrub anything that looks like one anyway.
    return re.sub(r"(password[^,;]*)", "password ***", f"{type(err).__name__}: {err}", flags=re.IGNORECASE)


def handle(event: dict, run_migration: Callable[[Spec], dict] = run) -> dict:
    """Carry out the request and return the response document (without sending it)."""
    request_type = event["RequestType"]
    physical_id = event.get("PhysicalResourceId")
    logger.info("%s %s (%s)", request_type, event.get("LogicalResourceId"), physical_id or "new")
    try:
        if request_type in ("Create", "Update"):
            spec = parse_spec(event["ResourceProperties"])
            return response_body(event, SUCCESS, "", spec.physical_id, run_migration(spec))
        if request_type == "Delete":
            return response_body(event, SUCCESS, "", physical_id or "none", None)
        raise PropertyError(f"unknown RequestType {request_type!r}")
    except Exception as err:  # noqa: BLE001 - every failure must reach CloudFormation, or the stack waits an hour
        logger.error("%s failed: %s", request_type, _reason(err))
        return response_body(event, FAILED, _reason(err), physical_id or f"failed-{event.get('RequestId', 'unknown')}", None)


def lambda_handler(event: dict, context: Any) -> dict:
    body = handle(event)
    send(event, body)
    return {"Status": body["Status"], "PhysicalResourceId": body["PhysicalResourceId"]}
