"""Template fragments the emulator tests share."""

from __future__ import annotations

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
