"""Scanner runs shared by the scanning tests.

Each scanner runs once per test module over the committed templates/ (checkov alone takes
seconds per run); the tests then read the one result.
"""

import json

import pytest

from bluegreen import scan

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
def pci_guard_result():
    return scan.pci_guard()


@pytest.fixture(scope="module")
def pci_rows():
    """(requirement, control, [cited node ids]) for each row of the docs/pci-dss.md table."""
    from tests.test_scanning import pci_doc
    return pci_doc.rows(pci_doc.DOC.read_text())
