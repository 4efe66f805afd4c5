"""The dev group launched once on the emulator, IAM enforced: shared by the modules that run the roles on it.

One ``sceptre launch dev`` (with the stand-in databases the schema stack migrates) for the package
(conftest.py's ``world``): test_roles_on_emulator.py (the shift, the rollback, the people's roles) and
test_switchover_on_emulator.py (the switchover's calls) each leave it as they found it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from bluegreen import demo
from bluegreen.emulator_databases import StandIns, cluster_identifiers
from tests.emulator_process import aws_env, free_port, run_launcher, start_with_databases  # also puts emulator/ on sys.path

ROOT = Path(__file__).resolve().parents[2]
SCEPTRE = Path(sys.executable).parent / "sceptre"
ACCOUNT = "123456789012"
FUNCTION = "lambda-traffic-shifter-dev-d01"
POLICY_LOGICAL_ID = "FunctionPolicy"


class World:
    """The launched dev group on the emulator, seen as its deployer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.env = aws_env(port)
        self.session = boto3.session.Session(aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                                             aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"])

    def sceptre(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
        return subprocess.run([str(SCEPTRE), "--dir", str(ROOT), *args], env={**env, **self.env, "EMULATOR_PORT": str(self.port)},
                              cwd=ROOT, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)

    def invoke(self, payload: dict) -> tuple[dict, str | None, str]:
        """(the handler's answer, FunctionError, the invocation's log)."""
        response = self.client("lambda").invoke(FunctionName=FUNCTION, Payload=json.dumps(payload).encode(), LogType="Tail")
        log = base64.b64decode(response.get("LogResult") or b"").decode()
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError"), log

    def policy_arn(self) -> str:
        resources = self.client("cloudformation").list_stack_resources(StackName="payments-dev-operations-automation")
        return next(r["PhysicalResourceId"] for r in resources["StackResourceSummaries"] if r["LogicalResourceId"] == POLICY_LOGICAL_ID)


def launch():
    """Start the emulator with the stand-in databases, ``sceptre launch dev``, yield the World; stop both after."""
    port = free_port()
    databases = StandIns(cluster_identifiers("dev")).__enter__()  # the schema stack migrates real databases
    started = start_with_databases(port, databases)
    assert started.returncode == 0, started.stderr
    mp = pytest.MonkeyPatch()
    try:
        launched = World(port)
        launched.databases = databases
        result = launched.sceptre("launch", "-y", "dev")
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        for key, value in launched.env.items():  # the demo's helpers and the CLI use boto3's default chain
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(key, raising=False)
        launched.aws = demo.Emulated("dev")
        launched.lambda_env = launched.aws.lambda_env()
        launched.gate = launched.lambda_env["GATE_ALARMS"].split(",")[0]
        launched.client("ssm").put_parameter(Name=launched.lambda_env["SSM_PREFIX"] + "/shift/plan",
                                             Value=json.dumps(demo.DEMO_PLAN), Type="String", Overwrite=True)
        yield launched
    finally:
        mp.undo()
        run_launcher("stop", port=port, timeout=60)
        databases.__exit__()


def reducing(world: World):
    """Yield ``reduce(sid, action)``: the function's managed policy becomes its document without that action
    (a new default version); the original default comes back afterwards."""
    iam = world.client("iam")
    arn = world.policy_arn()
    original = next(v for v in iam.list_policy_versions(PolicyArn=arn)["Versions"] if v["IsDefaultVersion"])
    document = iam.get_policy_version(PolicyArn=arn, VersionId=original["VersionId"])["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    made = []

    def reduce(sid: str, action: str) -> None:
        reduced = json.loads(json.dumps(document))
        statement = next(s for s in reduced["Statement"] if s.get("Sid") == sid)
        actions = [a for a in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]) if a != action]
        assert len(actions) < len(statement["Action"]), f"{sid} does not grant {action}"
        if actions:
            statement["Action"] = actions
        else:
            reduced["Statement"].remove(statement)
        if len(made) >= 3:  # IAM keeps at most five versions of a managed policy: drop the oldest of ours
            iam.set_default_policy_version(PolicyArn=arn, VersionId=original["VersionId"])
            iam.delete_policy_version(PolicyArn=arn, VersionId=made.pop(0))
        made.append(iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(reduced), SetAsDefault=True)
                    ["PolicyVersion"]["VersionId"])

    yield reduce
    iam.set_default_policy_version(PolicyArn=arn, VersionId=original["VersionId"])
    for version in made:
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
