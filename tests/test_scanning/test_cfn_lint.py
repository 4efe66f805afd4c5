"""cfn-lint with the security extras of bluegreen.scan (informational rules, I3042 on region and account)."""

from bluegreen import scan


def test_cfn_lint__committed_templates_with_security_extras__zero_findings(cfn_lint_result):
    assert cfn_lint_result.error is None, cfn_lint_result.error
    assert [f.line() for f in cfn_lint_result.findings] == []


def test_cfn_lint__hard_coded_account_and_region_in_arn__reported(bare_templates):
    # I3042 checks only the partition unless the extras switch region and account on.
    messages = {f.message for f in scan.cfn_lint(bare_templates).findings if f.rule == "I3042"}
    assert "ARN in Resource Grant contains hardcoded AccountId in ARN or incorrectly placed Pseudo Parameters" in messages
    assert "ARN in Resource Grant contains hardcoded Region in ARN or incorrectly placed Pseudo Parameters" in messages


def test_cfn_lint__queue_without_deletion_policy_or_retention__reported(bare_templates):
    # Informational rules are off unless --include-checks I is given.
    found = {(f.rule, f.resource) for f in scan.cfn_lint(bare_templates).findings}
    assert {("I3011", "Queue"), ("I3013", "Queue")} <= found
