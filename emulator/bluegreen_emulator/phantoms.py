"""Phantom detector: does every resource of a stack really exist in the emulated service?

moto reports CREATE_COMPLETE for resource types it does not implement; such resources
have an empty physical ID (or are missing from ListStackResources) and no service knows
them. This module lists a stack's resources and asks the owning service about each one
through its own API (boto3, against the emulator endpoint):

    python -m bluegreen_emulator phantoms --stack payments-dev-networking-network
    scripts/emulator phantoms                     # every stack
    scripts/emulator phantoms --stack X --delete  # delete X, then report leftovers

Verdicts: ``ok`` (the service describes it), ``PHANTOM`` (empty physical ID),
``MISSING`` (the service does not know it), ``ABSENT`` (in the template, not in the
stack), ``unchecked`` (no check for this type in ``CHECKS``; not a failure) and, with
``--delete``, ``LEFTOVER`` (still exists after the stack was deleted).

Only boto3 is needed, so this runs in either venv. ``CHECKS`` documents how each type
is verified through the service API.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import launcher


class NotFound(Exception):
    pass


@dataclass
class Row:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    verdict: str
    detail: str = ""
    properties: dict[str, Any] = field(default_factory=dict, repr=False)


def credentials_for(endpoint: str) -> tuple[str, str]:
    """The keys to sign with: those of the environment ``scripts/emulator env`` set up for this
    endpoint, else the launcher's for the emulator on the endpoint's port (never others)."""
    if os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") == endpoint.rstrip("/") and os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ["AWS_ACCESS_KEY_ID"], os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    env = launcher.env_vars(urlparse(endpoint).port or launcher.default_port())
    return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]


class Clients:
    """boto3 clients for the emulator, created on first use."""

    def __init__(self, endpoint: str, region: str = launcher.REGION) -> None:
        self.endpoint = endpoint
        self.region = region
        key, secret = credentials_for(endpoint)
        self._session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 1})
            )
        return self._clients[service]


# A check gets (clients, physical_id, resolved_properties) and returns normally when the
# resource exists, raises NotFound (or a ClientError "not found") when it does not.
Check = Callable[[Clients, str, dict[str, Any]], None]


def _require(condition: Any, what: str = "") -> None:
    if not condition:
        raise NotFound(what)


def _secret(c: Clients, pid: str, props: dict[str, Any]) -> None:
    secret = c("secretsmanager").describe_secret(SecretId=pid)
    _require(not secret.get("DeletedDate"), "scheduled for deletion")


def _secret_of(key: str) -> Check:
    def check(c: Clients, pid: str, props: dict[str, Any]) -> None:
        _secret(c, props.get(key) or pid, props)

    return check


def _rotation(c: Clients, pid: str, props: dict[str, Any]) -> None:
    secret = c("secretsmanager").describe_secret(SecretId=props.get("SecretId") or pid)
    _require(secret.get("RotationEnabled"), "rotation not enabled on the secret")


def _stack(c: Clients, pid: str, props: dict[str, Any]) -> None:
    stack = c("cloudformation").describe_stacks(StackName=pid)["Stacks"][0]
    _require(stack["StackStatus"] != "DELETE_COMPLETE", "stack deleted")


def _vpce(c: Clients, pid: str, props: dict[str, Any]) -> None:
    endpoints = c("ec2").describe_vpc_endpoints(VpcEndpointIds=[pid])["VpcEndpoints"]
    _require(endpoints and endpoints[0]["State"].lower() != "deleted", "deleted")


def _nat(c: Clients, pid: str, props: dict[str, Any]) -> None:
    gateways = c("ec2").describe_nat_gateways(NatGatewayIds=[pid])["NatGateways"]
    _require(gateways and gateways[0]["State"] not in ("deleted", "deleting"), "deleted")


def _route(c: Clients, pid: str, props: dict[str, Any]) -> None:
    table = c("ec2").describe_route_tables(RouteTableIds=[props["RouteTableId"]])["RouteTables"][0]
    wanted = props.get("DestinationCidrBlock") or props.get("DestinationIpv6CidrBlock")
    _require(any(r.get("DestinationCidrBlock") == wanted or r.get("DestinationIpv6CidrBlock") == wanted for r in table["Routes"]))


def _subnet_association(c: Clients, pid: str, props: dict[str, Any]) -> None:
    tables = c("ec2").describe_route_tables(Filters=[{"Name": "association.route-table-association-id", "Values": [pid]}])["RouteTables"]
    _require(any(a.get("RouteTableAssociationId") == pid and a.get("SubnetId") for t in tables for a in t.get("Associations", [])))


def _gateway_attachment(c: Clients, pid: str, props: dict[str, Any]) -> None:
    if props.get("InternetGatewayId"):
        igw = c("ec2").describe_internet_gateways(InternetGatewayIds=[props["InternetGatewayId"]])["InternetGateways"][0]
        _require(any(a["VpcId"] == props["VpcId"] for a in igw.get("Attachments", [])))
    else:
        vgw = c("ec2").describe_vpn_gateways(VpnGatewayIds=[props["VpnGatewayId"]])["VpnGateways"][0]
        _require(any(a["VpcId"] == props["VpcId"] and a["State"] == "attached" for a in vgw.get("VpcAttachments", [])))


def _kms_key(c: Clients, pid: str, props: dict[str, Any]) -> None:
    key = c("kms").describe_key(KeyId=pid)["KeyMetadata"]
    _require(key["KeyState"] not in ("PendingDeletion", "Deleted"), key["KeyState"])


def _kms_alias(c: Clients, pid: str, props: dict[str, Any]) -> None:
    aliases = c("kms").list_aliases()["Aliases"]
    _require(any(a["AliasName"] == pid for a in aliases))


def _log_group(c: Clients, pid: str, props: dict[str, Any]) -> None:
    groups = c("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
    _require(any(g["logGroupName"] == pid for g in groups))


def _metric_filter(c: Clients, pid: str, props: dict[str, Any]) -> None:
    filters = c("logs").describe_metric_filters(logGroupName=props["LogGroupName"], filterNamePrefix=pid)["metricFilters"]
    _require(any(f["filterName"] == pid for f in filters))


def _bucket_policy(c: Clients, pid: str, props: dict[str, Any]) -> None:
    _require(c("s3").get_bucket_policy(Bucket=props["Bucket"]).get("Policy"))


def _topic_policy(c: Clients, pid: str, props: dict[str, Any]) -> None:
    wanted = props.get("PolicyDocument")
    for arn in props.get("Topics") or []:
        policy = json.loads(c("sns").get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy") or "{}")
        statements = policy.get("Statement") or []
        if isinstance(wanted, dict) and isinstance(wanted.get("Statement"), list):
            _require(len(statements) == len(wanted["Statement"]), f"{arn}: policy of the template not set")
        else:
            _require(statements, f"{arn}: no policy")


def _queue_policy(c: Clients, pid: str, props: dict[str, Any]) -> None:
    for url in props.get("Queues") or []:
        attrs = c("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        _require(attrs.get("Policy"), f"no policy on {url}")


def _lambda_permission(c: Clients, pid: str, props: dict[str, Any]) -> None:
    policy = json.loads(c("lambda").get_policy(FunctionName=props["FunctionName"])["Policy"])
    _require(any(s.get("Sid") == pid for s in policy.get("Statement", [])))


def _ecs_cluster(c: Clients, pid: str, props: dict[str, Any]) -> None:
    clusters = c("ecs").describe_clusters(clusters=[pid])["clusters"]
    _require(clusters and clusters[0]["status"] == "ACTIVE", "not ACTIVE")


def _ecs_service(c: Clients, pid: str, props: dict[str, Any]) -> None:
    cluster = props.get("Cluster") or (pid.split("/")[1] if pid.count("/") >= 2 else "default")
    services = c("ecs").describe_services(cluster=cluster, services=[pid])["services"]
    _require(services and services[0]["status"] == "ACTIVE", "not ACTIVE")


def _ecs_task_definition(c: Clients, pid: str, props: dict[str, Any]) -> None:
    definition = c("ecs").describe_task_definition(taskDefinition=pid)["taskDefinition"]
    _require(definition["status"] == "ACTIVE", definition["status"])


def _scalable_target(c: Clients, pid: str, props: dict[str, Any]) -> None:
    resource_id, dimension, namespace = pid.split("|")
    targets = c("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    _require(targets)


def _scaling_policy(c: Clients, pid: str, props: dict[str, Any]) -> None:
    namespace = props.get("ServiceNamespace") or str(props.get("ScalingTargetId", "||")).split("|")[2]
    policies = c("application-autoscaling").describe_scaling_policies(ServiceNamespace=namespace)["ScalingPolicies"]
    _require(any(p["PolicyARN"] == pid for p in policies))


def _record_set(c: Clients, pid: str, props: dict[str, Any]) -> None:
    zone = props.get("HostedZoneId")
    if not zone:
        name = props["HostedZoneName"]
        zone = next(z["Id"] for z in c("route53").list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == name.rstrip("."))
    records = c("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    name = props["Name"].rstrip(".")
    _require(
        any(
            r["Name"].rstrip(".") == name and r["Type"] == props["Type"] and r.get("SetIdentifier") == props.get("SetIdentifier")
            for r in records
        )
    )


def _backup_plan(c: Clients, pid: str, props: dict[str, Any]) -> None:
    _require(not c("backup").get_backup_plan(BackupPlanId=pid).get("DeletionDate"), "deleted")


def _alarm(kind: str) -> Check:
    def check(c: Clients, pid: str, props: dict[str, Any]) -> None:
        alarms = c("cloudwatch").describe_alarms(AlarmNames=[pid], AlarmTypes=[kind])[f"{kind}s"]
        _require(alarms)

    return check


def _got(service: str, operation: str, id_parameter: str) -> tuple[str, Check]:
    """(how, check): the service's get/describe call for the physical ID answers (not found raises)."""

    def check(c: Clients, pid: str, props: dict[str, Any]) -> None:
        getattr(c(service), operation)(**{id_parameter: pid})

    return f"{service}.{operation}", check


