"""Checks of an environment's group-config values, run before Sceptre calls AWS for any stack.

Each ``check_*`` function is pure over the values it is given (the endpoint check takes its
TCP connect as an argument) and raises PreflightError with a message that names the config
key, shows the bad value and says what to do. ``problems`` runs them all and returns every
message, so one run reports everything that is wrong. The ``!preflight`` hook
(hooks/preflight.py) feeds them the group config; docs/failure-paths.md lists them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from bluegreen import datacentre_preflight

#: The templates' AllowedPattern for EnvironmentSuffix.
SUFFIX = re.compile(r"^[a-z0-9]{2,8}$")
#: The VPC prefix lengths templates/network.py accepts.
VPC_PREFIX_MIN, VPC_PREFIX_MAX = 16, 24
#: arn:<partition>:acm:<region>:<account>:certificate/<id>
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Seconds to wait for the emulator's port: a local port answers at once or not at all.
CONNECT_TIMEOUT = 0.5
EMULATOR_HOW_TO = "start it with `scripts/emulator start` (or unset AWS_ENDPOINT_URL to use AWS)"


class PreflightError(ValueError):
    """A group-config value or the local setup would make a deployment fail; the message says
    which value and what to do."""


def check_suffix(suffix: object) -> None:
    if not isinstance(suffix, str) or not SUFFIX.match(suffix):
        raise PreflightError(
            f"environment_suffix must be 2 to 8 lower-case letters or digits (^[a-z0-9]{{2,8}}$, the "
            f"templates' AllowedPattern), got {suffix!r}: set environment_suffix in the group config, e.g. 'd01'"
        )


def check_vpc_cidr(
    vpc_cidr: object,
    *,
    other_environments: Mapping[str, str] | None = None,
    datacentre_cidrs: Iterable[str] = (),
) -> ipaddress.IPv4Network:
    """The VPC network, or PreflightError if it is not an IPv4 /16../24 network disjoint from
    the other environments' VPCs and the data centre's networks (DMS and the VPN route to them)."""
    try:
        network = ipaddress.IPv4Network(str(vpc_cidr), strict=True) if isinstance(vpc_cidr, str) else None
    except ValueError as err:
        raise PreflightError(
            f"vpc_cidr must be an IPv4 network like 10.40.0.0/16 (no host bits set), got {vpc_cidr!r}: {err}"
        ) from err
    if network is None:
        raise PreflightError(f"vpc_cidr must be an IPv4 network like 10.40.0.0/16, got {vpc_cidr!r}")
    if not VPC_PREFIX_MIN <= network.prefixlen <= VPC_PREFIX_MAX:
        raise PreflightError(
            f"vpc_cidr must be a /{VPC_PREFIX_MIN} to /{VPC_PREFIX_MAX} network (the network template's "
            f"range), got {vpc_cidr!r}"
        )
    for name, other in sorted((other_environments or {}).items()):
        try:
            other_network = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue  # that environment's own preflight reports it
        if network.overlaps(other_network):
            raise PreflightError(
                f"vpc_cidr {vpc_cidr!r} overlaps the {name} environment's vpc_cidr {other!r}: "
                f"give each environment its own address range"
            )
    for datacentre in datacentre_cidrs:
        if network.overlaps(ipaddress.ip_network(datacentre, strict=False)):
            raise PreflightError(
                f"vpc_cidr {vpc_cidr!r} overlaps the data centre network {datacentre!r} (datacentre_cidrs): "
                f"DMS and the VPN need them disjoint, pick a range outside the data centre's"
            )
    return network


def check_datacentre_cidrs(datacentre_cidrs: object) -> list[str]:
    if not isinstance(datacentre_cidrs, list) or not all(isinstance(c, str) for c in datacentre_cidrs):
        raise PreflightError(
            f"datacentre_cidrs must be a list of IPv4 networks like ['10.0.0.0/14'], got {datacentre_cidrs!r}"
        )
    for cidr in datacentre_cidrs:
        try:
            ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as err:
            raise PreflightError(f"datacentre_cidrs: {cidr!r} is not an IPv4 network: {err}") from err
    return datacentre_cidrs


def check_certificate_arn(environment: str, certificate_arn: object) -> None:
    """Prod must name its certificate; wherever one is named it must be an ACM certificate ARN."""
    if certificate_arn in ("", None):
        if environment == "prod":
            raise PreflightError(
                "certificate_arn is empty in prod: set it in config/prod/config.yaml to the company's ACM "
                "certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
            )
        return
    if not isinstance(certificate_arn, str) or not ACM_ARN.match(certificate_arn):
        raise PreflightError(
            f"certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>) "
            f"or empty outside prod, got {certificate_arn!r}"
        )


#: The role DMS looks up by this exact name before it creates a replication subnet group
#: (AWS::DMS::ReplicationSubnetGroup: "Resource creation fails if the dms-vpc-role ... doesn't already exist").
DMS_VPC_ROLE = "dms-vpc-role"


def check_dms_service_roles(environment: str, create: object, role_tags: Mapping[str, str] | None) -> None:
    """``dms_create_service_roles`` against the account: ``role_tags`` are dms-vpc-role's tags (None: no such role).

    The dms stack creates the role only with "true"; IAM refuses a second role of the name, and DMS
    creates no subnet group without one. A role tagged with this environment was made by its dms stack:
    "false" would make CloudFormation delete it.
    """
    where = f"config/{environment}/config.yaml"
    if create not in ("true", "false"):
        raise PreflightError(f'dms_create_service_roles must be "true" or "false", got {create!r}: set it in {where}')
    if role_tags is None:
        if create == "false":
            raise PreflightError(
                f'dms_create_service_roles is "false" but this account has no IAM role {DMS_VPC_ROLE}: DMS creates no '
                f'replication subnet group without it. Set dms_create_service_roles: "true" in {where} (the dms stack '
                "then creates it)")
        return
    ours = role_tags.get("Environment") == environment
    if create == "true" and not ours:
        raise PreflightError(
            f'dms_create_service_roles is "true" but this account already has the IAM role {DMS_VPC_ROLE}, not made by '
            f"the {environment} dms stack (its Environment tag: {role_tags.get('Environment')!r}): IAM refuses a second "
            f'one. Set dms_create_service_roles: "false" in {where}')
    if create == "false" and ours:
        raise PreflightError(
            f'dms_create_service_roles is "false" but {DMS_VPC_ROLE} was made by the {environment} dms stack: '
            f'CloudFormation would delete it with the next update. Keep "true" in {where}')


#: What AWS keeps unreserved of an account's Lambda concurrency, whatever the functions reserve.
LAMBDA_MINIMUM_UNRESERVED = 100
#: Group-config key -> the function it reserves for (the template's name, lambda-<name>-<env>-<suffix>).
LAMBDA_RESERVATIONS = {"shifter_reserved_concurrency": "traffic-shifter", "ssm_parameter_reserved_concurrency": "ssm-parameter"}


def check_lambda_concurrency(environment: str, requested: Mapping[str, object], quota: int, unreserved: int,
                             ours_now: Mapping[str, int]) -> None:
    """The reservations of ``requested`` ({config key: value}) against the account's Lambda quota
    (GetAccountSettings: ``quota`` ConcurrentExecutions, ``unreserved`` UnreservedConcurrentExecutions) and what
    our functions reserve already (``ours_now``, {config key: reserved}, counted in ``unreserved``'s complement).

    AWS refuses a reservation that would leave fewer than 100 unreserved ("You can reserve up to the Unreserved
    account concurrency value that is shown, minus 100", Lambda: Configuring reserved concurrency), and a new
    account's quota can be 10: the function, and the stack, would fail."""
    where = f"config/{environment}/config.yaml"
    values: dict[str, int] = {}
    for key, value in requested.items():
        text = str(value).strip()
        if not text.isdigit():
            raise PreflightError(f"{key} must be a whole number of reserved concurrent executions (0 for none), got {value!r}: set it in "
                                 f"{where}")
        values[key] = int(text)
    wanted = sum(values.values())
    if not wanted:
        return
    left = unreserved + sum(ours_now.get(key, 0) for key in values) - wanted
    if left >= LAMBDA_MINIMUM_UNRESERVED:
        return
    listed = ", ".join(f"{key} {n} (lambda-{LAMBDA_RESERVATIONS.get(key, key)})" for key, n in values.items() if n)
    raise PreflightError(
        f"the Lambda reservations ({listed}) would leave {left} of this account's {quota} concurrent executions unreserved "
        f"({unreserved} are now): AWS keeps at least {LAMBDA_MINIMUM_UNRESERVED} unreserved and refuses the function "
        f"(InvalidParameterValueException), failing its stack. Request a higher 'Concurrent executions' quota for Lambda in "
        f"Service Quotas (at least {quota - left + LAMBDA_MINIMUM_UNRESERVED}), or set the reservations to 0 in {where}")


def check_endpoint(
    endpoint_url: str | None,
    *,
    connect: Callable[..., socket.socket] = socket.create_connection,
    timeout: float = CONNECT_TIMEOUT,
) -> None:
    """When AWS_ENDPOINT_URL points at this machine, its port must answer (the emulator runs)."""
    if not endpoint_url:
        return
    parts = urlsplit(endpoint_url)
    if parts.hostname not in LOCAL_HOSTS:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        connect((parts.hostname, port), timeout=timeout).close()
    except OSError as err:
        raise PreflightError(
            f"the local AWS emulator is not running at {endpoint_url}: {EMULATOR_HOW_TO}"
        ) from err


def check_client_trust_store(environment: str, key: object, file: object, root: str | None = None) -> None:
    """Both ALBs verify client certificates against one trust store: its CA bundle needs an S3 key, and
    prod names the bundle file (CA certificates are public; the file is what a review reads) so no prod
    launch goes ahead without one. A named file must be a PEM bundle of CA certificates."""
    from pathlib import Path

    from bluegreen import trust_store

    if not key:
        raise PreflightError(
            f"client_ca_bundle_key is empty: both ALBs' mutual TLS needs a trust store; set it in "
            f"config/{environment}/config.yaml to the artifacts-bucket key of the clients' CA bundle, e.g. "
            "mtls/client-ca-bundle.pem")
    if not file:
        if environment == "prod":
            raise PreflightError(
                "client_ca_bundle_file is empty in prod: the trust store of both ALBs would have no CA bundle. Put "
                "the PEM bundle of the acquirers' and terminals' CAs (public certificates) in config/prod/mtls/ and "
                "name it in config/prod/config.yaml (docs/pci-dss.md: onboarding a client)")
        return
    path = Path(root or ".") / str(file)
    if not path.is_file():
        raise PreflightError(f"client_ca_bundle_file {file!r} does not exist (relative to the project folder)")
    try:
        trust_store.ca_certificates(path.read_bytes())
    except trust_store.TrustStoreError as err:
        raise PreflightError(f"client_ca_bundle_file {file!r} {err}") from None


def problems(
    values: Mapping[str, object],
    *,
    other_environments: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
    connect: Callable[..., socket.socket] = socket.create_connection,
    project_root: str | None = None,
    dms_role_tags: Callable[[], Mapping[str, str] | None] | None = None,
    lambda_concurrency: Callable[[], tuple[int, int, Mapping[str, int]]] | None = None,
) -> list[str]:
    """Every preflight message for ``values`` ({environment, suffix, vpc_cidr, certificate_arn,
    datacentre_cidrs}); [] when all is well."""
    found: list[str] = []

    def run(check: Callable[[], object]) -> None:
        try:
            check()
        except (PreflightError, datacentre_preflight.PreflightError) as err:
            found.append(str(err))

    run(lambda: check_endpoint(endpoint_url, connect=connect))
    run(lambda: check_suffix(values.get("suffix")))
    datacentre: list[str] = []

    def datacentre_check() -> None:
        datacentre.extend(check_datacentre_cidrs(values.get("datacentre_cidrs", [])))

    run(datacentre_check)
    run(lambda: check_vpc_cidr(values.get("vpc_cidr"), other_environments=other_environments,
                               datacentre_cidrs=datacentre))
    run(lambda: check_certificate_arn(str(values.get("environment")), values.get("certificate_arn")))
    if "client_ca_bundle_key" in values:
        run(lambda: check_client_trust_store(str(values.get("environment")), values.get("client_ca_bundle_key"),
                                             values.get("client_ca_bundle_file"), project_root))
    if "datacentre_link" in values:
        for check in datacentre_preflight.checks(values):
            run(check)
    # Asks AWS: only when everything local is right (a stopped emulator would only add a second error).
    if "dms_create_service_roles" in values and dms_role_tags is not None and not found:
        run(lambda: check_dms_service_roles(str(values.get("environment")), values.get("dms_create_service_roles"),
                                            dms_role_tags()))
    requested = {key: values[key] for key in LAMBDA_RESERVATIONS if key in values}
    if requested and lambda_concurrency is not None and not found:
        def concurrency_check() -> None:
            quota, unreserved, ours_now = lambda_concurrency()
            check_lambda_concurrency(str(values.get("environment")), requested, quota, unreserved, ours_now)
        run(concurrency_check)
    return found
