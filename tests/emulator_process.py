"""Start and stop the local emulator from tests: a free loopback port and the launcher script.

The project venv cannot import moto's server dependencies, so tests run ``scripts/emulator``
(which uses .venv-emulator) in a subprocess. The emulator enforces IAM: clients sign as the
deployer it creates at start (``aws_env`` / ``session``, the keys ``scripts/emulator env`` prints).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "emulator"
if str(ROOT / "emulator") not in sys.path:
    sys.path.insert(0, str(ROOT / "emulator"))  # the launcher API is standard library only

from bluegreen_emulator import launcher  # noqa: E402 - after sys.path has the emulator's folder (its own venv's package)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_launcher(*args: str, port: int, timeout: float = 120, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMULATOR_PORT": str(port), **(extra_env or {})}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [str(LAUNCHER), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def aws_env(port: int) -> dict[str, str]:
    """AWS_ENDPOINT_URL and the deployer's keys of the emulator running on ``port``."""
    return launcher.env_vars(port)


def session(port: int, region: str = "us-east-1") -> Any:
    """A boto3 session signing as the deployer of the emulator on ``port`` (clients still need endpoint_url)."""
    import boto3

    env = aws_env(port)
    return boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                 region_name=region)


def start_with_databases(port: int, databases: Any) -> subprocess.CompletedProcess:
    """``scripts/emulator start`` with the stand-in databases (bluegreen.emulator_databases.StandIns)
    behind their clusters: what every launch of a whole environment needs, since the schema stack
    migrates a real database."""
    return run_launcher("start", port=port, extra_env={"EMULATOR_DB_ENDPOINTS": databases.setting})
