from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import pytest

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
    with world_module.moto_world(monkeypatch) as world:
        world_module.deploy_function(world)
        yield world


class Run:
    """``bluegreen ...`` run in-process: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def invoke_in_process(session, function: str, payload: bytes, tail: bool) -> dict:
    """``lambda.invoke`` as the Lambda service answers it, with the deployed function's handler run here (moto
    cannot run a function without Docker): the function's own environment variables, its answer serialised
    as JSON (a value JSON cannot carry fails as it would in Lambda), an exception as ``FunctionError``."""
    from aws_lambda_powertools import Logger

    from traffic_shifter import handler
    from traffic_shifter.model import LOG_SERVICE

    config = session.client("lambda").get_function_configuration(FunctionName=function)
    variables = {**config["Environment"]["Variables"], "AWS_REGION": session.region_name, "AWS_DEFAULT_REGION": session.region_name}
    saved = dict(os.environ)
    log = io.StringIO()
    stream = Logger(service=LOG_SERVICE).registered_handler
    previous = stream.stream
    error = None
    try:
        os.environ.update(variables)
        handler.reset_shifter()
        stream.setStream(log)
        context = world_module.LambdaContext(function, invoked_function_arn=config["FunctionArn"], aws_request_id="cli-test")
        try:
            body = json.dumps(handler.lambda_handler(json.loads(payload), context))
        except Exception as err:  # noqa: BLE001 - the Lambda service turns any exception into FunctionError
            body, error = json.dumps({"errorType": type(err).__name__, "errorMessage": str(err)}), "Unhandled"
    finally:
        stream.setStream(previous)
        handler.reset_shifter()
        os.environ.clear()
        os.environ.update(saved)
    response = {"StatusCode": 200, "Payload": io.BytesIO(body.encode())}
    if error:
        response["FunctionError"] = error
    if tail:
        response["LogResult"] = base64.b64encode(log.getvalue()[-4096:].encode()).decode()
    return response


@pytest.fixture
def bluegreen():
    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF metrics, as the Lambda's log would have them
            code = cli.main(list(argv), session_factory=world_module.new_session, stdout=out, stderr=err, invoke=invoke_in_process)
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