def _ec2_described(operation: str, id_parameter: str, key: str) -> tuple[str, Check]:
    """(how, check): EC2's describe call for the physical ID lists the resource."""

    def check(c: Clients, pid: str, props: dict[str, Any]) -> None:
        _require(getattr(c("ec2"), operation)(**{id_parameter: [pid]})[key])

    return f"ec2.{operation}" + ("(PublicIps)" if id_parameter == "PublicIps" else ""), check


def _dms(operation: str, key: str, filter_name: str) -> Check:
    def check(c: Clients, pid: str, props: dict[str, Any]) -> None:
        items = getattr(c("dms"), operation)(Filters=[{"Name": filter_name, "Values": [pid]}])[key]
        _require(items)

    return check


def _sg_rule(c: Clients, pid: str, props: dict[str, Any]) -> None:
    _require(c("ec2").describe_security_group_rules(SecurityGroupRuleIds=[pid])["SecurityGroupRules"])


def _event_rule(c: Clients, pid: str, props: dict[str, Any]) -> None:
    bus, _, name = pid.rpartition("|")
    kwargs = {"Name": name}
    if bus or props.get("EventBusName"):
        kwargs["EventBusName"] = bus or props["EventBusName"]
    c("events").describe_rule(**kwargs)


#: resource type -> how its existence is verified through the service API.
CHECKS: dict[str, tuple[str, Check]] = {
    # CloudFormation
    "AWS::CloudFormation::Stack": ("cloudformation.describe_stacks (not DELETE_COMPLETE)", _stack),
    # EC2 / VPC
    "AWS::EC2::VPC": _ec2_described("describe_vpcs", "VpcIds", "Vpcs"),
    "AWS::EC2::Subnet": _ec2_described("describe_subnets", "SubnetIds", "Subnets"),
    "AWS::EC2::SecurityGroup": _ec2_described("describe_security_groups", "GroupIds", "SecurityGroups"),
    "AWS::EC2::SecurityGroupIngress": ("ec2.describe_security_group_rules", _sg_rule),
    "AWS::EC2::InternetGateway": _ec2_described("describe_internet_gateways", "InternetGatewayIds", "InternetGateways"),
    "AWS::EC2::VPCGatewayAttachment": ("ec2.describe_internet_gateways / describe_vpn_gateways attachments", _gateway_attachment),
    "AWS::EC2::EIP": _ec2_described("describe_addresses", "PublicIps", "Addresses"),
    "AWS::EC2::NatGateway": ("ec2.describe_nat_gateways (not deleted)", _nat),
    "AWS::EC2::RouteTable": _ec2_described("describe_route_tables", "RouteTableIds", "RouteTables"),
    "AWS::EC2::Route": ("route in ec2.describe_route_tables", _route),
    "AWS::EC2::SubnetRouteTableAssociation": ("association in ec2.describe_route_tables", _subnet_association),
    "AWS::EC2::FlowLog": _ec2_described("describe_flow_logs", "FlowLogIds", "FlowLogs"),
    "AWS::EC2::VPCEndpoint": ("ec2.describe_vpc_endpoints (not deleted)", _vpce),
    # IAM
    "AWS::IAM::Role": _got("iam", "get_role", "RoleName"),
    "AWS::IAM::ManagedPolicy": _got("iam", "get_policy", "PolicyArn"),
    # KMS, SSM, Secrets Manager
    "AWS::KMS::Key": ("kms.describe_key (not PendingDeletion)", _kms_key),
    "AWS::KMS::Alias": ("kms.list_aliases", _kms_alias),
    "AWS::SSM::Parameter": _got("ssm", "get_parameter", "Name"),
    "AWS::SecretsManager::Secret": ("secretsmanager.describe_secret (not deleted)", _secret),
    "AWS::SecretsManager::SecretTargetAttachment": ("secretsmanager.describe_secret of SecretId", _secret_of("SecretId")),
    "AWS::SecretsManager::RotationSchedule": ("secretsmanager.describe_secret RotationEnabled", _rotation),
    # Storage, messaging
    "AWS::S3::Bucket": _got("s3", "head_bucket", "Bucket"),
    "AWS::S3::BucketPolicy": ("s3.get_bucket_policy of Bucket", _bucket_policy),
    "AWS::SNS::Topic": _got("sns", "get_topic_attributes", "TopicArn"),
    "AWS::SNS::TopicPolicy": ("sns.get_topic_attributes Policy of each topic", _topic_policy),
    "AWS::SQS::Queue": _got("sqs", "get_queue_attributes", "QueueUrl"),
    "AWS::SQS::QueuePolicy": ("sqs.get_queue_attributes Policy of each queue", _queue_policy),
    "AWS::DynamoDB::Table": _got("dynamodb", "describe_table", "TableName"),
    # Logs, CloudTrail, CloudWatch, EventBridge
    "AWS::Logs::LogGroup": ("logs.describe_log_groups", _log_group),
    "AWS::Logs::MetricFilter": ("logs.describe_metric_filters", _metric_filter),
    "AWS::Logs::AccountPolicy": ("logs.describe_account_policies", lambda c, p, props: _require(c("logs").describe_account_policies(
        policyType=props["PolicyType"], policyName=props.get("PolicyName") or p)["accountPolicies"])),
    "AWS::KinesisFirehose::DeliveryStream": _got("firehose", "describe_delivery_stream", "DeliveryStreamName"),
    "AWS::CloudTrail::Trail": _got("cloudtrail", "get_trail", "Name"),
    "AWS::CloudWatch::Alarm": ("cloudwatch.describe_alarms (MetricAlarm)", _alarm("MetricAlarm")),
    "AWS::CloudWatch::CompositeAlarm": ("cloudwatch.describe_alarms (CompositeAlarm)", _alarm("CompositeAlarm")),
    "AWS::CloudWatch::Dashboard": _got("cloudwatch", "get_dashboard", "DashboardName"),
    "AWS::Events::Rule": ("events.describe_rule", _event_rule),
    # Lambda
    "AWS::Lambda::Function": _got("lambda", "get_function", "FunctionName"),
    "AWS::Lambda::Permission": ("lambda.get_policy has the statement", _lambda_permission),
    # ECS, autoscaling, load balancing, DNS, certificates
    "AWS::ECS::Cluster": ("ecs.describe_clusters (ACTIVE)", _ecs_cluster),
    "AWS::ECS::Service": ("ecs.describe_services (ACTIVE)", _ecs_service),
    "AWS::ECS::TaskDefinition": ("ecs.describe_task_definition (ACTIVE)", _ecs_task_definition),
    "AWS::ApplicationAutoScaling::ScalableTarget": ("application-autoscaling.describe_scalable_targets", _scalable_target),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("application-autoscaling.describe_scaling_policies", _scaling_policy),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elbv2.describe_load_balancers", lambda c, p, _: c("elbv2").describe_load_balancers(LoadBalancerArns=[p])),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elbv2.describe_target_groups", lambda c, p, _: c("elbv2").describe_target_groups(TargetGroupArns=[p])),
    "AWS::ElasticLoadBalancingV2::Listener": ("elbv2.describe_listeners", lambda c, p, _: c("elbv2").describe_listeners(ListenerArns=[p])),
    "AWS::ElasticLoadBalancingV2::ListenerRule": ("elbv2.describe_rules", lambda c, p, _: c("elbv2").describe_rules(RuleArns=[p])),
    "AWS::ElasticLoadBalancingV2::TrustStore": ("elbv2.describe_trust_stores", lambda c, p, _: c("elbv2").describe_trust_stores(TrustStoreArns=[p])),
    "AWS::ElasticLoadBalancingV2::TrustStoreRevocation": ("elbv2.describe_trust_store_revocations", lambda c, p, _: c("elbv2").describe_trust_store_revocations(
        TrustStoreArn=p.split("|")[0], RevocationIds=[int(i) for i in p.split("|")[1].split(",")])),
    "AWS::Route53::HostedZone": _got("route53", "get_hosted_zone", "Id"),
    "AWS::Route53::RecordSet": ("route53.list_resource_record_sets (name, type, set id)", _record_set),
    "AWS::Route53::HealthCheck": _got("route53", "get_health_check", "HealthCheckId"),
    "AWS::Route53::QueryLoggingConfig": _got("route53", "get_query_logging_config", "Id"),
    "AWS::Logs::ResourcePolicy": ("logs.describe_resource_policies", lambda c, p, props: _require(any(
        r["policyName"] == (props.get("PolicyName") or p) for r in c("logs").describe_resource_policies()["resourcePolicies"]))),
    "AWS::Lambda::EventInvokeConfig": ("lambda.get_function_event_invoke_config", lambda c, p, props: c("lambda").get_function_event_invoke_config(FunctionName=props.get("FunctionName") or p.split("|")[0])),
    "AWS::WAFv2::WebACL": ("wafv2.get_web_acl", lambda c, p, _: c("wafv2").get_web_acl(Name=p.split("|")[0], Id=p.split("|")[1], Scope=p.split("|")[2])),
    "AWS::WAFv2::WebACLAssociation": ("wafv2.get_web_acl_for_resource", lambda c, p, props: _require(c("wafv2").get_web_acl_for_resource(ResourceArn=props.get("ResourceArn") or p.split("|")[0]).get("WebACL"))),
    "AWS::WAFv2::LoggingConfiguration": _got("wafv2", "get_logging_configuration", "ResourceArn"),
    "AWS::CertificateManager::Certificate": _got("acm", "describe_certificate", "CertificateArn"),
    # RDS, DMS, Backup
    "AWS::RDS::DBCluster": _got("rds", "describe_db_clusters", "DBClusterIdentifier"),
    "AWS::RDS::DBInstance": _got("rds", "describe_db_instances", "DBInstanceIdentifier"),
    "AWS::RDS::DBSubnetGroup": _got("rds", "describe_db_subnet_groups", "DBSubnetGroupName"),
    "AWS::RDS::DBClusterParameterGroup": _got("rds", "describe_db_cluster_parameter_groups", "DBClusterParameterGroupName"),
    "AWS::DMS::ReplicationInstance": ("dms.describe_replication_instances", _dms("describe_replication_instances", "ReplicationInstances", "replication-instance-arn")),
    "AWS::DMS::Endpoint": ("dms.describe_endpoints", _dms("describe_endpoints", "Endpoints", "endpoint-arn")),
    "AWS::DMS::ReplicationSubnetGroup": ("dms.describe_replication_subnet_groups", _dms("describe_replication_subnet_groups", "ReplicationSubnetGroups", "replication-subnet-group-id")),
    "AWS::DMS::ReplicationTask": ("dms.describe_replication_tasks", _dms("describe_replication_tasks", "ReplicationTasks", "replication-task-arn")),
    "AWS::Backup::BackupVault": _got("backup", "describe_backup_vault", "BackupVaultName"),
    "AWS::Backup::BackupPlan": ("backup.get_backup_plan (not deleted)", _backup_plan),
    "AWS::Backup::BackupSelection": ("backup.get_backup_selection", lambda c, p, props: c("backup").get_backup_selection(BackupPlanId=props["BackupPlanId"], SelectionId=p)),
}

