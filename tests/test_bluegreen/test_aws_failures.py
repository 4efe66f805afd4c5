"""bluegreen.aws_failures: what the tools add to aws_errors' words (the emulator's how-to, the Sceptre side).

Real denials through each tool are in tests/test_iam/test_denials_named.py; here the parts no emulator
is needed for: an endpoint that does not answer, and that each hook's and resolver's message carries the
tag the user wrote in the stack config.
"""

from __future__ import annotations

import tomllib
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import EndpointConnectionError

from bluegreen.aws_failures import AwsCallFailed, describe, names_aws_failures, tag

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]


def test_describe__local_endpoint_not_answering__says_how_to_start_the_emulator():
    err = EndpointConnectionError(endpoint_url="http://127.0.0.1:5999/")

    assert describe(err, "http://127.0.0.1:5999") == (
        'no answer from the AWS endpoint: Could not connect to the endpoint URL: "http://127.0.0.1:5999/": the local AWS '
        "emulator is not running at http://127.0.0.1:5999: start it with `scripts/emulator start` (or unset "
        "AWS_ENDPOINT_URL to use AWS)")


def test_describe__aws_not_answering__no_emulator_hint():
    err = EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com/")

    assert "emulator" not in describe(err, "")


def test_names_aws_failures__hook_run_unreachable__sceptre_exception_with_stack_and_tag():
    class RecordGreenWeight:
        stack = SimpleNamespace(name="dev/route53/route53")

        @names_aws_failures
        def run(self):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:5999/")

    with pytest.raises(AwsCallFailed, match=r"^dev/route53/route53 - !record_green_weight: no answer from the AWS endpoint"):
        RecordGreenWeight().run()


@pytest.mark.parametrize("group,name", [(g, n) for g in ("sceptre.hooks", "sceptre.resolvers") for n in ENTRY_POINTS[g]])
def test_tag__every_registered_hook_and_resolver__its_yaml_tag(group, name):
    module, cls = ENTRY_POINTS[group][name].split(":")

    assert tag(getattr(import_module(module), cls).__new__(getattr(import_module(module), cls))) == name
