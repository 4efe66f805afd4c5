"""Fixtures of the emulator tests: one emulator per session, started through the launcher.

The project venv cannot import moto's server dependencies, so the emulator runs in its
own process (``scripts/emulator start``, .venv-emulator) on a free loopback port. Clients
get the endpoint explicitly: nothing here sets AWS_ENDPOINT_URL for the other tests.

* ``emulator``  (session) -> Emulator(url, port, env, client(service))
* ``stacks``    (function) -> create / update / delete CloudFormation stacks on it; stacks
  left over by a failing test are deleted at teardown.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator_process import free_port, run_launcher
from tests.emulator_process import session as deployer_session

from . import parts

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@dataclass
class Emulator:
    url: str
    port: int
    _session: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._session = deployer_session(self.port, REGION)

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.url, config=Config(retries={"max_attempts": 2}))


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest) -> Emulator:
    if not (ROOT / ".venv-emulator" / "bin" / "python").exists():
        pytest.fail("the emulator venv is missing: run scripts/bootstrap")
    port = int(os.environ.get("EMULATOR_TEST_PORT") or free_port())
    started = run_launcher("start", port=port)
    if started.returncode != 0:
        pytest.fail(f"scripts/emulator start failed (exit {started.returncode}):\n{started.stderr}")
    url = started.stdout.strip().splitlines()[-1]
    yield Emulator(url=url, port=port)
    run_launcher("stop", port=port, timeout=60)
    if request.session.testsfailed == 0 and "EMULATOR_TEST_PORT" not in os.environ:
        # Each session uses a new port: keep the log only when something failed.
        (ROOT / ".emulator" / f"emulator-{port}.log").unlink(missing_ok=True)


@dataclass
class DeployedStack:
    name: str
    stack_id: str
    status: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id


class Stacks:
    """CloudFormation on the emulator, with unique names and waiting for final states."""

    def __init__(self, emulator: Emulator) -> None:
        self.cfn = emulator.client("cloudformation")
        self.created: list[str] = []

    @staticmethod
    def unique(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def _wait(self, stack_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stack = self.cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                return stack
            time.sleep(0.2)

    def _describe(self, stack: dict[str, Any]) -> DeployedStack:
        resources: dict[str, str] = {}
        if stack["StackStatus"] != "DELETE_COMPLETE":
            summaries = self.cfn.list_stack_resources(StackName=stack["StackId"])["StackResourceSummaries"]
            resources = {s["LogicalResourceId"]: s.get("PhysicalResourceId", "") for s in summaries}
        return DeployedStack(
            name=stack["StackName"],
            stack_id=stack["StackId"],
            status=stack["StackStatus"],
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []},
            resources=resources,
        )

    def failure_reasons(self, name: str) -> list[str]:
        events = self.cfn.describe_stack_events(StackName=name)["StackEvents"]
        return [f"{e['LogicalResourceId']}: {e['ResourceStatus']}: {e.get('ResourceStatusReason')}" for e in events if e.get("ResourceStatusReason")]

    @staticmethod
    def _params(parameters: dict[str, str] | None) -> list[dict[str, str]]:
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]

    def create(self, template: dict[str, Any], name: str | None = None, parameters: dict[str, str] | None = None,
               expect: str = "CREATE_COMPLETE") -> DeployedStack:
        name = name or self.unique()
        stack_id = self.cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=self._params(parameters),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )["StackId"]
        self.created.append(stack_id)
        stack = self._wait(stack_id)
        assert stack["StackStatus"] == expect, self.failure_reasons(stack_id)
        return self._describe(stack)

    def update(self, name: str, template: dict[str, Any], parameters: dict[str, str] | None = None,
               expect: str = "UPDATE_COMPLETE") -> DeployedStack:
        self.cfn.update_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=self._params(parameters),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = self._wait(name)
        assert stack["StackStatus"] == expect, self.failure_reasons(name)
        return self._describe(stack)

    def delete(self, deployed: DeployedStack) -> None:
        self.cfn.delete_stack(StackName=deployed.stack_id)
        stack = self._wait(deployed.stack_id)
        assert stack["StackStatus"] == "DELETE_COMPLETE", self.failure_reasons(deployed.stack_id)

    def cleanup(self) -> None:
        for stack_id in self.created:
            try:
                if self.cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] != "DELETE_COMPLETE":
                    self.cfn.delete_stack(StackName=stack_id)
            except ClientError:  # the stack is gone already: best effort
                pass


@pytest.fixture
def stacks(emulator: Emulator) -> Stacks:
    helper = Stacks(emulator)
    yield helper
    helper.cleanup()


@pytest.fixture
def aurora(emulator, stacks):
    name = stacks.unique("db")
    deployed = stacks.create(parts.aurora_template(name), name=name)
    return name, deployed


@pytest.fixture(scope="session")
def code_bucket(emulator):
    s3 = emulator.client("s3")
    bucket = "emulator-test-lambda-code"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="handler.zip", Body=parts.zip_bytes({
        "app.py": parts.HANDLER,
        "vendored_greeting/__init__.py": "def greet(who):\n    return f'hello {who}'\n",
    }))
    s3.put_object(Bucket=bucket, Key="provider.zip", Body=parts.zip_bytes({"provider.py": parts.PROVIDER}))
    return bucket