_NOT_FOUND_HINTS = ("notfound", "nosuch", "not found", "does not exist", "doesn't exist", "invalid", "could not be found", "unknown", "unable to describe", "nonexistent")


def _is_not_found(exc: Exception) -> bool:
    if isinstance(exc, NotFound):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "")).lower()
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status == 404 or any(h in code for h in _NOT_FOUND_HINTS) or any(h in str(exc).lower() for h in _NOT_FOUND_HINTS)
    return isinstance(exc, (KeyError, IndexError, StopIteration))


def _resolve(value: Any, physical: dict[str, str], parameters: dict[str, str]) -> Any:
    """Resolve Ref / simple Sub against the stack's physical IDs (enough for checks)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return physical.get(value["Ref"], parameters.get(value["Ref"], value["Ref"]))
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name, pid in {**parameters, **physical}.items():
                text = text.replace("${" + name + "}", str(pid))
            return text
        if "Fn::GetAtt" in value:
            # Approximation good enough for existence checks: APIs that take an ARN
            # (Lambda, SNS, SQS URLs aside) also take the name the physical ID holds.
            target = value["Fn::GetAtt"][0] if isinstance(value["Fn::GetAtt"], list) else str(value["Fn::GetAtt"]).split(".")[0]
            return physical.get(target, value)
        return {k: _resolve(v, physical, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, physical, parameters) for v in value]
    return value


def check_resource(clients: Clients, resource_type: str, physical_id: str, properties: dict[str, Any]) -> tuple[str, str]:
    """(verdict, detail) for one resource: ok / MISSING / unchecked / error."""
    entry = CHECKS.get(resource_type)
    if entry is None:
        return "unchecked", "no existence check for this type"
    how, check = entry
    try:
        check(clients, physical_id, properties)
    except Exception as exc:  # noqa: BLE001 - any failure is a failing verdict: MISSING, or error naming its type
        if _is_not_found(exc):
            return "MISSING", f"{how}: {exc}"[:300]
        return "error", f"{how}: {type(exc).__name__}: {exc}"[:300]
    return "ok", how


def scan_stack(clients: Clients, stack_name: str) -> list[Row]:
    cfn = clients("cloudformation")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    parameters.update({"AWS::Region": clients.region, "AWS::AccountId": "123456789012", "AWS::StackName": stack["StackName"]})
    template = cfn.get_template(StackName=stack["StackId"])["TemplateBody"]
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError:
            import yaml  # noqa: PLC0415 - only for YAML templates

            template = yaml.safe_load(template)
    resources = template.get("Resources", {})
    summaries = []
    paginator_kwargs: dict[str, Any] = {"StackName": stack["StackId"]}
    while True:
        page = cfn.list_stack_resources(**paginator_kwargs)
        summaries += page["StackResourceSummaries"]
        if not page.get("NextToken"):
            break
        paginator_kwargs["NextToken"] = page["NextToken"]
    physical = {s["LogicalResourceId"]: s.get("PhysicalResourceId") or "" for s in summaries if s.get("LogicalResourceId")}
    rows: list[Row] = []
    status = stack["StackStatus"]
    absent_reason = "in the template but not a resource of the stack (type not supported by the emulator?)"
    if status not in HEALTHY_STACK_STATUSES:
        reasons = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
            for e in cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
            if "FAILED" in e["ResourceStatus"] and e.get("ResourceStatusReason")
        ]
        rows.append(Row(stack_name, stack_name, "AWS::CloudFormation::Stack", stack["StackId"], "error",
                        f"stack is {status}: {'; '.join(reasons[:3]) or 'no reason recorded'}"))
        absent_reason = f"not in the stack: the stack is {status}"
    for summary in summaries:
        logical = summary.get("LogicalResourceId") or ""
        rtype = summary.get("ResourceType") or resources.get(logical, {}).get("Type", "")
        pid = summary.get("PhysicalResourceId") or ""
        if not logical:
            continue  # moto's rows for unsupported types: reported as ABSENT below
        props = _resolve(resources.get(logical, {}).get("Properties", {}), physical, parameters)
        if not pid:
            rows.append(Row(stack_name, logical, rtype, pid, "PHANTOM", "empty physical ID: created by nobody", props))
            continue
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            rows.append(Row(stack_name, logical, rtype, pid, "ok", "custom resource: provider answered SUCCESS", props))
            continue
        verdict, detail = check_resource(clients, rtype, pid, props)
        rows.append(Row(stack_name, logical, rtype, pid, verdict, detail, props))
    listed = {r.logical_id for r in rows}
    for logical, definition in resources.items():
        if logical in listed:
            continue
        if definition.get("Condition"):
            rows.append(Row(stack_name, logical, definition.get("Type", ""), "", "skipped", f"condition {definition['Condition']} (not created?)"))
        else:
            rows.append(Row(stack_name, logical, definition.get("Type", ""), "", "ABSENT", absent_reason))
    return rows


def leftovers_after_delete(clients: Clients, rows: list[Row]) -> list[Row]:
    """Re-check resources that existed before a stack delete: anything found is a LEFTOVER."""
    result = []
    for row in rows:
        if row.verdict != "ok" or row.resource_type.startswith("Custom::"):
            continue
        verdict, detail = check_resource(clients, row.resource_type, row.physical_id, row.properties)
        if verdict == "ok":
            result.append(Row(row.stack, row.logical_id, row.resource_type, row.physical_id, "LEFTOVER", "still exists after the stack was deleted", row.properties))
        elif verdict == "error":
            result.append(Row(row.stack, row.logical_id, row.resource_type, row.physical_id, "error", detail, row.properties))
    return result


FAILING = {"PHANTOM", "MISSING", "ABSENT", "LEFTOVER", "error"}
HEALTHY_STACK_STATUSES = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def _print(rows: list[Row], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{k: v for k, v in asdict(r).items() if k != "properties"} for r in rows], indent=2))
        return
    if not rows:
        print("(no resources)")
        return
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("stack", "logical_id", "resource_type", "verdict")]
    for r in sorted(rows, key=lambda r: (r.verdict not in FAILING, r.stack, r.logical_id)):
        print(
            f"{r.verdict:<{widths[3]}}  {r.stack:<{widths[0]}}  {r.logical_id:<{widths[1]}}  "
            f"{r.resource_type:<{widths[2]}}  {r.physical_id or '-'}  {r.detail if r.verdict != 'ok' else ''}".rstrip()
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phantoms", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="append", default=[], help="stack name (repeatable); default: every stack")
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or launcher.url_for(launcher.default_port()))
    parser.add_argument("--delete", action="store_true", help="delete the stack(s) afterwards and report LEFTOVER resources")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--list-checks", action="store_true", help="print the type -> check table and exit")
    args = parser.parse_args(argv)

    if args.list_checks:
        for rtype, (how, _check) in sorted(CHECKS.items()):
            print(f"{rtype:<48} {how}")
        return 0
    clients = Clients(args.endpoint)
    stacks = args.stack or [
        s["StackName"]
        for s in clients("cloudformation").describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    rows: list[Row] = []
    for name in stacks:
        rows += scan_stack(clients, name)
    if args.delete:
        for name in stacks:
            clients("cloudformation").delete_stack(StackName=name)
            status = clients("cloudformation").describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] if _exists(clients, name) else "DELETE_COMPLETE"
            if status != "DELETE_COMPLETE":
                rows.append(Row(name, name, "AWS::CloudFormation::Stack", "", "error", f"stack delete ended in {status}"))
        rows = [r for r in rows if r.verdict in FAILING] + leftovers_after_delete(clients, rows)
    _print(rows, args.json)
    failing = [r for r in rows if r.verdict in FAILING]
    if not args.json:
        print(f"\n{len(rows)} resources checked, {len(failing)} failing ({', '.join(sorted({r.verdict for r in failing})) or 'none'})", file=sys.stderr)
    return 1 if failing else 0


def _exists(clients: Clients, name: str) -> bool:
    try:
        clients("cloudformation").describe_stacks(StackName=name)
    except ClientError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
