"""bluegreen.change_sets: create change sets for review, execute exactly the reviewed ones.

The decisions are tested alone; the command runs with Sceptre against the emulator on a small
Sceptre project of its own (one group, two stacks, the project's stack-tag scheme), in a git
checkout, so a test takes seconds rather than a launch of dev.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from bluegreen import change_sets
from tests.emulator_process import aws_env, free_port, run_launcher

# ----------------------------------------------------------------------------- pure decisions


def test_change_set_name__change_id_and_commit__lower_case_cloudformation_name():
    assert change_sets.change_set_name("CHG-4711", "0123456789abcdef0123") == "chg-4711-0123456789ab"


@pytest.mark.parametrize("bad", ["", "chg-1", "CHG4711", "CHG-", "CHG-12; rm", "a" * 40])
def test_check_change_id__not_a_change_number__refused(bad):
    with pytest.raises(change_sets.ChangeSetError, match="is not a change number like CHG-4711"):
        change_sets.check_change_id(bad)


def test_check_reason__blank__refused():
    with pytest.raises(change_sets.ChangeSetError, match="a reason is required"):
        change_sets.check_reason("   ")


def _description(value: str = "v1", change_set_id: str = "arn:cs/1") -> dict:
    return {"StackName": "s", "StackId": "arn:stack/s", "ChangeSetName": "chg-1-abc", "ChangeSetId": change_set_id,
            "Changes": [{"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": "P"}}],
            "Parameters": [{"ParameterKey": "Value", "ParameterValue": value}], "Tags": [], "Capabilities": [],
            "CreationTime": "2026-12-07T20:00:00Z", "ResponseMetadata": {"RequestId": "x"}}


def _reviewed(description: dict) -> tuple[dict, dict]:
    data = change_sets.canonical(change_sets.reviewed_view(description))
    manifest = {"change_set_name": "chg-1-abc", "stacks": {"g/s.yaml": {"file": "g__s.json",
                                                                         "sha256": change_sets.sha256(data)}}}
    return manifest, {"g/s.yaml": data}


def test_differences__unchanged_but_for_times_and_request_ids__none():
    manifest, files = _reviewed(_description())
    later = {**_description(), "CreationTime": "later", "ResponseMetadata": {"RequestId": "y"}}
    assert change_sets.differences(manifest, files, {"g/s.yaml": later}) == []


@pytest.mark.parametrize("now, problem", [
    (_description(value="v2"), "g/s.yaml: the change set differs from the reviewed one (Parameters)"),
    (_description(change_set_id="arn:cs/2"), "g/s.yaml: the change set differs from the reviewed one (ChangeSetId)"),
    ({}, "g/s.yaml: change set chg-1-abc no longer exists"),
])
def test_differences__change_set_not_the_reviewed_one__named(now, problem):
    manifest, files = _reviewed(_description())
    assert change_sets.differences(manifest, files, {"g/s.yaml": now}) == [problem]


def test_differences__review_file_edited_or_missing__named():
    manifest, files = _reviewed(_description())
    edited = {"g/s.yaml": files["g/s.yaml"].replace(b"v1", b"v0")}
    assert change_sets.differences(manifest, edited, {"g/s.yaml": _description()}) == [
        "g/s.yaml: review file g__s.json was edited after it was written"]
    assert change_sets.differences(manifest, {"g/s.yaml": None}, {"g/s.yaml": _description()}) == [
        "g/s.yaml: review file g__s.json is missing"]


def test_differences__stack_without_a_reviewed_change_set__named():
    manifest, files = _reviewed(_description())
    current = {"g/s.yaml": _description(), "g/other.yaml": _description()}
    assert change_sets.differences(manifest, files, current) == [
        "g/other.yaml: a stack of the group with no reviewed change set"]


# ----------------------------------------------------------------------------- on the emulator

TEMPLATE = {
    "Parameters": {"Value": {"Type": "String"}, "Name": {"Type": "String"}},
    "Resources": {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": {"Ref": "Name"}, "Type": "String", "Value": {"Ref": "Value"}}}},
}
ROOT_CONFIG = "project_code: cstest\nregion: us-east-1\n"
# The project's stack-tag scheme (config/<env>/config.yaml): the reviewed commit and change id.
ENV_CONFIG = """identity: &identity
  Environment: dev
