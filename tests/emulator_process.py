"""Start and stop the local emulator from tests: a free loopback port and the launcher script.

The project venv cannot import moto's server dependencies, so tests run ``scripts/emulator``
(which uses .venv-emulator) in a subprocess.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "emulator"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_launcher(*args: str, port: int, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMULATOR_PORT": str(port)}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [str(LAUNCHER), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
