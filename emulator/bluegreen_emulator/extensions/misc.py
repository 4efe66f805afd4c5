"""Smaller gaps in moto 5.2's CloudFormation support for the types this project uses.

* ELBv2: a ``forward`` default action with ``ForwardConfig`` (weighted target groups --
  the blue/green traffic split) failed with KeyError 'TargetGroupArn'; GetAtt of
  CanonicalHostedZoneID / LoadBalancerFullName / TargetGroupFullName was missing.
* Replaced models: KMS Key (dict KeyPolicy broke DescribeKey), SSM Parameter (no Name
  crashed; update deleted and re-created), Route 53 RecordSet (weighted records were
  replaced or deleted together).
* S3 bucket policy evaluation: conditional Deny statements denied every request.
* Route 53 HostedZone / HealthCheck GetAtt.
* No model at all (phantoms) for: S3 BucketPolicy, SNS TopicPolicy, SNS Subscription,
  SQS QueuePolicy, Logs MetricFilter, CloudTrail Trail, ApplicationAutoScaling
  ScalableTarget / ScalingPolicy, CertificateManager Certificate, Route 53
  QueryLoggingConfig, Lambda EventInvokeConfig.
"""

from __future__ import annotations

import json
from typing import Any

from moto.acm.models import acm_backends
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudtrail.models import cloudtrail_backends
from moto.core.common_models import CloudFormationModel
from moto.elbv2.exceptions import InvalidActionTypeError
from moto.elbv2.models import ALLOWED_ACTIONS, ELBv2Backend, FakeLoadBalancer, FakeTargetGroup
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.iam import policy_conditions
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.route53.models import FakeZone, HealthCheck, route53_backends
from moto.s3.models import FakeBucket
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.ssm.models import ssm_backends

from ._base import BackendResource, as_bool, as_int, delete_if_present, is_not_found, tags_to_list

EXTENSIONS = [
    ("AWS::ElasticLoadBalancingV2::Listener", "fix: forward actions with ForwardConfig (weighted target groups) are kept as given"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "fix: Fn::GetAtt CanonicalHostedZoneID (real us-east-1 zone IDs, for Route 53 aliases), LoadBalancerFullName, SecurityGroups"),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "fix: Fn::GetAtt TargetGroupFullName, TargetGroupName, LoadBalancerArns (moto crashed on any GetAtt)"),
    ("AWS::KMS::Key", "replaces moto's model: KeyPolicy given as JSON object (moto stored the dict and DescribeKey then failed with HTTP 500), updates in place, stack delete schedules deletion (PendingDeletion) like CloudFormation"),
    ("AWS::SSM::Parameter", "replaces moto's model: works without Name (moto crashed), map Tags, update = new version (moto deleted and re-created)"),
    ("AWS::Route53::RecordSet", "replaces moto's model: weighted/failover records with a SetIdentifier are updated and deleted one by one (moto replaced or deleted every record of the name, e.g. blue and green)"),
    ("AWS::Route53::QueryLoggingConfig", "new model: create/delete_query_logging_config (log group ARN accepted with or without ':*')"),
    ("AWS::Lambda::EventInvokeConfig", "new model: put/delete_function_event_invoke_config (retries, max age, destinations)"),
    ("S3 bucket policies", "fix: a statement whose Condition does not hold, or uses an operator moto cannot evaluate, does not apply (moto denied every request under the usual TLS-only 'aws:SecureTransport false' Deny); requests count as TLS"),
    ("AWS::Route53::HostedZone / HealthCheck", "fix: Fn::GetAtt Id, NameServers / HealthCheckId (moto crashed)"),
    ("AWS::S3::BucketPolicy", "new model: put_bucket_policy / delete_bucket_policy"),
    ("AWS::SNS::TopicPolicy", "new model: sets / resets the Policy attribute of each topic"),
    ("AWS::SNS::Subscription", "new model: subscribe / unsubscribe (FilterPolicy, RawMessageDelivery, RedrivePolicy)"),
    ("AWS::SQS::QueuePolicy", "new model: sets / clears the Policy attribute of each queue"),
    ("AWS::Logs::MetricFilter", "new model: put_metric_filter / delete_metric_filter"),
    ("AWS::CloudTrail::Trail", "new model: create_trail (+ start_logging), update_trail, delete_trail"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "new model: register/deregister_scalable_target; Ref = ResourceId|ScalableDimension|ServiceNamespace"),
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "new model: put_scaling_policy / delete_scaling_policy; Ref = policy ARN"),
    ("AWS::CertificateManager::Certificate", "new model: request_certificate (PENDING_VALIDATION, ISSUED after moto's ACM_VALIDATION_WAIT) / delete_certificate"),
]


