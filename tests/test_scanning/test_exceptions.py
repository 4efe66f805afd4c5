"""Suppressions: every one has a reason an auditor can accept, and the register is current."""

import pytest

from bluegreen import suppressions


@pytest.fixture(scope="module")
def committed():
    return suppressions.collect()


def test_exceptions__committed_templates__every_suppression_has_a_real_reason(committed):
    bad = suppressions.problems(committed)
    assert bad == [], "\n".join(bad)


def test_exceptions_doc__committed__equals_the_rendered_register(committed):
    assert suppressions.DOC.read_text() == suppressions.render(committed), "run: python -m bluegreen.suppressions"


@pytest.mark.parametrize("reason,expected", [
    ("", "no reason given"),
    ("false positive", "shorter than 20 characters"),
    ("TODO: explain why the bucket needs no logging", "is a placeholder"),
    ("tbd once the log archive account exists", "is a placeholder"),
    ("N/A", "shorter than 20 characters"),
    ("--------------------------", "is a placeholder"),
])
def test_reason_problem__unacceptable_reason__says_why(reason, expected):
    assert expected in suppressions.reason_problem(reason)


def test_reason_problem__a_real_reason__accepted():
    assert suppressions.reason_problem("The rule cannot resolve Ref; the parameter only admits ACM ARNs.") is None


def test_problems__guard_rule_without_reason__names_template_resource_and_rule():
    resource = {"Metadata": {"guard": {"SuppressedRules": ["S3_BUCKET_LOGGING_ENABLED"]}}}
    found = suppressions.from_resource("artifacts", "AccessLogBucket", resource)
    assert suppressions.problems(found) == [
        "templates/artifacts.json AccessLogBucket guard S3_BUCKET_LOGGING_ENABLED: no reason given"]


def test_problems__guard_reason_under_another_key__points_to_reasons():
    resource = {"Metadata": {"guard": {"SuppressedRules": ["R1"], "Comments": {"R1": "a long enough explanation"}}}}
    (problem,) = suppressions.problems(suppressions.from_resource("network", "Route", resource))
    assert problem.endswith("no reason given (text found under guard.Comments; the convention is guard.Reasons)")


def test_problems__checkov_skip_without_comment__reported():
    resource = {"Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18"}]}}}
    assert suppressions.problems(suppressions.from_resource("alb", "Logs", resource)) == [
        "templates/alb.json Logs checkov CKV_AWS_18: no reason given"]


def test_problems__reason_for_a_rule_not_suppressed__reported_as_stale():
    resource = {"Metadata": {"guard": {"SuppressedRules": [], "Reasons": {"R2": "a reason for nothing at all"}}}}
    assert suppressions.problems(suppressions.from_resource("dns", "Zone", resource)) == [
        "templates/dns.json Zone guard R2 (not in SuppressedRules): no reason given"]


def test_collect__cfn_nag_suppression__collected_with_its_reason(tmp_path):
    (tmp_path / "x.json").write_text('{"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Metadata": '
                                     '{"cfn_nag": {"rules_to_suppress": [{"id": "W86", "reason": "why not"}]}}}}}')
    assert suppressions.collect(tmp_path) == [suppressions.Suppression("x", "G", "cfn_nag", "W86", "why not")]
