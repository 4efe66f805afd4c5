"""scripts/emulator: start / status / env / stop, the port-taken error, loopback only, the deployer's keys."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.emulator_process import free_port, run_launcher

pytestmark = pytest.mark.emulator


def test_launcher_start__port_taken_by_another_program__fails_with_what_to_do():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]

        result = run_launcher("start", port=port, timeout=30)

    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use by another program" in result.stderr
    assert f"EMULATOR_PORT={port + 1} scripts/emulator start" in result.stderr
    assert result.stdout == ""


def test_launcher_start__server_cannot_start__reports_the_log_and_what_to_do(monkeypatch):
    port = free_port()
    # An interpreter without the emulator package: the server process dies at once.
    monkeypatch.setenv("EMULATOR_PYTHON", str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"))

    result = run_launcher("start", port=port, timeout=60)

    assert result.returncode == 2
    assert "the emulator server exited with code 1" in result.stderr
    assert "No module named bluegreen_emulator" in result.stderr
    assert "run scripts/bootstrap" in result.stderr
    assert run_launcher("status", port=port, timeout=30).returncode == 3


def test_launcher_start__already_running__returns_the_same_url(emulator):
    result = run_launcher("start", port=emulator.port, timeout=30)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == emulator.url


def test_launcher_status__running__lists_the_extensions(emulator):
    result = run_launcher("status", port=emulator.port, timeout=30)

    assert result.returncode == 0, result.stderr
    assert "state:  running" in result.stdout
    for extension in ("AWS::RDS::DBCluster", "AWS::SecretsManager::Secret", "AWS::DMS::ReplicationInstance",
                      "AWS::Backup::BackupVault", "AWS::CloudWatch::Alarm"):
        assert extension in result.stdout


def test_launcher_status__nothing_running__exits_3():
    result = run_launcher("status", port=free_port(), timeout=30)

    assert result.returncode == 3
    assert "not running" in result.stdout


def test_launcher_stop__nothing_running__succeeds_quietly():
    result = run_launcher("stop", port=free_port(), timeout=30)

    assert result.returncode == 0
    assert "no emulator" in result.stderr


def test_launcher_env__running__exports_the_deployers_keys_for_boto3_and_sceptre(emulator):
    result = run_launcher("env", port=emulator.port, timeout=30)

    assert result.returncode == 0, result.stderr
    exports = dict(line[len("export "):].split("=", 1) for line in result.stdout.splitlines() if line.startswith("export "))
    keys = exports.pop("AWS_ACCESS_KEY_ID"), exports.pop("AWS_SECRET_ACCESS_KEY")
    assert exports == {"AWS_ENDPOINT_URL": emulator.url, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    assert [line for line in result.stdout.splitlines() if line.startswith("unset ")] == [
        "unset AWS_SESSION_TOKEN", "unset AWS_PROFILE"]
    deployer = boto3.session.Session(aws_access_key_id=keys[0], aws_secret_access_key=keys[1], region_name="us-east-1")
    identity = deployer.client("sts", endpoint_url=emulator.url).get_caller_identity()
    assert keys[0].startswith("AKIA")
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/emulator/emulator-deployer"


def test_launcher_env__nothing_running__says_to_start_it_first():
    port = free_port()
    result = run_launcher("env", port=port, timeout=30)

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"Start it first: EMULATOR_PORT={port} scripts/emulator start" in result.stderr


def test_launcher_status__running__says_iam_is_enforced(emulator):
    result = run_launcher("status", port=emulator.port, timeout=30)

    assert "iam:    enforced" in result.stdout


def test_server__fake_testing_keys__refused_as_unknown(emulator):
    fake = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")

    with pytest.raises(ClientError) as raised:
        fake.client("ssm", endpoint_url=emulator.url).get_parameter(Name="/anything")

    assert raised.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert "access key testing is not known to the emulator" in raised.value.response["Error"]["Message"]


def test_server__deployer_key_with_a_wrong_secret__signature_does_not_match(emulator):
    key = run_launcher("env", port=emulator.port, timeout=30).stdout.split("AWS_ACCESS_KEY_ID=", 1)[1].split()[0]
    forged = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key="x" * 40, region_name="us-east-1")

    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        forged.client("sts", endpoint_url=emulator.url).get_caller_identity()


def test_server_health__running__identifies_the_emulator_and_its_pid(emulator):
    with urllib.request.urlopen(emulator.url + "/__emulator/health", timeout=5) as response:
        health = json.loads(response.read())

    assert health["service"] == "bluegreen-emulator"
    assert health["port"] == emulator.port
    pid_file = Path(__file__).resolve().parents[2] / ".emulator" / f"emulator-{emulator.port}.pid"
    assert int(pid_file.read_text()) == health["pid"]


def test_server_socket__running__listens_on_loopback_only(emulator):
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs /proc/net/tcp (Linux)")
    listening = [
        line.split()[1]
        for line in table.read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == emulator.port
    ]

    assert listening == [f"0100007F:{emulator.port:04X}"]


def test_launcher_start__emulator_iam_off__requests_no_longer_checked(monkeypatch):
    monkeypatch.setenv("EMULATOR_IAM", "off")
    port = free_port()
    started = run_launcher("start", port=port)
    try:
        assert started.returncode == 0, started.stderr
        status = run_launcher("status", port=port, timeout=30)
        fake = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        with pytest.raises(ClientError) as raised:
            fake.client("ssm", endpoint_url=started.stdout.strip()).get_parameter(Name="/anything")
    finally:
        run_launcher("stop", port=port, timeout=60)
    assert "iam:    not enforced (EMULATOR_IAM=off)" in status.stdout
    assert raised.value.response["Error"]["Code"] == "ParameterNotFound"  # the service answered, not IAM


def test_launcher_start__emulator_iam_unknown_value__fails_naming_the_choices(monkeypatch):
    monkeypatch.setenv("EMULATOR_IAM", "maybe")

    result = run_launcher("start", port=free_port(), timeout=60)

    assert result.returncode == 2
    assert "EMULATOR_IAM='maybe': use 'enforce' (the default) or 'off'" in result.stderr