def _policy_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ----------------------------------------------------------------------------- ELBv2


def _convert_and_validate_properties(self: ELBv2Backend, properties: dict[str, Any]) -> list[dict[str, Any]]:
    actions = []
    for i, action in enumerate(properties["DefaultActions"]):
        if action["Type"] not in ALLOWED_ACTIONS:
            raise InvalidActionTypeError(action["Type"], i + 1)
        action = dict(action)
        forward = action.get("ForwardConfig")
        if forward:
            forward = dict(forward)
            forward["TargetGroups"] = [
                {**tg, "Weight": as_int(tg.get("Weight"), 1)} for tg in forward.get("TargetGroups") or []
            ]
            action["ForwardConfig"] = forward
        actions.append(action)
    return actions


#: Route 53 hosted zone IDs of Elastic Load Balancing in us-east-1 (alias targets).
ELB_HOSTED_ZONE_IDS = {"application": "Z35SXDOTRQ7X7K", "network": "Z26RNL4JYFTOTI", "gateway": "Z26RNL4JYFTOTI"}

_original_lb_get_cfn_attribute = FakeLoadBalancer.get_cfn_attribute


def _lb_get_cfn_attribute(self: FakeLoadBalancer, attribute_name: str) -> Any:
    if attribute_name == "CanonicalHostedZoneID":
        return ELB_HOSTED_ZONE_IDS.get(self.type, ELB_HOSTED_ZONE_IDS["application"])
    if attribute_name == "LoadBalancerFullName":
        return self.arn.split(":loadbalancer/", 1)[1]
    if attribute_name == "SecurityGroups":
        return list(self.security_groups or [])
    if attribute_name == "LoadBalancerArn":
        return self.arn
    return _original_lb_get_cfn_attribute(self, attribute_name)


def _tg_get_cfn_attribute(self: FakeTargetGroup, attribute_name: str) -> Any:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    if attribute_name == "TargetGroupFullName":
        return self.arn.split(":", 5)[5]
    if attribute_name == "TargetGroupName":
        return self.name
    if attribute_name == "TargetGroupArn":
        return self.arn
    if attribute_name == "LoadBalancerArns":
        return list(getattr(self, "load_balancer_arns", []) or [])
    raise UnformattedGetAttTemplateException()


# ----------------------------------------------------------------------------- S3 bucket policy evaluation


def _bool_equals(expected: Any, actual: str) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    return str(actual).lower() in [str(v).lower() for v in values]


#: Request context the emulator can vouch for: SDK calls to AWS always use TLS.
S3_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}

_original_statement_permitted = IAMPolicyStatement.is_action_permitted


def _statement_permitted(self: IAMPolicyStatement, action: str, resource: str = "*", principal: str | None = None,
                         incoming_condition_values: dict[str, str] | None = None) -> PermissionResult:
    conditions = self._statement.get("Condition")
    if conditions:
        # A statement whose conditions do not hold does not apply (moto: DENIED), and a
        # condition the emulator cannot evaluate (StringNotEquals, IpAddress, ...) is not
        # enforced (moto: treated as holding, so such a Deny denied every request).
        if any(op not in policy_conditions.CONDITION_OPERATIONS for op in conditions):
            return PermissionResult.NEUTRAL
        if not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
    return _original_statement_permitted(self, action, resource, principal, incoming_condition_values)


