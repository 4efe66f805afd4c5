"""Lambda without Docker: handlers run in a subprocess; custom resources complete for real."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator

HANDLER = '''
import json, os, time
import boto3
import vendored_greeting  # shipped in the zip, like the project's vendored dependencies


def handler(event, context):
    if event.get("raise"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("import"):
        __import__(event["import"])
    boto3.client("ssm").put_parameter(Name=event["param"], Value="written by the handler", Type="String", Overwrite=True)
    return {
        "greeting": vendored_greeting.greet(os.environ["TARGET"]),
        "function": context.function_name,
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
    }
'''

PROVIDER = '''
import json, os, urllib.request
import boto3


def respond(event, status, reason="", data=None, physical_id=None):
    body = json.dumps({
        "Status": status, "Reason": reason,
        "PhysicalResourceId": physical_id or event.get("PhysicalResourceId") or event["LogicalResourceId"],
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()


def handler(event, context):
    props = event["ResourceProperties"]
    ssm = boto3.client("ssm")
    log = props["LogParameter"]
    previous = ssm.get_parameter(Name=log)["Parameter"]["Value"] if event["RequestType"] != "Create" else ""
    ssm.put_parameter(Name=log, Value=(previous + " " + event["RequestType"]).strip(), Type="String", Overwrite=True)
    if props.get("Fail") == "yes" and event["RequestType"] == "Create":
        return respond(event, "FAILED", reason="provider refused: Fail=yes")
    if event["RequestType"] == "Delete":
        return respond(event, "SUCCESS")
    old = event.get("OldResourceProperties", {}).get("Weight", "")
    respond(event, "SUCCESS", data={"Weight": props["Weight"], "Previous": old}, physical_id="shift-" + props["Name"])
'''


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def code_bucket(emulator):
    s3 = emulator.client("s3")
    bucket = "emulator-test-lambda-code"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="handler.zip", Body=zip_bytes({
        "app.py": HANDLER,
        "vendored_greeting/__init__.py": "def greet(who):\n    return f'hello {who}'\n",
    }))
    s3.put_object(Bucket=bucket, Key="provider.zip", Body=zip_bytes({"provider.py": PROVIDER}))
    return bucket


@pytest.fixture(scope="module")
def function(emulator, code_bucket):
    iam = emulator.client("iam")
    role = iam.create_role(RoleName="emulator-test-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    # The handler runs as this role (IAM is enforced): it may write its test parameters, nothing else.
    iam.put_role_policy(RoleName="emulator-test-lambda", PolicyName="write-test-parameters", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:PutParameter",
                                                "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/lambda-test/*"}]}))
    emulator.client("lambda").create_function(
        FunctionName="emulator-test-handler", Runtime="python3.12", Handler="app.handler", Role=role, Timeout=3,
        Code={"S3Bucket": code_bucket, "S3Key": "handler.zip"}, Environment={"Variables": {"TARGET": "payments"}},
    )
    return "emulator-test-handler"


def invoke(emulator, function: str, event: dict) -> tuple[dict, str | None]:
    response = emulator.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_lambda_invoke__python_handler__returns_its_real_result(emulator, function):
    result, error = invoke(emulator, function, {"param": "/lambda-test/written"})

    assert error is None, result
    assert result == {
        "greeting": "hello payments",
        "function": "emulator-test-handler",
        "remaining_ms_positive": True,
        "endpoint": emulator.url,
    }
    written = emulator.client("ssm").get_parameter(Name="/lambda-test/written")["Parameter"]["Value"]
    assert written == "written by the handler"


def test_lambda_invoke__handler_raises__function_error_with_lambda_error_document(emulator, function):
    result, error = invoke(emulator, function, {"raise": True})

    assert error in ("Handled", "Unhandled")
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "asked to fail"


def test_lambda_invoke__handler_exceeds_timeout__task_timed_out(emulator, function):
    result, error = invoke(emulator, function, {"sleep": 10, "param": "/lambda-test/never"})

    assert error is not None
    assert "Task timed out after 3.00 seconds" in result["errorMessage"]


def test_lambda_invoke__dependency_not_vendored__import_fails_like_in_lambda(emulator, function):
    # PyYAML is installed in the emulator venv, but Lambda only provides boto3 & co.
    result, error = invoke(emulator, function, {"import": "yaml", "param": "/lambda-test/never"})

    assert error is not None
    assert result["errorType"] == "ModuleNotFoundError"


def test_lambda_invoke__output__written_to_cloudwatch_logs(emulator, function):
    invoke(emulator, function, {"param": "/lambda-test/logs"})

    logs = emulator.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/emulator-test-handler")["logStreams"]
    messages = [e["message"] for s in streams for e in logs.get_log_events(
        logGroupName="/aws/lambda/emulator-test-handler", logStreamName=s["logStreamName"])["events"]]
    assert any(m.startswith("START RequestId:") for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def provider_template(code_bucket: str, log_parameter: str, weight: str, fail: str = "no") -> dict:
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "log-parameter", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                     "Resource": {"Fn::Sub": "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/cr-log-*"}}]}}]}},
            "Provider": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "provider.handler", "Timeout": 30,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"S3Bucket": code_bucket, "S3Key": "provider.zip"}}},
            "Shift": {"Type": "Custom::TrafficShift", "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "Name": "green", "Weight": weight,
                "LogParameter": log_parameter, "Fail": fail}},
            "Consumer": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["Shift", "Weight"]}}},
        },
        "Outputs": {
            "Weight": {"Value": {"Fn::GetAtt": ["Shift", "Weight"]}},
            "Previous": {"Value": {"Fn::GetAtt": ["Shift", "Previous"]}},
            "ShiftId": {"Value": {"Ref": "Shift"}},
        },
    }


def test_custom_resource__create_update_delete__provider_sees_each_request(emulator, stacks, code_bucket):
    log = f"/{stacks.unique('cr-log')}"
    name = stacks.unique("cr")
    ssm = emulator.client("ssm")

    created = stacks.create(provider_template(code_bucket, log, "10"), name=name)
    consumer_after_create = ssm.get_parameter(Name=created.resources["Consumer"])["Parameter"]["Value"]
    updated = stacks.update(name, provider_template(code_bucket, log, "50"))
    stacks.delete(updated)

    assert created.outputs == {"Weight": "10", "Previous": "", "ShiftId": "shift-green"}
    assert consumer_after_create == "10"
    assert updated.outputs == {"Weight": "50", "Previous": "10", "ShiftId": "shift-green"}
    assert ssm.get_parameter(Name=log)["Parameter"]["Value"] == "Create Update Delete"
    with pytest.raises(ClientError, match="ResourceNotFoundException|Function not found"):
        emulator.client("lambda").get_function(FunctionName=created.resources["Provider"])


def test_custom_resource__provider_answers_failed__stack_rolls_back_with_its_reason(emulator, stacks, code_bucket):
    log = f"/{stacks.unique('cr-log')}"

    deployed = stacks.create(provider_template(code_bucket, log, "10", fail="yes"), expect="ROLLBACK_COMPLETE")

    reasons = stacks.failure_reasons(deployed.stack_id)
    assert any(r.startswith("Shift: CREATE_FAILED: provider refused: Fail=yes") for r in reasons), reasons
    functions = [f["FunctionName"] for f in emulator.client("lambda").list_functions()["Functions"]]
    assert not [f for f in functions if f.startswith(deployed.name)]
