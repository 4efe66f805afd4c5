"""extensions/awslambda.py: Lambda without Docker, handlers in a subprocess."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.emulator


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
