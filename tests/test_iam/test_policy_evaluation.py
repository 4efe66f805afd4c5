"""The evaluator the emulator enforces with (bluegreen_emulator/iam/policy.py), case by case."""

from __future__ import annotations

import pytest

from tests.test_iam import grants

ROLE_ARN = "arn:aws:iam::123456789012:role/role-operator-dev-d01"
PARAM = "arn:aws:ssm:us-east-1:123456789012:parameter/p/dev-d01/x"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**kw) -> dict:
    return {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": PARAM, **kw}


def req(action: str = "ssm:GetParameter", resource: str = PARAM, **context: tuple[str, ...]) -> grants.Request:
    return grants.Request(action, (resource,), tuple(context.items()))


@pytest.mark.parametrize("statement,allowed", [
    (allow(), True),
    (allow(Resource="arn:aws:ssm:us-east-1:123456789012:parameter/p/dev-d0?/*"), True),
    (allow(Resource="arn:aws:ssm:us-east-1:123456789012:parameter/p/prod-*"), False),
    (allow(Action="SSM:getparameter"), True),  # actions are case-insensitive, resources are not
    (allow(Resource=PARAM.upper()), False),
    ({"Effect": "Allow", "NotAction": "ssm:PutParameter", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "ssm:*", "NotResource": PARAM}, False),
])
def test_allows__action_and_resource_patterns(statement, allowed):
    assert grants.allows(doc(statement), req()).allowed is allowed


def test_allows__explicit_deny_in_another_policy__wins_and_is_named():
    verdict = grants.allows([doc(allow()), doc({"Sid": "NoParams", "Effect": "Deny", "Action": "ssm:*", "Resource": "*"})], req())
    assert (verdict.allowed, verdict.denied_by) == (False, "NoParams")


@pytest.mark.parametrize("condition,context,allowed", [
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": ("true",)}, True),
    ({"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:MultiFactorAuthPresent": ("true",)}, True),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}, False),  # absent key: the Allow does not apply
    ({"Null": {"aws:MultiFactorAuthPresent": "true"}}, {}, True),
    ({"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}, {"kms:ViaService": ("ssm.us-east-1.amazonaws.com",)}, True),
    ({"StringNotEquals": {"kms:ViaService": ["sns.x", "sqs.x"]}}, {"kms:ViaService": ("sns.x",)}, False),
    ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {"k": ("b", "a")}, True),
    ({"ForAllValues:StringEquals": {"k": ["a"]}}, {"k": ("b", "a")}, False),
])
def test_allows__conditions(condition, context, allowed):
    assert grants.allows(doc(allow(Condition=condition)), req(**context)).allowed is allowed


def test_allows__deny_whose_condition_key_is_absent__does_not_apply():
    tls_only = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert grants.allows(doc(allow(), tls_only), req()).allowed is True


def test_allows__unknown_operator__error_in_tests_statement_skipped_in_the_emulator():
    odd = allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    with pytest.raises(ValueError, match="DateGreaterThan is not evaluated"):
        grants.allows(doc(odd), req())
    assert grants.allows(doc(odd), req(), strict=False).allowed is False


TRUST = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
ASSUME = ("sts:AssumeRole", ROLE_ARN)


@pytest.mark.parametrize("principal,mfa,allowed", [
    ({"AWS": "arn:aws:iam::123456789012:user/emulator/emulator-deployer", "Account": "123456789012"}, True, True),
    ({"AWS": "arn:aws:iam::123456789012:user/emulator/emulator-deployer", "Account": "123456789012"}, False, False),
    ({"AWS": "arn:aws:iam::210987654321:user/someone", "Account": "210987654321"}, True, False),
    ({"Service": "lambda.amazonaws.com"}, True, False),
])
def test_trust_allows__account_root_with_mfa(principal, mfa, allowed):
    context = {"aws:MultiFactorAuthPresent": ("true",)} if mfa else {}
    assert grants.trust_allows(TRUST, principal, req(*ASSUME, **context)).allowed is allowed


def test_trust_allows__service_principal():
    lambda_trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert grants.trust_allows(lambda_trust, {"Service": "lambda.amazonaws.com"}, req(*ASSUME)).allowed is True
    assert grants.trust_allows(lambda_trust, {"Service": "ecs-tasks.amazonaws.com"}, req(*ASSUME)).allowed is False


def test_request__assume_role_with_mfa_serial_and_code__carries_mfa_present():
    with_mfa = grants.request("sts", "AssumeRole", {"RoleArn": ROLE_ARN, "SerialNumber": "arn:aws:iam::1:mfa/a", "TokenCode": "123456"})
    without = grants.request("sts", "AssumeRole", {"RoleArn": ROLE_ARN})
    assert (with_mfa.ctx(), without.ctx()) == ({"aws:MultiFactorAuthPresent": ("true",)}, {})


def test_service_side__customer_key__kms_via_the_service_else_nothing():
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    assert [(r.action, r.ctx()["kms:ViaService"]) for r in grants.service_side("dynamodb", "PutItem", key)] == [
        ("kms:Decrypt", ("dynamodb.us-east-1.amazonaws.com",)), ("kms:GenerateDataKey", ("dynamodb.us-east-1.amazonaws.com",))]
    assert grants.service_side("dynamodb", "PutItem", None) == []
