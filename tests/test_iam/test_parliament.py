"""parliament finds nothing in any policy document of any rendered template (tests/test_iam/parliament_scan.py)."""

import json

import pytest

from bluegreen import suppressions as exceptions
from tests.test_iam import documents, parliament_scan


@pytest.fixture(scope="module")
def docs():
    return documents.all_documents()


@pytest.fixture(scope="module")
def findings(docs):
    return parliament_scan.run(docs)


def _resource(doc):
    return json.loads((documents.TEMPLATES / f"{doc.template}.json").read_text())["Resources"][doc.resource]


def test_documents__every_template__every_policy_bearing_type_is_read():
    assert documents.unclassified_policy_properties() == []


def test_documents__every_template__finds_the_shifter_policy_and_both_kinds_of_others(docs):
    labels = {d.label for d in docs}
    assert {"automation.FunctionPolicy.PolicyDocument", "automation.FunctionRole.AssumeRolePolicyDocument",
            "security.OpsKey.KeyPolicy", "access.OperatorPolicy.PolicyDocument",
            "access.AuditorPolicy.PolicyDocument", "access.OperatorRole.AssumeRolePolicyDocument"} <= labels
    assert {parliament_scan.kind(d) for d in docs} == {"identity", "trust", "resource"}


def test_parliament__every_policy_document__no_finding_left(docs, findings):
    by_label = {d.label: d for d in docs}
    left = [f.line() for f in findings if not parliament_scan.accepted(by_label[f.label], f, _resource(by_label[f.label]))]
    assert left == [], "\n".join(left)


def test_parliament__suppressions__each_covers_a_finding(findings):
    assert parliament_scan.unused_ignores(findings) == []


def test_parliament__suppressions__each_has_a_reason_an_auditor_accepts(docs):
    bad = []
    for doc in {(d.template, d.resource): d for d in docs}.values():
        for ignore in parliament_scan.ignores(_resource(doc)):
            if problem := exceptions.reason_problem((ignore.get("reason") or "").strip()):
                bad.append(f"{doc.template}.{doc.resource} parliament {ignore.get('issue')}: {problem}")
    assert bad == []


def test_parliament__a_policy_an_auditor_would_refuse__is_reported():
    """The harness really scans: a wildcard admin grant, a misspelt action and a bad ARN are found."""
    def policy(resource, *statements):
        return documents.Document("x", resource, "AWS::IAM::ManagedPolicy", "PolicyDocument",
                                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]})
    bad = [policy("Admin", {"Action": "iam:*", "Resource": "*"}),
           policy("Typo", {"Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::bucket/*"}),
           policy("Arn", {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"})]
    issues = {(f.label, f.issue) for f in parliament_scan.run(bad)}
    assert {("x.Admin.PolicyDocument", "PRIVILEGE_ESCALATION"), ("x.Typo.PolicyDocument", "UNKNOWN_ACTION"),
            ("x.Arn.PolicyDocument", "RESOURCE_MISMATCH")} <= issues


@pytest.mark.parametrize("action,issues", [("sts:AssumeRole", []), ("sts:AssumeRol", ["UNKNOWN_ACTION"])])
def test_parliament__trust_policy__analysed_with_its_role_as_resource(action, issues):
    trust = documents.Document("x", "Role", "AWS::IAM::Role", "AssumeRolePolicyDocument", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": action}]})
    assert [f.issue for f in parliament_scan.run([trust])] == issues


@pytest.mark.parametrize("ignore,covered", [
    ({"issue": "RESOURCE_STAR"}, True),
    ({"issue": "RESOURCE_STAR", "actions": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]}, True),
    ({"issue": "RESOURCE_STAR", "actions": ["ec2:CreateNetworkInterface"]}, False),
    ({"issue": "RESOURCE_MISMATCH"}, False),
])
def test_accepted__metadata_ignore__covers_only_its_issue_and_actions(ignore, covered):
    doc = documents.Document("x", "P", "AWS::IAM::ManagedPolicy", "PolicyDocument", {})
    finding = parliament_scan.Finding("x.P.PolicyDocument", "RESOURCE_STAR", "LOW", "[]",
                                      frozenset({"ec2:createnetworkinterface", "ec2:deletenetworkinterface"}))
    assert parliament_scan.accepted(doc, finding, {"Metadata": {"parliament": {"ignore": [ignore]}}}) is covered
