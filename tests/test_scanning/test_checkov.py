"""checkov over the committed templates: nothing fails, every template is read."""

from bluegreen import scan


def _report(result):
    return "\n".join(f.line() for f in result.findings) or result.error


def test_checkov__committed_templates__zero_failed_checks(checkov_result):
    assert checkov_result.error is None, checkov_result.error
    assert checkov_result.by_template() == {}, _report(checkov_result)


def test_checkov__unparsable_template__reported_as_a_finding(tmp_path):
    # A template checkov cannot read must fail the scan, not drop out of it unnoticed.
    (tmp_path / "broken.json").write_text('{"Resources": {"B": {"Type": "AWS::S3::Bucket", ')
    result = scan.checkov(tmp_path)
    assert [(f.template, f.rule) for f in result.findings] == [("broken", "PARSING_ERROR")]


def test_checkov__bare_bucket__reported_by_template_rule_and_resource(bare_templates):
    result = scan.checkov(bare_templates)
    found = {(f.template, f.rule, f.resource) for f in result.findings}
    assert {("bare", "CKV_AWS_18", "Bare"), ("bare", "CKV_AWS_21", "Bare"), ("bare", "CKV_AWS_53", "Bare")} <= found
    assert not result.ok
