"""The roles as deployed, with IAM enforced by the emulator: both directions, at run time.

One emulator and one ``sceptre launch dev`` for the module. The traffic-shifter Lambda runs as its
own execution role (the emulator's Lambda assumes the function's Role), the CLI as the operator or
the auditor (``--role``, assumed with MFA). Each call is checked by the emulator against the
caller's policies on the resource it names (emulator/bluegreen_emulator/iam/enforcement.py).

* the shift (start, an advance), the alarm-driven rollback and the operator's rollback succeed
  under the roles as written, and nothing anywhere is denied;
* with any one action of the shift/rollback path removed from the function's policy (SHIFT_PATH,
  a new default version of the managed policy), the run is denied exactly that action and the
  rollback's own invocation reports it (its payload or its log); when the rollback cannot finish
  the invocation fails (FunctionError: what the function's Errors alarm counts in AWS);
* the auditor reads the status and is denied the rollback at its first write, nothing changed.

* the runbook's database commands (docs/runbook-cutover.md, section 5, read from the doc), run as written
  from a shell that has only the operator role, reach the function, which reads the real fence on the
  stand-in MariaDB servers behind both clusters' endpoints (EMULATOR_DB_ENDPOINTS) over TLS verified
  against the CA bundle loaded as the runbook's section 1 says; the operator cannot read a master secret.

Not run here: a switchover that moves the fence. The emulator's DMS runs no replication (moto's tasks
are records: no DescribeTableStatistics, no CDC metrics, no data moved), so the function's guardrails
refuse it, as they must, and the test holds that nothing moved; the switchover's moves are proved
against real MariaDB replication by the rehearsal (docs/rehearsal.md) and against moto's DMS with a
stand-in fence by tests/test_cli/test_cli_db.py. Nor the runtime's own calls (logs, VPC network
interfaces, the DLQ: made by the Lambda service, not by the code).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bluegreen import cli, demo
from bluegreen_emulator.iam import requests as iam_requests
from tests.test_iam.launched import ACCOUNT, FUNCTION, ROOT  # also puts emulator/ on sys.path

pytestmark = pytest.mark.emulator

MFA = ("--mfa-serial", f"arn:aws:iam::{ACCOUNT}:mfa/ops.alice", "--mfa-code", "123456")
#: (statement, action) of the function's policy the shift and the rollback call, directly or through
#: a service (KMS via DynamoDB and SNS). The rest: the switchover's and the Lambda runtime's (see above).
SHIFT_PATH = [
    ("ReadListenerWeights", "elasticloadbalancing:DescribeListeners"),
    ("SetListenerWeights", "elasticloadbalancing:ModifyListener"),
    ("ReadWeightedRecords", "route53:ListResourceRecordSets"),
    ("SetWeightedRecords", "route53:ChangeResourceRecordSets"),
    ("ReadAndSetGreenWeight", "ssm:GetParameter"),
    ("ReadAndSetGreenWeight", "ssm:PutParameter"),
    ("ReadShiftPlan", "ssm:GetParameter"),
    ("ReadGateAlarms", "cloudwatch:DescribeAlarms"),
    ("ReadAndWriteShiftState", "dynamodb:GetItem"),
    ("ReadAndWriteShiftState", "dynamodb:PutItem"),
    ("Notify", "sns:Publish"),
    ("OpsKeyForStateTable", "kms:Decrypt"),
    ("OpsKeyForStateTable", "kms:GenerateDataKey"),
    ("OpsKeyForMessages", "kms:Decrypt"),
    ("OpsKeyForMessages", "kms:GenerateDataKey"),
]


def weights(world) -> demo.Reading:
    return world.aws.weights(world.lambda_env)


def gates(world, state: str) -> None:
    demo.set_gates(world.aws, world.lambda_env, state, f"test: {state}")


def alarm(world) -> tuple[dict, str | None, str]:
    """Green's gate goes to ALARM and its event is delivered: the rollback path."""
    reason = "test fault: green 5xx"
    world.client("cloudwatch").set_alarm_state(AlarmName=world.gate, StateValue="ALARM", StateReason=reason)
    return world.invoke(demo.alarm_event(world.gate, "ALARM", reason))


def denial(action: str) -> str:
    return f"is not authorized to perform: {action}"


