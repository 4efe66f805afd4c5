"""extensions/kms.py: a key with a KeyPolicy object, describable, pending deletion after delete."""

from __future__ import annotations

import json

import pytest

from .parts import kms_key

pytestmark = pytest.mark.emulator


def test_kms_key__key_policy_object__describable_and_pending_deletion_after_delete(emulator, stacks):
    deployed = stacks.create({"Resources": {"Key": kms_key("data")}, "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}})
    kms = emulator.client("kms")

    metadata = kms.describe_key(KeyId=deployed.resources["Key"])["KeyMetadata"]
    policy = json.loads(kms.get_key_policy(KeyId=deployed.resources["Key"], PolicyName="default")["Policy"])
    rotation = kms.get_key_rotation_status(KeyId=deployed.resources["Key"])["KeyRotationEnabled"]
    stacks.delete(deployed)

    assert metadata["Arn"] == deployed.outputs["Arn"] and metadata["Description"] == "data"
    assert policy["Statement"][0]["Action"] == "kms:*"
    assert rotation is True
    assert kms.describe_key(KeyId=deployed.resources["Key"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
