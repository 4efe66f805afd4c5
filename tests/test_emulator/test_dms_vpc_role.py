"""DMS needs the IAM role dms-vpc-role before a replication subnet group, and IAM refuses the role twice.

AWS: "Resource creation fails if the dms-vpc-role IAM role doesn't already exist"
(AWS::DMS::ReplicationSubnetGroup); a role name is unique in an account. The emulator refuses both,
as AWS does, so a stack that forgets the role (or creates it where it exists) fails here first.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .parts import network
from .test_dms import DMS_VPC_ROLE

pytestmark = pytest.mark.emulator

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def subnets(stacks) -> list[str]:
    deployed = stacks.create({"Resources": network("10.43")})
    return [deployed.resources["SubnetA"], deployed.resources["SubnetB"]]


def test_subnet_group__without_dms_vpc_role__refused_as_aws_does(emulator, stacks):
    dms, account = emulator.client("dms"), emulator.client("sts").get_caller_identity()["Account"]

    with pytest.raises(ClientError) as refused:
        dms.create_replication_subnet_group(ReplicationSubnetGroupIdentifier="rsg-no-role",
                                            ReplicationSubnetGroupDescription="d", SubnetIds=subnets(stacks))

    assert refused.value.response["Error"]["Code"] == "AccessDeniedFault"
    assert refused.value.response["Error"]["Message"] == (
        f"The IAM Role arn:aws:iam::{account}:role/dms-vpc-role is not configured properly.")


def test_subnet_group__in_a_stack_without_the_role__stack_fails_naming_it(emulator, stacks):
    template = {"Resources": {**network("10.44"), "SubnetGroup": {
        "Type": "AWS::DMS::ReplicationSubnetGroup",
        "Properties": {"ReplicationSubnetGroupDescription": "d", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}}}}

    failed = stacks.create(template, expect="ROLLBACK_COMPLETE")

    assert any("dms-vpc-role is not configured properly" in r for r in stacks.failure_reasons(failed.stack_id))


def test_dms_vpc_role__created_where_it_exists__refused(emulator, stacks):
    iam = emulator.client("iam")
    stacks.create({"Resources": {"DmsVpcRole": DMS_VPC_ROLE}})

    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="dms-vpc-role", AssumeRolePolicyDocument=TRUST)
    second = stacks.create({"Resources": {"DmsVpcRole": DMS_VPC_ROLE}}, expect="ROLLBACK_COMPLETE")

    assert refused.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert any("dms-vpc-role" in r for r in stacks.failure_reasons(second.stack_id))
