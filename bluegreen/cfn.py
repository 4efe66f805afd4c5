"""Building blocks every template handler in templates/ shares.

The project rules live here once: every template takes the same four identity
parameters, every resource name is ``<type>[-<qualifier>]-<environment>-<suffix>``,
every taggable resource carries Environment/Project/CostCenter, stateful resources
say ``Delete`` explicitly, and outputs are exported as ``${AWS::StackName}-<Name>``.
The policy tests in tests/test_templates/ hold every rendered template to the same rules.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import (
    AWSObject,
    Export,
    GetAtt,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)

ENVIRONMENTS = ("dev", "prod")
#: A customer-managed KMS key ARN as the security stack exports it (multi-region keys too).
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]{32,36}$"
#: The part every resource name ends with; the policy tests look for it.
NAME_TAIL = "${Environment}-${EnvironmentSuffix}"

IDENTITY_PARAMETERS = {
    "Environment": dict(
        Type="String",
        AllowedValues=list(ENVIRONMENTS),
        Description="Environment this stack belongs to (dev or prod).",
    ),
    "EnvironmentSuffix": dict(
        Type="String",
        AllowedPattern="^[a-z0-9]{2,8}$",
        ConstraintDescription="2-8 lower-case letters or digits (it becomes part of every resource name).",
        Description="Short suffix that makes resource names unique per deployment, e.g. d01.",
    ),
    "Project": dict(
        Type="String",
        AllowedPattern="^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
        ConstraintDescription="3-40 lower-case letters, digits or hyphens, starting with a letter.",
        Description="Project tag value, also the first element of SSM parameter paths.",
    ),
    "CostCenter": dict(
        Type="String",
        AllowedPattern="^[A-Z]{2}-[0-9]{3,6}$",
        ConstraintDescription="Cost centre code such as CC-4410.",
        Description="CostCenter tag value charged for every resource.",
    ),
}


def new_template(description: str) -> Template:
    """A template with the identity parameters every stack takes."""
    t = Template(Description=description)
    t.set_version("2010-09-09")
    for name, props in IDENTITY_PARAMETERS.items():
        t.add_parameter(Parameter(name, **props))
    return t


def name(kind: str, *qualifiers: str, account: bool = False) -> Sub:
    """``<kind>[-<qualifier>...][-<account>]-<environment>-<suffix>``.

    ``account=True`` adds the account ID for globally unique names (S3 buckets).
    """
    parts = [kind, *qualifiers]
    if account:
        parts.append("${AWS::AccountId}")
    return Sub("-".join(parts) + "-" + NAME_TAIL)


def ssm_path(*parts: str) -> Sub:
    """SSM parameter name under this deployment's prefix: /<project>/<env>-<suffix>/..."""
    return Sub("/${Project}/" + NAME_TAIL + "/" + "/".join(parts))


def tags(kind: str | None = None, *qualifiers: str, **extra: Any) -> Tags:
    """The three mandatory tags, plus a Name tag when ``kind`` is given."""
    values: dict[str, Any] = {
        "Environment": Ref("Environment"),
        "Project": Ref("Project"),
        "CostCenter": Ref("CostCenter"),
    }
    if kind:
        values["Name"] = name(kind, *qualifiers)
    values.update(extra)
    return Tags(**values)


def tag_map() -> dict[str, Any]:
    """The mandatory tags as a plain map, for resources whose Tags is a JSON object (SSM)."""
    return {"Environment": Ref("Environment"), "Project": Ref("Project"), "CostCenter": Ref("CostCenter")}


def deletable(resource: AWSObject) -> AWSObject:
    """Mark a stateful resource as removed with its stack, said explicitly.

    Test stacks must tear down clean, so nothing is retained; prod data is protected
    by deletion protection and AWS Backup instead of a Retain policy.
    """
    resource.DeletionPolicy = "Delete"
    resource.UpdateReplacePolicy = "Delete"
    return resource


def export(t: Template, key: str, value: Any, description: str) -> Output:
    """An output exported as ``${AWS::StackName}-<key>``."""
    return t.add_output(
        Output(key, Description=description, Value=value, Export=Export(Sub("${AWS::StackName}-" + key)))
    )


def to_json(t: Template) -> str:
    """The canonical rendering: the committed templates/*.json are exactly this."""
    return json.dumps(t.to_dict(), indent=2, sort_keys=True) + "\n"


def suppressions(checkov: dict[str, str] | None = None, guard: dict[str, str] | None = None) -> dict:
    """Resource Metadata switching off scanner rules, each with the reason a reviewer reads.

    ``checkov`` and ``guard`` map a rule id to its reason; bluegreen.exceptions lists them all
    in docs/security-exceptions.md and a test refuses a suppression without a real reason.
    """
    metadata: dict[str, Any] = {}
    if checkov:
        metadata["checkov"] = {"skip": [{"id": rule, "comment": why} for rule, why in checkov.items()]}
    if guard:
        metadata["guard"] = {"SuppressedRules": list(guard), "Reasons": dict(guard)}
    return metadata


def tls_only_statements(bucket: AWSObject) -> list[dict]:
    """Bucket-policy statements denying plain HTTP and TLS older than 1.2 to everyone (PCI DSS 4.1)."""
    resources = [GetAtt(bucket, "Arn"), Sub("${%s.Arn}/*" % bucket.title)]
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": False}},
        },
        {
            "Sid": "DenyTlsOlderThan12",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]
