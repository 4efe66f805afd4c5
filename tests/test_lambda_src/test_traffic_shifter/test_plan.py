"""Plan validation and step kinds: pure, no AWS."""

from __future__ import annotations

import json

import pytest

from bluegreen import weights as sceptre_weights
from traffic_shifter import PlanError, Step, StepKind, StepKinds, WeightError, parse_green_weight, parse_plan, standard_kinds

from .world import PLAN


@pytest.fixture
def db_switchover_kind():
    """A stand-in for the database-switchover kind: the kinds a plan is parsed with, for one test only."""

    class DbSwitchover(StepKind):
        name = "db_switchover"
        fields = ("cluster_id",)
        required = ("cluster_id",)

        def validate(self, raw, where):
            if not isinstance(raw["cluster_id"], str) or not raw["cluster_id"]:
                raise PlanError(f"{where}: cluster_id must be a non-empty string")
            return None

    return StepKinds(DbSwitchover())


def test_parse_plan__example_plan__traffic_steps_in_order():
    plan = parse_plan(json.dumps(PLAN))

    assert [(s.index, s.kind, s.green_weight, s.bake_seconds) for s in plan.steps] == [
        (0, "traffic", 10, 300),
        (1, "traffic", 25, 300),
        (2, "traffic", 50, 600),
        (3, "traffic", 100, 0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, r"plan: parameter not found"),
        ("{not json", r"plan: not valid JSON"),
        ("[]", r"plan: expected a JSON object with a 'steps' list, got list"),
        ('{"steps": []}', r"plan: 'steps' must be a non-empty list, got \[\]"),
        ('{"stepz": []}', r"plan: unknown field\(s\) 'stepz' \(allowed: steps, description\)"),
        ('{"steps": [5]}', r"plan: step 1: expected an object, got 5"),
        ('{"steps": [{"green_weight": 100}]}', r"plan: step 1: missing field\(s\) 'bake_seconds'"),
        ('{"steps": [{"bake_seconds": 0}]}', r"plan: step 1: missing field\(s\) 'green_weight'"),
        ('{"steps": [{"green_weight": "100", "bake_seconds": 0}]}', r"step 1: green_weight must be an integer 0..100, got '100'"),
        ('{"steps": [{"green_weight": 100.0, "bake_seconds": 0}]}', r"step 1: green_weight must be an integer 0..100, got 100.0"),
        ('{"steps": [{"green_weight": true, "bake_seconds": 0}]}', r"step 1: green_weight must be an integer 0..100, got True"),
        ('{"steps": [{"green_weight": 101, "bake_seconds": 0}]}', r"step 1: green_weight must be an integer 0..100, got 101"),
        ('{"steps": [{"green_weight": -5, "bake_seconds": 0}]}', r"step 1: green_weight must be an integer 0..100, got -5"),
        ('{"steps": [{"green_weight": 100, "bake_seconds": -1}]}', r"step 1: bake_seconds must be an integer >= 0, got -1"),
        ('{"steps": [{"green_weight": 100, "bake_seconds": "60"}]}', r"step 1: bake_seconds must be an integer >= 0, got '60'"),
        ('{"steps": [{"green_weight": 100, "bake_seconds": 0, "bake": 5}]}', r"step 1: unknown field\(s\) 'bake' for kind 'traffic'"),
        (
            '{"steps": [{"green_weight": 50, "bake_seconds": 0}, {"green_weight": 25, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]}',
            r"green_weight must increase strictly from step to step; step 2 has 25 after 50 in step 1",
        ),
        (
            '{"steps": [{"green_weight": 50, "bake_seconds": 0}, {"green_weight": 50, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]}',
            r"step 2 has 50 after 50 in step 1",
        ),
        (
            '{"steps": [{"green_weight": 10, "bake_seconds": 0}, {"green_weight": 50, "bake_seconds": 0}]}',
            r"the last traffic step must have green_weight 100, step 2 has 50",
        ),
        ('{"steps": [{"kind": "dns_flip", "bake_seconds": 0}]}', r"step 1: unknown step kind 'dns_flip' \(known: db_switchover, traffic\)"),
    ],
)
def test_parse_plan__malformed__error_names_the_problem(text, message):
    with pytest.raises(PlanError, match=message):
        parse_plan(text, kinds=standard_kinds())


def test_parse_plan__error__names_the_parameter():
    with pytest.raises(PlanError, match=r"^/payments-migration/dev-d01/shift/plan: 'steps' must be a non-empty list"):
        parse_plan('{"steps": []}', "/payments-migration/dev-d01/shift/plan")


def test_step_kinds__new_kind__accepted_between_traffic_steps(db_switchover_kind):
    plan = parse_plan(
        json.dumps(
            {
                "steps": [
                    {"green_weight": 50, "bake_seconds": 600},
                    {"kind": "db_switchover", "cluster_id": "aurora-payments-dev-d01", "bake_seconds": 300},
                    {"green_weight": 100, "bake_seconds": 0},
                ]
            }
        ),
        kinds=db_switchover_kind,
    )

    assert plan.steps[1] == Step(index=1, kind="db_switchover", bake_seconds=300, green_weight=None)
    assert plan.steps[1].raw["cluster_id"] == "aurora-payments-dev-d01"


def test_step_kinds__new_kind_bad_field__its_own_error(db_switchover_kind):
    with pytest.raises(PlanError, match=r"plan: step 1: cluster_id must be a non-empty string"):
        parse_plan('{"steps": [{"kind": "db_switchover", "cluster_id": "", "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]}',
                   kinds=db_switchover_kind)


def test_parse_plan__only_non_traffic_steps__refused(db_switchover_kind):
    with pytest.raises(PlanError, match=r"no traffic step; the plan must end with green_weight 100"):
        parse_plan('{"steps": [{"kind": "db_switchover", "cluster_id": "c", "bake_seconds": 0}]}', kinds=db_switchover_kind)


def test_plan_weight_at__non_traffic_step__keeps_the_weight_before_it(db_switchover_kind):
    plan = parse_plan(
        '{"steps": [{"green_weight": 50, "bake_seconds": 0}, {"kind": "db_switchover", "cluster_id": "c", "bake_seconds": 0},'
        ' {"green_weight": 100, "bake_seconds": 0}]}',
        kinds=db_switchover_kind,
    )

    assert [plan.weight_at(i) for i in (-1, 0, 1, 2)] == [0, 50, 50, 100]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("10", 10), ("100", 100), (" 50\n", 50), ("050", 50)],
)
def test_parse_green_weight__valid__the_number(raw, expected):
    assert parse_green_weight(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "abc", "101", "-1", "1.5", "50%", "٣"])
def test_parse_green_weight__invalid__weight_error(raw):
    with pytest.raises(WeightError, match=r"green-weight: (parameter not found|.* is not a whole number from 0 to 100)"):
        parse_green_weight(raw)


@pytest.mark.parametrize("raw", ["0", "10", "100", " 50\n", "050", "", "abc", "101", "-1", "1.5", "50%", "٣", "+5"])
def test_parse_green_weight__any_value__same_answer_as_the_sceptre_side(raw):
    def answer(parse, error):
        try:
            return parse(raw)
        except error:
            return "refused"

    assert answer(parse_green_weight, WeightError) == answer(sceptre_weights.parse_green_weight, sceptre_weights.WeightError)
