"""lambda_src/ssm_parameter: Create/Update/Delete against moto SSM and KMS, responses to a local ResponseURL."""

from __future__ import annotations

import logging

import pytest

from ssm_parameter import handler

from .conftest import PREFIX

WEIGHT = f"{PREFIX}/traffic/green-weight"
SIGNING_KEY = f"{PREFIX}/app/payment-api-signing-key"


def invoke(request, server):
    """Run the Lambda entry point and return the one response CloudFormation received."""
    before = len(server.received)
    handler.lambda_handler(request, None)
    assert len(server.received) == before + 1, "exactly one response per request"
    return server.received[-1]


def value(ssm, name):
    return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


# ---------------------------------------------------------------- the response protocol
def test_response__success__put_to_the_response_url_with_the_exact_document(ssm, event, response_server, green_weight):
    request = event("Create", green_weight)
    method, path, headers, body = invoke(request, response_server)
    assert (method, path) == ("PUT", "/cfn-response?X-Amz-Signature=abc")
    assert headers["Content-Type"] == ""
    assert body == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": WEIGHT,
        "StackId": request["StackId"],
        "RequestId": request["RequestId"],
        "LogicalResourceId": "GreenWeightParameter",
        "NoEcho": False,
        "Data": {"Name": WEIGHT, "Type": "String"},
    }


def test_response__bad_type__failed_with_the_reason_and_a_non_parameter_id(ssm, event, response_server, green_weight):
    request = event("Create", {**green_weight, "Type": "Integer"})
    _, _, _, body = invoke(request, response_server)
    assert body == {
        "Status": "FAILED",
        "Reason": "PropertyError: Type must be one of String, SecureString, got 'Integer'",
        "PhysicalResourceId": f"failed-create-{request['RequestId']}",
        "StackId": request["StackId"],
        "RequestId": request["RequestId"],
        "LogicalResourceId": "GreenWeightParameter",
        "NoEcho": False,
        "Data": {},
    }
    assert ssm.describe_parameters()["Parameters"] == []


def test_response__url_unreachable__retried_then_logged_without_raising(ssm, event, green_weight, monkeypatch, caplog):
    monkeypatch.setattr(handler, "RETRY_DELAY_SECONDS", 0)
    request = event("Create", green_weight)
    request["ResponseURL"] = "http://127.0.0.1:9/closed"  # discard port: nothing listens
    with caplog.at_level(logging.WARNING):
        assert handler.lambda_handler(request, None) == {"Status": "SUCCESS", "PhysicalResourceId": WEIGHT}
    assert "attempt 3 of 3" in caplog.text
    assert "CloudFormation never got the SUCCESS response for GreenWeightParameter" in caplog.text


# ---------------------------------------------------------------- Create
def test_create__string__written_with_its_initial_value_and_tags(ssm, event, response_server, green_weight):
    invoke(event("Create", green_weight), response_server)
    assert value(ssm, WEIGHT) == "0"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=WEIGHT)["TagList"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("Environment", "dev"), ("Project", "payments-migration")]


def test_create__secure_string__encrypted_with_the_given_key(ssm, event, response_server, signing_key, ops_key_arn):
    invoke(event("Create", signing_key, logical="PaymentApiSigningKeyParameter"), response_server)
    (described,) = ssm.describe_parameters()["Parameters"]
    assert (described["Name"], described["Type"], described["KeyId"]) == (SIGNING_KEY, "SecureString", ops_key_arn)


def test_create__secure_string__value_generated_with_the_requested_strength(ssm, event, response_server, signing_key):
    invoke(event("Create", signing_key), response_server)
    generated = value(ssm, SIGNING_KEY)
    assert len(generated) == 64  # token_urlsafe(48): 48 random bytes, base64url
    assert set(generated) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_create__secure_string__each_parameter_gets_its_own_value(ssm, event, response_server, signing_key):
    invoke(event("Create", signing_key), response_server)
    invoke(event("Create", {**signing_key, "Name": SIGNING_KEY + "-2"}), response_server)
    assert value(ssm, SIGNING_KEY) != value(ssm, SIGNING_KEY + "-2")


def test_create__secure_string__value_never_logged_nor_returned(ssm, event, response_server, signing_key, caplog):
    with caplog.at_level(logging.DEBUG):
        _, _, _, body = invoke(event("Create", signing_key), response_server)
    secret = value(ssm, SIGNING_KEY)
    assert secret not in caplog.text
    assert secret not in repr(body)


def test_create__secure_string_with_a_value__refused(ssm, event, response_server, signing_key):
    _, _, _, body = invoke(event("Create", {**signing_key, "Value": "hunter2"}), response_server)
    assert body["Status"] == "FAILED"
    assert "a template must never carry it" in body["Reason"]
    assert ssm.describe_parameters()["Parameters"] == []


def test_create__parameter_exists__failed_and_the_rollback_delete_leaves_it(ssm, event, response_server, green_weight):
    ssm.put_parameter(Name=WEIGHT, Type="String", Value="40")
    _, _, _, body = invoke(event("Create", green_weight), response_server)
    assert body["Status"] == "FAILED"
    assert "already exists; refusing to take over" in body["Reason"]
    _, _, _, deleted = invoke(event("Delete", green_weight, physical_id=body["PhysicalResourceId"]), response_server)
    assert deleted["Status"] == "SUCCESS"
    assert value(ssm, WEIGHT) == "40"


