"""The kinds of parameter the stacks take from each other, each defined once.

A stack's parameter says what it is for (its Description, written where it is declared); what it
*holds* (a KMS key ARN, a subnet list, a DNS name) is a :class:`Kind` from here, so every stack that
takes, say, the ops key checks it with the same pattern and the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Parameter, Template

from bluegreen.cfn import COLOURS, cap


@dataclass(frozen=True)
class Kind:
    """A parameter's CloudFormation type and, for a constrained string, its pattern and what a
    value that misses it is told."""

    type: str = "String"
    pattern: str | None = None
    constraint: str | None = None

    def props(self) -> dict[str, str | None]:
        props: dict[str, str | None] = {"Type": self.type}
        if self.pattern:
            props.update(AllowedPattern=self.pattern, ConstraintDescription=self.constraint)
        return props


def _arn(service: str, resource: str, region: str = "[a-z0-9-]+") -> str:
    return rf"^arn:aws[a-z-]*:{service}:{region}:[0-9]{{12}}:{resource}$"


#: A customer-managed key as the security stack exports it (multi-region keys too).
KMS_KEY_ARN = Kind(pattern=_arn("kms", "key/(mrk-)?[0-9a-f-]{32,36}"), constraint="the ARN of a KMS key.")
SECRET_ARN = Kind(pattern=_arn("secretsmanager", "secret:[A-Za-z0-9/_+=.@-]+"),
                  constraint="the ARN of a Secrets Manager secret.")
TOPIC_ARN = Kind(pattern=_arn("sns", "[A-Za-z0-9_-]{1,256}"), constraint="an SNS topic ARN.")
TARGET_GROUP_ARN = Kind(pattern=_arn("elasticloadbalancing", "targetgroup/[A-Za-z0-9-]+/[0-9a-f]+", "us-east-1"),
                        constraint="a target group ARN in us-east-1.")
LOAD_BALANCER_ARN = Kind(
    pattern=_arn("elasticloadbalancing", "loadbalancer/app/[A-Za-z0-9-]+/[0-9a-f]+", "us-east-1"),
    constraint="an application load balancer ARN in us-east-1.")
LISTENER_ARN = Kind(pattern=_arn("elasticloadbalancing", "listener/app/.+"), constraint="an ALB listener ARN.")
TRUST_STORE_ARN = Kind(pattern=_arn("elasticloadbalancing", "truststore/[A-Za-z0-9-]+/[0-9a-f]+", "us-east-1"),
                       constraint="an ELB trust store ARN in us-east-1.")
#: An S3 object key of the trust store's CA bundle or revocation list (no leading slash, no "..").
OBJECT_KEY = Kind(pattern=r"^(?!/)(?!.*\.\.)[A-Za-z0-9!_.*'()/-]{1,1024}$", constraint="an S3 object key such as mtls/client-ca-bundle.pem.")
DMS_TASK_ARN = Kind(pattern=_arn("dms", "task:[A-Za-z0-9-]+"), constraint="a DMS task ARN.")
#: The CloudWatch dimensions of an ALB and of a target group (their *FullName attributes).
LOAD_BALANCER_FULL_NAME = Kind(pattern=r"^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$",
                               constraint="app/<name>/<id>, the ALB's LoadBalancerFullName attribute.")
TARGET_GROUP_FULL_NAME = Kind(pattern=r"^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$",
                              constraint="targetgroup/<name>/<id>, the TargetGroupFullName attribute.")
BUCKET_NAME = Kind(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", constraint="an S3 bucket name.")
#: A host name as the records and the IAM conditions on them want it: lower case, no trailing dot.
DNS_NAME = Kind(pattern=r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
                constraint="a lower-case DNS name without a trailing dot.")
HOSTED_ZONE_ID = Kind(pattern=r"^Z[A-Z0-9]{1,31}$", constraint="a Route 53 hosted zone ID.")
CLUSTER_IDENTIFIER = Kind(pattern=r"^[a-z][a-z0-9-]{0,62}$", constraint="an RDS cluster identifier.")
#: /<project>/<environment>-<suffix>, the parameters stack's SsmPrefix.
SSM_PREFIX = Kind(pattern=r"^(/[a-z0-9][a-z0-9-]*){2}$",
                  constraint="/<project>/<environment>-<suffix>, no trailing slash.")
IMAGE_TAG = Kind(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
                 constraint="a container image tag: letters, digits, _ . - (at most 128).")
ALARM_NAME = Kind(pattern=r"^[A-Za-z0-9._-]{1,255}$", constraint="an alarm name.")
ECS_NAME = Kind(pattern=r"^[A-Za-z0-9_-]{1,255}$", constraint="an ECS cluster or service name.")
SUBNET_IDS = Kind("List<AWS::EC2::Subnet::Id>")
SECURITY_GROUP_ID = Kind("AWS::EC2::SecurityGroup::Id")
VPC_ID = Kind("AWS::EC2::VPC::Id")
ZONE_ID = Kind("AWS::Route53::HostedZone::Id")
NAMES = Kind("CommaDelimitedList")
NUMBER = Kind("Number")
STRING = Kind()


def add(t: Template, title: str, description: str, kind: Kind = STRING, **props: Any) -> Parameter:
    """Declare ``title``: what it is for (``description``), what it holds (``kind``), and any
    Default, bounds or AllowedValues of this stack's own."""
    return t.add_parameter(Parameter(title, Description=description, **kind.props(), **props))


def switch(t: Template, title: str, description: str, **props: Any) -> Parameter:
    """A "true"/"false" parameter, as CloudFormation passes booleans to properties."""
    return add(t, title, description, AllowedValues=["true", "false"], **props)


def app_port(t: Template, description: str) -> Parameter:
    """The payment API's container port: unprivileged, the container runs as non-root."""
    return add(t, "AppPort", description, NUMBER, Default=8080, MinValue=1024, MaxValue=65535)


def health_check_path(t: Template) -> Parameter:
    return add(t, "HealthCheckPath", "Path of the application's health endpoint.", Default="/health",
               AllowedPattern="^/[A-Za-z0-9/._-]{0,254}$", ConstraintDescription="an absolute URL path such as /health")


def weights(t: Template, maximum: int, description: str) -> None:
    """``BlueWeight`` and ``GreenWeight`` (0..maximum; ``description`` is formatted with the colour),
    and the Rule that refuses both at 0: one colour must receive the traffic."""
    for colour in COLOURS:
        add(t, f"{cap(colour)}Weight", description.format(colour=colour), NUMBER, MinValue=0, MaxValue=maximum)
    t.add_rule("WeightsNotBothZero", {
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::And": [
                {"Fn::Equals": [{"Ref": "BlueWeight"}, "0"]},
                {"Fn::Equals": [{"Ref": "GreenWeight"}, "0"]},
            ]}]},
            "AssertDescription": "BlueWeight and GreenWeight cannot both be 0: one colour must receive the traffic.",
        }],
    })
