"""The operator's and the auditor's roles (templates/access.json) against the calls the CLI makes.

``bluegreen shift`` runs the traffic shifter's code in-process, after reading the function's
configuration (lambda:GetFunctionConfiguration); its calls are the recorded run's (conftest.py),
evaluated against each role's policy resolved for the same deployment. ``bluegreen db`` invokes the
function (lambda:InvokeFunction): the switchover's calls are the function's role's (test_lambda_calls.py),
none of them the operator's.
"""

from __future__ import annotations

import json

import pytest

from tests.test_iam import documents, grants

ACCESS = json.loads((documents.TEMPLATES / "access.json").read_text())
AUTOMATION = json.loads((documents.TEMPLATES / "automation.json").read_text())
READ_PHASES = ("shift status", "db status")


@pytest.fixture(scope="module")
def parameters(recorded):
    env, _ = recorded
    found = documents.parameters_from_environment(AUTOMATION, "TrafficShifterFunction", env)
    found["StateTableName"] = env["STATE_TABLE"]
    found["TrafficShifterFunctionArn"] = grants._arn("lambda", "function:lambda-traffic-shifter-dev-d01")
    return found


def _policy(parameters, title):
    resolver = documents.Resolver(ACCESS, parameters, check=False)
    return resolver.resolve(ACCESS["Resources"][f"{title}Policy"]["Properties"]["PolicyDocument"])


@pytest.fixture(scope="module")
def operator(parameters):
    return _policy(parameters, "Operator")


@pytest.fixture(scope="module")
def auditor(parameters):
    return _policy(parameters, "Auditor")


def _cli_requests(recorded, parameters, phases=None, *, db_in_process=False):
    """What the CLI sends for ``phases``: the function's configuration, then the shifter code's calls for
    ``shift``, the function's invocation for ``db`` (``db_in_process``: the code's calls, as an auditor's
    reading or the old in-process CLI would make them)."""
    _, calls = recorded
    function = {"FunctionName": parameters["TrafficShifterFunctionArn"]}
    config = grants.request("lambda", "GetFunctionConfiguration", function)
    code = [(c.phase, grants.request(c.service, c.operation, c.params)) for c in calls
            if (phases is None or c.phase in phases) and (db_in_process or not c.phase.startswith("db "))]
    if not db_in_process and any(p.startswith("db ") for p in (phases or ("db status", "db switchover"))):
        code.append(("db", grants.request("lambda", "Invoke", function)))
    # Services use the caller's permissions on their keys: the state table and topic (ops key), the secrets (data key).
    reading = phases is not None and set(phases) <= set(READ_PHASES)
    kms = [grants.via(a, parameters["OpsKeyArn"], "dynamodb", "state table")
           for a in (("kms:Decrypt",) if reading else ("kms:Decrypt", "kms:GenerateDataKey"))]
    return [("config", config)] + code + [("kms", k) for k in kms]


def _denied(policy, requests):
    return [(phase, r.action, r.resources) for phase, r in requests if not grants.allows(policy, r).allowed]


def test_operator__every_shift_and_db_command__allowed(recorded, parameters, operator):
    assert _denied(operator, _cli_requests(recorded, parameters)) == []


def test_operator__rollback__every_call_allowed(recorded, parameters, operator):
    requests = _cli_requests(recorded, parameters, ("shift rollback",))
    assert {r.action for _, r in requests} >= {"elasticloadbalancing:ModifyListener", "route53:ChangeResourceRecordSets",
                                               "ssm:PutParameter", "dynamodb:PutItem"}
    assert _denied(operator, requests) == []


def test_auditor__rollback__denied_at_its_first_write(recorded, parameters, auditor):
    requests = _cli_requests(recorded, parameters, ("shift rollback",))
    denied = {action for _, action, _ in _denied(auditor, requests)}
    assert denied >= {"dynamodb:PutItem", "elasticloadbalancing:ModifyListener", "route53:ChangeResourceRecordSets",
                      "ssm:PutParameter"}


def test_auditor__shift_and_db_status__every_call_allowed(recorded, parameters, auditor):
    assert _denied(auditor, _cli_requests(recorded, parameters, READ_PHASES, db_in_process=True)) == []


def test_auditor__policy__grants_no_write_and_no_secret(auditor):
    actions = {a for s in auditor["Statement"] for a in grants._listed(s["Action"])}
    writes = {a for a in actions if not a.split(":", 1)[1].startswith(("Get", "Describe", "List", "Filter", "Decrypt"))}
    assert writes == set()
    assert "secretsmanager:GetSecretValue" not in actions


def test_auditor__switchover__denied(recorded, parameters, auditor):
    denied = {action for _, action, _ in _denied(auditor, _cli_requests(recorded, parameters, ("db switchover",),
                                                                       db_in_process=True))}
    assert {"dms:StopReplicationTask", "dms:StartReplicationTask", "secretsmanager:GetSecretValue",
            "route53:ChangeResourceRecordSets"} <= denied


def test_operator__db_commands__only_invoke_the_function_no_database_grant_no_secret(recorded, parameters, operator):
    """The switchover runs inside the VPC as the function's role: the operator may invoke it, and may make
    none of the calls the switchover's code makes (no master secret, no DMS, no RDS, no writer name)."""
    actions = {a for s in operator["Statement"] for a in grants._listed(s["Action"])}
    assert "lambda:InvokeFunction" in actions
    assert not {a for a in actions if a.split(":")[0] in ("secretsmanager", "dms", "rds", "rds-db")}
    in_process = _cli_requests(recorded, parameters, ("db switchover",), db_in_process=True)
    denied = {action for _, action, _ in _denied(operator, in_process)}
    assert {"secretsmanager:GetSecretValue", "dms:StopReplicationTask", "dms:StartReplicationTask",
            "rds:DescribeDBClusters"} <= denied


def test_operator__only_the_shifter_code_statements_and_its_configuration(operator):
    """Nothing of the Lambda runtime: no log writes, no network interfaces, no dead letters."""
    actions = {a for s in operator["Statement"] for a in grants._listed(s["Action"])}
    assert not actions & {"logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface", "sqs:SendMessage"}


@pytest.mark.parametrize("title", ["Operator", "Auditor"])
def test_roles__trust__this_account_with_mfa_for_an_hour(title):
    role = ACCESS["Resources"][f"{title}Role"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert role["MaxSessionDuration"] == 3600
