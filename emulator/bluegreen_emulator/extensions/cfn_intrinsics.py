"""Template values as CloudFormation resolves them: intrinsic functions moto lacks, dynamic
references and boolean strings.

What moto 5.2 does and what changes here:

* ``Fn::Cidr`` is left unresolved (``Fn::Select`` over it then fails) -> implemented;
  ``Fn::GetAZs`` returns four AZs -> the region's six (what ``describe_availability_zones`` says);
* ``{{resolve:ssm:...}}``, ``{{resolve:ssm-secure:...}}``, ``{{resolve:secretsmanager:...}}`` in
  resource properties are passed on as text -> resolved from the emulated services;
* ``"true"``/``"false"`` from parameters reach moto's own models as (truthy) strings -> booleans,
  for the properties in ``BOOLEAN_PROPERTIES`` (a ``"false"`` DynamoDB ``DeletionProtectionEnabled``
  protected the table).

Upstream: each is a candidate change to moto's ``moto/cloudformation/parsing.py`` (``clean_json``,
``parse_resource``); until then they wrap moto's here (``moto_internals``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation import parsing

from ..moto_internals import patch

EXTENSIONS = [
    ("dynamic references", "{{resolve:ssm|ssm-secure|secretsmanager:...}} resolved from the emulated services"),
    ("Fn::Cidr, Fn::GetAZs", "Fn::Cidr implemented (moto: unresolved); Fn::GetAZs returns the region's six AZs (moto: four)"),
    ("boolean strings", "\"true\"/\"false\" from parameters become booleans for moto-native models (e.g. DynamoDB DeletionProtectionEnabled: \"false\" "
                        "protected the table)"),
]

_PARSING = "moto.cloudformation.parsing"
#: moto's own, bound before install() replaces them.
_original_clean_json = parsing.clean_json
_original_parse_resource = parsing.parse_resource


_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")


def _resolve_reference(kind: str, body: str, resources_map: Any) -> str:
    account_id, region_name = resources_map._account_id, resources_map._region_name
    if kind in ("ssm", "ssm-secure"):
        from moto.ssm.models import ssm_backends

        parameter = ssm_backends[account_id][region_name].get_parameter(body)
        if parameter is None:
            raise ValueError(f"dynamic reference {{{{resolve:{kind}:{body}}}}}: parameter not found")
        return parameter.value
    from moto.secretsmanager.models import secretsmanager_backends

    parts = body.split(":")
    if parts[0] == "arn":
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, rest = parts[0], parts[1:]
    rest += [""] * (4 - len(rest))
    _field, json_key, version_stage, version_id = rest[:4]
    value = secretsmanager_backends[account_id][region_name].get_secret_value(
        secret_id, version_id or None, version_stage or ("AWSCURRENT" if not version_id else None)
    )
    secret_string = value.get("SecretString", "")
    if json_key:
        try:
            return str(json.loads(secret_string)[json_key])
        except (ValueError, KeyError) as exc:
            raise ValueError(f"dynamic reference to {secret_id}: key {json_key!r} not in the secret") from exc
    return secret_string


def _fn_cidr(args: list[Any]) -> list[str]:
    """Fn::Cidr [ipBlock, count, cidrBits]: the first `count` subnets of size 2^cidrBits."""
    import ipaddress

    block, count, bits = args
    network = ipaddress.ip_network(str(block), strict=False)
    prefix = network.max_prefixlen - int(bits)
    subnets = network.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(int(count))]


def _fn_get_azs(region: str, resources_map: Any) -> list[str]:
    from moto.ec2.models import ec2_backends

    region = region or resources_map._region_name
    return [zone.name for zone in ec2_backends[resources_map._account_id][region].describe_availability_zones()]


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    # Intrinsic functions moto does not implement (or implements for 4 AZs only).
    if isinstance(resource_json, dict) and len(resource_json) == 1:
        if "Fn::Cidr" in resource_json:
            return _fn_cidr(clean_json(resource_json["Fn::Cidr"], resources_map))
        if "Fn::GetAZs" in resource_json:
            return _fn_get_azs(clean_json(resource_json["Fn::GetAZs"], resources_map), resources_map)
    result = _original_clean_json(resource_json, resources_map)
    if isinstance(result, str) and "{{resolve:" in result:
        result = _DYNAMIC_REFERENCE.sub(lambda m: _resolve_reference(m.group(1), m.group(2), resources_map), result)
    return result


#: Boolean properties of moto-native models that templates commonly feed from a
#: parameter ("true"/"false" strings). CloudFormation converts them; moto passes the
#: string on, and "false" is truthy (a "false" DeletionProtectionEnabled protected the
#: table). Paths are dotted property paths.
BOOLEAN_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": (
        "DeletionProtectionEnabled",
        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled",
        "SSESpecification.SSEEnabled",
    ),
    "AWS::S3::Bucket": (
        "PublicAccessBlockConfiguration.BlockPublicAcls",
        "PublicAccessBlockConfiguration.BlockPublicPolicy",
        "PublicAccessBlockConfiguration.IgnorePublicAcls",
        "PublicAccessBlockConfiguration.RestrictPublicBuckets",
        "ObjectLockEnabled",
    ),
    "AWS::EC2::VPC": ("EnableDnsHostnames", "EnableDnsSupport"),
    "AWS::EC2::Subnet": ("MapPublicIpOnLaunch",),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("HealthCheckEnabled",),
    "AWS::ECS::Service": (
        "EnableExecuteCommand",
        "EnableECSManagedTags",
        "DeploymentConfiguration.DeploymentCircuitBreaker.Enable",
        "DeploymentConfiguration.DeploymentCircuitBreaker.Rollback",
    ),
    "AWS::SQS::Queue": ("FifoQueue", "ContentBasedDeduplication"),
    "AWS::SNS::Topic": ("FifoTopic", "ContentBasedDeduplication"),
}


def _coerce_booleans(resource_type: str, properties: dict[str, Any]) -> None:
    for path in BOOLEAN_PROPERTIES.get(resource_type, ()):
        node: Any = properties
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str) and node[keys[-1]].lower() in ("true", "false"):
            node[keys[-1]] = node[keys[-1]].lower() == "true"


def _parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = _original_parse_resource(resource_json, resources_map)
    if parsed:
        _resource_class, cleaned, resource_type = parsed
        if isinstance(cleaned.get("Properties"), dict):
            _coerce_booleans(resource_type, cleaned["Properties"])
    return parsed


def install(port: int) -> None:
    for name, value in (
        ("clean_json", clean_json),
        ("parse_resource", _parse_resource),
    ):
        patch(f"{_PARSING}.{name}", value)
