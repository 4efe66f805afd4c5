"""Every moto internal the emulator replaces, wraps or adds to: its boundary with moto.

moto has no plug-in API, so the extensions change moto's own functions, methods and
CloudFormation models. Each change is an entry of ``INTERNALS`` with the reason and the
moto version it was written (last checked) against. ``patch()`` is the only way the
emulator changes moto: it refuses a target that is not listed here, or whose state in
the installed moto is no longer what the entry was written for (moto added what we add,
or dropped what we wrap). ``tests/test_emulator/test_moto_internals.py`` checks every
entry against the installed moto, that installing the emulator applies exactly these,
and that each entry was checked against the moto pinned in ``requirements-emulator.txt``.

Upgrading moto: change the pin, run that test; it names each entry that is still at the
old version. Recheck each (does moto still need it? does the patched code still have the
signature and behaviour the entry relies on?), then raise its ``moto`` field.

Standard library only at import time (the project venv imports it for the docs tests).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where the emulator's moto pin lives (one source for the version).
REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements-emulator.txt"

#: The version the current entries were written and checked against.
WRITTEN_AGAINST = "5.2.5"

#: moto's function/method/attribute still exists and the replacement calls it.
WRAP = "wrap"
#: moto's function/method/attribute still exists and is not called any more.
REPLACE = "replace"
#: moto has no such attribute of its own (absent or only inherited): the emulator adds it.
ADD = "add"
#: moto's CloudFormation model of a type; a model in extensions/ of the same type wins.
MODEL = "model"
KINDS = (WRAP, REPLACE, ADD, MODEL)


@dataclass(frozen=True)
class Internal:
    target: str  # dotted path: module, then attributes; a mapping key as [key]
    how: str  # one of KINDS
    owner: str  # the emulator module that installs it, e.g. "extensions.cfn_lifecycle"
    reason: str  # what moto does without it
    moto: str = WRITTEN_AGAINST


def _e(target: str, how: str, owner: str, reason: str) -> Internal:
    return Internal(target, how, owner, reason)


_NESTED = "extensions.cfn_nested_stacks"
_CUSTOM = "extensions.cfn_custom_resources"
_INTRINSICS = "extensions.cfn_intrinsics"
_LIFECYCLE = "extensions.cfn_lifecycle"
_P = "moto.cloudformation.parsing"

INTERNALS: tuple[Internal, ...] = (
    # ---------------------------------------------------------------- CloudFormation engine
    _e(f"{_P}.get_model_list", REPLACE, "extensions", "moto maps each type to its last model but looks up the name property in the first: keep one model per "
                                                      "type, ours last"),
    _e("moto.cloudformation.models.Stack.get_cfn_attribute", ADD, _NESTED, "nested stack Fn::GetAtt Outputs.X crashed the parent (Stack has no "
                                                                           "get_cfn_attribute)"),
    _e("moto.cloudformation.models.Stack.physical_resource_id", REPLACE, _NESTED, "Ref of a nested stack returned its name, AWS returns the stack ID"),
    _e("moto.cloudformation.models.Stack.create_from_cloudformation_json", REPLACE, _NESTED, "nested stack: TemplateURL on the emulator, parent's tags, a "
                                                                                             "failed child fails the parent's resource"),
    _e("moto.cloudformation.models.Stack.update_from_cloudformation_json", REPLACE, _NESTED, "nested stack update deleted and re-created the child; now "
                                                                                             "updated in place"),
    _e("moto.cloudformation.models.Stack.parameter_list", REPLACE, _LIFECYCLE, "DescribeStacks rendered list parameters as Python repr and masked NoEcho by "
                                                                               "value"),
    _e(f"{_P}.CustomModel", REPLACE, _CUSTOM, "custom resources: async invoke on host.docker.internal, FAILED ignored, no Update/Delete"),
    _e(f"{_P}.resource_class_from_type", WRAP, _CUSTOM, "Custom::* types map to the emulator's CustomResource"),
    _e("moto.cloudformation.responses.CloudFormationResponse.process_cfn_response", REPLACE, _CUSTOM, "the ResponseURL PUT is handed to the waiting "
                                                                                                      "synchronous custom-resource request"),
    _e(f"{_P}.clean_json", WRAP, _INTRINSICS, "Fn::Cidr unresolved, Fn::GetAZs four AZs, {{resolve:...}} dynamic references unresolved"),
    _e(f"{_P}.parse_output", WRAP, _LIFECYCLE, "a failing output is named in the stack's failure reason"),
    _e(f"{_P}.parse_resource", WRAP, _INTRINSICS, "\"true\"/\"false\" strings reached moto's models as truthy strings (BOOLEAN_PROPERTIES)"),
    _e(f"{_P}.parse_and_create_resource", WRAP, _LIFECYCLE, "a failing resource is named in CREATE_FAILED; resolved properties remembered for cascading "
                                                            "updates"),
    _e(f"{_P}.parse_and_update_resource", WRAP, _LIFECYCLE, "types without update kept (moto dropped them from the stack); a changed custom name replaces the "
                                                            "resource"),
    _e(f"{_P}.ResourceMap.delete", REPLACE, _LIFECYCLE, "stack delete in arbitrary set order; now reverse dependency order"),
    _e(f"{_P}.ResourceMap.update", WRAP, _LIFECYCLE, "only resources whose template text changed were updated; changed resolved values now propagate"),
    _e("moto.cloudformation.utils.get_stack_from_s3_url", WRAP, _NESTED, "TemplateURL on the emulator itself (http://127.0.0.1:PORT/bucket/key) was not read"),
    _e("moto.cloudformation.models.get_stack_from_s3_url", WRAP, _NESTED, "the same, as imported into models"),
    _e("moto.cloudformation.responses.get_stack_from_s3_url", WRAP, _NESTED, "the same, as imported into responses"),
    _e("moto.cloudformation.models.CloudFormationBackend.create_stack", WRAP, _LIFECYCLE, "a failing resource gave HTTP 500; now CREATE_FAILED -> "
                                                                                          "ROLLBACK_COMPLETE with the reason"),
    _e("moto.cloudformation.models.CloudFormationBackend.update_stack", WRAP, _LIFECYCLE, "a failing update gave HTTP 500; now UPDATE_ROLLBACK_FAILED with the "
                                                                                          "reason"),
    _e("moto.cloudformation.models.CloudFormationBackend.delete_stack", WRAP, _LIFECYCLE, "a failing delete gave HTTP 500; now DELETE_FAILED with the reason"),
    *(
        _e(f"moto.cloudformation.responses.CloudFormationResponse.{name}", WRAP, "extensions.cfn_limits",
           "any template size and count accepted: AWS refuses an inline body over 51,200 bytes, a body by URL over 1 MB, >500 resources, >200 "
           "outputs/parameters/mappings")
        for name in ("create_stack", "update_stack", "create_change_set", "validate_template", "get_template_summary")
    ),
    *(
        _e(f"moto.cloudformation.responses.CloudFormationResponse.{name}", REPLACE, "extensions.cloudformation_change_sets",
           "the change set was looked up by name in the whole account, ignoring StackName: another stack's was executed")
        for name in ("describe_change_set", "delete_change_set", "execute_change_set")
    ),
    _e(f"{_P}.ResourceMap._delete_resource", WRAP, "extensions.deletes", "models without a delete (EIP, NatGateway, ECS, ELBv2, IAM ManagedPolicy, Route 53 "
                                                                         "...) outlived their stack"),
    # ---------------------------------------------------------------- Lambda
    _e("moto.awslambda.models.LambdaFunction._invoke_lambda", WRAP, "extensions.awslambda", "python runtimes needed Docker; now a local subprocess (other "
                                                                                            "runtimes: moto's)"),
    _e("moto.awslambda.models.Permission", MODEL, "extensions.awslambda", "AWS::Lambda::Permission had no physical ID and was never removed"),
    # ---------------------------------------------------------------- EC2
    _e("moto.ec2.models.vpcs.VPCEndPoint", MODEL, "extensions.ec2", "Gateway endpoint without RouteTableIds crashed; dict policy stored as-is; no update, no "
                                                                    "delete"),
    _e("moto.ec2.models.security_groups.SecurityGroupIngress", MODEL, "extensions.ec2", "no rule ID, IPv6 / prefix-list sources ignored, never revoked"),
    _e("moto.ec2.models.subnets.SubnetRouteTableAssociation", MODEL, "extensions.ec2", "never associated the subnet"),
    # ---------------------------------------------------------------- RDS
    _e("moto.rds.models.DBInstance", MODEL, "extensions.rds", "DBClusterIdentifier ignored (no Aurora member), Ref not the identifier"),
    _e("moto.rds.models.DBSubnetGroup", MODEL, "extensions.rds", "Ref returned the Python object; no in-place update"),
    _e("moto.rds.models.DBCluster.endpoint", WRAP, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS: a named cluster's endpoint is a made-up name where "
                                                                                    "nothing listens"),
    _e("moto.rds.models.DBCluster.reader_endpoint", WRAP, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS: the same for the reader endpoint"),
    _e("moto.rds.models.DBCluster.port", ADD, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS: a named cluster reports the local database's port "
                                                                               "(moto: a plain attribute)"),
    _e("moto.rds.models.DBInstance.address", WRAP, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS: a named cluster's member instances report the "
                                                                                    "local database's host"),
    _e("moto.rds.models.DBInstance.port", ADD, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS: ... and its port"),
    _e("moto.rds.models.RDSBackend.create_db_cluster", WRAP, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS with @socket: RDS creates the master user "
                                                                                              "in the cluster's database; moto has none"),
    _e("moto.rds.models.RDSBackend.modify_db_cluster", WRAP, "extensions.database_endpoints", "EMULATOR_DB_ENDPOINTS with @socket: a new MasterUserPassword "
                                                                                              "reaches the local database"),
    # ---------------------------------------------------------------- Secrets Manager, DMS, Backup
    _e("moto.secretsmanager.models.FakeSecret.to_dict", WRAP, "extensions.secretsmanager", "describe_secret lacked the ScheduleExpression / Duration a "
                                                                                           "RotationSchedule records"),
    _e("moto.dms.models.FakeReplicationSubnetGroup.to_dict", WRAP, "extensions.dms", "every replication subnet group was described with a made-up subnet and "
                                                                                     "VPC"),
    _e("moto.dms.models.DatabaseMigrationServiceBackend.create_replication_subnet_group", WRAP, "extensions.dms",
       "a replication subnet group was created without the dms-vpc-role AWS requires first"),
    _e("moto.awslambda.models.LambdaBackend.create_function", WRAP, "extensions.lambda_concurrency",
       "a function created with ReservedConcurrentExecutions (CloudFormation's path) was never checked against the account's quota"),
    _e("moto.awslambda.models.LambdaBackend.put_function_concurrency", WRAP, "extensions.lambda_concurrency",
       "the 100 unreserved executions AWS keeps were checked only with MOTO_LAMBDA_CONCURRENCY_QUOTA set"),
    _e("moto.awslambda.responses.LambdaResponse.get_account_settings", ADD, "extensions.lambda_concurrency",
       "GetAccountSettings (the preflight reads the quota) is not implemented"),
    _e(r"moto.awslambda.urls.url_paths[{0}/(?P<api_version>[^/]+)/account-settings/?$]", ADD, "extensions.lambda_concurrency",
       "no route for GetAccountSettings"),
    _e("moto.backup.models.BackupBackend.start_backup_job", ADD, "extensions.backup_recovery_points", "moto has no backup jobs"),
    _e("moto.backup.models.BackupBackend.delete_recovery_point", ADD, "extensions.backup_recovery_points", "moto has no recovery points"),
    _e("moto.backup.models.BackupBackend.delete_backup_vault", WRAP, "extensions.backup_recovery_points",
       "a vault holding recovery points was deleted (AWS refuses)"),
    *(_e(f"moto.backup.responses.BackupResponse.{name}", ADD, "extensions.backup_recovery_points", "not implemented")
      for name in ("start_backup_job", "list_recovery_points_by_backup_vault", "delete_recovery_point")),
    *(_e(f"moto.backup.urls.url_paths[{route}]", ADD, "extensions.backup_recovery_points", "no route for the recovery-point API")
      for route in ("{0}/backup-jobs/?$", "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
                    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$")),
    _e("moto.dms.responses.DatabaseMigrationServiceResponse.describe_table_statistics", ADD, "extensions.dms",
       "DescribeTableStatistics (the switchover's guardrail) answered 500: not implemented"),
    *(
        _e(f"moto.dms.models.DatabaseMigrationServiceBackend.{name}", ADD, "extensions.dms_certificates",
           "moto has no DMS certificates: an endpoint's verify-full named a CA nobody imported")
        for name in ("import_certificate", "delete_certificate")
    ),
    *(
        _e(f"moto.dms.responses.DatabaseMigrationServiceResponse.{name}", ADD, "extensions.dms_certificates",
           "moto answers no DMS certificate API (ImportCertificate, DescribeCertificates, DeleteCertificate)")
        for name in ("import_certificate", "describe_certificates", "delete_certificate")
    ),
    *(
        _e(f"moto.backup.{where}.{name}", ADD, "extensions.backup", "moto has no Create/Get/List/DeleteBackupSelection API")
        for where in ("models.BackupBackend", "responses.BackupResponse")
        for name in ("create_backup_selection", "get_backup_selection", "list_backup_selections", "delete_backup_selection")
    ),
    # ---------------------------------------------------------------- CloudWatch, Logs, DynamoDB, ECS
    _e("moto.cloudwatch.models.Dashboard", MODEL, "extensions.cloudwatch", "generated dashboard names"),
    _e("moto.logs.models.LogGroup.create_from_cloudformation_json", REPLACE, "extensions.logs", "KmsKeyId dropped (create_log_group reads kmsKeyId), "
                                                                                                "RetentionInDays kept as a string"),
    _e("moto.logs.models.LogGroup.update_from_cloudformation_json", ADD, "extensions.logs", "no update: retention, key and tags were never changed"),
    *(
        _e(f"moto.logs.{where}.{name}", ADD, "extensions.logs_account_policy", "moto has no Put/Describe/DeleteAccountPolicy API")
        for where in ("models.LogsBackend", "responses.LogsResponse")
        for name in ("put_account_policy", "describe_account_policies", "delete_account_policy")
    ),
    _e("moto.logs.models.LogStream.put_log_events", WRAP, "extensions.logs_account_policy",
       "only the group's own subscription filters received events; an account-level policy's destination now does too"),
    _e("moto.dynamodb.models.table.Table.create_from_cloudformation_json", WRAP, "extensions.dynamodb", "SSESpecification and PointInTimeRecoverySpecification "
                                                                                                        "dropped"),
    _e("moto.dynamodb.models.table.Table.update_from_cloudformation_json", ADD, "extensions.dynamodb", "no update: protection, SSE, PITR, billing, stream, "
                                                                                                       "GSIs, tags never changed"),
    _e("moto.ecs.models.Service.create_from_cloudformation_json", WRAP, "extensions.ecs", "LoadBalancers dropped: no target group on the service"),
    _e("moto.ecs.models.Service.update_from_cloudformation_json", WRAP, "extensions.ecs", "LoadBalancers dropped on update"),
    _e("moto.ecs.models.TaskDefinition", MODEL, "extensions.ecs", "awsvpc / Fargate / Cpu / roles / tags dropped; update did not register a new revision"),
    # ---------------------------------------------------------------- ELBv2
    _e("moto.elbv2.models.ELBv2Backend.convert_and_validate_properties", REPLACE, "extensions.elbv2", "a forward action with ForwardConfig (weighted target "
                                                                                                      "groups) failed with KeyError 'TargetGroupArn'"),
    _e("moto.elbv2.models.FakeLoadBalancer.get_cfn_attribute", WRAP, "extensions.elbv2", "no GetAtt CanonicalHostedZoneID, LoadBalancerFullName, "
                                                                                         "SecurityGroups"),
    _e("moto.elbv2.models.FakeTargetGroup.get_cfn_attribute", ADD, "extensions.elbv2", "any GetAtt of a target group crashed"),
    *(
        _e(f"moto.elbv2.{where}.{name}", ADD, "extensions.elbv2_trust_store", "moto has no trust store API (ALB mutual TLS)")
        for where, names in (("models.ELBv2Backend", ("create_trust_store", "modify_trust_store", "describe_trust_stores",
                                                        "delete_trust_store", "add_trust_store_revocations",
                                                        "describe_trust_store_revocations", "remove_trust_store_revocations")),
                             ("responses.ELBV2Response", ("create_trust_store", "describe_trust_stores", "modify_trust_store",
                                                          "delete_trust_store", "add_trust_store_revocations",
                                                          "describe_trust_store_revocations")))
        for name in names
    ),
    _e("moto.elbv2.models.FakeListener.create_from_cloudformation_json", WRAP, "extensions.elbv2_trust_store", "MutualAuthentication dropped: no check of its "
                                                                                                               "trust store, not in DescribeListeners"),
    _e("moto.elbv2.models.FakeListener.update_from_cloudformation_json", WRAP, "extensions.elbv2_trust_store", "the same on update"),
    # ---------------------------------------------------------------- S3, IAM policy evaluation
    _e("moto.iam.policy_conditions.CONDITION_OPERATIONS[Bool]", ADD, "extensions.s3", "the Bool condition operator is not evaluated"),
    _e("moto.iam.access_control.IAMPolicyStatement.is_action_permitted", WRAP, "extensions.s3", "a statement whose Condition does not hold answered DENIED "
                                                                                                "instead of not applying"),
    _e("moto.s3.models.FakeBucket.get_permission", REPLACE, "extensions.s3", "bucket policies evaluated without request context: the TLS-only Deny denied "
                                                                             "every request"),
    # ---------------------------------------------------------------- Route 53, KMS, SSM
    _e("moto.route53.models.FakeZone.get_cfn_attribute", ADD, "extensions.route53", "GetAtt Id / NameServers crashed"),
    _e("moto.route53.models.HealthCheck.get_cfn_attribute", ADD, "extensions.route53", "GetAtt HealthCheckId crashed"),
    _e("moto.route53.models.RecordSet", MODEL, "extensions.route53", "weighted records of one name (blue and green) were replaced or deleted together"),
    _e("moto.kms.models.Key", MODEL, "extensions.kms", "a KeyPolicy object broke DescribeKey (HTTP 500); no update; delete did not schedule deletion"),
    _e("moto.ssm.models.Parameter", MODEL, "extensions.ssm", "no Name crashed; map Tags; update deleted and re-created"),
    # ---------------------------------------------------------------- IAM enforcement
    _e("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_normal_action", REPLACE, "iam.enforcement",
       "moto checked every non-S3 request against resource '*' (a statement scoped to an ARN never matched) and an unmet condition denied"),
    _e("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_s3_action", REPLACE, "iam.enforcement",
       "S3 requests checked by the same access control as above; now by the emulator's (signature, identity policies)"),
    _e("moto.iam.models.Role.create_from_cloudformation_json", WRAP, "iam.cfn", "ManagedPolicyArns dropped: no managed policy attached to the role"),
    _e("moto.iam.models.Role.update_from_cloudformation_json", REPLACE, "iam.cfn",
       "only the description changed (trust policy, inline Policies, ManagedPolicyArns kept; MaxSessionDuration read from RoleDescription)"),
    _e("moto.iam.models.Role.delete_from_cloudformation_json", WRAP, "iam.cfn",
       "the attached managed policies (now attached) were not detached first: DeleteConflict"),
    _e("moto.iam.models.ManagedPolicy.update_from_cloudformation_json", ADD, "iam.cfn", "no update: a changed PolicyDocument never reached IAM"),
)

_BY_TARGET = {entry.target: entry for entry in INTERNALS}
_applied: dict[str, Any] = {}


class MotoInternalsError(RuntimeError):
    """A patch outside the registry, or moto no longer looks as the entry says."""


def pinned_moto() -> str:
    """The moto version pinned in requirements-emulator.txt."""
    match = re.search(r"^moto(?:\[[^\]]*\])?==([^\s;#]+)", REQUIREMENTS.read_text(), re.MULTILINE)
    if match is None:
        raise MotoInternalsError(f"{REQUIREMENTS}: no 'moto==<version>' pin")
    return match.group(1)


def resolve(target: str) -> tuple[Any, str]:
    """(object holding the attribute or key, attribute name or key) for a target path."""
    key = None
    if target.endswith("]"):
        target, key = target[:-1].split("[", 1)
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            holder: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        break
    else:
        raise MotoInternalsError(f"{target}: no importable module")
    names = parts[split:]
    if key is None:
        *names, key = names
    for name in names:
        holder = getattr(holder, name)
    return holder, key


def defined(holder: Any, name: str) -> bool:
    """Does moto itself define ``name`` here (not only inherit it)?"""
    if isinstance(holder, dict):
        return name in holder
    return name in vars(holder)


def state_problem(entry: Internal) -> str | None:
    """Why the installed moto no longer matches the entry, or None."""
    try:
        holder, name = resolve(entry.target)
    except (ImportError, AttributeError, MotoInternalsError) as exc:
        return f"{entry.target}: not found in moto ({exc})"
    if entry.how == MODEL:
        model = getattr(holder, name, None)
        if not (isinstance(model, type) and hasattr(model, "cloudformation_type")):
            return f"{entry.target}: not a CloudFormation model any more"
        return None
    if _applied.get(entry.target) is not None:
        return None  # already patched: moto's state was checked then
    present = defined(holder, name)
    if entry.how == ADD and present:
        return f"{entry.target}: moto now defines it (the emulator adds it) -- recheck whether the addition is still needed"
    if entry.how in (WRAP, REPLACE) and not present:
        return f"{entry.target}: moto no longer defines it (the emulator {entry.how}s it)"
    return None


def patch(target: str, value: Any) -> Any:
    """Set a registered moto internal to ``value``; returns moto's original (None when added)."""
    entry = _BY_TARGET.get(target)
    if entry is None:
        raise MotoInternalsError(f"{target}: not in moto_internals.INTERNALS -- add it with its reason")
    if entry.how == MODEL:
        raise MotoInternalsError(f"{target}: a model is replaced by defining one in extensions/, not patched")
    problem = state_problem(entry)
    if problem:
        raise MotoInternalsError(problem)
    holder, name = resolve(target)
    if isinstance(holder, dict):
        original = holder.get(name)
        holder[name] = value
    else:
        original = vars(holder).get(name)
        setattr(holder, name, value)
    _applied[target] = value
    return original


def applied() -> dict[str, Any]:
    """Target -> value of every patch installed in this process."""
    return dict(_applied)


def table() -> list[tuple[str, str, str, str, str]]:
    """(target, how, owner, moto version, reason) of every entry."""
    return [(e.target, e.how, e.owner, e.moto, e.reason) for e in INTERNALS]
