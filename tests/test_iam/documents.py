"""Every policy document of every rendered template, with its intrinsics resolved to sample values.

parliament (and any reader of a policy) needs plain JSON: ARNs, not ``Fn::Sub``. A template's
policies are resolved here as CloudFormation would for one sample deployment: pseudo parameters
are fixed (us-east-1, account 123456789012, partition aws), each parameter takes the sample value
of SAMPLE_PARAMETERS (checked against its AllowedPattern / AllowedValues, so a sample cannot
drift from what the template admits), and a resource of the same template resolves to what
``Ref`` / ``Fn::GetAtt Arn`` return in AWS, built from its name property.

A document is found by resource type (POLICY_PROPERTIES): identity policies (managed, inline,
trust) and resource policies (bucket, topic, queue, key, log resource policies). A type that
carries a policy but is not in the table fails the tests with a message saying where to add it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.test_templates import policy as rules

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "payments-dev-d01-stack"}
ACCOUNT = PSEUDO["AWS::AccountId"]
ARN = f"arn:aws:%s:us-east-1:{ACCOUNT}:%s"

#: One sample deployment (config/dev, suffix d01). Values shared by several stacks have one sample.
SAMPLE_PARAMETERS: dict[str, str] = {
    "Environment": "dev",
    "EnvironmentSuffix": "d01",
    "Project": "payments-migration",
    "CostCenter": "cc-1234",
    "SsmPrefix": "/payments-migration/dev-d01",
    "OpsKeyArn": ARN % ("kms", "key/11111111-1111-1111-1111-111111111111"),
    "DataKeyArn": ARN % ("kms", "key/22222222-2222-2222-2222-222222222222"),
    "BlueDbSecretArn": ARN % ("secretsmanager", "secret:rds-blue-dev-d01-AbCdEf"),
    "GreenDbSecretArn": ARN % ("secretsmanager", "secret:rds-green-dev-d01-GhIjKl"),
    "BlueHttpsListenerArn": ARN % ("elasticloadbalancing", "listener/app/alb-blue-dev-d01/50dc6c495c0c9188/f2f7dc8efc522ab2"),
    "GreenHttpsListenerArn": ARN % ("elasticloadbalancing", "listener/app/alb-green-dev-d01/60dc6c495c0c9188/a2f7dc8efc522ab2"),
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "WriterZoneId": "Z9876543210ABCDEFGHIJ",
    "RecordName": "pay-dev-d01.example.com",
    "WriterHostname": "writer.db-dev-d01.internal",
    "GreenHealthAlarmName": "alarm-green-health-dev-d01",
    "GreenPaymentsAlarmName": "alarm-green-payments-failed-dev-d01",
    "DataHealthAlarmName": "alarm-data-health-dev-d01",
    "NotifyTopicArn": ARN % ("sns", "sns-notify-dev-d01"),
    "BlueClusterIdentifier": "rds-blue-dev-d01",
    "GreenClusterIdentifier": "rds-green-dev-d01",
    "BlueClusterResourceId": "cluster-BLUE0123456789ABCDEF",
    "GreenClusterResourceId": "cluster-GREEN0123456789ABCDE",
    "BlueImageRepository": "payments/api-blue",
    "GreenImageRepository": "payments/api-green",
    "DbCaBundleParameterName": "/payments-migration/dev-d01/db/ca-bundle",
    "ReplicationTaskArn": ARN % ("dms", "task:INITIALTASKDEVD01"),
    "CdcBlueToGreenTaskArn": ARN % ("dms", "task:CDCBLUETOGREENDEVD01"),
    "CdcGreenToBlueTaskArn": ARN % ("dms", "task:CDCGREENTOBLUEDEVD01"),
    "StateTableName": "ddb-shift-state-dev-d01",
    "TrafficShifterFunctionArn": ARN % ("lambda", "function:lambda-traffic-shifter-dev-d01"),
}

#: Resource type -> the properties that hold a policy document ("Policies[].PolicyDocument" for lists).
POLICY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "Policies[].PolicyDocument"),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
    "AWS::EC2::VPCEndpoint": ("PolicyDocument",),
    # A string of JSON, parsed before analysis.
    "AWS::Logs::ResourcePolicy": ("PolicyDocument",),
}
IDENTITY_TYPES = {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role"}
#: Types whose PolicyDocument is not an access policy: a subscription filter policy names a
#: destination, a role and a filter pattern (its role's policies are read where the role is).
NOT_ACCESS_POLICIES = {"AWS::Logs::AccountPolicy"}


@dataclass(frozen=True)
class Document:
    template: str  # file stem
    resource: str  # logical ID
    rtype: str
    where: str  # property path, e.g. "Policies[0].PolicyDocument"
    document: dict  # resolved JSON

    @property
    def label(self) -> str:
        return f"{self.template}.{self.resource}.{self.where}"


class Resolver:
    """Ref / Fn::Sub / Fn::GetAtt / Fn::Join / Fn::Select / Fn::If for one template and SAMPLE_PARAMETERS."""

    def __init__(self, template: dict, parameters: dict[str, str] | None = None, *, check: bool = True):
        # check=False for values a moto run produced (its hosted zone IDs do not start with Z as AWS's do).
        self.check = check
        self.template = template
        self.resources = template.get("Resources", {})
        self.parameters = dict(parameters or SAMPLE_PARAMETERS)
        for pname, declared in template.get("Parameters", {}).items():
            if pname not in self.parameters and "Default" in declared:
                self.parameters[pname] = str(declared["Default"])

    def parameter(self, pname: str) -> str:
        declared = self.template.get("Parameters", {}).get(pname)
        if declared is None:
            raise KeyError(f"{pname!r} is neither a parameter nor a resource of the template")
        if pname not in self.parameters:
            raise KeyError(f"parameter {pname!r} has no sample: add one to SAMPLE_PARAMETERS in {__file__}")
        value = self.parameters[pname]
        pattern = declared.get("AllowedPattern")
        if self.check and pattern and not re.fullmatch(pattern, value):
            raise ValueError(f"sample {pname}={value!r} does not match the template's AllowedPattern {pattern!r}")
        if self.check and declared.get("AllowedValues") and value not in [str(v) for v in declared["AllowedValues"]]:
            raise ValueError(f"sample {pname}={value!r} is not one of {declared['AllowedValues']}")
        return value

    def _name(self, logical: str) -> str:
        body = self.resources[logical]
        prop = rules.NAME_PROPERTY.get(body["Type"])
        value = rules.dig(body.get("Properties", {}), prop) if prop else None
        if value is None:
            raise KeyError(f"{logical} ({body['Type']}) has no name property to build its ARN from")
        return self.resolve(value)

    def ref(self, target: str) -> str:
        if target in PSEUDO:
            return PSEUDO[target]
        if target not in self.resources:
            return self.parameter(target)
        rtype = self.resources[target]["Type"]
        name = self._name(target)
        return {
            "AWS::SNS::Topic": lambda: ARN % ("sns", name),
            "AWS::SQS::Queue": lambda: f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}",
            "AWS::IAM::ManagedPolicy": lambda: f"arn:aws:iam::{ACCOUNT}:policy/{name}",
            # Ref of a secret is its ARN: the name and the six random characters Secrets Manager appends.
            "AWS::SecretsManager::Secret": lambda: ARN % ("secretsmanager", f"secret:{name}-AbCdEf"),
        }.get(rtype, lambda: name)()

    def get_att(self, logical: str, attribute: str) -> str:
        rtype = self.resources[logical]["Type"]
        name = self._name(logical)
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Logs::LogGroup": ARN % ("logs", f"log-group:{name}:*"),
            "AWS::SQS::Queue": ARN % ("sqs", name),
            "AWS::SNS::Topic": ARN % ("sns", name),
            "AWS::DynamoDB::Table": ARN % ("dynamodb", f"table/{name}"),
            "AWS::Events::Rule": ARN % ("events", f"rule/{name}"),
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Lambda::Function": ARN % ("lambda", f"function:{name}"),
            "AWS::KinesisFirehose::DeliveryStream": ARN % ("firehose", f"deliverystream/{name}"),
        }
        if attribute == "Arn" and rtype in arns:
            return arns[rtype]
        if attribute == "QueueName" and rtype == "AWS::SQS::Queue":
            return name
        raise KeyError(f"Fn::GetAtt {logical}.{attribute} ({rtype}) is unknown to {__file__}: add it to get_att")

    def _sub(self, text: str, local: dict[str, Any]) -> str:
        def one(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in local:
                return str(self.resolve(local[token]))
            if "." in token and token.split(".", 1)[0] in self.resources:
                return self.get_att(*token.split(".", 1))
            return self.ref(token)
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self._sub(text, local)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if fn == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(arg[0])]
            if fn == "Fn::If":
                raise ValueError("Fn::If in a policy document: decide it with tests.test_templates.intrinsics first")
            if fn.startswith("Fn::"):
                raise ValueError(f"{fn} is not resolved by {__file__}")
        return {k: self.resolve(v) for k, v in node.items()}


def _at(props: dict, where: str):
    """(path, value) for each document a property path names."""
    if "[]." in where:
        head, tail = where.split("[].", 1)
        for i, item in enumerate(props.get(head) or []):
            if tail in item:
                yield f"{head}[{i}].{tail}", item[tail]
    elif where in props:
        yield where, props[where]


def template_documents(path: Path) -> list[Document]:
    from tests.test_templates.intrinsics import Evaluation

    template = json.loads(path.read_text())
    resolver = Resolver(template)
    declared = template.get("Parameters", {})
    # Fn::If decided for the sample deployment (parameters the template declares); resources with a
    # Condition are read too: a policy deployed only in prod is still a policy.
    evaluation = Evaluation(template, **{k: v for k, v in resolver.parameters.items() if k in declared})
    found = []
    for logical, body in ((k, evaluation.resolve(v)) for k, v in template.get("Resources", {}).items()):
        for where in POLICY_PROPERTIES.get(body["Type"], ()):
            for at, raw in _at(body.get("Properties", {}), where):
                doc = resolver.resolve(raw)
                found.append(Document(path.stem, logical, body["Type"], at, json.loads(doc) if isinstance(doc, str) else doc))
    return found


def all_documents(templates: Path = TEMPLATES) -> list[Document]:
    return [d for path in sorted(templates.glob("*.json")) for d in template_documents(path)]


def unclassified_policy_properties(templates: Path = TEMPLATES) -> list[str]:
    """Resources with a property named like a policy document whose type POLICY_PROPERTIES does not know."""
    out = []
    for path in sorted(templates.glob("*.json")):
        for logical, body in json.loads(path.read_text()).get("Resources", {}).items():
            props = body.get("Properties", {})
            if body["Type"] not in POLICY_PROPERTIES and body["Type"] not in NOT_ACCESS_POLICIES and any(
                    k.endswith(("PolicyDocument", "KeyPolicy", "ResourcePolicy")) for k in props):
                out.append(f"{path.stem}.{logical} ({body['Type']}): add it to POLICY_PROPERTIES in {__file__}")
    return out


def resolved_policy(template: dict, parameters: dict[str, str], logical: str) -> Any:
    """The PolicyDocument of ``logical`` as deployed with ``parameters``."""
    return Resolver(template, parameters, check=False).resolve(template["Resources"][logical]["Properties"]["PolicyDocument"])


def parameters_from_environment(template: dict, function: str, env: dict[str, str]) -> dict[str, str]:
    """The template parameters under which ``function`` gets ``env``: each variable's Ref, ``${P}.`` or
    Join of Refs read backwards. Samples fill what the environment does not name (keys, suffix)."""
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    declared = template.get("Parameters", {})
    found = dict(SAMPLE_PARAMETERS)
    for var, node in variables.items():
        if var not in env or not isinstance(node, dict):
            continue
        (fn, arg), = node.items()
        if fn == "Ref" and arg in declared:
            found[arg] = env[var]
        elif fn == "Fn::Sub" and isinstance(arg, str) and re.fullmatch(r"\$\{(\w+)\}\.", arg):
            found[arg[2:-2]] = env[var].rstrip(".")
        elif fn == "Fn::Join" and all(set(r) == {"Ref"} and r["Ref"] in declared for r in arg[1]):
            values = env[var].split(arg[0])
            if len(values) != len(arg[1]):
                raise ValueError(f"{var}={env[var]!r} has {len(values)} entries; the template gives {len(arg[1])}")
            found.update({r["Ref"]: v for r, v in zip(arg[1], values, strict=False)})
    return found


def environment_mismatches(template: dict, function: str, env: dict[str, str], parameters: dict[str, str]) -> list[str]:
    """Variables the run set that the template, under ``parameters``, would set otherwise."""
    resolver = Resolver(template, parameters, check=False)
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    out = []
    for var, value in env.items():
        if var in variables:
            want = str(resolver.resolve(variables[var]))
            if want.rstrip(".") != value.rstrip("."):
                out.append(f"{var}: the run used {value!r}, the template gives {want!r}")
    return out
