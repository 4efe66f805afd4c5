"""Smaller fixes the project's templates needed: intrinsics, S3 policies, booleans, WAF, re-deploys."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .parts import network

pytestmark = pytest.mark.emulator


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


def test_s3_tls_only_bucket_policy__sdk_requests__allowed(emulator, stacks):
    template = {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": False}}},
                {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                 "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}},
            ]}}},
    }}
    bucket = stacks.create(template).resources["Bucket"]
    s3 = emulator.client("s3")

    s3.put_object(Bucket=bucket, Key="lambda/code.zip", Body=b"zip")
    head = s3.head_object(Bucket=bucket, Key="lambda/code.zip")

    assert head["ContentLength"] == 3
    assert s3.get_object(Bucket=bucket, Key="lambda/code.zip")["Body"].read() == b"zip"
    with pytest.raises(ClientError, match="AccessDenied|403"):
        s3.delete_object(Bucket=bucket, Key="lambda/code.zip")


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


def test_backup_plan__deleted_and_deployed_again__same_name_accepted(emulator, stacks):
    name = stacks.unique("plan")
    template = {"Resources": {
        "Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": name}},
        "Plan": {"Type": "AWS::Backup::BackupPlan", "Properties": {"BackupPlan": {"BackupPlanName": name, "BackupPlanRule": [
            {"RuleName": "daily", "TargetBackupVault": {"Ref": "Vault"}, "ScheduleExpression": "cron(0 3 * * ? *)"}]}}},
    }}

    stacks.delete(stacks.create(template))
    again = stacks.create(template)

    assert emulator.client("backup").get_backup_plan(BackupPlanId=again.resources["Plan"])["BackupPlan"]["BackupPlanName"] == name


def test_waf_web_acl__associated_with_alb_and_logging__exist_then_deleted(emulator, stacks):
    template = {"Resources": {
        **network("10.81"),
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {
            "Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "alb"},
            "Rules": [{"Name": "common", "Priority": 0, "OverrideAction": {"None": {}},
                       "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
                       "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "common"}}]}},
        "Association": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {
            "ResourceArn": {"Ref": "Alb"}, "WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"aws-waf-logs-{stacks.unique('alb')}"}},
        "Logging": {"Type": "AWS::WAFv2::LoggingConfiguration", "Properties": {
            "ResourceArn": {"Fn::GetAtt": ["Acl", "Arn"]}, "LogDestinationConfigs": [{"Fn::GetAtt": ["Logs", "Arn"]}]}},
    }, "Outputs": {"AclArn": {"Value": {"Fn::GetAtt": ["Acl", "Arn"]}}}}
    deployed = stacks.create(template)
    waf = emulator.client("wafv2")

    attached = waf.get_web_acl_for_resource(ResourceArn=deployed.resources["Alb"])["WebACL"]
    logging = waf.get_logging_configuration(ResourceArn=deployed.outputs["AclArn"])["LoggingConfiguration"]
    stacks.delete(deployed)

    assert attached["ARN"] == deployed.outputs["AclArn"]
    assert [r["Name"] for r in attached["Rules"]] == ["common"]
    assert logging["ResourceArn"] == deployed.outputs["AclArn"]
    assert waf.list_web_acls(Scope="REGIONAL")["WebACLs"] == [] or deployed.outputs["AclArn"] not in [
        a["ARN"] for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"]]
