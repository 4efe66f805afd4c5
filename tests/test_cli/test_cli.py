"""``bluegreen shift ...`` against the moto world: ``status`` read in-process with the Lambda's code, every
changing command sent to the function (its handler run in-process by conftest.invoke_in_process, since
moto cannot run a function without Docker; tests/test_iam/test_roles_on_emulator.py runs it in the
emulator's Lambda with IAM enforced)."""

from __future__ import annotations

import io
import json

import pytest

from bluegreen import cli

from .conftest import PROJECT_ROOT, invoke_in_process, world_module


def test_main__status__readable_state_weights_gates_plan(world, bluegreen):
    world.set_gate(world_module.REPLICATION_GATE, "INSUFFICIENT_DATA", "no datapoints")

    run = bluegreen("shift", "status", "--env", "dev", "--project-dir", str(PROJECT_ROOT))

    assert (run.code, run.err) == (0, "")
    assert run.out.splitlines() == [
        "deployment    dev-d01 (function lambda-traffic-shifter-dev-d01)",
        "status        idle, step - of 4, version 0",
        "step started  -",
        "reason        -",
        "updated by    - at -",
        "weights       alb-blue-dev-d01 100/0, alb-green-dev-d01 100/0 | Route 53 A 100/0 | SSM 0",
        "              (blue/green; the state expects green 0: in sync)",
        "gates         OK                alarm-green-health-dev-d01",
        "              INSUFFICIENT_DATA alarm-data-replication-dev-d01: no datapoints",
        "              OK                alarm-green-5xx-dev-d01",
        "plan            1. green 10, bake 300 s",
        "                2. green 25, bake 300 s",
        "                3. green 50, bake 600 s",
        "                4. green 100, bake 0 s",
        "next tick     noop: status is idle; ticks act only while running or paused",
    ]
    assert world.writes() == []


def test_main__status_json__machine_readable(world, bluegreen):
    run = bluegreen("shift", "status", "--env", "dev", "--json", "--project-dir", str(PROJECT_ROOT))

    result = json.loads(run.out)
    assert (run.code, result["ok"], result["function"]) == (0, True, "lambda-traffic-shifter-dev-d01")
    assert result["weights"] == {
        "alb": {"blue": 100, "green": 0},
        "listeners": [{"listener": arn, "blue": 100, "green": 0} for arn, _, _ in world.listeners()],
        "route53": [{"type": "A", "blue": 100, "green": 0}],
        "ssm": "0",
    }


def test_main__start__first_step_applied_by_the_lambda_code(world, bluegreen):
    run = bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1234", "--reason", "release", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 0
    assert run.out.splitlines() == [
        "start: start by arn:aws:sts::123456789012:user/moto (cli) (CHG-1234: release): running the plan from its first step",
        "  changed: nothing",
        "then advance: every gate OK; advancing to step 1 (green 10, bake 300 s)",
        "  changed: ALB alb-blue-dev-d01 blue/green 100/0 -> 90/10",
        "  changed: ALB alb-green-dev-d01 blue/green 100/0 -> 90/10",
        "  changed: Route 53 A blue/green 100/0 -> 90/10",
        "  changed: SSM /payments-migration/dev-d01/traffic/green-weight '0' -> '10'",
        "status now: running (step 1, version 4)",
    ]
    assert world.weights() == {"alb": (90, 10), "route53": (90, 10), "ssm": "10"}


def test_main__actor__the_aws_caller_identity_recorded(world, bluegreen):
    assert bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1", "--reason", "r", "--project-dir", str(PROJECT_ROOT)).code == 0
    assert bluegreen("shift", "pause", "--env", "dev", "--change-id", "CHG-1", "--reason", "r", "--project-dir", str(PROJECT_ROOT)).code == 0

    assert world.state_item()["updated_by"] == "arn:aws:sts::123456789012:user/moto (cli)"


