"""The shared plumbing of the extension models (extensions/_base.py), without a server.

The checks are in extension_base_checks.py, run once with the emulator venv's python (the
project venv's moto cannot import moto.cloudformation); each is one test here.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).with_name("extension_base_checks.py")
NAMES = [node.name for node in ast.parse(CHECKS.read_text()).body if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")]

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def results() -> dict[str, str]:
    python = ROOT / ".venv-emulator" / "bin" / "python"
    if not python.exists():
        pytest.fail("the emulator venv is missing: run scripts/bootstrap")
    run = subprocess.run([str(python), str(CHECKS)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "emulator")},
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", NAMES)
def test_extension_base(results, name):
    assert results.get(name) == "ok", results.get(name, "not run")