# ---------------------------------------------------------------- Update
def test_update__live_value_changed_since_create__kept(ssm, event, response_server, green_weight):
    invoke(event("Create", green_weight), response_server)
    ssm.put_parameter(Name=WEIGHT, Type="String", Value="50", Overwrite=True)  # the traffic shifter moved it
    changed = {**green_weight, "Tags": {"Environment": "dev", "Owner": "platform"}}
    _, _, _, body = invoke(event("Update", changed, physical_id=WEIGHT, old_properties=green_weight), response_server)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", WEIGHT)
    assert value(ssm, WEIGHT) == "50"
    tags = {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=WEIGHT)["TagList"]}
    assert tags["Owner"] == "platform"


def test_update__secure_string__generated_value_kept(ssm, event, response_server, signing_key):
    invoke(event("Create", signing_key), response_server)
    before = value(ssm, SIGNING_KEY)
    invoke(event("Update", {**signing_key, "Description": "rotated?"}, physical_id=SIGNING_KEY,
                 old_properties=signing_key), response_server)
    assert value(ssm, SIGNING_KEY) == before


def test_update__parameter_deleted_out_of_band__written_again_with_its_initial_value(ssm, event, response_server, green_weight):
    invoke(event("Update", green_weight, physical_id=WEIGHT, old_properties=green_weight), response_server)
    assert value(ssm, WEIGHT) == "0"


def test_update__type_change__failed_and_value_untouched(ssm, event, response_server, green_weight, ops_key_arn):
    invoke(event("Create", green_weight), response_server)
    secure = {"Name": WEIGHT, "Type": "SecureString", "KeyId": ops_key_arn}
    _, _, _, body = invoke(event("Update", secure, physical_id=WEIGHT, old_properties=green_weight), response_server)
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", WEIGHT)
    assert "cannot change from String to SecureString in place" in body["Reason"]
    assert ssm.get_parameter(Name=WEIGHT)["Parameter"]["Type"] == "String"


def test_update__secure_string_key_change__failed(ssm, aws, event, response_server, signing_key):
    invoke(event("Create", signing_key), response_server)
    other_key = aws.client("kms").create_key(Description="other")["KeyMetadata"]["Arn"]
    _, _, _, body = invoke(event("Update", {**signing_key, "KeyId": other_key}, physical_id=SIGNING_KEY,
                                 old_properties=signing_key), response_server)
    assert body["Status"] == "FAILED"
    assert "KeyId of /payments-migration/dev-d01/app/payment-api-signing-key cannot change in place" in body["Reason"]


def test_update__new_name__new_parameter_under_a_new_physical_id(ssm, event, response_server, green_weight):
    invoke(event("Create", green_weight), response_server)
    renamed = {**green_weight, "Name": WEIGHT + "-v2"}
    _, _, _, body = invoke(event("Update", renamed, physical_id=WEIGHT, old_properties=green_weight), response_server)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", WEIGHT + "-v2")
    assert value(ssm, WEIGHT + "-v2") == "0"
    assert value(ssm, WEIGHT) == "0"  # CloudFormation sends the Delete of the old ID afterwards


# ---------------------------------------------------------------- Delete
def test_delete__existing__removed(ssm, event, response_server, green_weight):
    invoke(event("Create", green_weight), response_server)
    _, _, _, body = invoke(event("Delete", green_weight, physical_id=WEIGHT), response_server)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", WEIGHT)
    assert ssm.describe_parameters()["Parameters"] == []


def test_delete__already_gone__succeeds(ssm, event, response_server, green_weight):
    _, _, _, body = invoke(event("Delete", green_weight, physical_id=WEIGHT), response_server)
    assert body["Status"] == "SUCCESS"


# ---------------------------------------------------------------- property validation
@pytest.mark.parametrize("properties,message", [
    ({"Type": "String", "Value": "0"}, r"Name must be an SSM parameter path .* got None"),
    ({"Name": "green-weight", "Type": "String", "Value": "0"}, r"got 'green-weight'"),
    ({"Name": WEIGHT, "Type": "String"}, r"a String parameter needs a non-empty Value"),
    ({"Name": WEIGHT, "Type": "String", "Value": "0", "KeyId": "k"}, r"KeyId and GeneratedLength apply to SecureString only"),
    ({"Name": SIGNING_KEY, "Type": "SecureString"}, r"needs the KeyId of our KMS key"),
    ({"Name": SIGNING_KEY, "Type": "SecureString", "KeyId": "k", "GeneratedLength": "8"}, r"from 16 to 256, got 8"),
    ({"Name": SIGNING_KEY, "Type": "SecureString", "KeyId": "k", "GeneratedLength": "many"}, r"whole number, got 'many'"),
    ({"Name": WEIGHT, "Type": "String", "Value": "0", "Tags": ["a"]}, r"Tags must be a map"),
])
def test_parse_spec__invalid_properties__error_says_what_is_wrong(properties, message):
    with pytest.raises(handler.PropertyError, match=message):
        handler.parse_spec(properties)