stack_tags:
  <<: *identity
{% if var.change_id is defined %}
  ChangeId: "{{ var.change_id }}"
  Commit: "{{ var.commit }}"
{% endif %}
"""


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout


def _write_project(root: Path, value: str) -> None:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "setting.json").write_text(json.dumps(TEMPLATE))
    group = root / "config" / "dev" / "settings"
    group.mkdir(parents=True, exist_ok=True)
    (root / "config" / "config.yaml").write_text(ROOT_CONFIG)
    (root / "config" / "dev" / "config.yaml").write_text(ENV_CONFIG)
    for stack in ("one", "two"):
        (group / f"{stack}.yaml").write_text(
            f"template:\n  path: setting.json\nparameters:\n  Name: /cstest/{stack}\n  Value: {value}\n")


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", message)


@pytest.fixture(scope="module")
def emulator_env():
    port = free_port()
    started = run_launcher("start", port=port)
    assert started.returncode == 0, started.stderr
    yield aws_env(port)
    run_launcher("stop", port=port, timeout=60)


@pytest.fixture
def project(tmp_path, emulator_env, monkeypatch):
    for key, value in emulator_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    root = tmp_path / "project"
    _write_project(root, "v1")
    _git(root, "init", "-q")
    _commit(root, "v1")
    import boto3

    client = boto3.client("cloudformation", region_name="us-east-1")
    yield root, client
    for stack in ("one", "two"):
        client.delete_stack(StackName=f"cstest-dev-settings-{stack}")


def _run(root: Path, *argv: str) -> tuple[int, dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    code = change_sets.main(list(argv), adapters_for=lambda _: change_sets.Adapters(root), stdout=out, stderr=err)
    return code, (json.loads(out.getvalue()) if out.getvalue() else None), err.getvalue()


def _ssm_value(stack: str) -> str:
    import boto3

    return boto3.client("ssm", region_name="us-east-1").get_parameter(Name=f"/cstest/{stack}")["Parameter"]["Value"]


def test_change_sets__created_reviewed_executed__stacks_tagged_with_commit_and_change_id(project, tmp_path):
    root, cfn = project
    review = tmp_path / "review"
    code, manifest, err = _run(root, "create", "--env", "dev", "--group", "settings", "--change-id", "CHG-4711",
                               "--reason", "first release", "--out", str(review))
    assert code == 0, err
    commit = _git(root, "rev-parse", "HEAD").strip()
    assert (manifest["commit"], manifest["change_set_name"]) == (commit, f"chg-4711-{commit[:12]}")
    assert manifest["created_by"].startswith("arn:aws:iam::")  # the STS identity, not a typed name
    assert sorted(manifest["stacks"]) == ["dev/settings/one", "dev/settings/two"]
    assert {p.name for p in review.iterdir()} == {"manifest.json", "dev__settings__one.json", "dev__settings__two.json"}

    code, record, err = _run(root, "execute", "--env", "dev", "--group", "settings", "--change-id", "CHG-4711",
                             "--reason", "approved by CAB", "--reviewed", str(review))
    assert code == 0, err
    assert record["executed_by"].startswith("arn:aws:iam::")
    assert _ssm_value("one") == "v1"
    tags = {t["Key"]: t["Value"] for t in cfn.describe_stacks(StackName="cstest-dev-settings-one")["Stacks"][0]["Tags"]}
    assert (tags["Commit"], tags["ChangeId"]) == (commit, "CHG-4711")
    assert [e["change_id"] for e in json.loads((review / "executions.json").read_text())] == ["CHG-4711"]


def test_change_sets__review_file_edited__refused_and_nothing_executed(project, tmp_path):
    root, cfn = project
    review = tmp_path / "review"
    assert _run(root, "create", "--env", "dev", "--group", "settings", "--change-id", "CHG-1",
                "--reason", "r", "--out", str(review))[0] == 0
    reviewed = review / "dev__settings__one.json"
    reviewed.write_text(reviewed.read_text().replace("v1", "v0"))

    code, _, err = _run(root, "execute", "--env", "dev", "--group", "settings", "--change-id", "CHG-1",
                        "--reason", "r", "--reviewed", str(review))
    assert code == 1
    assert "refused, nothing executed: dev/settings/one: review file dev__settings__one.json was edited" in err
    # Nothing executed: the stacks are still only in review (a CREATE change set makes REVIEW_IN_PROGRESS).
    assert {cfn.describe_stacks(StackName=f"cstest-dev-settings-{s}")["Stacks"][0]["StackStatus"]
            for s in ("one", "two")} == {"REVIEW_IN_PROGRESS"}


def test_change_sets__change_set_recreated_after_review__refused(project, tmp_path):
    root, cfn = project
    review = tmp_path / "review"
    assert _run(root, "create", "--env", "dev", "--group", "settings", "--change-id", "CHG-2",
                "--reason", "r", "--out", str(review))[0] == 0
    manifest = json.loads((review / "manifest.json").read_text())
    # Someone replaces one reviewed change set with another of the same name (other values).
    name, stack = manifest["change_set_name"], "cstest-dev-settings-two"
    cfn.delete_change_set(StackName=stack, ChangeSetName=name)
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType="CREATE",
                          TemplateBody=json.dumps(TEMPLATE), Parameters=[
                              {"ParameterKey": "Name", "ParameterValue": "/cstest/two"},
                              {"ParameterKey": "Value", "ParameterValue": "sneaky"}])

    code, _, err = _run(root, "execute", "--env", "dev", "--group", "settings", "--change-id", "CHG-2",
                        "--reason", "r", "--reviewed", str(review))
    assert code == 1
    assert "dev/settings/two: the change set differs from the reviewed one" in err


def test_change_sets__uncommitted_config__refused_before_any_change_set(project, tmp_path):
    root, cfn = project
    _write_project(root, "v2")
    code, _, err = _run(root, "create", "--env", "dev", "--group", "settings", "--change-id", "CHG-3",
                        "--reason", "r", "--out", str(tmp_path / "review"))
    assert code == 1
    assert "uncommitted changes under config/" in err
    assert not (tmp_path / "review").exists()


def test_change_sets__no_reason__usage_error():
    assert change_sets.main(["create", "--env", "dev", "--group", "g", "--change-id", "CHG-1", "--out", "x"],
                            stderr=io.StringIO()) == change_sets.EXIT_USAGE
