from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest
from moto import mock_aws

from bluegreen import cli
from tests.conftest import offline_aws

# The moto world of the traffic-shifter tests (loaded by path: test folders are not packages of each other).
_WORLD_FILE = Path(__file__).resolve().parents[1] / "test_lambda_src" / "test_traffic_shifter" / "world.py"
_spec = importlib.util.spec_from_file_location("traffic_shifter_test_world", _WORLD_FILE)
world_module = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(world_module)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws_credentials(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    offline_aws(monkeypatch, region="eu-west-1")  # the CLI must use the config's region, not this
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture
def world(aws_credentials, monkeypatch):
    """The dev deployment in moto, with the traffic-shifter function the CLI reads its environment from."""
    world_module.enable_composite_alarms(monkeypatch)
    world_module.speed_up_sns(monkeypatch)
    with mock_aws():
        world = world_module.build_world()
        world_module.deploy_function(world)
        yield world


class Run:
    """``bluegreen ...`` run in-process: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def bluegreen():
    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), session_factory=world_module.new_session, stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def project(tmp_path):
    """A project folder with config/ written by the test: project(dev={...yaml text...})."""

    def make(**environments: str) -> Path:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.yaml").write_text("project_code: payments\nregion: us-east-1\n")
        for name, text in environments.items():
            (tmp_path / "config" / name).mkdir()
            (tmp_path / "config" / name / "config.yaml").write_text(text)
        return tmp_path

    return make
