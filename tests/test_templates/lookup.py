"""Reading a rendered template the way the template tests do: by type, by logical ID, by Sid."""

from __future__ import annotations

from tests.test_templates.intrinsics import Evaluation


def of_type(resources: dict, rtype: str) -> dict[str, dict]:
    """The resources of one type, by logical ID (``resources``: a template's Resources or the template)."""
    resources = resources.get("Resources", resources)
    return {k: v for k, v in resources.items() if v["Type"] == rtype}


def props(resources: dict, logical: str) -> dict:
    return resources[logical]["Properties"]


def statements(document: dict) -> dict[str, dict]:
    """A policy document's statements by Sid."""
    return {s["Sid"]: s for s in document["Statement"]}


def holds(template: dict, expression: dict, **parameters) -> bool:
    """Whether a Rules expression is true for these parameter values, as CloudFormation decides it."""
    return Evaluation({**template, "Conditions": {"_": expression}}, **parameters).condition("_")
