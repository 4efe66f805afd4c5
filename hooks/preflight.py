"""``!preflight``: refuse bad group-config values and a stopped emulator before Sceptre calls AWS.

Argument (a dict; every value comes from the group config through ``!stack_attr``)::

    hooks_inheritance: merge          # the stacks' own hooks are kept (see below)
    hooks:
      before_launch: &preflight
        - !preflight
          environment: !stack_attr stack_group_config.environment          # dev, prod
          suffix: !stack_attr stack_group_config.environment_suffix        # ^[a-z0-9]{2,8}$
          vpc_cidr: !stack_attr stack_group_config.vpc_cidr                # /16../24, disjoint
          certificate_arn: !stack_attr stack_group_config.certificate_arn  # ACM ARN; required in prod
          datacentre_cidrs: !stack_attr stack_group_config.datacentre_cidrs
          dms_create_service_roles: !stack_attr stack_group_config.dms_create_service_roles  # optional: asks IAM
      before_create: *preflight
      ...

The other environments' ``vpc_cidr`` come from Sceptre's reading of their stack groups
(bluegreen.environments: the groups whose config names themselves, so config/nested-dev/, which is
dev's own group config, is not "another environment"). When AWS_ENDPOINT_URL points at 127.0.0.1
or localhost, its port must answer. Every problem is reported at once, on one line of one
PreflightFailedError; the checks are bluegreen/preflight.py.

The values are read with ``!stack_attr`` because a group config is rendered before its own
keys exist: ``{{ vpc_cidr }}`` in config/dev/config.yaml would be undefined there.

Sceptre 4.7's ``hooks_inheritance: merge`` joins *lists*, but ``hooks`` is a dict of lists, so
Sceptre raises ``TypeError: {...} is not a list`` for any stack with hooks of its own. Importing
this module (Sceptre loads every hook entry point before it reads a config) installs
``merge_hooks`` as the "merge" strategy for ``hooks`` only: per hook point, the group's hooks
first, then the stack's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any

from sceptre.config import reader as _config_reader
from sceptre.config import strategies as _strategies
from sceptre.exceptions import InvalidHookArgumentTypeError, SceptreException
from sceptre.hooks import Hook

from bluegreen import preflight

KEYS = frozenset({"environment", "suffix", "vpc_cidr", "certificate_arn", "datacentre_cidrs"})
#: Checked when given: the trust store of both ALBs' mutual TLS (bluegreen.preflight.check_client_trust_store).
OPTIONAL_KEYS = frozenset({"client_ca_bundle_key", "client_ca_bundle_file",
                           # asked of the account (one IAM GetRole per run): dms-vpc-role and the config agree
                           "dms_create_service_roles",
                           # asked of the account (one Lambda GetAccountSettings per run): AWS would refuse the reservation
                           *preflight.LAMBDA_RESERVATIONS,
                           # the data-centre leg: where datacentre_link is on, no placeholder (bluegreen.datacentre_preflight)
                           "datacentre_link", "datacentre_db_host", "datacentre_db_port",
                           "datacentre_vpn_customer_gateway_ip", "datacentre_vpn_bgp_asn", "datacentre_transit_gateway_id"})


class PreflightFailedError(SceptreException):
    """A group-config value or the local setup would make the deployment fail."""


def merge_hooks(parent: dict | None, child: dict | None) -> dict:
    """``hooks_inheritance: merge``: per hook point, the parent's hooks, then the child's."""
    for side in (parent, child):
        if side and not isinstance(side, dict):
            raise TypeError(f"hooks must be a mapping of hook point to a list of hooks, got {side!r}")
    merged = {point: list(hooks or []) for point, hooks in (parent or {}).items()}
    for point, hooks in (child or {}).items():
        merged[point] = merged.get(point, []) + list(hooks or [])
    return deepcopy(merged)


_config_reader.CONFIG_MERGE_STRATEGY_OVERRIDES["hooks"] = {
    **_strategies.LIST_STRATEGIES, "merge": merge_hooks,
}


@cache
def other_vpc_cidrs(project_path: str, environment: str) -> dict[str, str]:
    """{environment: vpc_cidr} of the project's other environments that set vpc_cidr, as Sceptre reads
    their groups (bluegreen.environments; read once per run: every stack of the plan asks).

    ``environment`` is the one being deployed (a stack-group path such as ``dev/networking`` names its
    first part). An environment's nested parent (config/nested-dev/, dev's own group config) is not
    another environment, so its identical vpc_cidr is no overlap.
    """
    from bluegreen.environments import EnvironmentConfigError, group_config, known_environments

    this = environment.split("/")[0]
    found = {}
    for other in known_environments(Path(project_path)):
        if other == this:
            continue
        try:
            cidr = group_config(Path(project_path), other).get("vpc_cidr")
        except EnvironmentConfigError:
            continue  # that environment's own preflight reports it
        if cidr:
            found[other] = str(cidr)
    return found


_DMS_ROLE_CACHE: dict[tuple, dict[str, str] | None] = {}


def dms_role_tags(iam: Any, cache_key: tuple = ()) -> dict[str, str] | None:
    """dms-vpc-role's tags (None: the account has no such role); read once per run and account."""
    from botocore.exceptions import BotoCoreError, ClientError

    if cache_key and cache_key in _DMS_ROLE_CACHE:
        return _DMS_ROLE_CACHE[cache_key]
    try:
        role = iam.get_role(RoleName=preflight.DMS_VPC_ROLE)["Role"]
        found: dict[str, str] | None = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise preflight.PreflightError(
                f"cannot read the IAM role {preflight.DMS_VPC_ROLE} to check dms_create_service_roles: "
                f"{err.response.get('Error', {}).get('Code')}: {err.response.get('Error', {}).get('Message')} "
                "(the deploying identity needs iam:GetRole on it)") from None
        found = None
    except BotoCoreError as err:
        raise preflight.PreflightError(f"cannot reach IAM to check dms_create_service_roles: {err}") from None
    if cache_key:
        _DMS_ROLE_CACHE[cache_key] = found
    return found


