"""Fixtures the template tests share: the committed JSON of a stack, by name.

The committed templates/<stack>.json is what cfn-lint, checkov, cfn-guard and the nested
parent read; the golden test in test_policies.py keeps it equal to what the handler renders.
Every stack is a module fixture of its own name (``def test_x(dms): ...``), and ``resources`` is
the Resources of the stack a test module is named after (test_dms.py: templates/dms.json).
"""

import json

import pytest

from tests.test_templates import policy


@pytest.fixture(scope="session")
def load_template():
    """Return a loader: load_template("audit") -> the parsed templates/audit.json."""
    def load(stack: str) -> dict:
        return json.loads((policy.TEMPLATES / f"{stack}.json").read_text())
    return load


def _stack_fixture(stack: str):
    @pytest.fixture(scope="module", name=stack)
    def template(load_template):
        return load_template(stack)
    return template


for _path in policy.template_paths():
    globals()[_path.stem] = _stack_fixture(_path.stem)


@pytest.fixture(scope="module")
def resources(request, load_template):
    stack = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return load_template(stack)["Resources"]


@pytest.fixture(scope="module")
def audit_resources(audit):
    return audit["Resources"]


@pytest.fixture(scope="module", params=("Blue", "Green"))
def edge(request):
    """Each ALB, as its logical IDs spell it (one ALB per colour)."""
    return request.param