def _bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
    return IAMPolicy(policy).is_action_permitted(action, resource, incoming_condition_values=dict(S3_REQUEST_CONTEXT))


# ----------------------------------------------------------------------------- Route 53 attributes


def _zone_get_cfn_attribute(self: FakeZone, attribute_name: str) -> Any:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    if attribute_name == "Id":
        return self.resource_id
    if attribute_name == "NameServers":
        if self.private_zone:
            return []
        return [value for r in self.rrsets if r.type == "NS" for value in (r.records or [])]
    raise UnformattedGetAttTemplateException()


def _health_check_get_cfn_attribute(self: HealthCheck, attribute_name: str) -> Any:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    if attribute_name == "HealthCheckId":
        return self.id
    raise UnformattedGetAttTemplateException()


# ----------------------------------------------------------------------------- policies


class BucketPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"
    REPLACE_ON = ("Bucket",)

    def _backend(self):
        return s3_backends[self.account_id]["aws"]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = f"{self.properties['Bucket']}-policy"

    def update(self, new_properties: dict[str, Any]) -> None:
        self._backend().put_bucket_policy(new_properties["Bucket"], _policy_text(new_properties["PolicyDocument"]).encode())

    def remove(self) -> None:
        delete_if_present(self._backend().delete_bucket_policy, self.properties["Bucket"])


class TopicPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"

    def _backend(self):
        return sns_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        for arn in set(self.properties.get("Topics") or []) - set(new_properties.get("Topics") or []):
            self._reset(arn)
        for arn in new_properties.get("Topics") or []:
            backend.set_topic_attribute(arn, "policy", _policy_text(new_properties["PolicyDocument"]))

    def _reset(self, arn: str) -> None:
        backend = self._backend()
        try:
            topic = backend.get_topic(arn)
        except Exception:  # noqa: BLE001 - topic already deleted
            return
        topic._policy_json = topic._create_default_topic_policy(self.region_name, topic.account_id, topic.name)

    def remove(self) -> None:
        for arn in self.properties.get("Topics") or []:
            self._reset(arn)


class SubscriptionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)
    REPLACE_ON = ("TopicArn", "Endpoint", "Protocol")
    _ATTRS = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy")

    def _backend(self):
        return sns_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        subscription = self._backend().subscribe(p["TopicArn"], p.get("Endpoint"), p["Protocol"])
        self.physical_id = subscription.arn
        self.update(p)

    def update(self, new_properties: dict[str, Any]) -> None:
        for attr in self._ATTRS:
            if attr in new_properties:
                value = new_properties[attr]
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif not isinstance(value, str):
                    value = json.dumps(value)
                self._backend().set_subscription_attributes(self.physical_id, attr, value)

    def remove(self) -> None:
        self._backend().unsubscribe(self.physical_id)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class QueuePolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SQS::QueuePolicy"

    def _backend(self):
        return sqs_backends[self.account_id][self.region_name]

    @staticmethod
    def _queue_name(url: str) -> str:
        return url.rstrip("/").rsplit("/", 1)[-1]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        for url in set(self.properties.get("Queues") or []) - set(new_properties.get("Queues") or []):
            self._clear(url)
        for url in new_properties.get("Queues") or []:
            self._backend().set_queue_attributes(self._queue_name(url), {"Policy": _policy_text(new_properties["PolicyDocument"])})

    def _clear(self, url: str) -> None:
        try:
            self._backend().set_queue_attributes(self._queue_name(url), {"Policy": ""})
        except Exception:  # noqa: BLE001 - queue already deleted
            pass

    def remove(self) -> None:
        for url in self.properties.get("Queues") or []:
            self._clear(url)


# ----------------------------------------------------------------------------- logs


class MetricFilterResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"
    REPLACE_ON = ("LogGroupName",)

    def _backend(self):
        return logs_backends[self.account_id][self.region_name]

    @staticmethod
    def _transformations(properties: dict[str, Any]) -> list[dict[str, Any]]:
        result = []
        for t in properties.get("MetricTransformations") or []:
            t = dict(t)
            if "DefaultValue" in t:
                t["DefaultValue"] = float(t["DefaultValue"])
            result.append(t)
        return result

    def create(self, name: str) -> None:
        self._backend().put_metric_filter(
            name, self.properties.get("FilterPattern", ""), self.properties["LogGroupName"], self._transformations(self.properties)
        )
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        backend.delete_metric_filter(self.physical_id, self.properties["LogGroupName"])
        backend.put_metric_filter(
            self.physical_id, new_properties.get("FilterPattern", ""), new_properties["LogGroupName"], self._transformations(new_properties)
        )

    def remove(self) -> None:
        try:
            self._backend().delete_metric_filter(self.physical_id, self.properties["LogGroupName"])
        except Exception as exc:  # noqa: BLE001
            if not (is_not_found(exc) or isinstance(exc, KeyError)):
                raise


# ----------------------------------------------------------------------------- cloudtrail


class TrailResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::CloudTrail::Trail"
    NAME_PROPERTY = "TrailName"
    ATTRIBUTES = ("Arn", "SnsTopicArn")

    def _backend(self):
        return cloudtrail_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        trail = self._backend().create_trail(
            name=name[:128],
            bucket_name=p.get("S3BucketName"),
            s3_key_prefix=p.get("S3KeyPrefix"),
            sns_topic_name=p.get("SnsTopicName"),
            is_global=as_bool(p.get("IncludeGlobalServiceEvents"), True),
            is_multi_region=as_bool(p.get("IsMultiRegionTrail"), False),
            log_validation=as_bool(p.get("EnableLogFileValidation"), False),
            is_org_trail=as_bool(p.get("IsOrganizationTrail"), False),
            cw_log_group_arn=p.get("CloudWatchLogsLogGroupArn"),
            cw_role_arn=p.get("CloudWatchLogsRoleArn"),
            kms_key_id=p.get("KMSKeyId"),
            tags_list=tags_to_list(p.get("Tags")),
        )
        self.physical_id = trail.trail_name
        self._apply(p)

    def _apply(self, p: dict[str, Any]) -> None:
        backend = self._backend()
        if p.get("EventSelectors"):
            backend.put_event_selectors(self.physical_id, p["EventSelectors"], p.get("AdvancedEventSelectors") or [])
        if as_bool(p.get("IsLogging"), False):
            backend.start_logging(self.physical_id)
        else:
            backend.stop_logging(self.physical_id)

    def update(self, new_properties: dict[str, Any]) -> None:
        p = new_properties
        self._backend().update_trail(
            name=self.physical_id,
            s3_bucket_name=p.get("S3BucketName"),
            s3_key_prefix=p.get("S3KeyPrefix"),
            sns_topic_name=p.get("SnsTopicName"),
            include_global_service_events=as_bool(p.get("IncludeGlobalServiceEvents")),
            is_multi_region_trail=as_bool(p.get("IsMultiRegionTrail")),
            enable_log_file_validation=as_bool(p.get("EnableLogFileValidation")),
            is_organization_trail=as_bool(p.get("IsOrganizationTrail")),
            cw_log_group_arn=p.get("CloudWatchLogsLogGroupArn"),
            cw_role_arn=p.get("CloudWatchLogsRoleArn"),
            kms_key_id=p.get("KMSKeyId"),
        )
        self._apply(p)

    def remove(self) -> None:
        delete_if_present(self._backend().delete_trail, self.physical_id)

    def attribute(self, name: str) -> Any:
        trail = self._backend().get_trail(self.physical_id)
        return trail.arn if name == "Arn" else getattr(trail, "topic_arn", None)


# ----------------------------------------------------------------------------- autoscaling


class ScalableTargetResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
    REPLACE_ON = ("ResourceId", "ScalableDimension", "ServiceNamespace")

    def _backend(self):
        return applicationautoscaling_backends[self.account_id][self.region_name]

    def _register(self, p: dict[str, Any]) -> None:
        self._backend().register_scalable_target(
            p["ServiceNamespace"],
            p["ResourceId"],
            p["ScalableDimension"],
            as_int(p.get("MinCapacity")),
            as_int(p.get("MaxCapacity")),
            p.get("RoleARN"),
            p.get("SuspendedState"),
        )

    def create(self, name: str) -> None:
        self._register(self.properties)
        p = self.properties
        self.physical_id = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"

    def update(self, new_properties: dict[str, Any]) -> None:
        self._register(new_properties)

    def remove(self) -> None:
        p = self.properties
        try:
            self._backend().deregister_scalable_target(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        except Exception as exc:  # noqa: BLE001
            if "No scalable target found" not in str(exc):
                raise


class ScalingPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    ATTRIBUTES = ("Arn",)
    REPLACE_ON = ("PolicyName", "ScalingTargetId", "ResourceId", "ScalableDimension", "ServiceNamespace")

    def _backend(self):
        return applicationautoscaling_backends[self.account_id][self.region_name]

    @staticmethod
    def _target(p: dict[str, Any]) -> tuple[str, str, str]:
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(p["ScalingTargetId"]).split("|")
            return namespace, resource_id, dimension
        return p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]

    def _put(self, p: dict[str, Any]) -> None:
        namespace, resource_id, dimension = self._target(p)
        body = p.get("TargetTrackingScalingPolicyConfiguration") or p.get("StepScalingPolicyConfiguration") or {}
        policy = self._backend().put_scaling_policy(
            p["PolicyName"], namespace, resource_id, dimension, body, p.get("PolicyType")
        )
        self.physical_id = policy.policy_arn

    def create(self, name: str) -> None:
        self._put(self.properties)

    def update(self, new_properties: dict[str, Any]) -> None:
        self._put(new_properties)

    def remove(self) -> None:
        namespace, resource_id, dimension = self._target(self.properties)
        try:
            self._backend().delete_scaling_policy(self.properties["PolicyName"], namespace, resource_id, dimension)
        except Exception as exc:  # noqa: BLE001
            if "No scaling policy found" not in str(exc):
                raise

    def attribute(self, name: str) -> Any:
        return self.physical_id


# ----------------------------------------------------------------------------- Route 53


def remove_record_set(zone: Any, name: str, rtype: str, set_identifier: str | None) -> None:
    """Remove exactly one record set (name, type, set identifier) from a moto zone."""
    wanted = name.rstrip(".")
    zone.rrsets = [
        r for r in zone.rrsets
        if not (r.name.rstrip(".") == wanted and r.type == rtype and r.set_identifier == set_identifier)
    ]


class RecordSetResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Route53::RecordSet"
    REPLACE_ON = ("Name", "Type", "HostedZoneId", "HostedZoneName", "SetIdentifier")

    def _zone(self, p: dict[str, Any]) -> Any:
        backend = route53_backends[self.account_id]["aws"]
        if p.get("HostedZoneName"):
            zone = backend.get_hosted_zone_by_name(p["HostedZoneName"])
            if zone is not None:
                return zone
        return backend.get_hosted_zone(str(p["HostedZoneId"]).replace("/hostedzone/", ""))

    @staticmethod
    def _record(p: dict[str, Any]) -> dict[str, Any]:
        record = {k: v for k, v in p.items() if k not in ("HostedZoneName", "Comment")}
        for key in ("Weight", "TTL"):
            if key in record and record[key] is not None:
                record[key] = as_int(record[key])
        return record

    def create(self, name: str) -> None:
        p = self.properties
        zone = self._zone(p)
        duplicate = [r for r in zone.rrsets if r.name.rstrip(".") == p["Name"].rstrip(".")
                     and r.type == p["Type"] and r.set_identifier == p.get("SetIdentifier")]
        if duplicate:
            raise ValueError(f"[Tried to create resource record set [name='{p['Name']}', type='{p['Type']}'] but it already exists]")
        zone.add_rrset(self._record(p))
        self.physical_id = p["Name"]

    def update(self, new_properties: dict[str, Any]) -> None:
        self._zone(new_properties).upsert_rrset(self._record(new_properties))

    def remove(self) -> None:
        p = self.properties
        try:
            zone = self._zone(p)
        except Exception as exc:  # noqa: BLE001 - zone already deleted
            if is_not_found(exc):
                return
            raise
        remove_record_set(zone, p["Name"], p["Type"], p.get("SetIdentifier"))


class QueryLoggingConfigResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Route53::QueryLoggingConfig"
    REPLACE_ON = ("HostedZoneId", "CloudWatchLogsLogGroupArn")

    def _backend(self):
        return route53_backends[self.account_id]["aws"]

    def create(self, name: str) -> None:
        p = self.properties
        arn = str(p["CloudWatchLogsLogGroupArn"])
        arn = arn[:-2] if arn.endswith(":*") else arn
        config = self._backend().create_query_logging_config(
            str(p["HostedZoneId"]).replace("/hostedzone/", ""), arn + ":*"
        )
        self.physical_id = config.id

    def remove(self) -> None:
        try:
            self._backend().delete_query_logging_config(self.physical_id)
        except Exception as exc:  # noqa: BLE001
            if not (is_not_found(exc) or "NoSuch" in type(exc).__name__):
                raise


# ----------------------------------------------------------------------------- Lambda


class EventInvokeConfigResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Lambda::EventInvokeConfig"
    REPLACE_ON = ("FunctionName", "Qualifier")

    @staticmethod
    def _config(p: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if p.get(key) is not None:
                config[key] = as_int(p[key])
        if p.get("DestinationConfig"):
            config["DestinationConfig"] = p["DestinationConfig"]
        return config

    def _put(self, p: dict[str, Any]) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        backend.get_function(p["FunctionName"]).event_invoke_config = []  # put replaces the configuration
        backend.put_function_event_invoke_config(p["FunctionName"], self._config(p))

    def create(self, name: str) -> None:
        self._put(self.properties)
        self.physical_id = f"{self.properties['FunctionName']}|{self.properties.get('Qualifier', '$LATEST')}"

    def update(self, new_properties: dict[str, Any]) -> None:
        self._put(new_properties)

    def remove(self) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        try:
            backend.delete_function_event_invoke_config(self.properties["FunctionName"])
        except Exception as exc:  # noqa: BLE001 - function already deleted
            if not (is_not_found(exc) or "Function not found" in str(exc)):
                raise


# ----------------------------------------------------------------------------- SSM


class SsmParameterResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SSM::Parameter"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Type", "Value")

    def _backend(self):
        return ssm_backends[self.account_id][self.region_name]

    def _put(self, name: str, p: dict[str, Any], overwrite: bool) -> None:
        tags = tags_to_list(p.get("Tags"))
        policies = p.get("Policies")
        self._backend().put_parameter(
            name=name,
            description=p.get("Description"),
            value=str(p.get("Value")) if p.get("Value") is not None else "",
            parameter_type=p.get("Type") or "String",
            allowed_pattern=p.get("AllowedPattern"),
            keyid=p.get("KeyId"),
            overwrite=overwrite,
            tags=[] if overwrite else tags,
            data_type=p.get("DataType") or "text",
            tier=p.get("Tier"),
            policies=policies if policies is None or isinstance(policies, str) else json.dumps(policies),
        )

    def create(self, name: str) -> None:
        self._put(name, self.properties, overwrite=False)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        self._put(self.physical_id, new_properties, overwrite=True)
        old_keys = [t["Key"] for t in tags_to_list(self.properties.get("Tags"))]
        if old_keys:
            backend.remove_tags_from_resource("Parameter", self.physical_id, old_keys)
        new_tags = {t["Key"]: t["Value"] for t in tags_to_list(new_properties.get("Tags"))}
        if new_tags:
            backend.add_tags_to_resource("Parameter", self.physical_id, new_tags)

    def remove(self) -> None:
        delete_if_present(self._backend().delete_parameter, self.physical_id)

    def attribute(self, name: str) -> Any:
        parameter = self._backend().get_parameter(self.physical_id)
        return parameter.parameter_type if name == "Type" else parameter.value


