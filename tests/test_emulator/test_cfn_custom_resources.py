"""extensions/cfn_custom_resources.py: Lambda-backed custom resources, Create / Update / Delete and FAILED."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator


def provider_template(code_bucket: str, log_parameter: str, weight: str, fail: str = "no") -> dict:
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "log-parameter", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                     "Resource": {"Fn::Sub": "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/cr-log-*"}}]}}]}},
            "Provider": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "provider.handler", "Timeout": 30,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"S3Bucket": code_bucket, "S3Key": "provider.zip"}}},
            "Shift": {"Type": "Custom::TrafficShift", "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "Name": "green", "Weight": weight,
                "LogParameter": log_parameter, "Fail": fail}},
            "Consumer": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["Shift", "Weight"]}}},
        },
        "Outputs": {
            "Weight": {"Value": {"Fn::GetAtt": ["Shift", "Weight"]}},
            "Previous": {"Value": {"Fn::GetAtt": ["Shift", "Previous"]}},
            "ShiftId": {"Value": {"Ref": "Shift"}},
        },
    }


def test_custom_resource__create_update_delete__provider_sees_each_request(emulator, stacks, code_bucket):
    log = f"/{stacks.unique('cr-log')}"
    name = stacks.unique("cr")
    ssm = emulator.client("ssm")

    created = stacks.create(provider_template(code_bucket, log, "10"), name=name)
    consumer_after_create = ssm.get_parameter(Name=created.resources["Consumer"])["Parameter"]["Value"]
    updated = stacks.update(name, provider_template(code_bucket, log, "50"))
    stacks.delete(updated)

    assert created.outputs == {"Weight": "10", "Previous": "", "ShiftId": "shift-green"}
    assert consumer_after_create == "10"
    assert updated.outputs == {"Weight": "50", "Previous": "10", "ShiftId": "shift-green"}
    assert ssm.get_parameter(Name=log)["Parameter"]["Value"] == "Create Update Delete"
    with pytest.raises(ClientError, match="ResourceNotFoundException|Function not found"):
        emulator.client("lambda").get_function(FunctionName=created.resources["Provider"])


def test_custom_resource__provider_answers_failed__stack_rolls_back_with_its_reason(emulator, stacks, code_bucket):
    log = f"/{stacks.unique('cr-log')}"

    deployed = stacks.create(provider_template(code_bucket, log, "10", fail="yes"), expect="ROLLBACK_COMPLETE")

    reasons = stacks.failure_reasons(deployed.stack_id)
    assert any(r.startswith("Shift: CREATE_FAILED: provider refused: Fail=yes") for r in reasons), reasons
    functions = [f["FunctionName"] for f in emulator.client("lambda").list_functions()["Functions"]]
    assert not [f for f in functions if f.startswith(deployed.name)]
