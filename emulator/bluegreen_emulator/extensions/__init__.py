"""Extensions to moto: CloudFormation models and engine fixes (see each module's docstring).

``install(port)`` imports every module (which defines the models), applies the patches
and rebuilds moto's CloudFormation type map so that a type defined here replaces moto's
model of the same type. Every moto internal changed on the way is listed, with its
reason, in ``bluegreen_emulator.moto_internals``; ``patch()`` there is how it is changed.
"""

from __future__ import annotations

import functools
import importlib

#: One module per service, plus the CloudFormation engine by concern (cfn_*: nested stacks,
#: custom resources, intrinsics, lifecycle, request limits) and the stack-delete hook (deletes,
#: which collects the service modules' DELETERS). Order matters only for patches: the engine
#: first, awslambda next, deletes last.
MODULES = (
    "cfn_nested_stacks",
    "cfn_custom_resources",
    "cfn_intrinsics",
    "cfn_lifecycle",
    "cfn_limits",
    "cloudformation_change_sets",
    "awslambda",
    "lambda_concurrency",
    "ec2",
    "ec2_vpn",
    "rds",
    "database_endpoints",
    "secretsmanager",
    "dms",
    "dms_certificates",
    "backup",
    "backup_recovery_points",
    "cloudwatch",
    "ecs",
    "wafv2",
    "elbv2",
    "elbv2_trust_store",
    "s3",
    "sns",
    "sqs",
    "cloudtrail",
    "applicationautoscaling",
    "route53",
    "ssm",
    "kms",
    "acm",
    "iam",
    "logs",
    "logs_account_policy",
    "firehose",
    "dynamodb",
    "deletes",
)

_installed: list[str] | None = None


def extension_table() -> list[tuple[str, str, str]]:
    """(module, resource type or feature, what it does) for every extension."""
    rows = []
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for kind, what in getattr(module, "EXTENSIONS", []):
            rows.append((name, kind, what))
    return rows


def install(port: int) -> list[str]:
    """Install every extension into this process's moto; returns their names."""
    global _installed
    if _installed is not None:
        return _installed
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    from ..moto_internals import patch

    modules = [importlib.import_module(f"{__name__}.{name}") for name in MODULES]
    for module in modules:
        if hasattr(module, "install"):
            module.install(port)

    @functools.lru_cache
    def get_model_list() -> list[type[CloudFormationModel]]:
        # moto keeps every direct subclass; the map keeps the *last* one per type, but
        # the name-property lookup takes the *first*. Keep only the last (ours).
        by_type: dict[str, type[CloudFormationModel]] = {}
        for model in CloudFormationModel.__subclasses__():
            by_type[model.cloudformation_type()] = model
        return list(by_type.values())

    patch("moto.cloudformation.parsing.get_model_list", get_model_list)
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    _installed = [kind for _module, kind, _what in extension_table()]
    return _installed
