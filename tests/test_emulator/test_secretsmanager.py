"""extensions/secretsmanager.py: generated passwords, keys, target attachments, rotation schedules."""

from __future__ import annotations

import copy
import json

import pytest

from .parts import EXCLUDED, kms_key, secret

pytestmark = pytest.mark.emulator


def test_secret__generate_secret_string__stores_a_real_random_password(emulator, aurora):
    _name, deployed = aurora
    sm = emulator.client("secretsmanager")

    value = json.loads(sm.get_secret_value(SecretId=deployed.outputs["SecretArn"])["SecretString"])

    assert value["username"] == "payadmin"
    assert len(value["password"]) == 32
    assert not set(EXCLUDED) & set(value["password"])
    assert value["password"] != "password"


def test_secret__kms_key_and_tags__recorded_on_the_secret(emulator, aurora):
    name, deployed = aurora
    described = emulator.client("secretsmanager").describe_secret(SecretId=deployed.outputs["SecretArn"])

    assert described["Name"] == f"secret-db-{name}"
    assert described["KmsKeyId"] == deployed.outputs["KeyId"]
    assert {"Key": "Environment", "Value": "dev"} in described["Tags"]


def test_secret_target_attachment__cluster_target__adds_connection_fields(emulator, aurora):
    name, deployed = aurora

    value = json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=deployed.outputs["SecretArn"])["SecretString"])

    assert value["engine"] == "mysql"
    assert value["host"] == deployed.outputs["Endpoint"]
    assert value["port"] == 3306
    assert value["dbClusterIdentifier"] == f"aurora-{name}"


def test_rotation_schedule__hosted_rotation__rules_recorded_on_the_secret(emulator, aurora):
    _name, deployed = aurora

    described = emulator.client("secretsmanager").describe_secret(SecretId=deployed.outputs["SecretArn"])

    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert "MySQLSingleUser" in described["RotationLambdaARN"]


def test_secret__two_deployments__passwords_differ(emulator, stacks):
    template = {"Resources": {"Key": kms_key(), "Secret": secret(stacks.unique("s"))}, "Outputs": {"Arn": {"Value": {"Ref": "Secret"}}}}
    other = copy.deepcopy(template)
    other["Resources"]["Secret"]["Properties"]["Name"] = stacks.unique("s")
    sm = emulator.client("secretsmanager")

    first = stacks.create(template).outputs["Arn"]
    second = stacks.create(other).outputs["Arn"]

    passwords = {json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] for arn in (first, second)}
    assert len(passwords) == 2
