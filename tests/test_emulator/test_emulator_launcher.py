"""scripts/emulator: start / status / env / stop, the port-taken error, loopback only."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

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


def test_launcher_env__port_override__prints_exports_for_boto3_and_sceptre():
    result = run_launcher("env", port=5123, timeout=30)

    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("export ")]
    assert lines == [
        "export AWS_ENDPOINT_URL=http://127.0.0.1:5123",
        "export AWS_ACCESS_KEY_ID=testing",
        "export AWS_SECRET_ACCESS_KEY=testing",
        "export AWS_DEFAULT_REGION=us-east-1",
        "export AWS_REGION=us-east-1",
    ]


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
