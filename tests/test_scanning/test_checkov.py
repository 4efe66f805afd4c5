"""checkov over the committed templates: nothing fails, every template is read."""

from bluegreen import scan
from tests.test_templates import policy


def _report(result):
    return "\n".join(f.line() for f in result.findings) or result.error


def test_checkov__committed_templates__zero_failed_checks(checkov_result):
    assert checkov_result.error is None, checkov_result.error
    assert checkov_result.by_template() == {}, _report(checkov_result)


def test_checkov__committed_templates__every_template_evaluated(checkov_result):
    # A template checkov does not take for CloudFormation would pass by being ignored.
    expected = {p.stem for p in policy.template_paths() if policy.load(p).get("Resources")}
    assert expected - checkov_result.templates == set()


def test_checkov__bare_bucket__reported_by_template_rule_and_resource(bare_templates):
    result = scan.checkov(bare_templates)
    found = {(f.template, f.rule, f.resource) for f in result.findings}
    assert {("bare", "CKV_AWS_18", "Bare"), ("bare", "CKV_AWS_21", "Bare"), ("bare", "CKV_AWS_53", "Bare")} <= found
    assert not result.ok