# ----------------------------------------------------------------------------- KMS


class KmsKeyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::KMS::Key"
    ATTRIBUTES = ("Arn", "KeyId")
    REPLACE_ON = ("KeyUsage", "KeySpec", "MultiRegion", "Origin")

    def _backend(self):
        return kms_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        key = self._backend().create_key(
            policy=_policy_text(p["KeyPolicy"]) if p.get("KeyPolicy") is not None else None,
            key_usage=p.get("KeyUsage") or "ENCRYPT_DECRYPT",
            key_spec=p.get("KeySpec") or "SYMMETRIC_DEFAULT",
            description=p.get("Description") or "",
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags_to_list(p.get("Tags"))],
            multi_region=as_bool(p.get("MultiRegion"), False),
        )
        self.physical_id = key.id
        self._apply(p)

    def _apply(self, p: dict[str, Any]) -> None:
        backend = self._backend()
        if as_bool(p.get("EnableKeyRotation"), False):
            backend.enable_key_rotation(self.physical_id)
        else:
            backend.disable_key_rotation(self.physical_id)
        if as_bool(p.get("Enabled"), True):
            backend.enable_key(self.physical_id)
        else:
            backend.disable_key(self.physical_id)

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        key = backend.keys[self.physical_id]
        if new_properties.get("KeyPolicy") is not None:
            backend.put_key_policy(self.physical_id, _policy_text(new_properties["KeyPolicy"]))
        backend.update_key_description(self.physical_id, new_properties.get("Description") or "")
        old_keys = [t["Key"] for t in tags_to_list(self.properties.get("Tags"))]
        if old_keys:
            backend.untag_resource(key.arn, old_keys)
        new_tags = {t["Key"]: t["Value"] for t in tags_to_list(new_properties.get("Tags"))}
        if new_tags:
            backend.tag_resource(key.arn, new_tags)
        self._apply(new_properties)

    def remove(self) -> None:
        backend = self._backend()
        key = backend.keys.get(self.physical_id)
        if key is None or key.key_state == "PendingDeletion":
            return
        backend.schedule_key_deletion(self.physical_id, as_int(self.properties.get("PendingWindowInDays"), 30))

    def attribute(self, name: str) -> Any:
        return self._backend().keys[self.physical_id].arn if name == "Arn" else self.physical_id


# ----------------------------------------------------------------------------- ACM


class CertificateResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::CertificateManager::Certificate"
    REPLACE_ON = ("DomainName", "SubjectAlternativeNames", "ValidationMethod", "CertificateAuthorityArn", "KeyAlgorithm")

    def _backend(self):
        return acm_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        self.physical_id = self._backend().request_certificate(
            domain_name=p["DomainName"],
            idempotency_token=None,
            subject_alt_names=list(p.get("SubjectAlternativeNames") or []),
            tags=tags_to_list(p.get("Tags")),
            cert_authority_arn=p.get("CertificateAuthorityArn"),
        )

    def update(self, new_properties: dict[str, Any]) -> None:
        certificate = self._backend().get_certificate(self.physical_id)
        certificate.tags.clear()
        certificate.tags.add(tags_to_list(new_properties.get("Tags")))

    def remove(self) -> None:
        delete_if_present(self._backend().delete_certificate, self.physical_id)


def install(port: int) -> None:
    ELBv2Backend.convert_and_validate_properties = _convert_and_validate_properties  # type: ignore[method-assign]
    FakeLoadBalancer.get_cfn_attribute = _lb_get_cfn_attribute  # type: ignore[method-assign]
    FakeTargetGroup.get_cfn_attribute = _tg_get_cfn_attribute  # type: ignore[attr-defined]
    policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", _bool_equals)
    IAMPolicyStatement.is_action_permitted = _statement_permitted  # type: ignore[method-assign]
    FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign]
    FakeZone.get_cfn_attribute = _zone_get_cfn_attribute  # type: ignore[attr-defined]
    HealthCheck.get_cfn_attribute = _health_check_get_cfn_attribute  # type: ignore[attr-defined]
