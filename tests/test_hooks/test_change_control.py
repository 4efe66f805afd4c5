"""``!change_control``: a plain ``sceptre launch``/``update`` of a prod stack is refused (only a reviewed change
set changes one: python -m bluegreen.change_sets); dev is unaffected; the change-set hook points never run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sceptre.context import SceptreContext
from sceptre.plan.plan import SceptrePlan

from bluegreen import change_sets
from bluegreen_hooks.change_control import ChangeControl, ChangeOutsideChangeSetError

ROOT = Path(__file__).resolve().parents[2]
DIRECT = ("before_launch", "before_create", "before_update")
CHANGE_SET = ("before_create_change_set",)


def stacks(environment: str):
    return SceptrePlan(SceptreContext(project_path=str(ROOT), command_path=environment)).command_stacks


def change_controls(stack, point: str) -> list[ChangeControl]:
    return [h for h in stack.hooks.get(point) or [] if isinstance(h, ChangeControl)]


@pytest.mark.parametrize("environment", ["prod", "nested-prod"])
def test_every_prod_stack__launch_create_update__refused_naming_the_change_set_command(environment):
    found = stacks(environment)
    assert found
    for stack in found:
        for point in DIRECT:
            [hook] = change_controls(stack, point)
            with pytest.raises(ChangeOutsideChangeSetError) as refused:
                hook.run()
            assert f"{stack.name}: prod stacks change only through a reviewed change set" in str(refused.value)
            assert "python -m bluegreen.change_sets create --env prod" in str(refused.value)
        for point in CHANGE_SET:
            assert change_controls(stack, point) == [], f"{stack.name} {point}: the reviewed path must pass"


def test_every_dev_stack__launch_create_update__the_hook_lets_it_through():
    for stack in stacks("dev"):
        for point in DIRECT:
            [hook] = change_controls(stack, point)
            hook.run()  # raises if it refused


def test_direct_change_refusal__change_controlled_environments_only():
    assert change_sets.CHANGE_CONTROLLED == ("prod",)
    assert change_sets.direct_change_refusal("dev", "dev/database/database") is None
    assert "--group database" in change_sets.direct_change_refusal("prod", "prod/database/database")


@pytest.mark.parametrize("argument", [None, "prod", {"environment": 1}])
def test_change_control__bad_argument__refused(argument):
    from sceptre.exceptions import InvalidHookArgumentTypeError

    with pytest.raises(InvalidHookArgumentTypeError):
        ChangeControl(argument).run()


@pytest.mark.parametrize("environment", ["prod", "nested-prod"])
def test_every_prod_stack__execute_change_set_outside_the_reviewed_execute__refused(environment, monkeypatch):
    for stack in stacks(environment):
        [hook] = change_controls(stack, "before_execute_change_set")
        with pytest.raises(ChangeOutsideChangeSetError, match="executed only by python -m bluegreen.change_sets execute"):
            hook.run()
        # What change_sets.execute sets around Sceptre's execute_change_set, once the review matched.
        monkeypatch.setattr(change_sets, "_executing_reviewed", True)
        hook.run()
        monkeypatch.setattr(change_sets, "_executing_reviewed", False)


def test_every_dev_stack__execute_change_set__let_through():
    for stack in stacks("dev"):
        [hook] = change_controls(stack, "before_execute_change_set")
        hook.run()
