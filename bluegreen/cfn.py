"""Building blocks every template handler in templates/ shares.

The project rules live here once: every template takes the same four identity
parameters, every resource name is ``<type>[-<qualifier>]-<environment>-<suffix>``,
every taggable resource carries Environment/Project/CostCenter, stateful resources
say ``Delete`` explicitly, and outputs are exported as ``${AWS::StackName}-<Name>``.
The policy tests in tests/test_templates/ hold every rendered template to the same rules.

The rest of the template library lives beside this module, one job each: cfn_parameters (the
parameter kinds every stack declares), cfn_iam (policy documents, trust policies, roles),
cfn_storage (buckets, log groups and topics, encrypted and deletable), cfn_alarms (metric queries)
and cfn_lambda (the platform's VPC functions).
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import (
    AWSObject,
    Export,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)

# The two colours, blue first (defined once, with the Lambda's code): every per-colour resource,
# parameter and output is built from this.
from traffic_shifter.model import COLOURS

ENVIRONMENTS = ("dev", "prod")
#: The part every resource name ends with; the policy tests look for it.
NAME_TAIL = "${Environment}-${EnvironmentSuffix}"
#: One ALB per colour: an ALB's colour is its edge, the colour a target group's tasks run is its target.
EDGES = COLOURS

# What two stacks must agree on, defined once.
#: The payment schema on both clusters: the database stack creates it, the tasks use it, DMS replicates it.
DB_NAME = "payments"
DB_PORT = 3306
#: The application's own database user, on both clusters. It logs in with IAM database
#: authentication (no password to keep in sync between the colours); the writer fence revokes its
#: DML (docs/db-switchover.md). Created once per cluster by SQL (docs/deployment.md).
APP_DB_USER = "payments_app"
#: How long the service retries a write the fence refuses (WRITE_RETRY_SECONDS of the tasks): at least the
#: switchover's worst-case write pause (traffic_shifter.db.config.pause_budget_seconds with the
#: automation stack's settings, held by a test), so a paused payment waits and succeeds instead of failing.
WRITE_RETRY_SECONDS = 30
#: The switchover's drain-marker schema (lambda_src/traffic_shifter/db/drain.py): the shifter is
#: told it, DMS replicates its marker table.
MARKER_SCHEMA = "bluegreen_ops"
#: What no generated master password contains: the security stack generates the passwords, the
#: database stack's rotation keeps to it, so no password is one a connection string cannot carry.
PASSWORD_EXCLUDED_CHARACTERS = "\"@/\\'`"
#: How many data-centre networks (group config datacentre_cidrs) the datacentre-link stack routes to:
#: one parameter each (a template cannot loop over a list); the preflight refuses more.
DATACENTRE_CIDR_SLOTS = 4

def _identity(description: str, **constraint: Any) -> dict[str, Any]:
    return dict(Type="String", Description=description, **constraint)


#: The four parameters every stack takes: they name and tag everything it creates.
IDENTITY_PARAMETERS = {
    "Environment": _identity("Environment this stack belongs to (dev or prod).", AllowedValues=list(ENVIRONMENTS)),
    "EnvironmentSuffix": _identity(
        "Short suffix that makes resource names unique per deployment, e.g. d01.", AllowedPattern="^[a-z0-9]{2,8}$",
        ConstraintDescription="2-8 lower-case letters or digits (it becomes part of every resource name)."),
    "Project": _identity(
        "Project tag value, also the first element of SSM parameter paths.",
        AllowedPattern="^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
        ConstraintDescription="3-40 lower-case letters, digits or hyphens, starting with a letter."),
    "CostCenter": _identity("CostCenter tag value charged for every resource.", AllowedPattern="^[A-Z]{2}-[0-9]{3,6}$",
                            ConstraintDescription="Cost centre code such as CC-4410."),
}


def cap(word: str) -> str:
    """``blue`` -> ``Blue``: the form colours take in logical IDs, parameter and output names."""
    return word.capitalize()


def target_group(edge: str, colour: str) -> str:
    """``BlueAlbGreenTargetGroup``: the ``edge`` ALB's target group of ``colour``'s tasks.

    The alb stack's logical ID; its outputs, and the parameters other stacks take them as, add
    ``Arn`` or ``FullName``.
    """
    return f"{cap(edge)}Alb{cap(colour)}TargetGroup"


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


def db_instance_name(colour: str, number: int) -> Sub:
    """DBInstanceIdentifier of a colour's cluster member ``number`` (1, 2, ...): aurora-<colour>-<n>-<env>-<suffix>."""
    return name("aurora", colour, str(number))


def db_instance_arn_tail(colour: str) -> str:
    """The ``db:`` part of an RDS ARN that matches every member of a colour's cluster, and nothing else
    (the Service Authorization Reference's ``db`` resource: ``arn:${Partition}:rds:${Region}:${Account}:db:
    ${DbInstanceName}``); kept beside ``db_instance_name`` so the two cannot drift."""
    return f"db:aurora-{colour}-*-{NAME_TAIL}"


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
    """What every handler gives Sceptre, and Sceptre sends CloudFormation: compact JSON.

    Sceptre sends the body inline (``TemplateBody``), and CloudFormation refuses one over 51,200
    bytes (docs/aws-constraints.md; Sceptre's ``template_bucket_name`` upload cannot use our KMS key,
    see docs/deployment.md). Indentation alone was 40 % of the network stack's 84,500 bytes.
    The committed templates/*.json are the same document pretty-printed (``pretty``).
    """
    return json.dumps(t.to_dict(), sort_keys=True, separators=(",", ":"))


def pretty(body: str) -> str:
    """A handler's JSON as committed in templates/*.json (and read by the scanners): indented."""
    return json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n"


def suppressions(checkov: dict[str, str] | None = None, guard: dict[str, str] | None = None) -> dict:
    """Resource Metadata switching off scanner rules, each with the reason a reviewer reads.

    ``checkov`` and ``guard`` map a rule id to its reason; bluegreen.suppressions lists them all
    in docs/security-exceptions.md and a test refuses a suppression without a real reason.
    """
    metadata: dict[str, Any] = {}
    if checkov:
        metadata["checkov"] = {"skip": [{"id": rule, "comment": why} for rule, why in checkov.items()]}
    if guard:
        metadata["guard"] = {"SuppressedRules": list(guard), "Reasons": dict(guard)}
    return metadata
