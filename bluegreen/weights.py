"""The one number that says how traffic is split: ``green_weight``, the percent for green.

Blue gets ``100 - green_weight``. Sceptre (the ``!traffic_weight`` resolver and the
``!record_green_weight`` hook) and the traffic-shift Lambda all go through these functions,
so a value that one side accepts the other side accepts too.

The targets have their own limits: an ALB forward action takes weights 0..999 per target
group, a Route 53 weighted record 0..255. Percentages fit both, and ``check_pair`` says so
explicitly for any pair that reaches a template, including "not both zero" (both zero would
send nothing anywhere on the ALB, and make Route 53 treat the records as equal).
"""

from __future__ import annotations

# The Lambda zip does not carry this package, so the rule lives with the Lambda's code (model.py
# imports nothing heavier than the standard library) and this side words its own refusal around it.
from traffic_shifter.model import COLOURS, GREEN_WEIGHT_MAX, GREEN_WEIGHT_MIN, green_percent

#: Largest weight per target group in an ALB forward action.
ALB_WEIGHT_MAX = 999
#: Largest weight of a Route 53 weighted record.
ROUTE53_WEIGHT_MAX = 255

HOW_TO_PASS = "sceptre --var green_weight=50 update dev/route53"



class WeightError(ValueError):
    """A traffic weight that cannot be applied; the message says what was expected."""


def parse_green_weight(value: object) -> int:
    """``value`` as a whole percent 0..100 (an int, or ASCII digits with surrounding whitespace ignored),
    or WeightError; the rule is traffic_shifter.model.green_percent, the one the Lambda applies."""
    number = green_percent(value)
    if number is None:
        raise WeightError(_expected(value))
    return number


def _expected(value: object) -> str:
    return (
        f"green_weight must be a whole number from {GREEN_WEIGHT_MIN} to {GREEN_WEIGHT_MAX} "
        f"(the percent of traffic for green; blue gets the rest), got {value!r}"
    )


def colour_weights(green_weight: object) -> dict[str, int]:
    """``{"blue": 100 - g, "green": g}`` for a valid green_weight."""
    green = parse_green_weight(green_weight)
    return {"blue": GREEN_WEIGHT_MAX - green, "green": green}


def weight_for(colour: str, green_weight: object) -> int:
    """The weight of one colour for a given green_weight."""
    if colour not in COLOURS:
        raise WeightError(f"colour must be one of {', '.join(COLOURS)}, got {colour!r}")
    return colour_weights(green_weight)[colour]


def check_pair(blue: int, green: int, maximum: int) -> tuple[int, int]:
    """Validate a blue/green pair against a target's limit (ALB_WEIGHT_MAX or ROUTE53_WEIGHT_MAX)."""
    for colour, weight in (("blue", blue), ("green", green)):
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= maximum:
            raise WeightError(f"{colour} weight must be a whole number from 0 to {maximum}, got {weight!r}")
    if blue == 0 and green == 0:
        raise WeightError("blue and green weights cannot both be 0: one colour must receive the traffic")
    return blue, green
