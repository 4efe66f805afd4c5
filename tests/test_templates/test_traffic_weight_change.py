"""A traffic shift changes the BlueWeight/GreenWeight parameter values and nothing else.

Read through Sceptre's own config reader on this project's config, with green_weight given
as a --var would give it: the template body, every other parameter, the hooks and the tags
are the same for any weight. Only the !traffic_weight resolvers are resolved (the others
would call AWS); the others are compared as the resolvers they are.
"""

from pathlib import Path

import pytest
from sceptre.context import SceptreContext
from sceptre.plan.plan import SceptrePlan
from sceptre.resolvers import Resolver

from bluegreen_resolvers.traffic_weight import TrafficWeight

ROOT = Path(__file__).resolve().parents[2]
#: The route53 group: the stacks that hold the weights.
STACKS = [f"{env}/route53/{stack}" for env in ("dev", "prod") for stack in ("listeners", "route53")]


def read(stack_name: str, green_weight: str):
    context = SceptreContext(project_path=str(ROOT), command_path=f"{stack_name}.yaml",
                             user_variables={"green_weight": green_weight})
    (stack,) = [s for s in SceptrePlan(context).graph if s.name == stack_name]
    parameters = {}
    # The raw container: reading stack.parameters would resolve every !stack_output against AWS.
    for key, value in stack.__dict__["_parameters"].items():
        if isinstance(value, TrafficWeight):
            parameters[key] = value.resolve()
        elif isinstance(value, Resolver):
            parameters[key] = repr(value)
        else:
            parameters[key] = value
    return {
        "body": stack.template.body,
        "parameters": parameters,
        "hooks": repr(stack.hooks),
        "tags": stack.tags,
    }


@pytest.mark.parametrize("stack_name", STACKS)
def test_weight_change__ten_to_sixty__only_weight_parameters_differ(stack_name):
    before, after = read(stack_name, "10"), read(stack_name, "60")
    assert after["body"] == before["body"]
    assert after["hooks"] == before["hooks"]
    assert after["tags"] == before["tags"]
    changed = {k for k in before["parameters"] if before["parameters"][k] != after["parameters"][k]}
    assert changed == {"BlueWeight", "GreenWeight"}
    assert (before["parameters"]["BlueWeight"], before["parameters"]["GreenWeight"]) == ("90", "10")
    assert (after["parameters"]["BlueWeight"], after["parameters"]["GreenWeight"]) == ("40", "60")


@pytest.mark.parametrize("stack_name", STACKS)
def test_stack_config__no_var__weights_read_from_the_ssm_parameter(stack_name):
    env = stack_name.split("/")[0]
    context = SceptreContext(project_path=str(ROOT), command_path=f"{stack_name}.yaml")
    (stack,) = [s for s in SceptrePlan(context).graph if s.name == stack_name]
    suffix = {"dev": "dev-d01", "prod": "prod-p01"}[env]
    for key in ("BlueWeight", "GreenWeight"):
        resolver = stack.__dict__["_parameters"][key]
        assert isinstance(resolver, TrafficWeight)
        assert repr(resolver._argument["green_weight"]) == f"!SSM(/payments-migration/{suffix}/traffic/green-weight)"


def referrers(template: dict, parameter: str) -> set[str]:
    """Logical IDs of the resources and outputs whose body refers to the parameter."""
    def refers(node) -> bool:
        if isinstance(node, dict):
            return node.get("Ref") == parameter or any(refers(v) for v in node.values())
        if isinstance(node, list):
            return any(refers(v) for v in node)
        return False
    sections = {**template.get("Resources", {}), **template.get("Outputs", {})}
    return {logical for logical, body in sections.items() if refers(body)}


@pytest.mark.parametrize("stack,users", [
    ("listeners", {"BlueHttpsListener", "GreenHttpsListener"}),
    ("route53", {"BlueRecord", "GreenRecord"}),
])
def test_weight_parameters__template__used_only_by_listener_or_records(load_template, stack, users):
    template = load_template(stack)
    assert referrers(template, "BlueWeight") | referrers(template, "GreenWeight") == users
