"""The nested parent, packaged and deployed with python -m bluegreen.package, on the emulator.

A copy of the project whose dev group uses the suffix n01, so nothing collides with the names
the other emulator tests (or a demo) use. One test walks the life of a deployment: create with
10 % for green, a shift made behind CloudFormation's back (as the traffic shifter does), an
update without --green-weight that must keep that shift, and the delete.
"""

from __future__ import annotations

import functools
import shutil
import uuid

import pytest

from bluegreen import lambda_zip, nested, package

from .conftest import ROOT

pytestmark = pytest.mark.emulator

SUFFIX = "n01"
#: One ALB per colour; both listeners carry the same weights.
EDGES = ("blue", "green")


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config", symlinks=True)
    shutil.copytree(ROOT / "templates", root / "templates", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(ROOT / "lambda_src", root / "lambda_src", ignore=shutil.ignore_patterns("__pycache__"))
    config = root / "config" / "dev" / "config.yaml"
    config.write_text(config.read_text().replace("d01", SUFFIX))
    return root


@pytest.fixture
def aws_env(emulator, monkeypatch):
    for key, value in {"AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return emulator


@pytest.fixture
def bucket(aws_env):
    name = f"pkg-{uuid.uuid4().hex[:12]}"
    key = aws_env.client("kms").create_key(Description="packaging")["KeyMetadata"]["Arn"]
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    return name


def listener_weights(emulator, listener_arn: str) -> dict[str, int]:
    listener = emulator.client("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    return {group["TargetGroupArn"].split("/")[1]: group["Weight"]
            for action in listener["DefaultActions"] for group in action.get("ForwardConfig", {}).get("TargetGroups", [])}


def edge_weights(emulator, outputs: dict[str, str]) -> dict[str, dict[str, int]]:
    """Each edge's listener weights, read through the parent's own output for that edge."""
    return {edge: listener_weights(emulator, outputs[f"{edge.capitalize()}HttpsListenerArn"]) for edge in EDGES}


def expected_weights(edge: str, green: int) -> dict[str, int]:
    # Each ALB has its own pair of target groups: tg-<colour>-<edge>alb-<env>-<suffix>.
    return {f"tg-blue-{edge}alb-dev-{SUFFIX}": 100 - green, f"tg-green-{edge}alb-dev-{SUFFIX}": green}


def test_package_deploy__create_shift_update_delete__weights_follow_ssm_and_nothing_left(
        aws_env, project, bucket, tmp_path):
    stack_name = f"nested-{uuid.uuid4().hex[:8]}"
    run = functools.partial(package.main, root=project, out=lambda line: None,
                            builder=functools.partial(lambda_zip.build, cache_dir=ROOT / lambda_zip.BUILD_DIR))
    common = ["--env", "dev", "--bucket", bucket, "--stack-name", stack_name, "--output", str(tmp_path / "p.json")]
    cfn, ssm = aws_env.client("cloudformation"), aws_env.client("ssm")

    # CreateStack directly: the emulator evaluates a parent's outputs only on that path.
    assert run([*common, "--deploy", "--direct", "--green-weight", "10"]) == 0
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(outputs) == set(nested.PARENT_OUTPUTS)
    assert edge_weights(aws_env, outputs) == {edge: expected_weights(edge, 10) for edge in EDGES}
    weight_parameter = outputs["GreenWeightParameterName"]
    assert ssm.get_parameter(Name=weight_parameter)["Parameter"]["Value"] == "10"

    # The traffic shifter moves on to 25 % and records it; a plain deployment must keep it.
    ssm.put_parameter(Name=weight_parameter, Value="25", Overwrite=True)
    assert run([*common, "--deploy"]) == 0
    assert edge_weights(aws_env, outputs) == {edge: expected_weights(edge, 25) for edge in EDGES}

    assert run(["--env", "dev", "--stack-name", stack_name, "--delete"]) == 0
    left = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"].startswith(stack_name) and s["StackStatus"] != "DELETE_COMPLETE"]
    assert left == []
