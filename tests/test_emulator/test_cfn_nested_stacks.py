"""extensions/cfn_nested_stacks.py: nested stacks (GetAtt Outputs, in-place update, delete), and the
nested parent deployed by Sceptre (config/nested-dev/main.yaml) on the emulator.

For the latter, a copy of the project whose dev group uses the suffix n01, so nothing collides with
the names the other emulator tests (or a demo) use. One test walks the life of a deployment with
Sceptre's own commands: launch with 10 % for green, a shift made behind CloudFormation's back (as the
traffic shifter does), ``sceptre diff`` that shows it, a launch without ``--var`` that must keep that
shift, a diff with nothing left to show, a change set made by ``python -m bluegreen.package`` and
executed by Sceptre, and the delete, whose hook empties the nested stacks' buckets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from bluegreen import nested
from bluegreen.emulator_databases import StandIns
from tests.emulator_process import free_port, run_launcher, start_with_databases

from .conftest import ROOT, Emulator

pytestmark = pytest.mark.emulator


CHILD = {
    "Parameters": {"Suffix": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "orders-${Suffix}"}}}},
    "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}, "QueueUrl": {"Value": {"Ref": "Queue"}}},
}


def parent_template(bucket: str, suffix: str) -> dict:
    return {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/child.json", "Parameters": {"Suffix": suffix}},
            },
            "Pointer": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["Child", "Outputs.QueueName"]}},
            },
        },
        "Outputs": {
            "ChildStack": {"Value": {"Ref": "Child"}},
            "QueueUrl": {"Value": {"Fn::GetAtt": ["Child", "Outputs.QueueUrl"]}},
        },
    }


@pytest.fixture
def template_bucket(emulator, stacks):
    bucket = stacks.unique("templates")
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="child.json", Body=json.dumps(CHILD).encode())
    return bucket


SCEPTRE = os.path.join(os.path.dirname(sys.executable), "sceptre")


SUFFIX = "n01"


PARENT = "nested-dev/main.yaml"


STACK_NAME = "payments-dev-main"


#: One ALB per colour; both listeners carry the same weights.
EDGES = ("blue", "green")


@pytest.fixture(scope="module")
def emulator():
    """An emulator of its own with a stand-in database behind each n01 cluster: the schema stack inside
    the parent migrates them (EMULATOR_DB_ENDPOINTS is read when the emulator starts)."""
    port = free_port()
    with StandIns([f"aurora-{colour}-dev-{SUFFIX}" for colour in ("blue", "green")]) as databases:
        started = start_with_databases(port, databases)
        assert started.returncode == 0, started.stderr
        yield Emulator(url=started.stdout.strip().splitlines()[-1], port=port)
        run_launcher("stop", port=port, timeout=60)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config", symlinks=True)
    shutil.copytree(ROOT / "templates", root / "templates", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "lambda_src", root / "lambda_src", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".build").symlink_to(ROOT / ".build")  # the Lambda dependency cache: no pip run
    (root / "app").symlink_to(ROOT / "app")  # the payment service the schema migration's zip vendors
    config = root / "config" / "dev" / "config.yaml"
    config.write_text(config.read_text().replace("d01", SUFFIX))
    return root


class Deployer:
    """The emulator as its deployer: the environment ``scripts/emulator env`` prints, and clients with it."""

    def __init__(self, emulator):
        printed = run_launcher("env", port=emulator.port)
        assert printed.returncode == 0, printed.stderr
        self.env = {m.group(1): shlex.split(m.group(2))[0] if m.group(2) else ""
                    for m in re.finditer(r"^(?:export )?([A-Z_]+)=(.*)$", printed.stdout, re.M)}
        self.port = emulator.port
        self.session = boto3.session.Session(aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                                             aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
                                             region_name="us-east-1")
        self.url = self.env["AWS_ENDPOINT_URL"]

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.url)


@pytest.fixture
def deployer(emulator):
    return Deployer(emulator)


@pytest.fixture
def bucket(deployer):
    name = f"pkg-{uuid.uuid4().hex[:12]}"
    emulator = deployer
    key = emulator.client("kms").create_key(Description="packaging")["KeyMetadata"]["Arn"]
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    return name


@pytest.fixture
def sceptre(deployer, project, bucket):
    env = {**os.environ, **deployer.env, "PACKAGING_BUCKET": bucket, "EMULATOR_PORT": str(deployer.port)}
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([SCEPTRE, "--dir", str(project), *args], env=env, cwd=project, capture_output=True,
                              text=True, timeout=600, stdin=subprocess.DEVNULL)
    yield run
    run("delete", "-y", PARENT)  # a failed test leaves nothing behind


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


@pytest.fixture
def review(deployer, project, bucket):
    """python -m bluegreen.package (the change set with nested stacks) as a command, against the emulator."""
    env = {**os.environ, **deployer.env, "PACKAGING_BUCKET": bucket}
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bluegreen.package", "--dir", str(project), *args], env=env,
                              cwd=project, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    return run


def test_nested_stack__getatt_child_outputs__resolved_in_parent(emulator, stacks, template_bucket):
    deployed = stacks.create(parent_template(template_bucket, "a1"))

    child = emulator.client("cloudformation").describe_stacks(StackName=deployed.outputs["ChildStack"])["Stacks"][0]
    pointer = emulator.client("ssm").get_parameter(Name=deployed.resources["Pointer"])["Parameter"]["Value"]

    assert deployed.outputs["ChildStack"].startswith("arn:aws:cloudformation:us-east-1:")
    assert child["StackStatus"] == "CREATE_COMPLETE"
    assert pointer == "orders-a1"
    assert deployed.outputs["QueueUrl"].endswith("/orders-a1")


def test_nested_stack__parameter_changed__child_updated_in_place(emulator, stacks, template_bucket):
    name = stacks.unique("parent")
    deployed = stacks.create(parent_template(template_bucket, "a1"), name=name)

    updated = stacks.update(name, parent_template(template_bucket, "b2"))

    child = emulator.client("cloudformation").describe_stacks(StackName=updated.outputs["ChildStack"])["Stacks"][0]
    assert updated.outputs["ChildStack"] == deployed.outputs["ChildStack"]
    assert child["StackStatus"] == "UPDATE_COMPLETE"
    assert emulator.client("ssm").get_parameter(Name=updated.resources["Pointer"])["Parameter"]["Value"] == "orders-b2"


def test_nested_stack__parent_deleted__child_and_its_queue_gone(emulator, stacks, template_bucket):
    deployed = stacks.create(parent_template(template_bucket, "c3"))

    stacks.delete(deployed)

    child = emulator.client("cloudformation").describe_stacks(StackName=deployed.outputs["ChildStack"])["Stacks"][0]
    assert child["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="NonExistentQueue|QueueDoesNotExist"):
        emulator.client("sqs").get_queue_url(QueueName="orders-c3")


def test_sceptre_parent__launch_shift_diff_launch_review_delete__weights_follow_ssm_and_nothing_left(
        deployer, sceptre, review, bucket):
    emulator = deployer
    cfn, ssm, s3 = emulator.client("cloudformation"), emulator.client("ssm"), emulator.client("s3")

    # The first launch: no SSM weight exists yet (the parameters stack inside the parent creates it).
    launched = sceptre("--var", "green_weight=10", "launch", "-y", PARENT)
    assert launched.returncode == 0, (launched.stdout + launched.stderr)[-3000:]
    stack = cfn.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(outputs) == set(nested.PARENT_OUTPUTS)
    assert edge_weights(emulator, outputs) == {edge: expected_weights(edge, 10) for edge in EDGES}
    weight_parameter = outputs["GreenWeightParameterName"]
    assert ssm.get_parameter(Name=weight_parameter)["Parameter"]["Value"] == "10"  # !record_green_weight
    # !package_nested put every child and the three Lambda zips into the packaging bucket, under its KMS key.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {k.split("/")[1] for k in keys if k.startswith("templates/")} == \
        set(nested.generate("dev").order)
    assert {k.split("/")[1] for k in keys if k.startswith("lambda/")} == {"traffic_shifter", "ssm_parameter", "schema_migration"}

    # The traffic shifter moves on to 25 % and records it; diff shows it, a plain launch keeps it.
    ssm.put_parameter(Name=weight_parameter, Value="25", Overwrite=True)
    diff = sceptre("diff", "-n", PARENT)
    assert diff.returncode == 0, (diff.stdout + diff.stderr)[-3000:]
    assert "GreenWeight" in diff.stdout and "25" in diff.stdout, diff.stdout[-3000:]
    relaunched = sceptre("launch", "-y", PARENT)
    assert relaunched.returncode == 0, (relaunched.stdout + relaunched.stderr)[-3000:]
    assert edge_weights(emulator, outputs) == {edge: expected_weights(edge, 25) for edge in EDGES}
    assert "No difference" in sceptre("diff", "-n", PARENT).stdout

    # A change set over the parent and its nested stacks (Sceptre's actions plus IncludeNestedStacks),
    # reviewed with Sceptre and executed by Sceptre.
    ssm.put_parameter(Name=weight_parameter, Value="40", Overwrite=True)
    reviewed = review("--env", "dev", "--change-set", "review-40")
    assert reviewed.returncode == 0, (reviewed.stdout + reviewed.stderr)[-3000:]
    assert "change set review-40 of payments-dev-main" in reviewed.stdout, reviewed.stdout
    assert edge_weights(emulator, outputs) == {edge: expected_weights(edge, 25) for edge in EDGES}  # not yet
    executed = sceptre("execute", "-y", PARENT, "review-40")
    assert executed.returncode == 0, (executed.stdout + executed.stderr)[-3000:]
    assert edge_weights(emulator, outputs) == {edge: expected_weights(edge, 40) for edge in EDGES}

    status = sceptre("status", PARENT)
    assert "complete" in status.stdout.lower(), status.stdout + status.stderr

    # Delete: the hook empties the nested stacks' buckets first, then CloudFormation deletes them all.
    trail = cfn.describe_stacks(StackName=cfn.describe_stack_resource(
        StackName=STACK_NAME, LogicalResourceId="AuditStack")["StackResourceDetail"]["PhysicalResourceId"])
    trail_bucket = {o["OutputKey"]: o["OutputValue"] for o in trail["Stacks"][0]["Outputs"]}["TrailBucketName"]
    s3.put_object(Bucket=trail_bucket, Key="AWSLogs/probe.json", Body=b"{}")
    deleted = sceptre("delete", "-y", PARENT)
    assert deleted.returncode == 0, (deleted.stdout + deleted.stderr)[-3000:]
    left = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"].startswith(STACK_NAME) and s["StackStatus"] != "DELETE_COMPLETE"]
    assert left == []
    assert trail_bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
