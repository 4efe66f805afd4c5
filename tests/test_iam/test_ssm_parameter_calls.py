"""Every AWS call the ssm_parameter custom resource makes is granted by its role, on the resource it touches.

As for the traffic shifter (test_lambda_calls.py): a run against moto records each call the handler's
SSM client makes (botocore's ``before-parameter-build``) while it serves, for every
``Custom::SsmParameter`` of templates/parameters.json with its properties resolved for the sample
deployment, a Create, an Update, a Delete and an Update of a parameter someone deleted (written
again). Each call becomes its IAM action and ARN (grants.request) and the KMS use Parameter Store
makes on the caller's behalf for a SecureString (grants.service_side), evaluated against
SsmParameterPolicy resolved for the same deployment; the runtime's own use (its log group, the VPC
network interfaces) comes from the template. The other direction: every granted action is used,
or named in KNOWN_EXCESS with why, and removing any one denies a call.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from moto import mock_aws

from ssm_parameter import handler
from tests import custom_resources
from tests.conftest import offline_aws
from tests.test_iam import documents, grants, lambda_run
from tests.test_iam.lambda_run import Call

TEMPLATE = json.loads((documents.TEMPLATES / "parameters.json").read_text())
POLICY, LOG_GROUP = "SsmParameterPolicy", "SsmParameterLogGroup"
#: Granted, never called, each with why (the test fails when the set changes either way).
KNOWN_EXCESS = {
    ("EncryptSecureStringsWithOpsKey", "kms:GenerateDataKey"):
        "Parameter Store encrypts a Standard-tier value with kms:Encrypt; GenerateDataKey is for Advanced-tier "
        "values (envelope encryption) and the function writes Standard only",
}


def _event(request_type: str, logical: str, properties: dict, physical_id: str | None = None) -> dict:
    return custom_resources.request(request_type, logical, "Custom::SsmParameter", "payments-dev-operations-parameters/1",
                                    properties, physical_id, request_id=str(uuid.uuid4()))


@pytest.fixture(scope="module")
def recorded():
    """(the template parameters of the run, every call the handler made), once per module."""
    mp = pytest.MonkeyPatch()
    calls: list[Call] = []
    try:
        offline_aws(mp)
        with mock_aws():
            parameters = dict(documents.SAMPLE_PARAMETERS)
            parameters["OpsKeyArn"] = boto3.client("kms").create_key(Description="ops key")["KeyMetadata"]["Arn"]
            resolver = documents.Resolver(TEMPLATE, parameters, check=False)
            ssm = boto3.client("ssm")
            phase = [""]
            lambda_run.record_client(ssm, calls, phase)
            for logical, body in TEMPLATE["Resources"].items():
                if body["Type"] != "Custom::SsmParameter":
                    continue
                properties = {k: v if isinstance(v, dict) and k == "Tags" else str(v)
                              for k, v in resolver.resolve(body["Properties"]).items()}
                for request_type, physical in (("Create", None), ("Update", properties["Name"]), ("Delete", properties["Name"]),
                                               ("Update", properties["Name"]), ("Delete", properties["Name"])):
                    phase[0] = f"{request_type} {logical}"
                    answer = handler.handle(_event(request_type, logical, properties, physical), None, ssm)
                    assert answer["Status"] == handler.SUCCESS, answer["Reason"]
    finally:
        mp.undo()
    return parameters, calls


@pytest.fixture(scope="module")
def policy(recorded):
    parameters, _ = recorded
    return documents.resolved_policy(TEMPLATE, parameters, POLICY)


def implied(parameters: dict[str, str]) -> list[grants.Request]:
    """The runtime's use of the role (from the template, not the code): its log, the VPC attach."""
    log_group = documents.Resolver(TEMPLATE, parameters, check=False).resolve(
        TEMPLATE["Resources"][LOG_GROUP]["Properties"]["LogGroupName"])
    return grants.runtime_use(log_group)


@pytest.fixture(scope="module")
def requests(recorded):
    parameters, calls = recorded
    found = []
    for c in calls:
        found.append(grants.request(c.service, c.operation, c.params))
        key = c.params.get("KeyId") if c.params.get("Type") == "SecureString" else None
        found += grants.service_side(c.service, c.operation, key)
    return found + implied(parameters)


def test_run__every_request_type__calls_each_ssm_operation_of_the_handler(recorded):
    _, calls = recorded
    assert {c.operation for c in calls} == {"GetParameter", "PutParameter", "AddTagsToResource", "DeleteParameter"}
    assert any(c.params.get("Type") == "SecureString" for c in calls if c.operation == "PutParameter")


def test_role__every_call_of_the_code__granted_on_its_resource(requests, policy):
    denied = grants.denied(policy, requests)
    assert denied == [], "\n".join(denied)


def test_role__every_granted_action__used_by_the_run_or_known_excess(requests, policy):
    assert grants.unused(policy, requests) == set(KNOWN_EXCESS)


def test_role__a_parameter_outside_the_environments_prefix__denied(policy, recorded):
    parameters, _ = recorded
    other = f"/{parameters['Project']}/prod-p01/traffic/green-weight"
    for operation in ("PutParameter", "DeleteParameter", "GetParameter"):
        assert grants.allows(policy, grants.request("ssm", operation, {"Name": other})).allowed is False, operation



GRANTED = grants.granted_pairs(TEMPLATE["Resources"][POLICY]["Properties"]["PolicyDocument"], KNOWN_EXCESS)


@pytest.mark.parametrize("sid,action", GRANTED, ids=[f"{s}-{a}" for s, a in GRANTED])
def test_role__any_one_action_removed__some_call_of_the_run_is_denied(requests, policy, sid, action):
    assert grants.first_denied_without(policy, requests, sid, action) == [action]
