"""Each bad input through the real commands, against a fresh emulator: the message, and nothing changed.

One emulator for the module, with dev/security/security.yaml deployed from the project as it is. Every
test runs ``sceptre`` (or ``bluegreen``) in a subprocess, with a bad value either in a copy of
config/ (templates/ linked) or on the command line, and checks the error text and that the
emulator's stacks are exactly as before: no stack created, the security stack not updated.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator_process import aws_env, free_port, run_launcher, session

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOW_TO_START = "start it with `scripts/emulator start` (or unset AWS_ENDPOINT_URL to use AWS)"


class World:
    def __init__(self, url: str, port: int):
        self.url = url
        self.env = {**os.environ, **aws_env(port)}  # the emulator's deployer (IAM is enforced)
        self.env.pop("AWS_PROFILE", None)
        self.env.pop("AWS_SESSION_TOKEN", None)
        self.cloudformation = session(port).client("cloudformation", endpoint_url=url)

    def run(self, command: str, *args: str, project: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
        prefix = ["--dir", str(project)] if command == "sceptre" else []
        return subprocess.run([str(BIN / command), *prefix, *args], env=env or self.env, cwd=project,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)

    def state(self) -> dict:
        """Every live stack with its status, last change and parameters."""
        found = {}
        for summary in self.cloudformation.list_stacks()["StackSummaries"]:
            if summary["StackStatus"] == "DELETE_COMPLETE":
                continue
            stack = self.cloudformation.describe_stacks(StackName=summary["StackName"])["Stacks"][0]
            found[stack["StackName"]] = (stack["StackStatus"], stack.get("LastUpdatedTime"),
                                         sorted((p["ParameterKey"], p.get("ParameterValue")) for p in stack["Parameters"]))
        return found


@pytest.fixture(scope="module")
def world():
    port = free_port()
    started = run_launcher("start", port=port)
    assert started.returncode == 0, started.stderr
    world = World(started.stdout.strip().splitlines()[-1], port)
    deployed = world.run("sceptre", "launch", "-y", "dev/security/security.yaml")
    assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
    yield world
    run_launcher("stop", port=port, timeout=60)
    (ROOT / ".emulator" / f"emulator-{port}.log").unlink(missing_ok=True)


@pytest.fixture
def before(world):
    state = world.state()
    assert set(state) == {"payments-dev-security-security"}
    return state


def project_with(tmp_path: Path, env: str, old: str, new: str) -> Path:
    """A copy of the project's config/ with one line of config/<env>/config.yaml changed."""
    shutil.copytree(ROOT / "config", tmp_path / "config", symlinks=True)
    (tmp_path / "templates").symlink_to(ROOT / "templates")
    group = tmp_path / "config" / env / "config.yaml"
    text = group.read_text()
    assert text.count(old) == 1, old
    group.write_text(text.replace(old, new))
    return tmp_path


