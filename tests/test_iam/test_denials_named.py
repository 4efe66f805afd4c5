"""A denied AWS call is named (action, resource, principal) by the CLI, the hooks and the resolvers; no traceback.

Real denials: one emulator (IAM enforced, nothing launched), roles created for each case with only
the grants it names, and the entry point run as a user runs it, signing as that role: ``bluegreen``
in-process with ``--role <ARN>``, the hooks and resolvers through the ``sceptre`` command on a
one-stack project in a temp folder. The shifter Lambda's answer and ``scripts/demo`` need a launched
environment: test_roles_on_emulator.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from bluegreen import cli, demo
from tests.emulator_process import aws_env, free_port, run_launcher

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
SCEPTRE = Path(sys.executable).parent / "sceptre"
ACCOUNT = "123456789012"
PARAMETER = "/denials-test/dev-d01/traffic/green-weight"
PARAMETER_ARN = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{PARAMETER}"
BUCKET = "s3-denials-test-dev-d01"
#: One stack with a green weight, as templates/route53.json takes it, and no resource that calls a service.
TEMPLATE = {
    "Parameters": {"GreenWeight": {"Type": "Number"}},
    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
}


class Emulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.env = aws_env(port)
        self.session = boto3.session.Session(aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                                             aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")

    def client(self, service: str, session: boto3.session.Session | None = None):
        return (session or self.session).client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"])

    def role(self, *actions: str) -> str:
        """A role this account may assume (no MFA), allowed ``actions`` on every resource and nothing else."""
        name = f"role-denials-{uuid.uuid4().hex[:8]}"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if actions:
            iam.put_role_policy(RoleName=name, PolicyName="only", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
        return arn

    def as_role(self, arn: str) -> dict[str, str]:
        """The environment a process signs as ``arn`` with (the endpoint, a session of the role)."""
        credentials = self.client("sts").assume_role(RoleArn=arn, RoleSessionName="denials-test")["Credentials"]
        return {"AWS_ENDPOINT_URL": self.env["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"], "AWS_SESSION_TOKEN": credentials["SessionToken"],
                "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def emulator():
    port = free_port()
    started = run_launcher("start", port=port)
    assert started.returncode == 0, started.stderr
    try:
        yield Emulator(port)
    finally:
        run_launcher("stop", port=port, timeout=60)


@pytest.fixture(scope="module")
def project(tmp_path_factory, emulator):
    """A Sceptre project with the weights stack (our resolver over !ssm, our hook after create) and a bucket
    stack (!empty_bucket before delete); the parameter holds 10 and the bucket one object."""
    root = tmp_path_factory.mktemp("denials")
    (root / "templates").mkdir()
    (root / "templates" / "weights.json").write_text(json.dumps(TEMPLATE))
    (root / "config" / "dev").mkdir(parents=True)
    (root / "config" / "config.yaml").write_text("project_code: denials\nregion: us-east-1\n")
    (root / "config" / "dev" / "config.yaml").write_text("empty_buckets_on_delete: true\n")
    (root / "config" / "dev" / "weights.yaml").write_text(f"""\
template:
  path: weights.json
parameters:
  GreenWeight: "30"
hooks:
  after_create:
    - !record_green_weight {{parameter_name: {PARAMETER}}}
""")
    (root / "config" / "dev" / "read.yaml").write_text(f"""\
template:
  path: weights.json
parameters:
  GreenWeight: !traffic_weight
    colour: green
    green_weight: !ssm {PARAMETER}
""")
    (root / "config" / "dev" / "bucket.yaml").write_text(f"""\
template:
  path: weights.json
parameters:
  GreenWeight: "0"
hooks:
  before_delete:
    - !empty_bucket {{bucket: {BUCKET}}}
