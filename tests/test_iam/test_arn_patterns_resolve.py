"""Every ARN pattern a policy grants names at least one resource the stacks create.

A pattern that matches nothing grants nothing: on AWS the call is denied, however right the action
looks (the shifter's ``rds:DescribeDBInstances`` on ``db:aurora-blue-<env>-<suffix>-*`` never matched
the instances ``aurora-blue-1-<env>-<suffix>``, so every guardrail read of the switchover was denied).
Each policy of every stack of dev and prod (roles' inline policies, managed policies, and the
resource policies of buckets, topics, queues, log groups and secrets; KMS key policies name only
"this key" and are left out) is evaluated with the environment's real names (tests/cfn_model.py:
Sceptre's bodies and parameters, ``!stack_output`` followed), and each Resource pattern of an Allow
or Deny must intersect an identifier one of the stacks creates, in the ARN formats of AWS's Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/;
RDS: list_amazonrds.html, "db" = ``arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}``).
A bare ``*`` is left to tests/test_iam/test_parliament.py (actions without resource-level
permissions). What AWS or someone outside the stacks creates is in ``OUTSIDE`` with its reason.
"""

from __future__ import annotations

import json

import pytest

from tests import cfn_model

ENVS = ("dev", "prod")
POLICY_TYPES = {
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}

#: Patterns (after evaluation, account 111122223333, us-east-1) that name what no stack creates, and why.
OUTSIDE = {
    "arn:aws:ecr:us-east-1:111122223333:repository/payment-api":
        "the image repository is created before the first launch (docs/deployment.md, 'The container image'); "
        "remove this entry when a stack creates it",
}


@pytest.fixture(scope="module", params=ENVS)
def environment(request):
    return cfn_model.Environment(request.param)


def granted_patterns(env: cfn_model.Environment):
    """(stack, logical ID, Sid, effect, evaluated Resource pattern) of every policy statement."""
    for stack in env.stacks.values():
        for logical, resource in stack.resources().items():
            props = resource.get("Properties", {})
            documents = []
            if resource["Type"] == "AWS::IAM::Role":
                documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
            elif resource["Type"] in POLICY_TYPES:
                documents = [props[POLICY_TYPES[resource["Type"]]]]
            for document in documents:
                document = stack.evaluate(document)
                if isinstance(document, str):
                    document = json.loads(document)
                statements = document["Statement"]
                for statement in statements if isinstance(statements, list) else [statements]:
                    patterns = statement.get("Resource", [])
                    for pattern in patterns if isinstance(patterns, list) else [patterns]:
                        yield stack.name, logical, statement.get("Sid", "?"), statement["Effect"], pattern


def test_model__finds_the_policies_and_the_resources_of_the_environment(environment):
    patterns = list(granted_patterns(environment))
    ids = cfn_model.identifiers(environment)
    instance = f"arn:aws:rds:us-east-1:111122223333:db:aurora-blue-1-{environment.env}-"

    assert len(patterns) > 100
    assert any(arn.startswith(instance) for arn in ids), "the database stack's instances are among the identifiers"


def test_granted_patterns__each_names_a_resource_the_stacks_create(environment):
    ids = list(cfn_model.identifiers(environment))
    unmatched = []
    for stack, logical, sid, effect, pattern in granted_patterns(environment):
        if pattern == "*" or pattern in OUTSIDE:
            continue
        if "<" in pattern or not any(cfn_model.intersects(pattern, arn) for arn in ids):
            unmatched.append(f"{stack} {logical} {sid} ({effect}): {pattern}")

    assert unmatched == [], "patterns that name nothing the stacks create:\n" + "\n".join(unmatched)


def test_outside__each_entry_still_granted_and_still_created_by_no_stack(environment):
    patterns = {p for *_, p in granted_patterns(environment)}
    ids = list(cfn_model.identifiers(environment))

    for pattern in OUTSIDE:
        assert pattern in patterns, f"{pattern}: no policy grants it any more, drop it from OUTSIDE"
        assert not any(cfn_model.intersects(pattern, arn) for arn in ids), f"{pattern}: a stack creates it now"


@pytest.mark.parametrize("pattern,identifier,expected", [
    ("arn:aws:rds:r:a:db:aurora-blue-dev-d01-*", "arn:aws:rds:r:a:db:aurora-blue-1-dev-d01", False),
    ("arn:aws:rds:r:a:db:aurora-blue-*-dev-d01", "arn:aws:rds:r:a:db:aurora-blue-1-dev-d01", True),
    ("arn:aws:s3:::logs/AWSLogs/1/*", "arn:aws:s3:::logs/*", True),
    ("arn:aws:s3:::logs/AWSLogs/1/*", "arn:aws:s3:::other/*", False),
    ("arn:aws:ssm:r:a:parameter/p/dev-d01/?", "arn:aws:ssm:r:a:parameter/p/dev-d01/x", True),
])
def test_intersects__wildcards_on_either_side(pattern, identifier, expected):
    assert cfn_model.intersects(pattern, identifier) is expected