def test_main__rollback__both_weights_back_and_reason_recorded(world, bluegreen):
    bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT))

    run = bluegreen("shift", "rollback", "--env", "dev", "--change-id", "INC-7", "--reason", "declines up", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 0
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}
    assert world.state_item()["reason"].startswith("manual rollback by arn:aws:sts::123456789012:user/moto (cli) (INC-7: declines up)")


def test_main__command_forbidden__message_exit_1_no_traceback(world, bluegreen):
    run = bluegreen("shift", "resume", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT))

    assert (run.code, run.out) == (1, "")
    assert run.err == (
        "bluegreen: error: cannot resume: status is idle; resume is allowed when status is paused or rolled_back "
        "(allowed now: status, start, rollback)\n"
    )


def test_main__command_forbidden_json__error_as_json(world, bluegreen):
    run = bluegreen("shift", "pause", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--json", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 1
    assert json.loads(run.out) == {
        "ok": False,
        "error": "cannot pause: status is idle; pause is allowed when status is running (allowed now: status, start, rollback)",
    }


def test_main__malformed_plan__plan_error_exit_1(world, bluegreen):
    world.put_plan('{"steps": [{"green_weight": 110, "bake_seconds": 0}]}')

    run = bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 1
    assert run.err == "bluegreen: error: /payments-migration/dev-d01/shift/plan: step 1: green_weight must be an integer 0..100, got 110\n"
    assert world.weights()["alb"] == (100, 0)


def test_main__unknown_env__lists_known_exit_2(bluegreen):
    run = bluegreen("shift", "status", "--env", "qa", "--project-dir", str(PROJECT_ROOT))

    assert (run.code, run.err) == (2, "bluegreen: error: unknown environment 'qa'; known environments: dev, prod\n")


def test_main__function_not_deployed__clear_error(world, bluegreen):
    run = bluegreen("shift", "status", "--env", "prod", "--project-dir", str(PROJECT_ROOT))

    assert (run.code, run.err) == (
        1,
        "bluegreen: error: function lambda-traffic-shifter-prod-p01 not found in us-east-1; "
        "is the automation stack of prod-p01 deployed?\n",
    )


def test_main__lambda_prefix_differs_from_config__refused(world, bluegreen):
    world.client("lambda").update_function_configuration(
        FunctionName=world_module.FUNCTION_NAME, Environment={"Variables": {**world.env, "SSM_PREFIX": "/payments-migration/dev-d02"}}
    )

    run = bluegreen("shift", "status", "--env", "dev", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 1
    assert "has SSM_PREFIX '/payments-migration/dev-d02' but" in run.err
    assert "refusing to act on a deployment that does not match its config" in run.err


def test_main__no_credentials__aws_error_without_traceback(bluegreen, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    run = bluegreen("shift", "status", "--env", "dev", "--project-dir", str(PROJECT_ROOT))

    assert (run.code, run.err) == (1, "bluegreen: error: AWS: Unable to locate credentials\n")


def test_main__unknown_command__argparse_usage_exit_2(bluegreen, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bluegreen("shift", "launch", "--env", "dev")

    assert exit_info.value.code == 2
    assert "invalid choice: 'launch'" in capsys.readouterr().err


def test_make_session__aws_endpoint_url__clients_use_the_emulator(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5999")
    env = cli.load_environment("dev", PROJECT_ROOT)

    session = cli.make_session(env)

    assert session.client("lambda").meta.endpoint_url == "http://localhost:5999"
    assert session.region_name == "us-east-1"


# -- issue 14: what status says under faults --------------------------------------------------------
def _set_lambda_env(world, **variables):
    world.env.update(variables)
    world.client("lambda").update_function_configuration(FunctionName=world_module.FUNCTION_NAME, Environment={"Variables": world.env})


def test_main__status__low_traffic_guard_and_a_plan_edited_mid_shift(world, bluegreen):
    _set_lambda_env(world, LOW_TRAFFIC_MIN_REQUESTS="100")
    assert bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT)).code == 0
    world.put_plan({"steps": [{"green_weight": 10, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]})

    run = bluegreen("shift", "status", "--env", "dev", "--project-dir", str(PROJECT_ROOT))

    rows = run.out.splitlines()
    assert run.code == 0
    assert any(r.startswith("PROBLEM       the plan was edited after this shift started") for r in rows)
    assert any(r.startswith("plan bound    ") and r.endswith(": EDITED, the shift holds)") for r in rows)
    assert "traffic       green served 0 request(s) this bake (LOW_TRAFFIC_MIN_REQUESTS 100)" in rows
    assert rows[-1].startswith("next tick     hold: the plan was edited after this shift started")


def test_main__command_loses_a_race__exit_1_says_what_the_world_is(world, bluegreen):
    assert bluegreen("shift", "start", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT)).code == 0
    item = world.client("dynamodb").get_item(TableName=world_module.TABLE, Key={"plan_id": {"S": "traffic"}})["Item"]
    item["pending"] = {"S": json.dumps({"action": "rollback", "by": "traffic-shifter (alarm)", "at": "2020-01-01T00:00:00Z"})}
    world.client("dynamodb").put_item(TableName=world_module.TABLE, Item=item)  # a rollback that never recorded its end

    run = bluegreen("shift", "pause", "--env", "dev", "--change-id", "CHG-1", "--reason", "test", "--project-dir", str(PROJECT_ROOT))

    assert run.code == 1
    assert "cannot pause: finishing the rollback begun by traffic-shifter (alarm) at 2020-01-01T00:00:00Z" in run.err
    assert "pause was not carried out (status is now rolled_back)" in run.err
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}


def test_main__changing_commands__sent_to_the_function_with_who_why_and_the_change(world, bluegreen):
    """The shell only invokes: the function runs the command (it may tick the plan, and a tick may move the
    database writer, which only the function can reach). Status stays a read in the shell."""
    sent = []

    def invoke(session, function, payload, tail):
        sent.append((function, json.loads(payload), tail))
        return invoke_in_process(session, function, payload, tail)

    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main([*argv, "--env", "dev", "--project-dir", str(PROJECT_ROOT)], session_factory=world_module.new_session,
                        stdout=out, stderr=err, invoke=invoke)
        return code, out.getvalue(), err.getvalue()

    assert run("shift", "status")[0] == 0
    assert sent == []
    code, _, err = run("shift", "start", "--change-id", "CHG-5", "--reason", "release", "--verbose")
    assert code == 0, err
    me = "arn:aws:sts::123456789012:user/moto"
    assert sent == [("lambda-traffic-shifter-dev-d01", {"command": "start", "actor": f"{me} (cli)", "caller": me,
                                                         "reason": "CHG-5: release", "change_id": "CHG-5"}, True)]
    assert '"last_action":"advance"' in err.replace(" ", "")  # --verbose: the invocation's log tail (its last 4 KB)
    assert world.weights() == {"alb": (90, 10), "route53": (90, 10), "ssm": "10"}


def test_main__function_fails__exit_1_says_to_check_the_status(world, bluegreen):
    from botocore.exceptions import EndpointConnectionError

    def invoke(session, function, payload, tail):
        raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    out, err = io.StringIO(), io.StringIO()
    run = cli.main(["shift", "rollback", "--env", "dev", "--change-id", "INC-1", "--reason", "r", "--project-dir", str(PROJECT_ROOT)],
                   session_factory=world_module.new_session, stdout=out, stderr=err, invoke=invoke)

    assert (run, out.getvalue()) == (1, "")
    assert err.getvalue().startswith("bluegreen: error: rollback: invoking lambda-traffic-shifter-dev-d01 failed: ")
    assert "Check what happened with bluegreen shift status before repeating the command" in err.getvalue()
