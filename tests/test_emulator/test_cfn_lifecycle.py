"""extensions/cfn_lifecycle.py: failure statuses instead of HTTP 500, DescribeStacks parameters as AWS returns them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator


def test_create__resource_fails__rollback_complete_with_reason_and_nothing_left(emulator, stacks):
    template = {
        "Resources": {
            "First": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"/{stacks.unique('p')}", "Type": "String", "Value": "x"}},
            "Broken": {"Type": "AWS::RDS::DBCluster", "DependsOn": "First",
                       "Properties": {"Engine": "no-such-engine", "MasterUsername": "a", "MasterUserPassword": "password123"}},
        }
    }
    name = template["Resources"]["First"]["Properties"]["Name"]

    deployed = stacks.create(template, expect="ROLLBACK_COMPLETE")

    reasons = stacks.failure_reasons(deployed.stack_id)
    assert any(r.startswith("Broken: CREATE_FAILED: ") and "no-such-engine" in r for r in reasons), reasons
    with pytest.raises(ClientError, match="ParameterNotFound"):
        emulator.client("ssm").get_parameter(Name=name)


def test_describe_stacks__list_and_no_echo_parameters__returned_as_aws_returns_them(emulator, stacks):
    # What `sceptre diff` compares against: a list must not look changed, a NoEcho value must not leak.
    template = {
        "Parameters": {
            "SubnetIds": {"Type": "CommaDelimitedList"},
            "Secret": {"Type": "String", "NoEcho": True},
            "Plain": {"Type": "String"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    deployed = stacks.create(template, parameters={"SubnetIds": "subnet-a,subnet-b", "Secret": "hunter2", "Plain": "x"})
    described = emulator.client("cloudformation").describe_stacks(StackName=deployed.name)["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == {
        "SubnetIds": "subnet-a,subnet-b", "Secret": "****", "Plain": "x"}
