"""Template fragments the emulator tests share."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any


def kms_key(description: str = "test key") -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "Description": description,
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}],
            },
        },
    }


def network(cidr: str = "10.20") -> dict[str, Any]:
    """A VPC with two subnets in two AZs (Vpc, SubnetA, SubnetB)."""
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": f"{cidr}.0.0/16"}},
        "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": f"{cidr}.1.0/24", "AvailabilityZone": "us-east-1a"}},
        "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": f"{cidr}.2.0/24", "AvailabilityZone": "us-east-1b"}},
    }


# -- Aurora with its secret (test_rds, test_secretsmanager)
EXCLUDED = "\"@/\\'`"


def secret(name: str) -> dict:
    return {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": name,
            "Description": "Aurora master credentials",
            "KmsKeyId": {"Ref": "Key"},
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps({"username": "payadmin"}),
                "GenerateStringKey": "password",
                "PasswordLength": 32,
                "ExcludeCharacters": EXCLUDED,
            },
            "Tags": [{"Key": "Environment", "Value": "dev"}],
        },
    }


def aurora_template(name: str, retention: int = 7) -> dict:
    return {
        "Resources": {
            **network("10.31"),
            "Key": kms_key(),
            "Secret": secret(f"secret-db-{name}"),
            "SubnetGroup": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {"DBSubnetGroupDescription": "db", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
            },
            "ClusterParams": {
                "Type": "AWS::RDS::DBClusterParameterGroup",
                "Properties": {"Description": "cluster", "Family": "aurora-mysql8.0", "Parameters": {"binlog_format": "ROW"}},
            },
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "DeletionPolicy": "Delete",
                "Properties": {
                    "DBClusterIdentifier": f"aurora-{name}",
                    "Engine": "aurora-mysql",
                    "EngineVersion": "8.0.mysql_aurora.3.05.2",
                    "MasterUsername": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:username}}"},
                    "MasterUserPassword": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:password}}"},
                    "DBSubnetGroupName": {"Ref": "SubnetGroup"},
                    "DBClusterParameterGroupName": {"Ref": "ClusterParams"},
                    "StorageEncrypted": True,
                    "KmsKeyId": {"Ref": "Key"},
                    "BackupRetentionPeriod": retention,
                },
            },
            "Writer": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {"Engine": "aurora-mysql", "DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": "db.r6g.large"},
            },
            "Attachment": {
                "Type": "AWS::SecretsManager::SecretTargetAttachment",
                "Properties": {"SecretId": {"Ref": "Secret"}, "TargetId": {"Ref": "Cluster"}, "TargetType": "AWS::RDS::DBCluster"},
            },
            "Rotation": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "DependsOn": "Attachment",
                "Properties": {
                    "SecretId": {"Ref": "Secret"},
                    "HostedRotationLambda": {"RotationType": "MySQLSingleUser"},
                    "RotationRules": {"AutomaticallyAfterDays": 30},
                },
            },
        },
        "Outputs": {
            "Endpoint": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}},
            "Port": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}},
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "DBClusterArn"]}},
            "SecretArn": {"Value": {"Ref": "Secret"}},
            "KeyId": {"Value": {"Ref": "Key"}},
        },
    }


# -- Lambda code: a handler and a custom-resource provider (test_awslambda, test_cfn_custom_resources)
HANDLER = '''
import json, os, time
import boto3
import vendored_greeting  # shipped in the zip, like the project's vendored dependencies


def handler(event, context):
    if event.get("raise"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("import"):
        __import__(event["import"])
    boto3.client("ssm").put_parameter(Name=event["param"], Value="written by the handler", Type="String", Overwrite=True)
    return {
        "greeting": vendored_greeting.greet(os.environ["TARGET"]),
        "function": context.function_name,
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
    }
'''


PROVIDER = '''
import json, os, urllib.request
import boto3


def respond(event, status, reason="", data=None, physical_id=None):
    body = json.dumps({
        "Status": status, "Reason": reason,
        "PhysicalResourceId": physical_id or event.get("PhysicalResourceId") or event["LogicalResourceId"],
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()


def handler(event, context):
    props = event["ResourceProperties"]
    ssm = boto3.client("ssm")
    log = props["LogParameter"]
    previous = ssm.get_parameter(Name=log)["Parameter"]["Value"] if event["RequestType"] != "Create" else ""
    ssm.put_parameter(Name=log, Value=(previous + " " + event["RequestType"]).strip(), Type="String", Overwrite=True)
    if props.get("Fail") == "yes" and event["RequestType"] == "Create":
        return respond(event, "FAILED", reason="provider refused: Fail=yes")
    if event["RequestType"] == "Delete":
        return respond(event, "SUCCESS")
    old = event.get("OldResourceProperties", {}).get("Weight", "")
    respond(event, "SUCCESS", data={"Weight": props["Weight"], "Previous": old}, physical_id="shift-" + props["Name"])
'''


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# -- two ALBs behind weighted listeners (test_elbv2, test_deletes)
def alb_template(blue: int, green: int) -> dict:
    return {"Resources": {
        **network("10.61"),
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "alb", "VpcId": {"Ref": "Vpc"}}},
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroups": [{"Ref": "Sg"}]}},
        "Blue": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": 8080, "Protocol": "HTTP", "TargetType": "ip"}},
        "Green": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": 8080, "Protocol": "HTTP", "TargetType": "ip"}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": {"Ref": "Blue"}, "Weight": blue}, {"TargetGroupArn": {"Ref": "Green"}, "Weight": green}]}}]}},
    }, "Outputs": {
        "ZoneId": {"Value": {"Fn::GetAtt": ["Alb", "CanonicalHostedZoneID"]}},
        "AlbFullName": {"Value": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]}},
        "GreenFullName": {"Value": {"Fn::GetAtt": ["Green", "TargetGroupFullName"]}},
    }}