""")
    emulator.client("ssm").put_parameter(Name=PARAMETER, Value="10", Type="String")
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="evidence.log", Body=b"kept")
    return root


def sceptre(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([str(SCEPTRE), "--dir", str(project), *args], env={**clean, **env}, cwd=project,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def assert_named(said: str, action: str, resource: str, role_arn: str) -> None:
    role = role_arn.rsplit("/", 1)[1]
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/" in said and f" may not {action} on {resource} " in said, said
    assert "Traceback" not in said, said


# --------------------------------------------------------------------------------------------- CLI
def test_cli__role_without_the_first_read__exit_1_naming_action_function_and_role(emulator, monkeypatch):
    for key, value in emulator.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    arn = emulator.role("sts:GetCallerIdentity")
    out, err = io.StringIO(), io.StringIO()

    code = cli.main(["shift", "status", "--env", "dev", "--role", arn, "--project-dir", str(ROOT)], stdout=out, stderr=err)

    assert code == cli.EXIT_FAILED
    assert_named(err.getvalue(), "lambda:GetFunctionConfiguration",
                 f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-traffic-shifter-dev-d01", arn)
    assert err.getvalue().startswith("bluegreen: error: AWS: AccessDeniedException: ")


def test_cli__role_denied_assume__exit_1_naming_sts_assume_role(emulator, monkeypatch):
    for key, value in emulator.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    missing = f"arn:aws:iam::{ACCOUNT}:role/role-nobody-dev-d01"
    err = io.StringIO()

    code = cli.main(["shift", "status", "--env", "dev", "--role", missing, "--project-dir", str(ROOT)],
                    stdout=io.StringIO(), stderr=err)

    assert code == cli.EXIT_FAILED
    assert f"cannot assume {missing}: AccessDenied: arn:aws:iam::{ACCOUNT}:user/" in err.getvalue()
    assert f"may not sts:AssumeRole on {missing} (because the role does not exist)" in err.getvalue()


# --------------------------------------------------------------------------------------------- Sceptre
def test_hook_record_green_weight__put_denied__sceptre_exits_1_naming_it(emulator, project):
    arn = emulator.role("cloudformation:*", "ssm:GetParameter")

    result = sceptre(project, emulator.as_role(arn), "launch", "-y", "dev/weights.yaml")

    assert result.returncode == 1, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "dev/weights - !record_green_weight: AccessDeniedException: " in said
    assert_named(said, "ssm:PutParameter", PARAMETER_ARN, arn)
    assert emulator.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "10"


def test_resolver_traffic_weight__ssm_read_denied__sceptre_exits_1_naming_it_before_any_stack(emulator, project):
    arn = emulator.role("cloudformation:*")

    result = sceptre(project, emulator.as_role(arn), "launch", "-y", "dev/read.yaml")

    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "dev/read - !traffic_weight: AccessDeniedException: " in said
    assert_named(said, "ssm:GetParameter", PARAMETER_ARN, arn)
    stacks = emulator.client("cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackName"] for s in stacks if s["StackName"] == "denials-dev-read"] == []


def test_hook_empty_bucket__listing_denied__sceptre_exits_1_naming_it_and_the_object_stays(emulator, project):
    deployed = sceptre(project, emulator.env, "launch", "-y", "dev/bucket.yaml")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    arn = emulator.role("cloudformation:*")

    result = sceptre(project, emulator.as_role(arn), "delete", "-y", "dev/bucket.yaml")

    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "dev/bucket - !empty_bucket: AccessDenied: " in said
    assert_named(said, "s3:ListBucketVersions", f"arn:aws:s3:::{BUCKET}", arn)
    assert [o["Key"] for o in emulator.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]] == ["evidence.log"]


# --------------------------------------------------------------------------------------------- demo
def test_demo__emulator_stopped__exit_1_saying_how_to_start_it(monkeypatch, capsys):
    stopped = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", stopped)

    code = demo.main(["--env", "dev"])

    err = capsys.readouterr().err
    assert code == 1
    assert err == f"demo: FAILED: the local AWS emulator is not running at {stopped}: start it with `scripts/emulator start` " \
                  "(or unset AWS_ENDPOINT_URL to use AWS)\n"


# --------------------------------------------------------------------------------------------- the emulator
@pytest.mark.parametrize("service,call,kwargs,code", [
    ("sns", "publish", {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-notify-dev-d01", "Message": "m"}, "AuthorizationError"),
    ("dms", "describe_replication_tasks", {}, "AccessDeniedFault"),
    ("elbv2", "describe_listeners", {"ListenerArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2"]},
     "AccessDenied"),
    ("dynamodb", "get_item", {"TableName": "ddb-shift-state-dev-d01", "Key": {"id": {"S": "x"}}}, "AccessDeniedException"),
])
def test_emulator__denial__each_service_answers_with_its_own_aws_code(emulator, service, call, kwargs, code):
    """SNS answers AuthorizationError, DMS AccessDeniedFault, query/REST-XML services AccessDenied, JSON ones
    AccessDeniedException (each service's API reference, docs/aws-constraints.md); explain names it either way."""
    from botocore.exceptions import ClientError

    from traffic_shifter.aws_errors import denial_of

    role = boto3.session.Session(**{k.lower(): v for k, v in emulator.as_role(emulator.role()).items()
                                    if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")},
                                 region_name="us-east-1")
    with pytest.raises(ClientError) as raised:
        getattr(emulator.client(service, role), call)(**kwargs)

    assert raised.value.response["Error"]["Code"] == code
    if service == "sns":  # Publish: "AuthorizationError ... HTTP Status Code: 403"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denial_of(raised.value).action.startswith(("sns:", "dms:", "elasticloadbalancing:", "dynamodb:"))
