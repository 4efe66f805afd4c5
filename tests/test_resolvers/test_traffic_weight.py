"""``!traffic_weight`` and the green_weight rules of bluegreen.weights it applies.

The resolver runs on real Sceptre stack objects; the nested-resolver cases use Sceptre's own
``!environment_variable`` and sceptre-ssm-resolver's ``!ssm`` against moto; the CLI cases run
the real ``sceptre`` command on this project's config with the network refused.
"""

import re
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from resolver.ssm import SSM
from sceptre.cli import cli
from sceptre.exceptions import InvalidResolverArgumentError
from sceptre.resolvers.environment_variable import EnvironmentVariable

from bluegreen_resolvers.traffic_weight import TrafficWeight

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = r"sceptre --var green_weight=50 update dev/route53\b"


def weight(stack, colour, green_weight):
    return TrafficWeight({"colour": colour, "green_weight": green_weight}).clone_for_stack(stack).resolve()


@pytest.mark.parametrize("green_weight,blue,green", [
    (0, "100", "0"), (100, "0", "100"), ("0", "100", "0"), ("100", "0", "100"), ("10", "90", "10"),
    ("50", "50", "50"), (" 25\n", "75", "25"), ("007", "93", "7"),
])
def test_resolve__valid_green_weight__each_colour_gets_its_share(route53_stack, green_weight, blue, green):
    assert (weight(route53_stack, "blue", green_weight), weight(route53_stack, "green", green_weight)) == (blue, green)


@pytest.mark.parametrize("green_weight", [
    150, 101, 255, 256, -1, "150", "-1", "+5", 1.5, "1.5", "50.0", 50.0, "abc", "", "   ", "5 0", "1e2",
    "\u0663", None, True, [50], {"value": 50},
])
def test_setup__invalid_literal_green_weight__refused_with_how_to_pass_it(route53_stack, green_weight):
    message = (r"dev/route53/route53 - green_weight must be a whole number from 0 to 100 .*got "
               + re.escape(repr(green_weight)) + ".*" + HOW_TO)
    with pytest.raises(InvalidResolverArgumentError, match=message):
        TrafficWeight({"colour": "green", "green_weight": green_weight}).clone_for_stack(route53_stack)


def test_setup__invalid_green_weight__refused_before_resolve_is_called(route53_stack):
    resolver = TrafficWeight({"colour": "blue", "green_weight": "150"})
    with pytest.raises(InvalidResolverArgumentError, match=r"got '150'"):
        resolver.clone_for_stack(route53_stack)


@pytest.mark.parametrize("argument,message", [
    ({"colour": "red", "green_weight": "10"}, r"colour must be one of blue, green, got 'red'"),
    ({"green_weight": "10"}, r"takes a dict with exactly the keys colour, green_weight"),
    ({"colour": "green", "green_weight": "10", "extra": 1}, r"takes a dict with exactly the keys"),
    ("green=10", r"takes a dict .*got 'green=10'"),
    (None, r"takes a dict .*got None"),
])
def test_setup__malformed_argument__refused_with_expected_shape(route53_stack, argument, message):
    with pytest.raises(InvalidResolverArgumentError, match=message):
        TrafficWeight(argument).clone_for_stack(route53_stack)


def test_resolve__nested_resolver__value_checked_when_resolved(route53_stack, monkeypatch):
    monkeypatch.setenv("GREEN_WEIGHT", "30")
    resolver = TrafficWeight({"colour": "blue", "green_weight": EnvironmentVariable("GREEN_WEIGHT")})
    assert resolver.clone_for_stack(route53_stack).resolve() == "70"


def test_resolve__nested_resolver_bad_value__names_its_source(route53_stack, monkeypatch):
    monkeypatch.setenv("GREEN_WEIGHT", "130")
    resolver = TrafficWeight({"colour": "blue", "green_weight": EnvironmentVariable("GREEN_WEIGHT")})
    clone = resolver.clone_for_stack(route53_stack)  # nothing to check yet: the value is not known
    with pytest.raises(InvalidResolverArgumentError, match=r"got '130' \(from !EnvironmentVariable\(GREEN_WEIGHT\)\)"):
        clone.resolve()


def test_resolve__green_weight_from_ssm__read_through_the_ssm_resolver(route53_stack, aws_env):
    name = "/payments-migration/dev-d01/traffic/green-weight"
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value="25", Type="String")
        assert weight(route53_stack, "green", SSM(name)) == "25"
        assert weight(route53_stack, "blue", SSM(name)) == "75"


def test_resolve__ssm_holds_bad_value__refused_naming_the_parameter(route53_stack, aws_env):
    name = "/payments-migration/dev-d01/traffic/green-weight"
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value="1.5", Type="String")
        with pytest.raises(InvalidResolverArgumentError, match=rf"got '1.5' \(from !SSM\({name}\)\)"):
            weight(route53_stack, "green", SSM(name))


def run_sceptre(*args):
    return CliRunner().invoke(cli, ["--dir", str(ROOT), *args], catch_exceptions=False)


@pytest.mark.parametrize("command", [
    ["--var", "green_weight=150", "update", "-y", "dev/route53"],
    ["--var", "green_weight=150", "update", "-y", "dev/route53/listeners.yaml"],
    ["--var", "green_weight=abc", "launch", "-y", "dev/route53/route53.yaml"],
])
def test_cli__bad_green_weight__fails_with_message_before_any_aws_call(aws_env, network_attempts, command):
    result = run_sceptre(*command)
    assert result.exit_code == 1
    assert "green_weight must be a whole number from 0 to 100" in result.output
    assert "sceptre --var green_weight=50 update dev/route53" in result.output
    assert network_attempts == []


def test_cli__valid_green_weight__does_reach_for_aws(aws_env, network_attempts):
    # The control for the test above: with a good value Sceptre goes on to the stack outputs,
    # and the guard sees it try the network, so an empty list there means something.
    result = run_sceptre("--var", "green_weight=50", "update", "-y", "dev/route53")
    assert result.exit_code != 0
    assert network_attempts != []
