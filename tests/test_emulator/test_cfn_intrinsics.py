"""extensions/cfn_intrinsics.py: dynamic references, Fn::Cidr / Fn::GetAZs, boolean strings."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator


def test_dynamic_references__ssm_and_secretsmanager__resolved_in_properties(emulator, stacks):
    ssm = emulator.client("ssm")
    sm = emulator.client("secretsmanager")
    source = f"/{stacks.unique('src')}"
    ssm.put_parameter(Name=source, Value="from-ssm", Type="String")
    secret = sm.create_secret(Name=stacks.unique("sec"), SecretString=json.dumps({"password": "s3cr3t"}))["ARN"]
    template = {"Resources": {
        "FromSsm": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": f"{{{{resolve:ssm:{source}}}}}"}},
        "FromSecret": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": f"pw={{{{resolve:secretsmanager:{secret}:SecretString:password}}}}"}},
    }}

    deployed = stacks.create(template)

    assert ssm.get_parameter(Name=deployed.resources["FromSsm"])["Parameter"]["Value"] == "from-ssm"
    assert ssm.get_parameter(Name=deployed.resources["FromSecret"])["Parameter"]["Value"] == "pw=s3cr3t"


def test_fn_cidr_and_get_azs__nine_subnets_over_six_azs__resolved(emulator, stacks):
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.80.0.0/16"}},
        "Last": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": {"Fn::Select": [8, {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 9, 12]}]},
            "AvailabilityZone": {"Fn::Select": [5, {"Fn::GetAZs": ""}]}}},
    }}

    deployed = stacks.create(template)

    subnet = emulator.client("ec2").describe_subnets(SubnetIds=[deployed.resources["Last"]])["Subnets"][0]
    assert subnet["CidrBlock"] == "10.80.128.0/20"
    assert subnet["AvailabilityZone"] == "us-east-1f"


def test_boolean_parameter_false__dynamodb_deletion_protection__table_deletable(emulator, stacks):
    template = {
        "Parameters": {"Protect": {"Type": "String", "AllowedValues": ["true", "false"]}},
        "Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST", "DeletionProtectionEnabled": {"Ref": "Protect"},
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}},
    }
    deployed = stacks.create(template, parameters={"Protect": "false"})
    dynamodb = emulator.client("dynamodb")

    protected = dynamodb.describe_table(TableName=deployed.resources["Table"])["Table"]["DeletionProtectionEnabled"]
    stacks.delete(deployed)

    assert protected is False
    with pytest.raises(ClientError, match="ResourceNotFound"):
        dynamodb.describe_table(TableName=deployed.resources["Table"])
