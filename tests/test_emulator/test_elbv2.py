"""extensions/elbv2.py: weighted forward config on a listener."""

from __future__ import annotations

import pytest

from .parts import alb_template

pytestmark = pytest.mark.emulator


def _weights(emulator, listener_arn: str) -> dict[str, int]:
    listener = emulator.client("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    groups = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    return {g["TargetGroupArn"]: g["Weight"] for g in groups}


def test_listener__weighted_forward_config__weights_in_elbv2_and_shift_updates_them(emulator, stacks):
    name = stacks.unique("alb")
    deployed = stacks.create(alb_template(blue=90, green=10), name=name)
    r = deployed.resources
    before = _weights(emulator, r["Listener"])

    updated = stacks.update(name, alb_template(blue=50, green=50))

    assert before == {r["Blue"]: 90, r["Green"]: 10}
    assert _weights(emulator, updated.resources["Listener"]) == {r["Blue"]: 50, r["Green"]: 50}
    assert deployed.outputs["ZoneId"] == "Z35SXDOTRQ7X7K"
    assert deployed.outputs["AlbFullName"].startswith("app/") and deployed.outputs["GreenFullName"].startswith("targetgroup/")
