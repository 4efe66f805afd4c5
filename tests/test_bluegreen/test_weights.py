"""bluegreen.weights: the one number green_weight, and the limits of the ALB and Route 53."""

import re

import pytest

from bluegreen.weights import (
    ALB_WEIGHT_MAX,
    ROUTE53_WEIGHT_MAX,
    WeightError,
    check_pair,
    colour_weights,
    parse_green_weight,
    weight_for,
)


@pytest.mark.parametrize("value,expected", [(0, 0), (100, 100), ("0", 0), ("100", 100), (" 42 ", 42), ("42\n", 42)])
def test_parse_green_weight__whole_percent__accepted(value, expected):
    assert parse_green_weight(value) == expected


@pytest.mark.parametrize("value", [-1, 101, 150, 255, 256, "-1", "101", "1.5", 1.5, 100.0, "abc", "", " ", "0x10",
                                   "1_0", "\u0665", True, False, None])
def test_parse_green_weight__anything_else__refused_showing_the_value(value):
    with pytest.raises(WeightError, match=r"whole number from 0 to 100 .*got " + re.escape(repr(value))):
        parse_green_weight(value)


@pytest.mark.parametrize("green,expected", [(0, {"blue": 100, "green": 0}), (10, {"blue": 90, "green": 10}),
                                            (100, {"blue": 0, "green": 100})])
def test_colour_weights__green_weight__blue_gets_the_rest(green, expected):
    assert colour_weights(green) == expected


def test_weight_for__unknown_colour__refused():
    with pytest.raises(WeightError, match=r"colour must be one of blue, green, got 'teal'"):
        weight_for("teal", 10)


@pytest.mark.parametrize("blue,green,maximum", [(255, 0, ROUTE53_WEIGHT_MAX), (0, 255, ROUTE53_WEIGHT_MAX),
                                                (999, 1, ALB_WEIGHT_MAX), (90, 10, ROUTE53_WEIGHT_MAX)])
def test_check_pair__within_limit__returned(blue, green, maximum):
    assert check_pair(blue, green, maximum) == (blue, green)


@pytest.mark.parametrize("blue,green,maximum,message", [
    (256, 0, ROUTE53_WEIGHT_MAX, r"blue weight must be a whole number from 0 to 255, got 256"),
    (0, 1000, ALB_WEIGHT_MAX, r"green weight must be a whole number from 0 to 999, got 1000"),
    (-1, 10, ALB_WEIGHT_MAX, r"blue weight .* got -1"),
    (10, 1.5, ALB_WEIGHT_MAX, r"green weight .* got 1.5"),
    (0, 0, ALB_WEIGHT_MAX, r"cannot both be 0"),
])
def test_check_pair__outside_limit_or_both_zero__refused(blue, green, maximum, message):
    with pytest.raises(WeightError, match=message):
        check_pair(blue, green, maximum)


@pytest.mark.parametrize("green", range(101))
def test_colour_weights__every_percent__fits_alb_and_route53(green):
    weights = colour_weights(green)
    check_pair(weights["blue"], weights["green"], ROUTE53_WEIGHT_MAX)
    check_pair(weights["blue"], weights["green"], ALB_WEIGHT_MAX)
