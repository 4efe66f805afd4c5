"""The condition evaluator the template tests rely on (tests/test_templates/intrinsics.py)."""

import pytest

from tests.test_templates.intrinsics import Evaluation

TEMPLATE = {
    "Parameters": {
        "Mode": {"Type": "String", "Default": "a"},
        "Other": {"Type": "String"},
    },
    "Conditions": {
        "IsA": {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
        "NotA": {"Fn::Not": [{"Condition": "IsA"}]},
        "AAndOtherX": {"Fn::And": [{"Condition": "IsA"}, {"Fn::Equals": [{"Ref": "Other"}, "x"]}]},
    },
    "Resources": {
        "Always": {"Type": "T", "Properties": {"P": {"Fn::If": ["IsA", 1, {"Ref": "AWS::NoValue"}]}}},
        "OnlyWhenNotA": {"Type": "T", "Condition": "NotA", "Properties": {}},
    },
}


def test_evaluation__default_parameter__decides_fn_if():
    assert Evaluation(TEMPLATE).resources()["Always"]["Properties"] == {"P": 1}


def test_evaluation__no_value_branch__removes_the_property():
    assert Evaluation(TEMPLATE, Mode="b").resources()["Always"]["Properties"] == {}


@pytest.mark.parametrize("mode,present", [("a", False), ("b", True)])
def test_evaluation__conditional_resource__deployed_only_when_true(mode, present):
    assert ("OnlyWhenNotA" in Evaluation(TEMPLATE, Mode=mode).resources()) is present


def test_evaluation__unknown_parameter__raises():
    with pytest.raises(KeyError, match=r"not parameters of the template: \['Colour'\]"):
        Evaluation(TEMPLATE, Colour="blue")


def test_evaluation__parameter_without_value__raises():
    with pytest.raises(KeyError, match="parameter 'Other' has no value"):
        Evaluation(TEMPLATE).condition("AAndOtherX")
