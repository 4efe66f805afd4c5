"""The project rules, written once, that every resource of every template is held to.

Each table says how a resource type meets a rule. A resource type that no table knows
fails the tests with a message saying which table to extend, so a new template cannot
slip past a rule by using a type nobody classified.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
NAME_TAIL = "${Environment}-${EnvironmentSuffix}"
REQUIRED_TAGS = ("Environment", "Project", "CostCenter")
#: Where a type keeps its tags: most use Tags, a few name the property after themselves.
TAG_PROPERTIES = ("Tags", "HostedZoneTags", "HealthCheckTags", "BackupVaultTags", "BackupPlanTags")


def template_paths() -> list[Path]:
    return sorted(p for p in TEMPLATES.glob("*.json"))


@cache
def load(path: Path) -> dict:
    return json.loads(path.read_text())


def resources(path: Path):
    return load(path).get("Resources", {}).items()


# ---------------------------------------------------------------- naming
#: Types whose name is a property: that property must carry the environment and suffix.
NAME_PROPERTY: dict[str, str] = {
    "AWS::ApplicationAutoScaling::ScalingPolicy": "PolicyName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::DMS::Certificate": "CertificateIdentifier",
    "AWS::DMS::Endpoint": "EndpointIdentifier",
    "AWS::DMS::ReplicationInstance": "ReplicationInstanceIdentifier",
    "AWS::DMS::ReplicationSubnetGroup": "ReplicationSubnetGroupIdentifier",
    "AWS::DMS::ReplicationTask": "ReplicationTaskIdentifier",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::ElasticLoadBalancingV2::TrustStore": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBClusterParameterGroup": "DBClusterParameterGroupName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBParameterGroup": "DBParameterGroupName",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
    "AWS::Route53::HostedZone": "Name",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SSM::Parameter": "Name",
    "AWS::Backup::BackupPlan": "BackupPlan.BackupPlanName",
    "AWS::Backup::BackupSelection": "BackupSelection.SelectionName",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::Logs::MetricFilter": "FilterName",
    "AWS::Logs::ResourcePolicy": "PolicyName",
    "AWS::Logs::AccountPolicy": "PolicyName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::WAFv2::WebACL": "Name",
}
#: Names that AWS fixes by convention rather than by us; the property must still contain the tail.
#: (Route 53 zone names are DNS names, SSM names are paths: they carry the tail inside.)
NAME_CONTAINS_ONLY = {"AWS::Route53::HostedZone", "AWS::SSM::Parameter", "AWS::Logs::LogGroup", "AWS::KMS::Alias"}
#: Types that have neither a name property nor tags: nothing to name (associations, routes, policies).
NAMELESS: set[str] = {
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::IAM::Policy",
    "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::SecretsManager::RotationSchedule",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TrustStoreRevocation",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::Route53::RecordSet",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudFormation::Stack",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Route53::QueryLoggingConfig",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
    # Named by the Name tag inside HealthCheckTags (not "Tags", so the generic check cannot see it).
    "AWS::Route53::HealthCheck",
}


#: Taggable types that must not carry a Name tag: CloudFormation copies a nested stack's tags onto
#: every resource of the child stack, so a Name tag there would rename them all. CloudFormation names
#: a nested stack <parent stack>-<logical ID>-<random>; the parent's own name carries the environment.
NO_NAME_TAG: set[str] = {"AWS::CloudFormation::Stack"}


def is_custom(rtype: str) -> bool:
    return rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource"


def dig(props: dict, dotted: str) -> Any:
    value: Any = props
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def sub_text(value: Any) -> str | None:
    """The text of a name: a literal, or the string of a Fn::Sub."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


@cache
def taggable(rtype: str) -> bool:
    if is_custom(rtype):
        return False
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", rtype)
    return any(key in schema.schema.get("properties", {}) for key in TAG_PROPERTIES)


def tag_values(props: dict) -> dict[str, Any]:
    """Tags as a dict whatever the resource's shape (list of Key/Value, or a map)."""
    raw = next((props[key] for key in TAG_PROPERTIES if key in props), None)
    if isinstance(raw, list):
        return {t.get("Key"): t.get("Value") for t in raw if isinstance(t, dict)}
    if isinstance(raw, dict):
        return raw
    return {}


#: Names AWS fixes, by type: DMS looks these account-level roles up by exact name, so no suffix is
#: possible. Created only when the dms stack's CreateDmsServiceRoles is true (docs/data-tier.md).
FIXED_NAMES: dict[str, set[str]] = {"AWS::IAM::Role": {"dms-vpc-role", "dms-cloudwatch-logs-role"}}


