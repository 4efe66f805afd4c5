"""CloudFormation's request limits on the emulator: refused as AWS refuses them (moto accepts any size).

The limits and AWS's messages are those of ``extensions/cfn_limits.py`` (docs/aws-constraints.md
cites the quotas page). Each refusal is checked through boto3, as Sceptre meets it: a ClientError
with AWS's code and message, and nothing created or changed.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "emulator") not in sys.path:
    sys.path.insert(0, str(ROOT / "emulator"))

from bluegreen_emulator.extensions import cfn_limits  # noqa: E402 - after sys.path has the emulator folder; standard library only at import

pytestmark = pytest.mark.emulator

INLINE_MAX = cfn_limits.INLINE_BODY_MAX_BYTES


def template_of_size(size: int) -> str:
    """A valid one-resource template of exactly ``size`` bytes (the padding is resource Metadata)."""
    def build(pad: int) -> str:
        return json.dumps({"Resources": {"Handle": {
            "Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {"Pad": "x" * pad}}}})
    base = len(build(0).encode())
    body = build(size - base)
    assert len(body.encode()) == size
    return body


def counted(section: str, count: int) -> str:
    """A template with ``count`` entries in ``section`` (and the one resource every template needs)."""
    entries = {
        "Resources": lambda i: {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Outputs": lambda i: {"Value": f"v{i}"},
        "Parameters": lambda i: {"Type": "String", "Default": "x"},
        "Mappings": lambda i: {"Key": {"Value": "x"}},
    }[section]
    template: dict = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    template.setdefault(section, {})
    for i in range(count - (1 if section == "Resources" else 0)):
        template[section][f"E{i}"] = entries(i)
    return json.dumps(template)


def refused(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def stack_names(cfn) -> set[str]:
    pages = cfn.get_paginator("list_stacks").paginate()
    return {s["StackName"] for page in pages for s in page["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}


# ----------------------------------------------------------------------------- pure rules


def test_problem__inline_body_one_byte_over__aws_length_message():
    body = template_of_size(INLINE_MAX + 1)

    problem = cfn_limits.problem(body, by_url=False)

    assert problem.startswith("1 validation error detected: Value '")
    assert problem.endswith("' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200")
    assert cfn_limits.problem(template_of_size(INLINE_MAX), by_url=False) is None


def test_problem__multibyte_characters__counted_in_bytes():
    body = template_of_size(INLINE_MAX - 10)
    wider = body.replace("xxxxxxxxxxxx", "éééééééééééé", 1)  # 12 characters, 24 bytes: the same length in characters

    assert len(wider) == len(body)
    assert cfn_limits.problem(wider, by_url=False) is not None


@pytest.mark.parametrize("section,limit,message", [
    ("Resources", 500, "Template format error: Number of resources, 501, is greater than maximum allowed, 500"),
    ("Outputs", 200, "Template format error: Outputs count 201 is greater than max allowed 200"),
    ("Parameters", 200, "Template format error: Parameter count 201 is greater than max allowed 200"),
    ("Mappings", 200, "Template format error: Mappings count 201 is greater than max allowed 200"),
])
def test_problem__one_over_a_per_template_quota__aws_template_format_error(section, limit, message):
    assert cfn_limits.problem(counted(section, limit), by_url=True) is None
    assert cfn_limits.problem(counted(section, limit + 1), by_url=True) == message


def test_problem__by_url_over_one_megabyte__refused_and_inline_limit_not_applied():
    assert cfn_limits.problem(template_of_size(INLINE_MAX * 2), by_url=True) is None
    assert cfn_limits.problem(template_of_size(cfn_limits.URL_BODY_MAX_BYTES + 1), by_url=True) == (
        "Template may not exceed 1000000 bytes in size.")


def test_problem__description_names_and_mapping_attributes__quotas_of_the_same_page():
    base = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}

    assert cfn_limits.problem(json.dumps({**base, "Description": "d" * 1024}), by_url=True) is None
    assert "Description length 1025" in cfn_limits.problem(json.dumps({**base, "Description": "d" * 1025}), by_url=True)
    long_name = {"Resources": {"H" * 256: base["Resources"]["Handle"]}}
    assert "longer than 255 characters" in cfn_limits.problem(json.dumps(long_name), by_url=True)
    mapping = {**base, "Mappings": {"Big": {f"K{i}": {"V": "x"} for i in range(201)}}}
    assert "attributes count 201" in cfn_limits.problem(json.dumps(mapping), by_url=True)


def test_problem__yaml_template__quotas_counted_too():
    yaml_body = "Resources:\n" + "".join(f"  H{i}:\n    Type: AWS::CloudFormation::WaitConditionHandle\n" for i in range(501))

    assert "Number of resources, 501" in cfn_limits.problem(yaml_body, by_url=False)


# ----------------------------------------------------------------------------- on the emulator


def test_create_stack__inline_body_over_51200_bytes__validation_error_and_no_stack(emulator):
    cfn = emulator.client("cloudformation")
    name = f"t-{uuid.uuid4().hex[:8]}"

    error = refused(cfn.create_stack, StackName=name, TemplateBody=template_of_size(INLINE_MAX + 1))

    assert error["Code"] == "ValidationError"
    assert error["Message"].endswith("Member must have length less than or equal to 51200")
    assert name not in stack_names(cfn)


def test_create_stack__inline_body_of_exactly_51200_bytes__created(stacks):
    deployed = stacks.create(json.loads(template_of_size(INLINE_MAX)))

    assert deployed.status == "CREATE_COMPLETE"


def test_update_stack_and_change_set__oversized_inline_body__refused_stack_unchanged(emulator, stacks):
    cfn = emulator.client("cloudformation")
    deployed = stacks.create(json.loads(template_of_size(1000)))
    oversized = template_of_size(INLINE_MAX + 1)

    update = refused(cfn.update_stack, StackName=deployed.name, TemplateBody=oversized)
    change_set = refused(cfn.create_change_set, StackName=deployed.name, ChangeSetName="big", TemplateBody=oversized)
    validate = refused(cfn.validate_template, TemplateBody=oversized)

    assert {update["Code"], change_set["Code"], validate["Code"]} == {"ValidationError"}
    assert all("less than or equal to 51200" in e["Message"] for e in (update, change_set, validate))
    assert len(cfn.get_template(StackName=deployed.name)["TemplateBody"]) < INLINE_MAX
    assert cfn.describe_stacks(StackName=deployed.name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_create_stack__too_many_resources__template_format_error(emulator):
    cfn = emulator.client("cloudformation")

    error = refused(cfn.create_stack, StackName=f"t-{uuid.uuid4().hex[:8]}", TemplateBody=counted("Resources", 501))

    assert error["Code"] == "ValidationError"
    assert error["Message"] == "Template format error: Number of resources, 501, is greater than maximum allowed, 500"


@pytest.fixture
def template_bucket(emulator):
    s3 = emulator.client("s3")
    bucket = f"cfn-templates-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    yield bucket
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def test_create_stack__by_url__larger_than_inline_accepted_over_one_megabyte_refused(emulator, stacks, template_bucket):
    s3, cfn = emulator.client("s3"), emulator.client("cloudformation")
    s3.put_object(Bucket=template_bucket, Key="big.json", Body=template_of_size(INLINE_MAX * 2).encode())
    s3.put_object(Bucket=template_bucket, Key="huge.json", Body=template_of_size(cfn_limits.URL_BODY_MAX_BYTES + 1).encode())
    url = f"{emulator.url}/{template_bucket}"
    name = f"t-{uuid.uuid4().hex[:8]}"

    error = refused(cfn.create_stack, StackName=name, TemplateURL=f"{url}/huge.json")
    created = cfn.create_stack(StackName=f"{name}-ok", TemplateURL=f"{url}/big.json")["StackId"]
    stacks.created.append(created)

    assert error["Code"] == "ValidationError"
    assert error["Message"] == "Template may not exceed 1000000 bytes in size."
    assert name not in stack_names(cfn)
    assert stacks._wait(created)["StackStatus"] == "CREATE_COMPLETE"


def nested_parent(url: str, key: str) -> dict:
    return {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": f"{url}/{key}"}}}}


def test_nested_child__over_a_quota__the_parent_fails_naming_it_on_create_and_on_update(emulator, stacks, template_bucket):
    """A child read by TemplateURL is a template like any other: AWS applies the same quotas to it (moto: none)."""
    s3 = emulator.client("s3")
    s3.put_object(Bucket=template_bucket, Key="ok.json", Body=counted("Resources", 2).encode())
    s3.put_object(Bucket=template_bucket, Key="many.json", Body=counted("Resources", 501).encode())
    s3.put_object(Bucket=template_bucket, Key="huge.json", Body=template_of_size(cfn_limits.URL_BODY_MAX_BYTES + 1).encode())
    url = f"{emulator.url}/{template_bucket}"
    name = f"t-{uuid.uuid4().hex[:8]}"

    stacks.create(nested_parent(url, "many.json"), name=name, expect="ROLLBACK_COMPLETE")
    reasons = " ".join(stacks.failure_reasons(name))
    assert "Number of resources, 501, is greater than maximum allowed, 500" in reasons, reasons

    updated = f"{name}-u"
    stacks.create(nested_parent(url, "ok.json"), name=updated)
    # AWS rolls the parent back (UPDATE_ROLLBACK_COMPLETE); the emulator does not roll updates back (cfn_lifecycle).
    stacks.update(updated, nested_parent(url, "huge.json"), expect="UPDATE_ROLLBACK_FAILED")
    reasons = " ".join(stacks.failure_reasons(updated))
    assert "Template may not exceed 1000000 bytes in size." in reasons, reasons