def bluegreen(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([*argv, "--env", "dev", "--project-dir", str(ROOT)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def started(world) -> None:
    """From any state to a running shift at its first step (the function's full role)."""
    gates(world, "OK")
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
    answer, error, log = world.invoke({"command": "start", "actor": "test"})
    assert (error, answer["state"]["status"]) == (None, "running"), log[-3000:]


# ------------------------------------------------------------------------- the roles as written
def test_lambda_role__shift_advance_and_alarm_rollback__succeed_with_nothing_denied(world):
    started(world)
    assert weights(world).listeners == ("90/10", "90/10")
    time.sleep(demo.DEMO_PLAN["steps"][0]["bake_seconds"] + 0.5)
    advanced, error, tick_log = world.invoke(demo.SCHEDULED_EVENT)
    assert (error, advanced["decision"]["action"]) == (None, "advance"), tick_log[-3000:]
    assert weights(world).ssm == "25"

    rolled, error, rollback_log = alarm(world)

    assert error is None, rollback_log[-3000:]
    assert rolled["state"]["status"] == "rolled_back"
    assert weights(world).all_blue
    assert "AccessDenied" not in tick_log + rollback_log


def test_operator_role__rollback__every_call_allowed_and_blue_restored(world):
    started(world)

    code, out, err = bluegreen("shift", "rollback", "--role", "operator", *MFA, "--change-id", "INC-1", "--reason", "operator test")

    assert code == 0, err
    assert weights(world).all_blue
    assert "AccessDenied" not in out + err


def test_operator_role__shift_rollback__run_by_the_function_as_its_own_role(world, reduced_policy):
    """``bluegreen shift rollback`` only invokes: with ModifyListener taken from the FUNCTION's policy (the
    operator's own is untouched) the rollback is denied to the function's role, and the CLI says so."""
    started(world)
    reduced_policy("SetListenerWeights", "elasticloadbalancing:ModifyListener")

    code, out, err = bluegreen("shift", "rollback", "--role", "operator", *MFA, "--change-id", "INC-2", "--reason", "operator test")

    assert code == 1
    assert f"{SHIFTER_ROLE} may not elasticloadbalancing:ModifyListener on {LISTENER_PREFIX}" in err, err
    assert "assumed-role/role-operator-dev-d01" not in err and "Traceback" not in err


def test_operator_role__without_mfa__cannot_be_assumed(world):
    code, _, err = bluegreen("shift", "status", "--role", "operator")

    assert code == 1
    assert "cannot assume arn:aws:iam::123456789012:role/role-operator-dev-d01" in err
    assert "MFA" in err


def operator_session(world):
    from bluegreen.environments import load_environment

    return cli.make_session(load_environment("dev", ROOT), role="operator", mfa_serial=MFA[1], mfa_code=MFA[3])


def test_operator_role__master_secrets__denied(world):
    """The operator holds no database secret: the switchover's login is the function's, inside the VPC."""
    secrets = operator_session(world).client("secretsmanager", endpoint_url=world.env["AWS_ENDPOINT_URL"])
    for variable in ("BLUE_DB_SECRET_ARN", "GREEN_DB_SECRET_ARN"):
        with pytest.raises(secrets.exceptions.ClientError) as err:
            secrets.get_secret_value(SecretId=world.lambda_env[variable])
        assert err.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"), err.value.response
        assert denial("secretsmanager:GetSecretValue") in str(err.value)


def test_operator_role__db_status__invokes_the_function_which_runs_it_as_its_own_role(world):
    """``bluegreen db status`` as the operator: the CLI's only calls are the function's configuration and
    its invocation (both allowed); the function reads the switchover's state as its own role. No database
    engine answers the emulated cluster endpoints here, so the function's answer is the fence's failed
    login, named, and nothing of it is an IAM denial (the DB side is tested in test_db_switchover.py and
    the rehearsal)."""
    code, out, err = bluegreen("db", "status", "--role", "operator", *MFA)

    assert code == 1
    assert "lambda-traffic-shifter-dev-d01 failed" in err and "not authorized" not in err + out, err
    assert "Traceback" not in err


# ------------------------------------------------------------------------- the runbook's database commands
RUNBOOK = ROOT / "docs" / "runbook-cutover.md"


def runbook_db_commands() -> dict[str, str]:
    """The commands of the runbook's section 5 as written there (prod), so the test cannot drift from the doc:
    the check, the switch, the switch back ("the same command with `--to blue`")."""
    text = RUNBOOK.read_text()
    section = text[text.index("<!-- db-writer-switchover: start -->"):text.index("<!-- db-writer-switchover: end -->")]
    commands = re.findall(r"`(bluegreen db [^`]+)`", section)
    check = next(c for c in commands if c.startswith("bluegreen db status"))
    switch = next(c for c in commands if c.startswith("bluegreen db switchover --to green"))
    assert "the same command with `--to blue`" in section, "the runbook's switch back is no longer the same command"
    return {"check": check, "switch": switch, "back": switch.replace("--to green", "--to blue")}


def as_written(command: str, world) -> subprocess.CompletedProcess:
    """``command`` in dev (the runbook writes prod), from a shell holding the deployer's keys, where the command's
    own ``--role operator`` makes every call of it the operator's; the MFA device's code as the operator types it."""
    argv = shlex.split(command.replace("--env prod", "--env dev").replace('"..."', '"runbook test"'))
    assert argv[0] == "bluegreen" and "--role" in argv and argv[argv.index("--role") + 1] == "operator", command
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    return subprocess.run([str(Path(sys.executable).parent / "bluegreen"), *argv[1:], *MFA, "--project-dir", str(ROOT)],
                          env={**env, **world.env}, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def writable(world) -> dict[str, bool]:
    """Read on each stand-in itself: may the application user write payments there (the fence's state)?"""
    found = {}
    for colour in ("blue", "green"):
        server = world.databases.servers[f"aurora-{colour}-dev-d01"]
        rows = server.execute("SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                              "WHERE GRANTEE = %s AND TABLE_SCHEMA = 'payments'", ("'payments_app'@'%'",))
        found[colour] = "INSERT" in {r[0] for r in rows}
    return found


@pytest.fixture
def ca_bundle_loaded(world):
    """The runbook's section 1, once per environment: the CA the clusters' certificates verify against (the
    stand-ins' CA here) into <prefix>/db/rds-ca-bundle; the placeholder put back after."""
    ssm = world.client("ssm")
    name = world.lambda_env["DB_CA_BUNDLE_PARAMETER"]
    before = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    ssm.put_parameter(Name=name, Type="String", Tier="Advanced", Overwrite=True, Value=world.databases.ca_pem)
    yield
    ssm.put_parameter(Name=name, Type="String", Tier="Advanced", Overwrite=True, Value=before)


def test_runbook_db_commands__as_the_operator__run_in_the_function_on_the_real_fence(world, ca_bundle_loaded):
    """Section 5 as written: the check reads the writer from the fence on the real databases (through the
    function, as its role: the operator holds no secret), the switch is judged by the function's guardrails
    and refused (the emulator's DMS replicates nothing, see the module's docstring) with nothing moved, and
    the switch back to blue, the writer already, changes nothing. No call of any of them is denied."""
    commands = runbook_db_commands()
    assert writable(world) == {"blue": True, "green": False}  # as deployed: green starts fenced (docs/deployment.md)

    check = as_written(commands["check"], world)
    switch = as_written(commands["switch"], world)
    back = as_written(commands["back"], world)

    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("writer      blue"), check.stdout
    assert "ok   one writer: {\"blue_fenced\": false, \"green_fenced\": true}" in check.stdout, check.stdout
    assert "switchover  to green: NOT ready" in check.stdout  # the emulator's DMS: no task replicates
    assert switch.returncode == 1
    assert switch.stderr.startswith("bluegreen: error: db switchover refused: db switchover blue -> green refused, nothing was changed: "
                                    "replication running: "), switch.stderr
    assert back.returncode == 0, back.stderr
    for run in (check, switch, back):
        assert "not authorized" not in run.stdout + run.stderr and "Traceback" not in run.stderr
    assert writable(world) == {"blue": True, "green": False}


def test_auditor_role__db_commands__may_not_invoke_the_function(world):
    code, _, err = bluegreen("db", "switchover", "--to", "green", "--role", "auditor", *MFA, "--change-id", "CHG-1", "--reason", "auditor test")

    assert code == 1
    assert "lambda:InvokeFunction" in err, err


def test_auditor_role__status__allowed(world):
    code, out, err = bluegreen("shift", "status", "--role", "auditor", *MFA)

    assert code == 0, err
    assert "AccessDenied" not in out + err


def test_auditor_role__rollback__denied_invoking_the_function_and_nothing_changed(world):
    """A changing shift command is the function's to run: the auditor may not invoke it."""
    started(world)
    before = weights(world)

    code, _, err = bluegreen("shift", "rollback", "--role", "auditor", *MFA, "--change-id", "INC-1", "--reason", "auditor test")

    assert code == 1
    assert "AccessDenied" in err and "assumed-role/role-auditor-dev-d01/" in err
    assert " may not lambda:InvokeFunction on " in err, err
    assert weights(world) == before


# ------------------------------------------------------------------------- one action removed
@pytest.mark.parametrize("sid,action", SHIFT_PATH, ids=[f"{s}-{a}" for s, a in SHIFT_PATH])
def test_lambda_role__one_action_removed__the_rollback_is_denied_that_action_and_reports_it(world, reduced_policy, sid, action,
                                                                                           record_property):
    started(world)  # green carries traffic; then the role loses one action, then green's gate fires
    reduced_policy(sid, action)

    rollback, rollback_error, rollback_log = alarm(world)

    said = json.dumps(rollback) + rollback_log
    assert denial(action) in said, f"the rollback did not report {action}:\n{said[-4000:]}"
    assert f"assumed-role/role-traffic-shifter-dev-d01/{FUNCTION} is not authorized" in said  # its own role, not the deployer
    denied = {line.split(denial(""), 1)[1].split()[0].rstrip(".,:;\"'\\") for line in said.split("\n") if denial("") in line}
    assert denied == {action}, "only the removed action is denied"
    blue = weights(world).all_blue
    record_property("outcome", f"FunctionError={rollback_error} blue={blue}")
    # Never a silent half rollback: one that could not put traffic on blue fails the invocation (the
    # function's Errors metric, which ShifterErrorsAlarm watches; the emulator computes no Lambda metrics).
    assert blue or rollback_error is not None
    if rollback_error is None:  # it finished: what it could not do is logged, the traffic is blue
        assert rollback["state"]["status"] == "rolled_back"


def test_emulator_log__no_roles_call__judged_at_action_level_only(world):
    """Every call a role made in this module was in the resource table (iam_requests.OPERATIONS)."""
    log = (ROOT / ".emulator" / f"emulator-{world.port}.log").read_text()
    assert iam_requests.ACTION_LEVEL_NOTE not in log


# ------------------------------------------------------------------------- the demo, denied
def test_demo__modify_listener_removed__exit_1_naming_the_denial_and_no_traceback(world, reduced_policy, capsys):
    gates(world, "OK")
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
    reduced_policy("SetListenerWeights", "elasticloadbalancing:ModifyListener")
    report = demo.Report()

    code = demo.outcome(report, lambda: demo.shift_with_fault(world.aws, report))

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"demo: FAILED: the traffic shifter refused 'start': AccessDenied: arn:aws:sts::{ACCOUNT}:assumed-role/"
                          f"role-traffic-shifter-dev-d01/{FUNCTION} may not elasticloadbalancing:ModifyListener on "
                          f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/"), err
    assert "Traceback" not in err and "KeyError" not in err
    assert weights(world).all_blue


# ------------------------------------------------------------------------- the Lambda's answer, denied
LISTENER_PREFIX = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/"
SHIFTER_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/role-traffic-shifter-dev-d01/{FUNCTION}"


def test_lambda_answer__start_denied_modify_listener__ok_false_naming_action_listener_and_role(world, reduced_policy):
    gates(world, "OK")
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
    reduced_policy("SetListenerWeights", "elasticloadbalancing:ModifyListener")

    answer, error, _ = world.invoke({"command": "start", "actor": "test"})

    assert error is None and answer["ok"] is False
    [denied] = answer["denied"]
    assert (denied["action"], denied["principal"], denied["code"]) == ("elasticloadbalancing:ModifyListener", SHIFTER_ROLE,
                                                                      "AccessDenied")
    assert denied["resource"].startswith(LISTENER_PREFIX)
    assert answer["error"].startswith(f"AccessDenied: {SHIFTER_ROLE} may not elasticloadbalancing:ModifyListener on "
                                      f"{denied['resource']} (because no identity-based policy allows")
    assert weights(world).all_blue


def test_lambda_answer__rollback_cannot_finish__function_error_names_the_denial(world, reduced_policy):
    started(world)
    reduced_policy("SetListenerWeights", "elasticloadbalancing:ModifyListener")

    answer, error, _ = alarm(world)

    assert error is not None  # the invocation failed (FunctionError): what the Errors alarm counts
    assert answer["errorType"] == "AwsCallDenied"
    assert answer["errorMessage"].startswith(f"AccessDenied: {SHIFTER_ROLE} may not elasticloadbalancing:ModifyListener "
                                             f"on {LISTENER_PREFIX}")
    assert "-- rollback did not finish" in answer["errorMessage"]


# ------------------------------------------------------------------------- the two-person rule
def test_auditor_role__approve__denied_its_write_and_no_approval_recorded(world):
    code, _, err = bluegreen("approve", "--role", "auditor", *MFA, "--change-id", "CHG-77", "--for", "start",
                             "--reason", "auditor test")
    assert code == 1
    assert "assumed-role/role-auditor-dev-d01/" in err and " may not dynamodb:PutItem on " in err, err
    table = world.client("dynamodb")
    item = table.get_item(TableName=world.lambda_env["STATE_TABLE"], Key={"plan_id": {"S": "approval#CHG-77#start"}})
    assert "Item" not in item


def test_operator_role__start_approved_only_by_itself__refused_and_nothing_moves(world, monkeypatch):
    from bluegreen import approvals

    monkeypatch.setattr(approvals, "ENVIRONMENTS", ("dev", "prod"))  # prod's rule, on the deployed dev
    gates(world, "OK")
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
    before = weights(world)
    assert bluegreen("approve", "--role", "operator", *MFA, "--change-id", "CHG-78", "--for", "start",
                     "--reason", "me")[0] == 0

    code, _, err = bluegreen("shift", "start", "--role", "operator", *MFA, "--change-id", "CHG-78", "--reason", "alone")

    assert code == 1
    assert "the same identity that now acts" in err and "assumed-role/role-operator-dev-d01/" in err
    assert weights(world) == before


@pytest.fixture
def prod_rule_on_the_function(world):
    """The deployed function told it runs in prod (its ENVIRONMENT variable, as templates/automation.py sets
    it there): the rule is the function's own, not the CLI's."""
    lam = world.client("lambda")
    variables = lam.get_function_configuration(FunctionName=FUNCTION)["Environment"]["Variables"]
    assert variables["ENVIRONMENT"] == "dev"
    lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": {**variables, "ENVIRONMENT": "prod"}})
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": variables})


def test_function__prod_start_invoked_directly__refused_until_another_identity_approves(world, prod_rule_on_the_function):
    gates(world, "OK")
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
    before = weights(world)
    operator = operator_session(world)
    me = operator.client("sts").get_caller_identity()["Arn"]
    lam = operator.client("lambda")

    def invoke(change_id: str | None) -> dict:
        event = {"command": "start", "actor": me, "caller": me, "reason": "direct", **({"change_id": change_id} if change_id else {})}
        return json.loads(lam.invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode())["Payload"].read())

    no_change = invoke(None)
    unapproved = invoke("CHG-90")
    assert bluegreen("approve", "--role", "operator", *MFA, "--change-id", "CHG-90", "--for", "start", "--reason", "me")[0] == 0
    self_approved = invoke("CHG-90")

    assert "needs the event's change_id" in no_change["error"]
    assert "needs a second operator's approval of CHG-90" in unapproved["error"]
    assert "the same identity that now acts" in self_approved["error"]
    assert weights(world) == before
    # A second identity (the deployer's, not the operator's session) approves: the same invocation runs.
    assert bluegreen("approve", "--change-id", "CHG-91", "--for", "start", "--reason", "CAB approved")[0] == 0
    approved = invoke("CHG-91")
    assert approved["ok"] is True, approved
    assert weights(world) != before
    world.invoke({"command": "rollback", "actor": "test", "reason": "reset"})
