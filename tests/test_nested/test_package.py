"""bluegreen.package against moto: uploads, the packaged parent, the deployment and its errors."""

from __future__ import annotations

import hashlib
import json
import socket
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from bluegreen import lambda_zip, nested, package
from tests.test_nested.conftest import ROOT

BUCKET = "packages-123456789012-us-east-1"


def fake_build(name: str, *, root: Path = ROOT) -> lambda_zip.Package:
    """Stands in for lambda_zip.build: no pip, a distinct and stable payload per Lambda."""
    data = f"zip of {name}".encode()
    return lambda_zip.Package(name=name, data=data, sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture
def kms_key(aws):
    return aws.client("kms").create_key(Description="packaging")["KeyMetadata"]["Arn"]


@pytest.fixture
def bucket(aws, kms_key):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}}]})
    return BUCKET


@pytest.fixture
def packaged(aws, bucket, tmp_path):
    return package.package("prod", bucket, session=aws, output=tmp_path / "main.packaged.json", builder=fake_build,
                           out=lambda line: None)


def keys(aws, bucket=BUCKET) -> set[str]:
    return {o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}


def split(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    assert parsed.scheme == "https" and parsed.netloc.endswith(".s3.us-east-1.amazonaws.com"), url
    return parsed.netloc.split(".s3.")[0], parsed.path.lstrip("/")


# ------------------------------------------------------------------------------------ package
def test_package__kms_bucket__every_child_template_and_lambda_zip_uploaded(aws, packaged):
    parent = nested.generate("prod")
    expected = {package.template_key(Path(f).stem, (ROOT / "templates" / f).read_bytes())
                for f in parent.children.values()}
    expected |= {fake_build(name).key for name in parent.lambda_code.values()}
    assert expected <= keys(aws)
    assert keys(aws) - expected == {split(packaged.template_url)[1]}  # and the packaged parent itself


def test_package__packaged_template__each_template_url_holds_its_child(aws, packaged):
    s3 = aws.client("s3")
    for logical, filename in packaged.parent.children.items():
        bucket, key = split(packaged.template["Resources"][logical]["Properties"]["TemplateURL"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == (ROOT / "templates" / filename).read_bytes(), logical


def test_package__packaged_template__code_parameters_default_to_the_uploaded_zips(aws, packaged):
    params = packaged.template["Parameters"]
    for name, lambda_name in packaged.parent.lambda_code.items():
        assert params[name]["Default"] == fake_build(lambda_name).key
        assert params[name]["Default"] in keys(aws)
    assert params[nested.CODE_BUCKET]["Default"] == BUCKET


def test_package__output_file__the_packaged_template_and_its_upload(aws, packaged):
    written = packaged.output.read_bytes()
    assert json.loads(written) == packaged.template
    bucket, key = split(packaged.template_url)
    assert aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == written


def test_package__packaged_template__otherwise_the_committed_parent(packaged):
    committed = json.loads((ROOT / "templates" / "main.json").read_text())
    for logical in packaged.parent.children:
        packaged.template["Resources"][logical]["Properties"]["TemplateURL"] = \
            committed["Resources"][logical]["Properties"]["TemplateURL"]
    for name in packaged.parameters:
        del packaged.template["Parameters"][name]["Default"]
    assert packaged.template == committed


def test_package__objects__sse_kms_under_the_buckets_key(aws, packaged, kms_key):
    s3 = aws.client("s3")
    for key in keys(aws):
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms_key), key


def test_package__second_run__uploads_nothing(aws, bucket, packaged, tmp_path):
    again = package.package("prod", bucket, session=aws, output=tmp_path / "again.json", builder=fake_build,
                            out=lambda line: None)
    assert again.uploaded == [] and len(again.skipped) == len(packaged.uploaded)


def test_package__missing_bucket__raises_saying_so(aws, tmp_path):
    with pytest.raises(package.PackageError, match=r"bucket 'nowhere-bucket' does not exist"):
        package.package("prod", "nowhere-bucket", session=aws, output=tmp_path / "x.json", builder=fake_build)


def test_package__bucket_without_kms_key__refused(aws, tmp_path):
    aws.client("s3").create_bucket(Bucket="plain-bucket")
    with pytest.raises(package.PackageError, match=r"bucket 'plain-bucket' has no default SSE-KMS key"):
        package.package("prod", "plain-bucket", session=aws, output=tmp_path / "x.json", builder=fake_build)


def test_package__lambda_source_broken__raises_naming_it(aws, bucket, tmp_path):
    def broken(name, *, root):
        raise lambda_zip.LambdaSourceError("requirement must be pinned")
    with pytest.raises(package.PackageError, match=r"cannot build lambda_src/\w+: requirement must be pinned"):
        package.package("prod", bucket, session=aws, output=tmp_path / "x.json", builder=broken)


# ------------------------------------------------------------------------------------ preflight
def test_check_endpoint__nothing_listening__raises_naming_the_emulator():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(package.PackageError, match=rf"AWS_ENDPOINT_URL is http://127.0.0.1:{port} but nothing "
                                                       r"answers there.*scripts/emulator start"):
            package.check_endpoint({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}, timeout=1)


def test_check_endpoint__unset__no_check():
    assert package.check_endpoint({}) is None


def test_main__no_credentials__exit_1_with_a_message(capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    class NoCredentials:
        region_name = "us-east-1"

        def get_credentials(self):
            return None
    assert package.main(["--bucket", BUCKET], session_factory=NoCredentials) == 1
    assert "no AWS credentials: set AWS_PROFILE" in capsys.readouterr().err


def test_main__package_only__exit_0_and_the_parent_written(aws, bucket, tmp_path):
    output = tmp_path / "out.json"
    lines = []
    code = package.main(["--env", "dev", "--bucket", bucket, "--output", str(output)],
                        session_factory=lambda: aws, builder=fake_build, out=lines.append)
    assert code == 0
    assert json.loads(output.read_text())["Parameters"]["Environment"]["Default"] == "dev"
    assert f"wrote {output}" in lines


# ------------------------------------------------------------------------------------ deploy
class FakeCloudFormation:
    """CloudFormation as deploy() sees it (moto's CloudFormation does not import in this venv:
    sceptre's jsonschema pin). Operations finish on the second look, like the real service."""

    def __init__(self, status: str | None = None, finish: str = "COMPLETE", change_set_reason: str = ""):
        self.status = status
        self.finish = finish
        self.change_set_reason = change_set_reason
        self.calls: list[tuple[str, dict]] = []
        self.events: list[dict] = []
        self.pending: str | None = None

    def _event(self, logical: str, status: str, reason: str = "") -> None:
        self.events.insert(0, {"EventId": str(len(self.events)), "Timestamp": datetime.now(timezone.utc),
                               "LogicalResourceId": logical, "ResourceStatus": status,
                               "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatusReason": reason})

    def describe_stacks(self, StackName):
        if self.status is None:
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": f"Stack with id {StackName} does not exist"}}, "DescribeStacks")
        if self.pending:
            self.status, self.pending = self.pending, None
            self._event("demo", self.status)
        return {"Stacks": [{"StackName": StackName, "StackStatus": self.status}]}

    def create_change_set(self, **kwargs):
        self.calls.append(("create_change_set", kwargs))
        return {"Id": "arn:changeset/1"}

    def describe_change_set(self, ChangeSetName, StackName):
        if self.change_set_reason:
            return {"Status": "FAILED", "StatusReason": self.change_set_reason}
        return {"Status": "CREATE_COMPLETE", "Changes": [{"ResourceChange": {
            "Action": "Add", "LogicalResourceId": "NetworkStack", "ResourceType": "AWS::CloudFormation::Stack"}}]}

    def delete_change_set(self, **kwargs):
        self.calls.append(("delete_change_set", kwargs))

    def _start(self, verb: str) -> None:
        self.status = f"{verb}_IN_PROGRESS"
        self._event("NetworkStack", f"{verb}_IN_PROGRESS")
        self.pending = f"{verb}_{self.finish}" if self.finish == "COMPLETE" else self.finish

    def execute_change_set(self, **kwargs):
        self.calls.append(("execute_change_set", kwargs))
        kind = self.calls[0][1]["ChangeSetType"]
        self._start(kind)

    def create_stack(self, **kwargs):
        self.calls.append(("create_stack", kwargs))
        self._start("CREATE")

    def update_stack(self, **kwargs):
        self.calls.append(("update_stack", kwargs))
        self._start("UPDATE")

    def get_paginator(self, name):
        assert name == "describe_stack_events"
        fake = self

        class Pages:
            def paginate(self, StackName):
                return [{"StackEvents": list(fake.events)}]
        return Pages()

    def describe_stack_resources(self, StackName):
        return {"StackResources": []}


QUIET = dict(out=lambda line: None, sleep=lambda seconds: None)


def test_deploy__new_stack__create_change_set_with_nested_stacks_and_capabilities():
    cfn = FakeCloudFormation()
    assert package.deploy(cfn, "demo", "https://b.s3.us-east-1.amazonaws.com/k", {"GreenWeight": "0"},
                          {"Project": "x"}, **QUIET) == "CREATE_COMPLETE"
    (name, request), = [c for c in cfn.calls if c[0] == "create_change_set"]
    assert (request["ChangeSetType"], request["IncludeNestedStacks"]) == ("CREATE", True)
    assert set(request["Capabilities"]) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert request["Parameters"] == [{"ParameterKey": "GreenWeight", "ParameterValue": "0"}]
    assert request["Tags"] == [{"Key": "Project", "Value": "x"}]
    assert [c[0] for c in cfn.calls] == ["create_change_set", "execute_change_set"]


def test_deploy__existing_stack__update_change_set_and_events_printed():
    cfn = FakeCloudFormation(status="UPDATE_COMPLETE")
    lines = []
    status = package.deploy(cfn, "demo", "https://x", {}, {}, out=lines.append, sleep=lambda s: None)
    assert status == "UPDATE_COMPLETE"
    assert cfn.calls[0][1]["ChangeSetType"] == "UPDATE"
    assert any("Add" in line and "NetworkStack" in line for line in lines)  # the change set
    assert any("UPDATE_IN_PROGRESS" in line and "NetworkStack" in line for line in lines)  # the events


def test_deploy__review_only__change_set_not_executed():
    cfn = FakeCloudFormation(status="UPDATE_COMPLETE")
    assert package.deploy(cfn, "demo", "https://x", {}, {}, review_only=True, **QUIET) == "REVIEW"
    assert [c[0] for c in cfn.calls] == ["create_change_set"]


def test_deploy__no_changes__change_set_deleted_and_no_changes_returned():
    cfn = FakeCloudFormation(status="UPDATE_COMPLETE",
                             change_set_reason="The submitted information didn't contain changes.")
    assert package.deploy(cfn, "demo", "https://x", {}, {}, **QUIET) == "NO_CHANGES"
    assert [c[0] for c in cfn.calls] == ["create_change_set", "delete_change_set"]


def test_deploy__change_set_fails__raises_with_the_reason():
    cfn = FakeCloudFormation(status="UPDATE_COMPLETE", change_set_reason="Parameter GreenWeight failed to satisfy")
    with pytest.raises(package.PackageError, match=r"change set bluegreen-.* failed: Parameter GreenWeight"):
        package.deploy(cfn, "demo", "https://x", {}, {}, **QUIET)


def test_deploy__update_rolls_back__final_status_returned():
    cfn = FakeCloudFormation(status="UPDATE_COMPLETE", finish="UPDATE_ROLLBACK_COMPLETE")
    assert package.deploy(cfn, "demo", "https://x", {}, {}, **QUIET) == "UPDATE_ROLLBACK_COMPLETE"


def test_deploy__direct__create_stack_without_change_set():
    cfn = FakeCloudFormation()
    assert package.deploy(cfn, "demo", "https://x", {}, {}, direct=True, **QUIET) == "CREATE_COMPLETE"
    assert [c[0] for c in cfn.calls] == ["create_stack"]


@pytest.mark.parametrize("status,message", [
    ("ROLLBACK_COMPLETE", r"ROLLBACK_COMPLETE \(its creation failed\): delete it"),
    ("UPDATE_IN_PROGRESS", r"is UPDATE_IN_PROGRESS: wait until it settles"),
])
def test_deploy__stack_not_updatable__raises_saying_what_to_do(status, message):
    with pytest.raises(package.PackageError, match=message):
        package.deploy(FakeCloudFormation(status=status), "demo", "https://x", {}, {}, **QUIET)


# ------------------------------------------------------------------------------------ green weight
@pytest.fixture
def parent():
    return nested.generate("prod")


def test_choose_green_weight__value_in_ssm__used(aws, parent):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=parent.green_weight_sources[0], Value="25", Type="String")
    assert package.choose_green_weight(None, parent, ssm, stack={"StackStatus": "UPDATE_COMPLETE"}) == "25"


def test_choose_green_weight__requested__wins_over_ssm(aws, parent):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=parent.green_weight_sources[0], Value="25", Type="String")
    assert package.choose_green_weight("50", parent, ssm, stack=None) == "50"


def test_choose_green_weight__nothing_in_ssm_and_no_stack__all_blue(aws, parent):
    assert package.choose_green_weight(None, parent, aws.client("ssm"), stack=None) == "0"


def test_choose_green_weight__nothing_in_ssm_but_stack_exists__refuses_to_guess(aws, parent):
    with pytest.raises(package.PackageError, match=r"cannot tell the green_weight in force.*--green-weight"):
        package.choose_green_weight(None, parent, aws.client("ssm"), stack={"StackStatus": "UPDATE_COMPLETE"})


def test_choose_green_weight__bad_request__raises_with_the_rule(aws, parent):
    with pytest.raises(package.PackageError, match=r"--green-weight: green_weight must be a whole number from 0 to 100"):
        package.choose_green_weight("150", parent, aws.client("ssm"), stack=None)


def test_record_green_weight__ssm_differs__overwritten(aws, parent):
    ssm = aws.client("ssm")
    name = parent.green_weight_records[0]
    ssm.put_parameter(Name=name, Value="0", Type="String")
    package.record_green_weight(ssm, parent, "30", out=lambda line: None)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "30"


def test_record_green_weight__parameter_missing__warns_and_creates_nothing(aws, parent):
    lines = []
    ssm = aws.client("ssm")
    package.record_green_weight(ssm, parent, "30", out=lines.append)
    assert lines and lines[0].startswith("warning: SSM parameter")
    assert ssm.describe_parameters()["Parameters"] == []


# ------------------------------------------------------------------------------------ delete
def test_main__delete_prod_without_allow_prod__refused_before_any_call(capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    class Session:
        region_name = "us-east-1"

        def get_credentials(self):
            return object()

        def client(self, service):
            raise AssertionError(f"no {service} call may happen")
    assert package.main(["--env", "prod", "--delete"], session_factory=Session) == 1
    assert "refusing to delete a prod parent without --allow-prod" in capsys.readouterr().err


def test_main__no_bucket_without_delete__usage_error(capsys):
    with pytest.raises(SystemExit):
        package.main(["--env", "dev"])
    assert "--bucket is required (except with --delete)" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ overrides
def test_overrides__known_parameter__passed_as_given(packaged):
    assert package.overrides(["GreenImageTag=1.4.2"], packaged.template) == {"GreenImageTag": "1.4.2"}


@pytest.mark.parametrize("pair,message", [
    ("NoSuchThing=1", r"--parameter takes KEY=VALUE with KEY a parameter of the parent .*got 'NoSuchThing=1'"),
    ("GreenImageTag", r"got 'GreenImageTag'"),
    ("GreenWeight=50", r"--parameter GreenWeight: set by the package command itself \(use --green-weight\)"),
    ("TrafficShifterCodeKey=x", r"--parameter TrafficShifterCodeKey: set by the package command itself"),
])
def test_overrides__unknown_or_reserved__refused(packaged, pair, message):
    with pytest.raises(package.PackageError, match=message):
        package.overrides([pair], packaged.template)
