"""extensions/lambda_concurrency.py: a reservation that leaves under 100 unreserved executions is refused, as AWS.

AWS: "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions
that don't have reserved concurrency" (Lambda, Configuring reserved concurrency), and new accounts have
reduced concurrency quotas (Lambda quotas). moto refused nothing (unless MOTO_LAMBDA_CONCURRENCY_QUOTA).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.emulator_process import free_port, run_launcher, session

from .parts import zip_bytes

REFUSED = "decreases account's UnreservedConcurrentExecution below its minimum value of [100]"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def function_template(reserved: int) -> dict:
    return {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"}, "ReservedConcurrentExecutions": reserved}},
    }}


def make_function(client, iam, name: str):
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    return client.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                                  Code={"ZipFile": zip_bytes({"index.py": "def handler(e, c):\n    return 1\n"})})


@pytest.mark.emulator
def test_default_quota__reservation_leaving_under_100__refused_then_900_accepted(emulator, stacks):
    client, iam = emulator.client("lambda"), emulator.client("iam")
    name = stacks.unique("fn-concurrency")
    make_function(client, iam, name)
    try:
        before = client.get_account_settings()["AccountLimit"]
        assert before["ConcurrentExecutions"] == 1000

        with pytest.raises(ClientError) as refused:
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=before["UnreservedConcurrentExecutions"] - 99)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert REFUSED in str(refused.value)
        client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=before["UnreservedConcurrentExecutions"] - 100)
        assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    finally:
        client.delete_function(FunctionName=name)


@pytest.fixture(scope="module")
def fresh_account():
    """An emulator whose account has a new account's quota: 10 concurrent executions."""
    port = free_port()
    started = run_launcher("start", port=port, extra_env={"EMULATOR_LAMBDA_CONCURRENCY": "10"})
    assert started.returncode == 0, started.stderr
    yield port, started.stdout.strip().splitlines()[-1]
    run_launcher("stop", port=port, timeout=60)


@pytest.mark.emulator
def test_fresh_account__any_reservation__refused_by_the_api_and_by_cloudformation(fresh_account):
    port, url = fresh_account
    boto = session(port)
    client, iam, cfn = (boto.client(s, endpoint_url=url) for s in ("lambda", "iam", "cloudformation"))
    limit = client.get_account_settings()["AccountLimit"]
    assert (limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]) == (10, 10)

    make_function(client, iam, "fn-fresh-direct")
    with pytest.raises(ClientError, match=r"below its minimum value of \[100\]"):
        client.put_function_concurrency(FunctionName="fn-fresh-direct", ReservedConcurrentExecutions=1)
    cfn.create_stack(StackName="fresh-reserved", TemplateBody=json.dumps(function_template(1)), Capabilities=["CAPABILITY_IAM"])
    with pytest.raises(Exception):  # noqa: B017 - the waiter's own error type; the stack's events say why, below
        cfn.get_waiter("stack_create_complete").wait(StackName="fresh-reserved", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="fresh-reserved")["StackEvents"]
               if e["LogicalResourceId"] == "Function"]
    assert any(REFUSED in r for r in reasons), reasons


@pytest.mark.emulator
def test_malformed_setting__start_refused_naming_it():
    result = run_launcher("start", port=free_port(), timeout=60, extra_env={"EMULATOR_LAMBDA_CONCURRENCY": "lots"})

    assert result.returncode != 0
    assert "EMULATOR_LAMBDA_CONCURRENCY='lots'" in result.stdout + result.stderr


# ----------------------------------------------------------------------------- the preflight refuses first
def test_preflight_check__fresh_quota_refused_default_quota_passes_zero_always_passes():
    from bluegreen.preflight import PreflightError, check_lambda_concurrency

    wanted = {"shifter_reserved_concurrency": 1, "ssm_parameter_reserved_concurrency": "2"}
    check_lambda_concurrency("dev", wanted, 1000, 1000, {})
    check_lambda_concurrency("dev", wanted, 103, 100, {"shifter_reserved_concurrency": 1, "ssm_parameter_reserved_concurrency": 2})
    check_lambda_concurrency("dev", {"shifter_reserved_concurrency": 0, "ssm_parameter_reserved_concurrency": "0"}, 10, 10, {})
    with pytest.raises(PreflightError, match=r"would leave 7 of this account's 10 concurrent executions unreserved .*\(at least 103\), or "
                                             r"set the reservations to 0 in config/dev/config.yaml"):
        check_lambda_concurrency("dev", wanted, 10, 10, {})
    with pytest.raises(PreflightError, match="must be a whole number"):
        check_lambda_concurrency("dev", {"shifter_reserved_concurrency": "one"}, 1000, 1000, {})


@pytest.mark.emulator
def test_sceptre_launch__fresh_account__preflight_refuses_before_any_stack(fresh_account):
    import os
    import subprocess
    import sys

    from tests.emulator_process import ROOT, aws_env

    port, url = fresh_account
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(aws_env(port), EMULATOR_PORT=str(port))
    sceptre = os.path.join(os.path.dirname(sys.executable), "sceptre")

    ran = subprocess.run([sceptre, "--dir", str(ROOT), "launch", "-y", "dev"], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL)

    said = ran.stdout + ran.stderr
    assert ran.returncode != 0
    assert "would leave 7 of this account's 10 concurrent executions unreserved" in said, said[-3000:]
    assert "Traceback" not in said
    cfn = session(port).client("cloudformation", endpoint_url=url)
    assert [s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackName"].startswith("payments-")] == []