_CONCURRENCY_CACHE: dict[tuple, tuple[int, int, dict[str, int]]] = {}


def lambda_concurrency(client: Any, function_names: dict[str, str], cache_key: tuple = ()) -> tuple[int, int, dict[str, int]]:
    """(ConcurrentExecutions, UnreservedConcurrentExecutions, {config key: what that function reserves now}) of the
    account, from GetAccountSettings and GetFunctionConcurrency; read once per run and account."""
    from botocore.exceptions import BotoCoreError, ClientError

    if cache_key and cache_key in _CONCURRENCY_CACHE:
        return _CONCURRENCY_CACHE[cache_key]
    try:
        limit = client.get_account_settings()["AccountLimit"]
        ours: dict[str, int] = {}
        for key, name in function_names.items():
            try:
                ours[key] = int(client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") or 0)
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                ours[key] = 0
    except ClientError as err:
        error = err.response.get("Error", {})
        raise preflight.PreflightError(
            f"cannot read the account's Lambda concurrency to check the reservations: {error.get('Code')}: {error.get('Message')} "
            "(the deploying identity needs lambda:GetAccountSettings and lambda:GetFunctionConcurrency)") from None
    except BotoCoreError as err:
        raise preflight.PreflightError(f"cannot reach Lambda to check the reservations: {err}") from None
    found = (int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"]), ours)
    if cache_key:
        _CONCURRENCY_CACHE[cache_key] = found
    return found


class Preflight(Hook):
    """Raise PreflightFailedError listing every problem of the argument's values."""

    def __init__(
        self,
        argument: Any = None,
        stack: Any = None,
        *,
        other_environments: dict[str, str] | None = None,
        environ: dict[str, str] | None = None,
        connect: Callable | None = None,
        iam_client: Any = None,
        lambda_client: Any = None,
    ):
        super().__init__(argument, stack)
        self._iam = iam_client
        self._lambda = lambda_client
        self._other_environments = other_environments
        self._environ = environ
        self._connect = connect

    def setup(self):
        argument = self._argument
        if not isinstance(argument, dict) or not KEYS <= set(argument) <= KEYS | OPTIONAL_KEYS:
            raise InvalidHookArgumentTypeError(
                "!preflight takes a dict with exactly the keys " + ", ".join(sorted(KEYS))
                + " (and optionally " + ", ".join(sorted(OPTIONAL_KEYS)) + ")"
                + f" (each usually !stack_attr stack_group_config.<key>); got {argument!r}"
            )

    def run(self) -> None:
        values = self.argument
        others = self._other_environments
        if others is None:
            others = dict(other_vpc_cidrs(self.stack.stack_group_config["project_path"], str(values.get("environment"))))
        environ = os.environ if self._environ is None else self._environ
        kwargs = {"connect": self._connect} if self._connect is not None else {}
        root = (getattr(self.stack, "stack_group_config", None) or {}).get("project_path") if self.stack else None
        if "dms_create_service_roles" in values:
            kwargs["dms_role_tags"] = self._dms_role_tags
        if set(preflight.LAMBDA_RESERVATIONS) & set(values):
            kwargs["lambda_concurrency"] = self._lambda_concurrency
        found = preflight.problems(values, other_environments=others,
                                   endpoint_url=environ.get("AWS_ENDPOINT_URL"), project_root=root, **kwargs)
        if found:
            name = self.stack.name if self.stack is not None else "preflight"
            # One line: Sceptre prints the message as a quoted string, newlines escaped.
            listed = found[0] if len(found) == 1 else " ".join(f"({i}) {p}" for i, p in enumerate(found, 1))
            raise PreflightFailedError(
                f"{name} - preflight refused the {values.get('environment')!r} environment, nothing was changed: {listed}"
            )
        self.logger.debug("%s - preflight passed", self.stack.name if self.stack is not None else "")

    def _lambda_concurrency(self) -> tuple[int, int, dict[str, int]]:
        values = self.argument
        names = {key: f"lambda-{function}-{values.get('environment')}-{values.get('suffix')}"
                 for key, function in preflight.LAMBDA_RESERVATIONS.items() if key in values}
        if self._lambda is not None:
            return lambda_concurrency(self._lambda, names)
        session = self.stack.connection_manager.get_session()
        key = (os.environ.get("AWS_ENDPOINT_URL", ""), session.get_credentials().access_key if session.get_credentials() else "",
               tuple(sorted(names.items())))
        return lambda_concurrency(session.client("lambda"), names, key)

    def _dms_role_tags(self) -> dict[str, str] | None:
        if self._iam is not None:
            return dms_role_tags(self._iam)
        session = self.stack.connection_manager.get_session()
        key = (os.environ.get("AWS_ENDPOINT_URL", ""), session.get_credentials().access_key if session.get_credentials() else "")
        return dms_role_tags(session.client("iam"), key)
