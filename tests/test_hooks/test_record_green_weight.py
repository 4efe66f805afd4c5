"""``!record_green_weight``: the green weight a stack applied goes back to SSM, and nothing else.

Real boto3 calls through Sceptre's connection manager, against the moto server (its
CloudFormation holds the deployed stack, its SSM the live parameter).
"""

import json

import pytest
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError

from bluegreen_hooks.record_green_weight import GreenWeightNotRecordedError, RecordGreenWeight
from tests.test_hooks.conftest import GREEN_WEIGHT_PARAMETER, ROUTE53_STACK, WEIGHTED_TEMPLATE


def hook(stack, **argument):
    return RecordGreenWeight({"parameter_name": GREEN_WEIGHT_PARAMETER, **argument}).clone_for_stack(stack)


def stored(ssm):
    parameter = ssm.get_parameter(Name=GREEN_WEIGHT_PARAMETER)["Parameter"]
    return parameter["Value"], parameter["Version"]


def test_run__stack_applied_new_weight__written_to_ssm(route53_stack, green_weight_parameter, deploy, ssm):
    assert deploy("30", blue="70") == "CREATE_COMPLETE"
    assert hook(route53_stack).run() == "30"
    assert stored(ssm) == ("30", 2)


def test_run__weight_changed_by_update__latest_applied_value_written(route53_stack, green_weight_parameter,
                                                                     deploy, ssm):
    deploy("30")
    assert deploy("60") == "UPDATE_COMPLETE"
    hook(route53_stack).run()
    assert stored(ssm)[0] == "60"


def test_run__ssm_already_holds_applied_weight__no_new_version(route53_stack, green_weight_parameter, deploy, ssm):
    deploy("10", blue="90")
    assert hook(route53_stack).run() is None
    assert stored(ssm) == ("10", 1)


def test_run__other_stack_parameter__that_value_recorded(route53_stack, green_weight_parameter, deploy, ssm):
    deploy("40", blue="60")
    # Recording BlueWeight is a mistake in config, but shows the argument is honoured.
    assert hook(route53_stack, stack_parameter="BlueWeight").run() == "60"


def test_run__stack_not_deployed_yet__nothing_written(route53_stack, green_weight_parameter, cloudformation, ssm):
    # A CREATE change set that was never executed: the stack exists only as a plan.
    cloudformation.create_change_set(
        StackName=ROUTE53_STACK, ChangeSetName="plan", ChangeSetType="CREATE",
        TemplateBody=json.dumps(WEIGHTED_TEMPLATE), Parameters=[
            {"ParameterKey": "BlueWeight", "ParameterValue": "20"},
            {"ParameterKey": "GreenWeight", "ParameterValue": "80"}])
    assert hook(route53_stack).run() is None
    assert stored(ssm) == ("10", 1)


def test_run__stack_missing__refused_naming_it(route53_stack, green_weight_parameter, cloudformation, ssm):
    with pytest.raises(GreenWeightNotRecordedError, match=rf"dev/route53/route53 - cannot read stack {ROUTE53_STACK}"):
        hook(route53_stack).run()
    assert stored(ssm) == ("10", 1)


def test_run__parameter_missing__refused_pointing_to_parameters_stack(route53_stack, deploy, ssm):
    deploy("30")
    with pytest.raises(GreenWeightNotRecordedError,
                       match=r"does not exist; launch the parameters stack first \(sceptre launch dev/operations/parameters.yaml\)"):
        hook(route53_stack).run()
    assert ssm.describe_parameters()["Parameters"] == []


def test_run__applied_value_not_a_green_weight__refused_ssm_unchanged(route53_stack, green_weight_parameter,
                                                                      deploy, ssm):
    deploy("150")  # an ALB weight can be up to 999, a green_weight only up to 100
    with pytest.raises(GreenWeightNotRecordedError, match=r"GreenWeight is '150', not a green_weight"):
        hook(route53_stack).run()
    assert stored(ssm) == ("10", 1)


def test_run__stack_without_that_parameter__refused_listing_its_parameters(route53_stack, green_weight_parameter,
                                                                           deploy):
    deploy("30")
    with pytest.raises(InvalidHookArgumentValueError, match=r"no parameter 'Weight' \(it has \['BlueWeight', 'GreenWeight'\]\)"):
        hook(route53_stack, stack_parameter="Weight").run()


@pytest.mark.parametrize("argument", [
    "/payments-migration/dev-d01/traffic/green-weight",
    {"stack_parameter": "GreenWeight"},
    {"parameter_name": GREEN_WEIGHT_PARAMETER, "colour": "green"},
    None,
])
def test_setup__malformed_argument__refused_with_expected_shape(route53_stack, argument):
    with pytest.raises(InvalidHookArgumentTypeError, match=r"takes a dict \{parameter_name: .*got "):
        RecordGreenWeight(argument).clone_for_stack(route53_stack)
