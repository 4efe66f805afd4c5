"""One source for the release: the image tags each colour runs are blue_image_tag/green_image_tag of
config/config.yaml. Through the change-set path (the variables bluegreen.change_sets passes: commit and
change_id) prod's compute and SSM copies resolve to exactly them, and in prod not even a --var moves them;
dev may still override with --var."""

from __future__ import annotations

from pathlib import Path

import pytest
from sceptre.context import SceptreContext
from sceptre.plan.plan import SceptrePlan

from bluegreen import change_sets

ROOT = Path(__file__).resolve().parents[2]

def _release_lines() -> dict[str, str]:
    """blue_image_tag/green_image_tag as written in config/config.yaml (the file, not Sceptre's reading of it)."""
    found = {}
    for line in (ROOT / "config" / "config.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("blue_image_tag", "green_image_tag"):
            found[key] = value.split("#")[0].strip().strip('"')
    return found


SHARED = _release_lines()
STACKS = ("compute/compute.yaml", "operations/parameters.yaml")
CHANGE_SET_VARIABLES = {"commit": "0" * 40, "change_id": "CHG-4711"}


def image_tags(env: str, stack: str, variables: dict[str, str]) -> tuple[str, str]:
    plan = SceptrePlan(SceptreContext(project_path=str(ROOT), command_path=f"{env}/{stack}", user_variables=variables))
    (found,) = [s for s in plan.graph if s.name == f"{env}/{stack.removesuffix('.yaml')}"]
    # The rendered stack config's values (plain strings; reading .parameters would resolve every !stack_output).
    rendered = vars(found)["_parameters"]
    return rendered["BlueImageTag"], rendered["GreenImageTag"]


@pytest.mark.parametrize("stack", STACKS)
def test_prod__change_set_path__the_committed_release(stack):
    assert image_tags("prod", stack, CHANGE_SET_VARIABLES) == (SHARED["blue_image_tag"], SHARED["green_image_tag"])


@pytest.mark.parametrize("stack", STACKS)
def test_prod__a_var_given__ignored_the_committed_release_runs(stack):
    variables = {**CHANGE_SET_VARIABLES, "blue_image_tag": "9.9.9", "green_image_tag": "9.9.8"}
    assert image_tags("prod", stack, variables) == (SHARED["blue_image_tag"], SHARED["green_image_tag"])


@pytest.mark.parametrize("stack", STACKS)
def test_dev__a_var_given__overrides_for_a_rehearsal(stack):
    assert image_tags("dev", stack, {"green_image_tag": "1.4.2"}) == (SHARED["blue_image_tag"], "1.4.2")


def test_change_set_command__takes_no_sceptre_variables():
    flags = {f for sub in ("create", "execute") for a in _sub(sub)._actions for f in a.option_strings}
    assert not {"--var", "--var-file"} & flags


def _sub(name: str):
    import argparse

    action = next(a for a in change_sets.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]