def refused(result: subprocess.CompletedProcess, *messages: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    for message in messages:
        assert message in output, output[-3000:]


@pytest.mark.parametrize("env,old,new,message", [
    ("dev", "environment_suffix: d01", "environment_suffix: D-01",
     "environment_suffix must be 2 to 8 lower-case letters or digits (^[a-z0-9]{2,8}$, the templates' "
     "AllowedPattern), got 'D-01'"),
    ("dev", "vpc_cidr: 10.40.0.0/16", "vpc_cidr: 10.40.0.0/33",
     "vpc_cidr must be an IPv4 network like 10.40.0.0/16 (no host bits set), got '10.40.0.0/33'"),
    ("dev", "vpc_cidr: 10.40.0.0/16", "vpc_cidr: 10.40.0.0/26",
     "vpc_cidr must be a /16 to /24 network (the network template's range), got '10.40.0.0/26'"),
    ("dev", "vpc_cidr: 10.40.0.0/16", "vpc_cidr: 10.50.0.0/20",
     "vpc_cidr '10.50.0.0/20' overlaps the prod environment's vpc_cidr '10.50.0.0/16'"),
    ("dev", "vpc_cidr: 10.40.0.0/16", "vpc_cidr: 10.2.0.0/16",
     "vpc_cidr '10.2.0.0/16' overlaps the data centre network '10.0.0.0/14' (datacentre_cidrs): DMS and the VPN"),
    ("dev", 'certificate_arn: ""', 'certificate_arn: "arn:aws:iam::123456789012:server-certificate/pay"',
     "certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>) or empty "
     "outside prod, got 'arn:aws:iam::123456789012:server-certificate/pay'"),
], ids=["suffix", "cidr-invalid", "cidr-prefix", "cidr-overlaps-prod", "cidr-overlaps-datacentre", "cert-not-acm"])
def test_sceptre_launch__bad_group_config_value__refused_and_nothing_changed(world, before, tmp_path, env, old, new,
                                                                             message):
    result = world.run("sceptre", "launch", "-y", env, project=project_with(tmp_path, env, old, new))
    refused(result, f"preflight refused the '{env}' environment, nothing was changed", message)
    assert world.state() == before


def test_sceptre_launch__prod_without_certificate__refused_and_nothing_changed(world, before):
    result = world.run("sceptre", "launch", "-y", "prod")
    refused(result, "preflight refused the 'prod' environment, nothing was changed: (1) certificate_arn is empty in "
                    "prod: set it in config/prod/config.yaml to the company's ACM certificate ARN",
            "(2) client_ca_bundle_file is empty in prod")
    assert world.state() == before


@pytest.mark.parametrize("command", ["launch", "update"])
def test_sceptre_launch_or_update_prod__config_valid__refused_outside_a_change_set_and_nothing_changed(world, before, tmp_path,
                                                                                                      command):
    project = project_with(tmp_path, "prod", 'certificate_arn: ""',
                           'certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"')
    group = project / "config" / "prod" / "config.yaml"
    # Valid otherwise: the client CA, and the data-centre link off (its values are placeholders until a real data centre's).
    group.write_text(group.read_text().replace('client_ca_bundle_file: ""', "client_ca_bundle_file: config/dev/mtls/client-ca-bundle.pem")
                     .replace("default('vpn')", "default('off')"))
    result = world.run("sceptre", command, "-y", "prod/security/security.yaml", project=project)
    refused(result, "prod/security/security: prod stacks change only through a reviewed change set",
            "python -m bluegreen.change_sets create --env prod --group security")
    assert "preflight refused" not in result.stdout + result.stderr
    assert world.state() == before


def test_sceptre_update__bad_suffix_on_deployed_stack__refused_and_stack_unchanged(world, before, tmp_path):
    project = project_with(tmp_path, "dev", "environment_suffix: d01", "environment_suffix: D01")
    result = world.run("sceptre", "update", "-y", "dev/security/security.yaml", project=project)
    refused(result, "dev/security/security - preflight refused the 'dev' environment", "got 'D01'")
    assert world.state() == before


def test_sceptre_launch__unknown_environment__sceptre_says_no_stacks_and_nothing_changed(world, before):
    result = world.run("sceptre", "launch", "-y", "staging")
    refused(result, "No stacks detected from the given path 'staging'.")
    assert world.state() == before


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_sceptre_launch__emulator_not_running__refused_saying_how_to_start_it(world, before):
    url = closed_port_url()
    result = world.run("sceptre", "launch", "-y", "dev", env={**world.env, "AWS_ENDPOINT_URL": url})
    refused(result, f"preflight refused the 'dev' environment, nothing was changed: the local AWS emulator is not "
                    f"running at {url}: {HOW_TO_START}")
    assert world.state() == before


def test_bluegreen_shift_status__emulator_not_running__fails_fast_saying_how_to_start_it(world):
    url = closed_port_url()
    result = world.run("bluegreen", "shift", "status", "--env", "dev", env={**world.env, "AWS_ENDPOINT_URL": url})
    assert (result.returncode, result.stderr) == (
        1, f"bluegreen: error: the local AWS emulator is not running at {url}: {HOW_TO_START}\n")
