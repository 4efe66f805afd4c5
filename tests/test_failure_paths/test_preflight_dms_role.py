"""dms-vpc-role and ``dms_create_service_roles`` agree before anything is deployed (the preflight asks IAM).

AWS: DMS creates no replication subnet group without the role (AWS::DMS::ReplicationSubnetGroup), and
IAM refuses a second role of the name. So "true" works only in an account without the role (the dms
stack creates it), "false" only where it exists; a role this environment's dms stack made must stay
"true" (CloudFormation would delete it). The hook reads the role with the deployer's IAM client (moto
here; the emulator refuses the subnet group and the second role as AWS: tests/test_emulator/test_dms_vpc_role.py).
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from bluegreen.preflight import PreflightError, check_dms_service_roles
from bluegreen_hooks.preflight import PreflightFailedError
from tests.conftest import offline_aws

from .test_preflight_hook import GOOD, hook

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize(("create", "tags"), [("true", None), ("false", {"Environment": "other"}), ("false", {}),
                                              ("true", {"Environment": "dev", "Project": "payments-migration"})])
def test_check__config_and_account_agree__passes(create, tags):
    check_dms_service_roles("dev", create, tags)


@pytest.mark.parametrize(("create", "tags", "message"), [
    ("false", None, 'is "false" but this account has no IAM role dms-vpc-role'),
    ("true", {}, 'is "true" but this account already has the IAM role dms-vpc-role'),
    ("true", {"Environment": "prod"}, "its Environment tag: 'prod'"),
    ("false", {"Environment": "dev"}, "CloudFormation would delete it with the next update"),
    ("yes", None, 'must be "true" or "false"'),
])
def test_check__config_and_account_disagree__refused_saying_what_to_set(create, tags, message):
    with pytest.raises(PreflightError, match=message):
        check_dms_service_roles("dev", create, tags)


@pytest.fixture
def iam(monkeypatch):
    offline_aws(monkeypatch)
    with mock_aws():
        yield boto3.client("iam")


def test_hook__account_without_the_role__true_passes_false_refused(iam):
    hook({**GOOD, "dms_create_service_roles": "true"}, iam_client=iam).run()

    with pytest.raises(PreflightFailedError, match="has no IAM role dms-vpc-role"):
        hook({**GOOD, "dms_create_service_roles": "false"}, iam_client=iam).run()


def test_hook__account_with_a_role_made_elsewhere__false_passes_true_refused(iam):
    iam.create_role(RoleName="dms-vpc-role", AssumeRolePolicyDocument=TRUST)  # e.g. by the DMS console

    hook({**GOOD, "dms_create_service_roles": "false"}, iam_client=iam).run()
    with pytest.raises(PreflightFailedError, match="IAM refuses a second one"):
        hook({**GOOD, "dms_create_service_roles": "true"}, iam_client=iam).run()


def test_hook__iam_denied__refused_naming_the_permission():
    class Denied:
        def get_role(self, **_):
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "GetRole")

    with pytest.raises(PreflightFailedError, match="needs iam:GetRole"):
        hook({**GOOD, "dms_create_service_roles": "true"}, iam_client=Denied()).run()


def test_group_config__every_stack__checks_the_role():
    from .test_preflight_hook import stacks

    for stack in stacks("dev").values():
        [preflight] = [h for h in stack.hooks["before_launch"] if type(h).__name__ == "Preflight"]
        assert "dms_create_service_roles" in preflight.argument
