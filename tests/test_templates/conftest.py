"""Fixtures the template tests share: the committed JSON of a stack, by name.

The committed templates/<stack>.json is what cfn-lint, checkov, cfn-guard and the nested
parent read; the golden test in test_policies.py keeps it equal to what the handler renders.
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


@pytest.fixture(scope="module")
def audit(load_template):
    return load_template("audit")


@pytest.fixture(scope="module")
def audit_resources(audit):
    return audit["Resources"]


@pytest.fixture(scope="module")
def database(load_template):
    return load_template("database")


@pytest.fixture(scope="module")
def dms(load_template):
    return load_template("dms")


@pytest.fixture(scope="module")
def backup(load_template):
    return load_template("backup")


@pytest.fixture(scope="module")
def monitoring(load_template):
    return load_template("monitoring")


@pytest.fixture(scope="module")
def automation(load_template):
    return load_template("automation")


@pytest.fixture(scope="module")
def network(load_template):
    return load_template("network")


@pytest.fixture(scope="module")
def artifacts(load_template):
    return load_template("artifacts")


@pytest.fixture(scope="module")
def parameters(load_template):
    return load_template("parameters")


@pytest.fixture(scope="module")
def dns(load_template):
    return load_template("dns")


@pytest.fixture(scope="module")
def alb(load_template):
    return load_template("alb")


@pytest.fixture(scope="module")
def compute(load_template):
    return load_template("compute")


@pytest.fixture(scope="module")
def route53(load_template):
    return load_template("route53")