def naming_problem(rtype: str, props: dict) -> str | None:
    """None if the resource is named by the rule, else what is wrong."""
    if is_custom(rtype):
        return None
    if sub_text(dig(props, NAME_PROPERTY.get(rtype, ""))) in FIXED_NAMES.get(rtype, set()):
        return None
    if rtype in NAME_PROPERTY:
        text = sub_text(dig(props, NAME_PROPERTY[rtype]))
        if text is None:
            return f"{NAME_PROPERTY[rtype]} missing or not a Fn::Sub/literal"
        if NAME_TAIL not in text:
            return f"{NAME_PROPERTY[rtype]} {text!r} lacks {NAME_TAIL!r}"
        if rtype not in NAME_CONTAINS_ONLY and not text.endswith(NAME_TAIL):
            return f"{NAME_PROPERTY[rtype]} {text!r} must end with -{NAME_TAIL}"
        return None
    if rtype in NO_NAME_TAG:
        return None if "Name" not in tag_values(props) else "a Name tag here would be copied onto every child resource"
    if taggable(rtype):
        text = sub_text(tag_values(props).get("Name"))
        if text is None or NAME_TAIL not in text:
            return f"a Name tag containing {NAME_TAIL!r} is required (got {text!r})"
        return None
    if rtype in NAMELESS:
        return None
    return f"unclassified type {rtype}: add it to NAME_PROPERTY or NAMELESS in tests/test_templates/policy.py"


