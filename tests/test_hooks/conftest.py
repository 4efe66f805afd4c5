"""Fixtures of the hook tests: Lambda sources on disk, an offline wheelhouse, moto S3."""

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests import lambda_sources


@pytest.fixture
def source_root(tmp_path):
    """A project root with ``lambda_src/demo/`` (no requirements)."""
    root = tmp_path / "project"
    lambda_sources.write_source(root)
    return root


@pytest.fixture
def wheelhouse(tmp_path):
    lambda_sources.write_wheel(tmp_path / "wheels")
    return tmp_path / "wheels"


@pytest.fixture
def builder(tmp_path, wheelhouse):
    """``lambda_zip.build`` with a fresh cache and pip offline on ``wheelhouse``."""
    return lambda_sources.offline_builder(tmp_path / "cache", wheelhouse)


@pytest.fixture
def s3(aws):
    return aws.client("s3")


@pytest.fixture
def data_key_arn(aws):
    return aws.client("kms").create_key(Description="data key")["KeyMetadata"]["Arn"]


@pytest.fixture
def kms_bucket(s3, data_key_arn):
    """An artifacts-like bucket whose default encryption is SSE-KMS with our key."""
    s3.create_bucket(Bucket="s3-artifacts-dev-d01")
    s3.put_bucket_encryption(
        Bucket="s3-artifacts-dev-d01",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": data_key_arn}, "BucketKeyEnabled": True}]},
    )
    return "s3-artifacts-dev-d01"


@pytest.fixture
def sse_s3_bucket(s3):
    """A bucket encrypted with S3-managed keys only."""
    s3.create_bucket(Bucket="s3-plain-dev-d01")
    s3.put_bucket_encryption(
        Bucket="s3-plain-dev-d01",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    return "s3-plain-dev-d01"


# ---------------------------------------------------------------- empty_bucket
ARTIFACTS_STACK = "payments-dev-operations-artifacts"
#: A stand-in for templates/artifacts.json: two buckets and the two outputs the hook reads.
ARTIFACTS_TEMPLATE = {
    "Resources": {
        "ArtifactBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "s3-artifacts-dev-d01"}},
        "AccessLogBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "s3-access-logs-dev-d01"}},
    },
    "Outputs": {
        "ArtifactBucketName": {"Value": {"Ref": "ArtifactBucket"}},
        "AccessLogBucketName": {"Value": {"Ref": "AccessLogBucket"}},
    },
}
#: moto's CloudFormation imports every service model, and the API Gateway one needs
#: openapi-spec-validator (jsonschema 4), which cannot live beside sceptre's jsonschema 3.2 in
#: .venv. So stack tests talk to a moto server run from the emulator venv instead.
MOTO_SERVER = Path(__file__).resolve().parents[2] / ".venv-emulator" / "bin" / "moto_server"


def fill_versioned(s3, bucket, keys=("a.zip", "b.zip", "c.zip")):
    """Two versions of every key and a delete marker on the first: 2 * len(keys) + 1 entries."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"v1")
        s3.put_object(Bucket=bucket, Key=key, Body=b"v2")
    s3.delete_object(Bucket=bucket, Key=keys[0])
    return 2 * len(keys) + 1


@pytest.fixture
def versioned_bucket(s3):
    s3.create_bucket(Bucket="s3-versioned-dev-d01")
    return "s3-versioned-dev-d01", fill_versioned(s3, "s3-versioned-dev-d01")


@pytest.fixture(scope="session")
def moto_server():
    """URL of a moto server on a free local port, for the session."""
    if not MOTO_SERVER.exists():
        pytest.skip(f"{MOTO_SERVER} is missing: run scripts/bootstrap")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server_aws(moto_server, monkeypatch):
    """A boto3 session whose every client (Sceptre's too) talks to the moto server, reset first."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", method="POST"), timeout=10).close()
    return boto3.Session(region_name="us-east-1")


@pytest.fixture
def artifacts_stack(server_aws):
    """The artifacts stack on the moto server, its buckets holding versions; {output: bucket}."""
    server_aws.client("cloudformation").create_stack(
        StackName=ARTIFACTS_STACK, TemplateBody=json.dumps(ARTIFACTS_TEMPLATE))
    names = {"ArtifactBucketName": "s3-artifacts-dev-d01", "AccessLogBucketName": "s3-access-logs-dev-d01"}
    s3 = server_aws.client("s3")
    for bucket in names.values():
        fill_versioned(s3, bucket)
    return names


# ---------------------------------------------------------------- record_green_weight
GREEN_WEIGHT_PARAMETER = "/payments-migration/dev-d01/traffic/green-weight"
ROUTE53_STACK = "payments-dev-route53-route53"
#: A stand-in for templates/route53.json: the weight parameters are all the hook reads.
WEIGHTED_TEMPLATE = {
    "Parameters": {"BlueWeight": {"Type": "Number"}, "GreenWeight": {"Type": "Number"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


@pytest.fixture
def cloudformation(server_aws):
    return server_aws.client("cloudformation")


@pytest.fixture
def ssm(server_aws):
    return server_aws.client("ssm")


@pytest.fixture
def green_weight_parameter(ssm):
    """The parameters stack's live green weight, currently 10."""
    ssm.put_parameter(Name=GREEN_WEIGHT_PARAMETER, Value="10", Type="String")
    return GREEN_WEIGHT_PARAMETER


@pytest.fixture
def deploy(cloudformation):
    """deploy(green) creates payments-dev-route53-route53, or updates it, with GreenWeight=green."""
    import json

    def run(green: str, blue: str = "0"):
        kwargs = {"StackName": ROUTE53_STACK, "TemplateBody": json.dumps(WEIGHTED_TEMPLATE), "Parameters": [
            {"ParameterKey": "BlueWeight", "ParameterValue": blue},
            {"ParameterKey": "GreenWeight", "ParameterValue": green}]}
        try:
            cloudformation.describe_stacks(StackName=ROUTE53_STACK)
        except cloudformation.exceptions.ClientError:
            cloudformation.create_stack(**kwargs)
        else:
            cloudformation.update_stack(**kwargs)
        return cloudformation.describe_stacks(StackName=ROUTE53_STACK)["Stacks"][0]["StackStatus"]
    return run
