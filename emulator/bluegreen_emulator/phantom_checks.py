"""How the phantom detector (phantoms.py) asks each service whether a resource exists: ``CHECKS``,
resource type -> (the API call, in words; the check). A type we deploy without a row here is reported
``unchecked``: add its row when a template starts using it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: boto3 clients for the emulator by service name (phantoms.Clients).
Clients = Callable[[str], Any]


class NotFound(Exception):
    pass


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


def _vpn_connection(c: Clients, pid: str, props: dict[str, Any]) -> None:
    connections = c("ec2").describe_vpn_connections(VpnConnectionIds=[pid])["VpnConnections"]
    _require(connections and connections[0]["State"] != "deleted", "deleted")


def _vpn_gateway(c: Clients, pid: str, props: dict[str, Any]) -> None:
    gateways = c("ec2").describe_vpn_gateways(VpnGatewayIds=[pid])["VpnGateways"]
    _require(gateways and gateways[0]["State"] != "deleted", "deleted")


def _tgw_attachment(c: Clients, pid: str, props: dict[str, Any]) -> None:
    found = c("ec2").describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[pid])["TransitGatewayVpcAttachments"]
    _require(found and found[0]["State"] not in ("deleted", "deleting"), "deleted")


def _dms_certificate(c: Clients, pid: str, props: dict[str, Any]) -> None:
    found = c("dms").describe_certificates(Filters=[{"Name": "certificate-arn", "Values": [pid]}])["Certificates"]
    _require(found, "no such certificate")


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
    "AWS::EC2::SecurityGroupEgress": ("ec2.describe_security_group_rules", _sg_rule),
    "AWS::EC2::CustomerGateway": _ec2_described("describe_customer_gateways", "CustomerGatewayIds", "CustomerGateways"),
    "AWS::EC2::VPNGateway": ("ec2.describe_vpn_gateways (not deleted)", _vpn_gateway),
    "AWS::EC2::VPNConnection": ("ec2.describe_vpn_connections (not deleted)", _vpn_connection),
    "AWS::EC2::TransitGatewayAttachment": ("ec2.describe_transit_gateway_vpc_attachments (not deleted)", _tgw_attachment),
    "AWS::DMS::Certificate": ("dms.describe_certificates", _dms_certificate),
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
    "AWS::Logs::AccountPolicy": (
        "logs.describe_account_policies",
        lambda c, p, props: _require(
            c("logs").describe_account_policies(policyType=props["PolicyType"], policyName=props.get("PolicyName") or p)["accountPolicies"]
        ),
    ),
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
    "AWS::ElasticLoadBalancingV2::TrustStoreRevocation": (
        "elbv2.describe_trust_store_revocations",
        lambda c, p, _: c("elbv2").describe_trust_store_revocations(TrustStoreArn=p.split("|")[0], RevocationIds=[int(i) for i in p.split("|")[1].split(",")]),
    ),
    "AWS::Route53::HostedZone": _got("route53", "get_hosted_zone", "Id"),
    "AWS::Route53::RecordSet": ("route53.list_resource_record_sets (name, type, set id)", _record_set),
    "AWS::Route53::HealthCheck": _got("route53", "get_health_check", "HealthCheckId"),
    "AWS::Route53::QueryLoggingConfig": _got("route53", "get_query_logging_config", "Id"),
    "AWS::Logs::ResourcePolicy": (
        "logs.describe_resource_policies",
        lambda c, p, props: _require(
            any(r["policyName"] == (props.get("PolicyName") or p) for r in c("logs").describe_resource_policies()["resourcePolicies"])
        ),
    ),
    "AWS::Lambda::EventInvokeConfig": (
        "lambda.get_function_event_invoke_config",
        lambda c, p, props: c("lambda").get_function_event_invoke_config(FunctionName=props.get("FunctionName") or p.split("|")[0]),
    ),
    "AWS::WAFv2::WebACL": ("wafv2.get_web_acl", lambda c, p, _: c("wafv2").get_web_acl(Name=p.split("|")[0], Id=p.split("|")[1], Scope=p.split("|")[2])),
    "AWS::WAFv2::WebACLAssociation": (
        "wafv2.get_web_acl_for_resource",
        lambda c, p, props: _require(c("wafv2").get_web_acl_for_resource(ResourceArn=props.get("ResourceArn") or p.split("|")[0]).get("WebACL")),
    ),
    "AWS::WAFv2::LoggingConfiguration": _got("wafv2", "get_logging_configuration", "ResourceArn"),
    "AWS::CertificateManager::Certificate": _got("acm", "describe_certificate", "CertificateArn"),
    # RDS, DMS, Backup
    "AWS::RDS::DBCluster": _got("rds", "describe_db_clusters", "DBClusterIdentifier"),
    "AWS::RDS::DBInstance": _got("rds", "describe_db_instances", "DBInstanceIdentifier"),
    "AWS::RDS::DBSubnetGroup": _got("rds", "describe_db_subnet_groups", "DBSubnetGroupName"),
    "AWS::RDS::DBClusterParameterGroup": _got("rds", "describe_db_cluster_parameter_groups", "DBClusterParameterGroupName"),
    "AWS::DMS::ReplicationInstance": (
        "dms.describe_replication_instances",
        _dms("describe_replication_instances", "ReplicationInstances", "replication-instance-arn"),
    ),
    "AWS::DMS::Endpoint": ("dms.describe_endpoints", _dms("describe_endpoints", "Endpoints", "endpoint-arn")),
    "AWS::DMS::ReplicationSubnetGroup": (
        "dms.describe_replication_subnet_groups",
        _dms("describe_replication_subnet_groups", "ReplicationSubnetGroups", "replication-subnet-group-id"),
    ),
    "AWS::DMS::ReplicationTask": ("dms.describe_replication_tasks", _dms("describe_replication_tasks", "ReplicationTasks", "replication-task-arn")),
    "AWS::Backup::BackupVault": _got("backup", "describe_backup_vault", "BackupVaultName"),
    "AWS::Backup::BackupPlan": ("backup.get_backup_plan (not deleted)", _backup_plan),
    "AWS::Backup::BackupSelection": (
        "backup.get_backup_selection",
        lambda c, p, props: c("backup").get_backup_selection(BackupPlanId=props["BackupPlanId"], SelectionId=p),
    ),
}
