"""Scanner runs shared by the scanning tests.

Each scanner runs once per test module over the committed templates/ (checkov alone takes
seconds per run); the tests then read the one result.

The PCI DSS Guard rule set is not part of the repository: its folder (pci_guard.sh, the
registry's mapping and rules/) is PCI_GUARD_RULES, by default ../shared/pci-guard beside the
repository, as bluegreen.scan finds it. Without it the tests that run the rules skip, saying how to
get them; under BLUEGREEN_REQUIRE_ALL=1 (.ci/run, whose clone has shared/ beside it) they fail instead.
"""

import json

import pytest

from bluegreen import scan
from tests.conftest import unavailable

#: What the folder holds: the runner, the rule set's mapping, and the rules the mapping names.
PCI_GUARD_FILES = ("pci_guard.sh", "rule_set_pci_dss_3_2_1.json", "rules")
#: The AWS Guard Rules Registry commit the rule set was copied from (shared/pci-guard/README.md).
REGISTRY_COMMIT = "7f7340c26ae5d5e8874651dbffeb12e0e9f505b6"
HOW_TO_GET = (
    f"set {scan.PCI_GUARD_RULES} to the rule set's folder ({', '.join(PCI_GUARD_FILES)}/): the team's "
    "shared/pci-guard, whose README.md lists what it took from the AWS Guard Rules Registry "
    f"(github.com/aws-cloudformation/aws-guard-rules-registry, commit {REGISTRY_COMMIT}: the PCI DSS "
    "3.2.1 mapping and the rules/aws/**/*.guard files it names)"
)


@pytest.fixture(scope="module")
def pci_guard_rules():
    """The rule set's folder bluegreen.scan will run (PCI_GUARD_RULES, else ../shared/pci-guard)."""
    folder = scan.pci_guard_folder()
    missing = [f for f in PCI_GUARD_FILES if not (folder / f).exists()]
    if missing:
        what = f"{folder} lacks {', '.join(missing)}" if folder.is_dir() else f"no folder {folder}"
        unavailable(f"PCI DSS Guard rules not found ({what}): {HOW_TO_GET}")
    return folder


#: A bucket with nothing an auditor asks for: no encryption, versioning, logging or public
#: access block. Every scanner must report it, or the harness is not scanning at all.
BARE_BUCKET_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Bare": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "bare-${AWS::AccountId}"}},
        },
        # A queue deletes messages after a default period and says nothing of its deletion policy.
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Grant": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::bare-123456789012/*"},
            }, {
                "Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sqs:eu-west-1:${AWS::AccountId}:queue"},
            }, {
                "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:123456789012:key/k"},
            }]}},
        },
    },
}


@pytest.fixture(scope="module")
def bare_templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare-templates")
    (folder / "bare.json").write_text(json.dumps(BARE_BUCKET_TEMPLATE, indent=2))
    return folder


@pytest.fixture(scope="module")
def checkov_result():
    return scan.checkov()


@pytest.fixture(scope="module")
def cfn_lint_result():
    return scan.cfn_lint()


@pytest.fixture(scope="module")
def pci_guard_result(pci_guard_rules):
    return scan.pci_guard()


@pytest.fixture
def stand_in_rules(tmp_path):
    """A rule set folder whose pci_guard.sh exists, for the tests whose runner is faked: they need no
    real rule set."""
    folder = tmp_path / "pci-guard"
    folder.mkdir()
    (folder / "pci_guard.sh").write_text("exit 99\n")
    return folder


@pytest.fixture(scope="module")
def pci_rows():
    """(requirement, control, [cited node ids]) for each row of the docs/pci-dss.md table."""
    from tests.test_scanning import pci_doc
    return pci_doc.rows(pci_doc.DOC.read_text())
