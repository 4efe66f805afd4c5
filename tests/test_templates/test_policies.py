"""Every resource of every template in templates/ against the project rules (policy.py)."""

import pytest
from cfnlint.api import ManualArgs, lint_file

from bluegreen import render
from tests.test_templates import policy

TEMPLATES = policy.template_paths()
RESOURCES = [
    pytest.param(path, logical, body, id=f"{path.stem}:{logical}")
    for path in TEMPLATES
    for logical, body in policy.resources(path)
]

#: Resources whose type takes tags (per cfn-lint's schemas); the others have nothing to check.
TAGGABLE = [p for p in RESOURCES if policy.taggable(p.values[2]["Type"])]


def test_templates__exist__at_least_security():
    assert "security" in {p.stem for p in TEMPLATES}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_cfn_lint__template__no_errors_or_warnings(path):
    # Informational rules stay off here; scripts/test runs the CLI with the security extras too.
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_identity_parameters__template__declared_with_constraints(path):
    params = policy.load(path).get("Parameters", {})
    for key in ("Environment", "EnvironmentSuffix", "Project", "CostCenter"):
        assert key in params, f"{path.name} lacks parameter {key}"
    assert params["EnvironmentSuffix"]["AllowedPattern"] == "^[a-z0-9]{2,8}$"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_parameters__every_parameter__has_type_and_description(path):
    for key, param in policy.load(path).get("Parameters", {}).items():
        assert param.get("Type") and param.get("Description"), f"{path.name}:{key}"


@pytest.mark.parametrize("path,logical,resource", RESOURCES)
def test_naming__resource__carries_environment_and_suffix(path, logical, resource):
    assert policy.naming_problem(resource["Type"], resource.get("Properties", {})) is None, \
        policy.naming_problem(resource["Type"], resource.get("Properties", {}))


@pytest.mark.parametrize("path,logical,resource", TAGGABLE)
def test_tags__taggable_resource__has_environment_project_costcenter(path, logical, resource):
    tags = policy.tag_values(resource.get("Properties", {}))
    missing = [k for k in policy.REQUIRED_TAGS if k not in tags]
    assert not missing, f"missing tags {missing}"
    for key in policy.REQUIRED_TAGS:
        assert tags[key] == {"Ref": key}, f"tag {key} must be Ref {key}, got {tags[key]!r}"


@pytest.mark.parametrize("path,logical,resource", RESOURCES)
def test_encryption__data_at_rest__uses_our_kms_key(path, logical, resource):
    problem = policy.encryption_problem(resource["Type"], resource.get("Properties", {}))
    assert problem is None, problem


@pytest.mark.parametrize("path,logical,resource", RESOURCES)
def test_deletion_policy__resource__never_retains_and_stateful_says_delete(path, logical, resource):
    problem = policy.deletion_problem(resource["Type"], resource)
    assert problem is None, problem


def test_golden__committed_json__equals_rendered_handlers():
    stale = [h.stem for h in render.handlers() if h.with_suffix(".json").read_text() != render.render(h)]
    assert stale == [], f"run: python -m bluegreen.render  (stale: {stale})"


def test_golden__every_json_template__has_a_handler_or_is_hand_written():
    handlers = {h.stem for h in render.handlers()}
    hand_written = {p.stem for p in TEMPLATES} - handlers
    # Hand-written JSON is allowed, but must be declared so a forgotten handler is noticed.
    assert hand_written <= policy.HAND_WRITTEN, f"undeclared JSON without handler: {hand_written - policy.HAND_WRITTEN}"
