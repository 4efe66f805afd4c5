"""Every stack of an environment, evaluated statically as CloudFormation would create it.

Read through Sceptre (``bluegreen.environments.stacks``: the body Sceptre sends and the parameters it
passes), a ``!stack_output`` parameter becomes the other stack's output evaluated the same way, and
every intrinsic function (Ref, GetAtt, Sub, Join, Select, Split, If, Fn::Cidr aside) is resolved with
the environment's real names. What AWS generates (a KMS key ID, a hosted zone ID, the random tail of an
ARN) is a token unique to the resource, ``<stack>.<Logical>``, so a reference to it resolves to the
same token wherever it is passed.

``identifiers()`` are the ARNs of everything the stacks create, in the formats of AWS's Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/,
per service "Resource types defined by ..."). A part AWS or the running system names later (an S3
object key, a log stream, a DB user's resource) is ``*`` in the identifier; ``intersects`` asks
whether a granted pattern and an identifier can name the same resource.

Used by tests/test_iam/test_arn_patterns_resolve.py and tests/test_templates/test_alarm_metrics.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluegreen.cfn import APP_DB_USER
from bluegreen.environments import stacks, unresolved_parameters

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "111122223333"
PARTITION = "aws"
NO_VALUE = object()


class Unresolvable(Exception):
    """A value that cannot be known before deployment (not a name)."""


@dataclass
class Stack:
    name: str  # dev/networking/network
    external_name: str  # payments-dev-networking-network
    region: str
    template: dict[str, Any]
    raw_parameters: dict[str, Any]
    environment: Environment = field(repr=False, default=None)  # type: ignore[assignment]  # set by the loader right after construction

    @functools.cached_property
    def parameters(self) -> dict[str, Any]:
        values = {}
        for key, declared in self.template.get("Parameters", {}).items():
            if key in self.raw_parameters:
                values[key] = self.environment.parameter_value(self.raw_parameters[key])
            elif "Default" in declared:
                values[key] = declared["Default"]
            else:
                values[key] = f"<{self.name}:{key}>"
            if (declared["Type"] == "CommaDelimitedList" or declared["Type"].startswith("List<")) \
                    and isinstance(values[key], str):
                values[key] = values[key].split(",")  # CloudFormation hands a list parameter over as a list
        return values

    @functools.cached_property
    def conditions(self) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for name in self.template.get("Conditions", {}):
            found[name] = self.condition(name)
        return found

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.template["Conditions"][name]))

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this stack creates (those whose Condition holds)."""
        return {k: r for k, r in self.template.get("Resources", {}).items()
                if "Condition" not in r or self.condition(r["Condition"])}

    def token(self, logical: str, what: str = "") -> str:
        return f"{self.name.replace('/', '.')}.{logical}{('.' + what) if what else ''}"

    # ------------------------------------------------------------------ intrinsics

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
            "AWS::StackName": self.external_name, "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT}:stack/{self.external_name}/{self.token('stack')}",
            "AWS::NoValue": NO_VALUE,
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template.get("Parameters", {}):
            return self.parameters[name]
        resource = self.template["Resources"][name]
        return ref_value(self, name, resource)

    def getatt(self, logical: str, attribute: str) -> Any:
        resource = self.template["Resources"][logical]
        return attribute_value(self, logical, resource, attribute)

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.evaluate(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(logical, self.evaluate(attribute))
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.evaluate(arg[1]))
                return self.sub(text, extra)
            if key == "Fn::Join":
                sep, items = arg
                return self.evaluate(sep).join(str(x) for x in self.evaluate(items))
            if key == "Fn::Select":
                index, items = self.evaluate(arg)
                return items[int(index)]
            if key == "Fn::Split":
                sep, text = self.evaluate(arg)
                return str(text).split(sep)
            if key == "Fn::If":
                name, yes, no = arg
                return self.evaluate(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = self.evaluate(arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.evaluate(arg[0])
            if key == "Fn::And":
                return all(self.evaluate(x) for x in arg)
            if key == "Fn::Or":
                return any(self.evaluate(x) for x in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAZs":
                return [f"{self.region}{z}" for z in "abcdef"]
            if key in ("Fn::Cidr", "Fn::ImportValue", "Fn::Base64", "Fn::FindInMap"):
                return f"<{key}>"
        return {k: self.evaluate(v) for k, v in node.items()}

    def sub(self, text: str, extra: dict[str, Any]) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                value = extra[name]
            elif "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                value = self.getatt(logical, attribute)
            else:
                value = self.ref(name)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", one, text)


class Environment:
    """Every stack of ``config/<env>/`` as Sceptre reads it, evaluated."""

    def __init__(self, env: str, root: Path = ROOT) -> None:
        self.env = env
        self.stacks: dict[str, Stack] = {}
        for s in stacks(root, env):
            body = s.template.body
            import json

            template = json.loads(body.removeprefix("---\n"))
            self.stacks[s.name] = Stack(s.name, s.external_name, s.region, template, unresolved_parameters(s), self)

    def parameter_value(self, raw: Any) -> Any:
        if isinstance(raw, list):
            return [self.parameter_value(x) for x in raw]
        if isinstance(raw, (str, int, float, bool)):
            return str(raw) if not isinstance(raw, str) else raw
        if type(raw).__name__ == "StackOutput":
            path, key = raw._argument.split("::")
            stack = self.stacks[path.removesuffix(".yaml")]
            return stack.evaluate(stack.template["Outputs"][key]["Value"])
        return f"<{type(raw).__name__}>"  # !ssm, !traffic_weight, !lambda_code_key: values, not names


# ====================================================================== what each type is


def _arn(s: Stack, service: str, resource: str, region: bool = True, account: bool = True) -> str:
    return f"arn:{PARTITION}:{service}:{s.region if region else ''}:{ACCOUNT if account else ''}:{resource}"


def _prop(s: Stack, r: dict[str, Any], key: str, default: Callable[[], str] | None = None) -> Any:
    props = r.get("Properties", {})
    if key in props:
        return s.evaluate(props[key])
    return default() if default else None


#: type -> (Ref value, {GetAtt attribute: value}, identifiers (ARNs)) from (stack, logical, resource).
Described = tuple[Any, dict[str, Any], list[str]]


#: Types whose Ref is their name (the property named, else the logical id's token), whose one attribute is
#: Arn, and whose ARN is <service>:<resource>.
NAMED = {
    "AWS::CloudWatch::Alarm": ("AlarmName", "cloudwatch", "alarm:{name}"),
    "AWS::CloudWatch::CompositeAlarm": ("AlarmName", "cloudwatch", "alarm:{name}"),
    "AWS::Events::Rule": ("Name", "events", "rule/{name}"),
    "AWS::CloudTrail::Trail": ("TrailName", "cloudtrail", "trail/{name}"),
    "AWS::KinesisFirehose::DeliveryStream": ("DeliveryStreamName", "firehose", "deliverystream/{name}"),
    "AWS::ECS::Cluster": ("ClusterName", "ecs", "cluster/{name}"),
}


def _describe(s: Stack, logical: str, r: dict[str, Any]) -> Described:
    t = r["Type"]
    token = s.token(logical)
    p = lambda key, default=None: _prop(s, r, key, default)  # noqa: E731 - a one-line accessor, local to this function
    if t in NAMED:
        key, service, resource = NAMED[t]
        name = p(key, lambda: token)
        arn = _arn(s, service, resource.format(name=name))
        return name, {"Arn": arn}, [arn]
    if t == "AWS::Logs::LogGroup":
        name = p("LogGroupName", lambda: token)
        arn = _arn(s, "logs", f"log-group:{name}")
        return name, {"Arn": arn + ":*"}, [arn, arn + ":*", arn + ":log-stream:*"]
    if t == "AWS::S3::Bucket":
        name = p("BucketName", lambda: token.lower())
        arn = f"arn:{PARTITION}:s3:::{name}"
        return name, {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"}, [arn, arn + "/*"]
    if t == "AWS::DynamoDB::Table":
        name = p("TableName", lambda: token)
        arn = _arn(s, "dynamodb", f"table/{name}")
        return name, {"Arn": arn, "StreamArn": arn + "/stream/*"}, [arn, arn + "/index/*", arn + "/stream/*"]
    if t == "AWS::SQS::Queue":
        name = p("QueueName", lambda: token)
        arn = _arn(s, "sqs", name)
        return f"https://sqs.{s.region}.amazonaws.com/{ACCOUNT}/{name}", {"Arn": arn, "QueueName": name}, [arn]
    if t == "AWS::SNS::Topic":
        name = p("TopicName", lambda: token)
        arn = _arn(s, "sns", name)
        return arn, {"TopicName": name, "TopicArn": arn}, [arn]
    if t == "AWS::KMS::Key":
        arn = _arn(s, "kms", f"key/{token}")
        return token, {"Arn": arn, "KeyId": token}, [arn]
    if t == "AWS::KMS::Alias":
        name = p("AliasName")
        return name, {}, [_arn(s, "kms", name)]
    if t == "AWS::Lambda::Function":
        name = p("FunctionName", lambda: token)
        arn = _arn(s, "lambda", f"function:{name}")
        return name, {"Arn": arn}, [arn, arn + ":*"]
    if t == "AWS::IAM::Role":
        name = p("RoleName", lambda: token)
        arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role{p('Path') or '/'}{name}"
        return name, {"Arn": arn, "RoleId": token}, [arn]
    if t == "AWS::IAM::ManagedPolicy":
        name = p("ManagedPolicyName", lambda: token)
        arn = f"arn:{PARTITION}:iam::{ACCOUNT}:policy{p('Path') or '/'}{name}"
        return arn, {"PolicyArn": arn}, [arn]
    if t == "AWS::SSM::Parameter" or t == "Custom::SsmParameter":
        name = p("Name", lambda: token)
        arn = _arn(s, "ssm", "parameter" + (name if name.startswith("/") else "/" + name))
        return name, {"Type": p("Type"), "Value": "<value>"}, [arn]
    if t == "AWS::SecretsManager::Secret":
        name = p("Name", lambda: token)
        arn = _arn(s, "secretsmanager", f"secret:{name}-{token[-6:]}")
        return arn, {"Id": arn}, [arn]
    if t == "AWS::RDS::DBCluster":
        name = p("DBClusterIdentifier", lambda: token.lower())
        resource_id = f"cluster-{token}"
        return name, {"Endpoint.Address": f"{name}.cluster-x.{s.region}.rds.amazonaws.com", "Endpoint.Port": "3306",
                      "ReadEndpoint.Address": f"{name}.cluster-ro-x.{s.region}.rds.amazonaws.com",
                      "DBClusterArn": _arn(s, "rds", f"cluster:{name}"), "DBClusterResourceId": resource_id,
                      "MasterUserSecret.SecretArn": _arn(s, "secretsmanager", f"secret:rds!{token}")}, [
            _arn(s, "rds", f"cluster:{name}"),
            # IAM database authentication: one dbuser per database user the schema migration creates.
            *(_arn(s, "rds-db", f"dbuser:{resource_id}/{user}") for user in DB_USERS)]
    if t == "AWS::RDS::DBInstance":
        name = p("DBInstanceIdentifier", lambda: token.lower())
        return name, {"Endpoint.Address": f"{name}.x.{s.region}.rds.amazonaws.com", "DbiResourceId": f"db-{token}"}, [
            _arn(s, "rds", f"db:{name}")]
    if t in ("AWS::RDS::DBSubnetGroup", "AWS::RDS::DBClusterParameterGroup", "AWS::RDS::DBParameterGroup"):
        kind = {"AWS::RDS::DBSubnetGroup": ("DBSubnetGroupName", "subgrp"),
                "AWS::RDS::DBClusterParameterGroup": ("DBClusterParameterGroupName", "cluster-pg"),
                "AWS::RDS::DBParameterGroup": ("DBParameterGroupName", "pg")}[t]
        name = p(kind[0], lambda: token.lower())
        return name, {}, [_arn(s, "rds", f"{kind[1]}:{name}")]
    if t in ("AWS::DMS::ReplicationTask", "AWS::DMS::ReplicationInstance", "AWS::DMS::Endpoint"):
        kind = {"AWS::DMS::ReplicationTask": "task", "AWS::DMS::ReplicationInstance": "rep",
                "AWS::DMS::Endpoint": "endpoint"}[t]
        arn = _arn(s, "dms", f"{kind}:{token}")
        return arn, {}, [arn]
    if t == "AWS::DMS::ReplicationSubnetGroup":
        name = p("ReplicationSubnetGroupIdentifier", lambda: token.lower())
        return name, {}, [_arn(s, "dms", f"subgrp:{name}")]
    if t == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        name = p("Name", lambda: token)
        arn = _arn(s, "elasticloadbalancing", f"loadbalancer/app/{name}/{token}")
        return arn, {"LoadBalancerFullName": f"app/{name}/{token}", "LoadBalancerName": name,
                     "DNSName": f"{name}.{s.region}.elb.amazonaws.com", "CanonicalHostedZoneID": "Z35SXDOTRQ7X7K"}, [arn]
    if t == "AWS::ElasticLoadBalancingV2::TargetGroup":
        name = p("Name", lambda: token)
        arn = _arn(s, "elasticloadbalancing", f"targetgroup/{name}/{token}")
        return arn, {"TargetGroupFullName": f"targetgroup/{name}/{token}", "TargetGroupName": name}, [arn]
    if t == "AWS::ElasticLoadBalancingV2::Listener":
        lb = p("LoadBalancerArn")
        arn = lb.replace(":loadbalancer/", ":listener/") + f"/{token}"
        return arn, {"ListenerArn": arn}, [arn]
    if t == "AWS::ElasticLoadBalancingV2::ListenerRule":
        listener = p("ListenerArn")
        arn = listener.replace(":listener/", ":listener-rule/") + f"/{token}"
        return arn, {"RuleArn": arn}, [arn]
    if t == "AWS::Route53::HostedZone":
        zone = f"Z{token}"
        return zone, {"Id": zone, "NameServers": []}, [f"arn:{PARTITION}:route53:::hostedzone/{zone}"]
    if t == "AWS::Route53::HealthCheck":
        return token, {"HealthCheckId": token}, [f"arn:{PARTITION}:route53:::healthcheck/{token}"]
    if t == "AWS::ECS::Service":
        name = p("ServiceName", lambda: token)
        cluster = p("Cluster")
        arn = _arn(s, "ecs", f"service/{cluster}/{name}")
        return arn, {"Name": name, "ServiceArn": arn}, [arn]
    if t == "AWS::ECS::TaskDefinition":
        family = p("Family", lambda: token)
        arn = _arn(s, "ecs", f"task-definition/{family}:*")
        return arn, {"TaskDefinitionArn": arn}, [arn]
    if t == "AWS::WAFv2::WebACL":
        name = p("Name", lambda: token)
        arn = _arn(s, "wafv2", f"regional/webacl/{name}/{token}")
        return f"{name}|{token}|REGIONAL", {"Arn": arn, "Id": token}, [arn]
    if t == "AWS::ECR::Repository":
        name = p("RepositoryName", lambda: token.lower())
        arn = _arn(s, "ecr", f"repository/{name}")
        return name, {"Arn": arn, "RepositoryUri": f"{ACCOUNT}.dkr.ecr.{s.region}.amazonaws.com/{name}"}, [arn]
    if t == "AWS::Backup::BackupVault":
        name = p("BackupVaultName", lambda: token)
        arn = _arn(s, "backup", f"backup-vault:{name}")
        return name, {"BackupVaultArn": arn, "BackupVaultName": name}, [arn, _arn(s, "backup", "recovery-point:*")]
    if t == "AWS::Backup::BackupPlan":
        arn = _arn(s, "backup", f"backup-plan:{token}")
        return token, {"BackupPlanArn": arn, "BackupPlanId": token}, [arn]
    if t == "AWS::CertificateManager::Certificate":
        arn = _arn(s, "acm", f"certificate/{token}")
        return arn, {}, [arn]
    if t == "AWS::EC2::VPC":
        return f"vpc-{token}", {"CidrBlock": _prop(s, r, "CidrBlock")}, [_arn(s, "ec2", f"vpc/vpc-{token}")]
    if t == "AWS::EC2::Subnet":
        return f"subnet-{token}", {}, [_arn(s, "ec2", f"subnet/subnet-{token}")]
    if t == "AWS::EC2::SecurityGroup":
        return f"sg-{token}", {"GroupId": f"sg-{token}"}, [_arn(s, "ec2", f"security-group/sg-{token}")]
    if t == "AWS::EC2::RouteTable":
        return f"rtb-{token}", {}, [_arn(s, "ec2", f"route-table/rtb-{token}")]
    return token, {}, []


def described(s: Stack, logical: str) -> Described:
    cache = s.__dict__.setdefault("_described", {})
    if logical not in cache:
        cache[logical] = _describe(s, logical, s.template["Resources"][logical])
    return cache[logical]


def ref_value(s: Stack, logical: str, resource: dict[str, Any]) -> Any:
    return described(s, logical)[0]


def attribute_value(s: Stack, logical: str, resource: dict[str, Any], attribute: str) -> Any:
    attributes = described(s, logical)[1]
    if attribute in attributes:
        return attributes[attribute]
    return s.token(logical, attribute)


#: Database users the schema migration creates (IAM-authenticated): each is an rds-db dbuser.
DB_USERS = (APP_DB_USER,)


def identifiers(env: Environment) -> dict[str, str]:
    """ARN -> the stack and logical ID that creates it, for every resource of the environment."""
    found = {}
    for stack in env.stacks.values():
        for logical in stack.resources():
            for arn in described(stack, logical)[2]:
                found[arn] = f"{stack.name}:{logical}"
    return found


def intersects(pattern: str, identifier: str) -> bool:
    """Can an IAM Resource pattern (``*``, ``?``) and an identifier (``*`` for a part named later)
    name one and the same resource?"""

    @functools.cache
    def f(i: int, j: int) -> bool:
        if i == len(pattern) and j == len(identifier):
            return True
        if i < len(pattern) and pattern[i] == "*":
            return f(i + 1, j) or (j < len(identifier) and f(i, j + 1))
        if j < len(identifier) and identifier[j] == "*":
            return f(i, j + 1) or (i < len(pattern) and f(i + 1, j))
        if i < len(pattern) and j < len(identifier) and (pattern[i] == identifier[j] or "?" in (pattern[i], identifier[j])):
            return f(i + 1, j + 1)
        return False

    return f(0, 0)