# ---------------------------------------------------------------- encryption
def _is_our_key(value: Any) -> bool:
    """A reference to a customer-managed key: a KMS::Key of the template, or a key parameter."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"] != "AWS::NoValue"
        if "Fn::GetAtt" in value or "Fn::ImportValue" in value or "Fn::If" in value:
            return True
        if "Fn::Sub" in value:
            text = sub_text(value) or ""
            return "alias/aws/" not in text
    if isinstance(value, str):
        return value.startswith("arn:") and ":key/" in value
    return False


#: Destinations of S3 server access logging, by BucketName: S3 cannot deliver access logs to an
#: SSE-KMS bucket, so these (and only these) use SSE-S3. Recorded in docs/security-exceptions.md.
SSE_S3_ACCESS_LOG_BUCKETS = {
    "s3-access-logs-${AWS::AccountId}-${Environment}-${EnvironmentSuffix}",
    # ALB access/connection log delivery, like S3 server access logging, writes only to SSE-S3 buckets.
    "s3-alb-logs-${AWS::AccountId}-${Environment}-${EnvironmentSuffix}",
}


def _s3(props):
    rules = dig(props, "BucketEncryption.ServerSideEncryptionConfiguration") or []
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms" and _is_our_key(default.get("KMSMasterKeyID")):
            return None
        if default.get("SSEAlgorithm") == "AES256" and sub_text(props.get("BucketName")) in SSE_S3_ACCESS_LOG_BUCKETS:
            return None
    return "BucketEncryption must be aws:kms with our key"


def _prop_key(prop: str, also: Callable[[dict], str | None] | None = None):
    def check(props):
        if not _is_our_key(props.get(prop)):
            return f"{prop} must reference our KMS key"
        return also(props) if also else None
    return check


def _rds_cluster(props):
    if props.get("StorageEncrypted") is not True:
        return "StorageEncrypted must be true"
    return _prop_key("KmsKeyId")(props)


def _rds_instance(props):
    if props.get("EnablePerformanceInsights") and not _is_our_key(props.get("PerformanceInsightsKMSKeyId")):
        return "Performance Insights must use our KMS key"
    if "DBClusterIdentifier" not in props:
        return _rds_cluster(props)
    return None


def _dynamodb(props):
    sse = props.get("SSESpecification") or {}
    if sse.get("SSEEnabled") is not True or sse.get("SSEType") != "KMS" or not _is_our_key(sse.get("KMSMasterKeyId")):
        return "SSESpecification must be KMS with our key"
    return None


def _ssm_parameter(props):
    # CloudFormation cannot create SecureString parameters; sensitive values go through
    # the SecureString custom resource, so a plain parameter must say it holds no secret.
    if props.get("Type") not in ("String", "StringList"):
        return "only String/StringList parameters can be declared directly"
    return None


def _backup_vault(props):
    return None if _is_our_key(props.get("EncryptionKeyArn")) else "EncryptionKeyArn must reference our KMS key"


def _lambda(props):
    return None if _is_our_key(props.get("KmsKeyArn")) else "KmsKeyArn (environment encryption) must reference our key"


def _ecs_cluster(props):
    return None


#: Types that keep data at rest, and how each proves it uses our key.
ENCRYPTION: dict[str, Callable[[dict], str | None]] = {
    "AWS::S3::Bucket": _s3,
    "AWS::Logs::LogGroup": _prop_key("KmsKeyId"),
    "AWS::RDS::DBCluster": _rds_cluster,
    "AWS::RDS::DBInstance": _rds_instance,
    "AWS::SecretsManager::Secret": _prop_key("KmsKeyId"),
    "AWS::SNS::Topic": _prop_key("KmsMasterKeyId"),
    "AWS::SQS::Queue": _prop_key("KmsMasterKeyId"),
    "AWS::DMS::ReplicationInstance": _prop_key("KmsKeyId"),
    "AWS::DMS::Endpoint": _prop_key("KmsKeyId"),
    "AWS::Backup::BackupVault": _backup_vault,
    "AWS::CloudTrail::Trail": _prop_key("KMSKeyId"),
    "AWS::Lambda::Function": _lambda,
    "AWS::DynamoDB::Table": _dynamodb,
    "AWS::SSM::Parameter": _ssm_parameter,
    # Firehose buffers records for up to its buffering interval: stream SSE under our key.
    "AWS::KinesisFirehose::DeliveryStream": lambda props: None if _is_our_key(
        dig(props, "DeliveryStreamEncryptionConfigurationInput.KeyARN")) else (
        "DeliveryStreamEncryptionConfigurationInput.KeyARN must reference our key"),
}
#: Types that hold no customer data at rest (configuration, wiring, compute without storage).
NO_DATA_AT_REST: set[str] = {
    "AWS::KMS::Key", "AWS::KMS::Alias",
    "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::RouteTable", "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::FlowLog", "AWS::EC2::VPCEndpoint",
    "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::NetworkAcl", "AWS::EC2::NetworkAclEntry", "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
    "AWS::SecretsManager::SecretTargetAttachment", "AWS::SecretsManager::RotationSchedule",
    "AWS::RDS::DBClusterParameterGroup", "AWS::RDS::DBParameterGroup", "AWS::RDS::DBSubnetGroup",
    "AWS::DMS::ReplicationSubnetGroup", "AWS::DMS::ReplicationTask",
    # The data-centre link: network plumbing, and a CA certificate (public by nature).
    "AWS::EC2::CustomerGateway", "AWS::EC2::VPNGateway", "AWS::EC2::VPNConnection", "AWS::EC2::TransitGatewayAttachment",
    "AWS::DMS::Certificate",
    "AWS::Backup::BackupPlan", "AWS::Backup::BackupSelection",
    "AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service",
    "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::ElasticLoadBalancingV2::TargetGroup",
    # The trust store holds public CA certificates and revocation lists, read from our KMS-encrypted bucket.
    "AWS::ElasticLoadBalancingV2::TrustStore", "AWS::ElasticLoadBalancingV2::TrustStoreRevocation",
    "AWS::Route53::HostedZone", "AWS::Route53::RecordSet", "AWS::Route53::HealthCheck",
    "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm", "AWS::CloudWatch::Dashboard",
    "AWS::Logs::MetricFilter", "AWS::Events::Rule", "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping",
    "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy",
    "AWS::CloudFormation::Stack", "AWS::CertificateManager::Certificate",
    "AWS::Logs::ResourcePolicy", "AWS::Logs::AccountPolicy", "AWS::Route53::QueryLoggingConfig",
    "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration",
}


def encryption_problem(rtype: str, props: dict) -> str | None:
    if is_custom(rtype):
        return None
    if rtype in ENCRYPTION:
        return ENCRYPTION[rtype](props)
    if rtype in NO_DATA_AT_REST:
        return None
    return f"unclassified type {rtype}: add it to ENCRYPTION or NO_DATA_AT_REST in tests/test_templates/policy.py"


# ---------------------------------------------------------------- deletion policy
#: Stateful types must state DeletionPolicy and UpdateReplacePolicy, and neither may retain.
STATEFUL = set(ENCRYPTION) - {"AWS::Lambda::Function", "AWS::SSM::Parameter"} | {"AWS::KMS::Key"}
RETAINING = {"Retain", "RetainExceptOnCreate"}


def deletion_problem(rtype: str, resource: dict) -> str | None:
    for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
        if resource.get(attr) in RETAINING:
            return f"{attr} {resource[attr]} is forbidden (test stacks must tear down clean)"
    if rtype in STATEFUL:
        for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
            if resource.get(attr) != "Delete":
                return f"stateful {rtype} must state {attr}: Delete explicitly (got {resource.get(attr)!r})"
    return None


#: JSON templates written by hand rather than rendered from a templates/*.py handler.
HAND_WRITTEN: set[str] = set()
