"""``bluegreen --role``: the short names are the people's roles of templates/access.json; bad input stops first.

Assuming them, with and without MFA, and what each may then do are shown on the emulator with IAM
enforced (test_roles_on_emulator.py).
"""

from __future__ import annotations

import io
import json

import pytest

from bluegreen import cli
from bluegreen.environments import load_environment
from tests.test_iam import documents

ACCESS = json.loads((documents.TEMPLATES / "access.json").read_text())


@pytest.mark.parametrize("who,logical", [("operator", "OperatorRole"), ("auditor", "AuditorRole")])
def test_role_arn__short_name__the_role_access_json_deploys(who, logical):
    env = load_environment("dev", documents.ROOT)
    deployed = documents.Resolver(ACCESS).resolve(ACCESS["Resources"][logical]["Properties"]["RoleName"])
    deployed = deployed.replace(documents.SAMPLE_PARAMETERS["EnvironmentSuffix"], env.suffix)

    assert cli.role_arn(env, who, "123456789012") == f"arn:aws:iam::123456789012:role/{deployed}"


def test_role__unknown_short_name__usage_error_before_any_aws_call(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    made = []
    out, err = io.StringIO(), io.StringIO()

    code = cli.main(["shift", "status", "--env", "dev", "--role", "admin", "--project-dir", str(documents.ROOT)],
                    session_factory=lambda **kw: made.append(kw) or object(), stdout=out, stderr=err)

    assert code == cli.EXIT_USAGE
    assert "--role 'admin': use operator or auditor, or a role ARN" in err.getvalue()
    assert made == [{"region_name": "us-east-1"}]  # the base session only: no client, no call


def test_role__mfa_serial__defaults_to_the_environment_variable(monkeypatch):
    monkeypatch.setenv(cli.MFA_SERIAL_VARIABLE, "arn:aws:iam::123456789012:mfa/ops.alice")

    args = cli.build_parser().parse_args(["shift", "rollback", "--env", "dev", "--role", "operator"])

    assert (args.role, args.mfa_serial, args.mfa_code) == ("operator", "arn:aws:iam::123456789012:mfa/ops.alice", None)


@pytest.mark.parametrize("argv,expected", [
    (["--role", "operator", "--mfa-code", "123456", "shift", "rollback", "--env", "dev"], ("operator", "123456")),
    (["shift", "rollback", "--env", "dev", "--role", "operator", "--mfa-code", "123456"], ("operator", "123456")),
    (["--role", "operator", "db", "status", "--env", "dev", "--role", "auditor"], ("auditor", None)),
    (["db", "status", "--env", "dev"], (None, None)),
])
def test_role__before_or_after_the_command__the_command_s_own_wins(monkeypatch, argv, expected):
    monkeypatch.setenv(cli.MFA_SERIAL_VARIABLE, "arn:aws:iam::123456789012:mfa/ops.alice")

    args = cli.build_parser().parse_args(argv)

    assert (args.role, args.mfa_code) == expected
    assert args.mfa_serial == "arn:aws:iam::123456789012:mfa/ops.alice"
