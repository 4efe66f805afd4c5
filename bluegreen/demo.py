"""The README's main job, on the local emulator: launch, shift, fault, roll back, tear down.

    python -m bluegreen.demo --env dev        (scripts/demo starts the emulator and calls this)

1. ``sceptre launch dev``: every stack of the group, hooks and resolvers included.
2. Counts each stack's resources and asks the emulated services for every one of them
   (``scripts/emulator phantoms``): a resource the service does not know fails the run.
3. Runs a traffic shift from blue to green with the deployed traffic-shifter Lambda (invoked
   through the emulated Lambda service, as EventBridge would): the plan's steps with short
   bake times, gates healthy. When green carries 50 %, a fault is injected (green's health
   alarm goes to ALARM) and the alarm event is delivered: the Lambda rolls back by itself.
   Every step reads back both ALBs' listener weights (one ALB per colour), both weighted
   records with the ALB each one aliases, and SSM; the rollback must put both listeners at
   100 % blue in that one invocation.
4. ``sceptre delete dev`` and a check that no stack is left.

The emulator does not evaluate CloudWatch metrics, so the run sets alarm states itself
(``set_alarm_state``), exactly the states CloudWatch would publish; everything else is the
product's own code against the emulated APIs. Prints a report at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.aws_failures import describe
from bluegreen.environments import load_environment
from bluegreen.preflight import PreflightError, check_endpoint
from traffic_shifter.aws_errors import explain_text
from traffic_shifter.model import COLOURS

ROOT = Path(__file__).resolve().parent.parent
#: Short bakes so the whole shift runs in seconds; the real plan lives in the parameters stack.
DEMO_PLAN = {"steps": [
    {"green_weight": 10, "bake_seconds": 2},
    {"green_weight": 25, "bake_seconds": 2},
    {"green_weight": 50, "bake_seconds": 2},
    {"green_weight": 100, "bake_seconds": 0},
]}
FAULT_AT_GREEN_WEIGHT = 50
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class DemoError(Exception):
    """A step of the run failed; the message says what to do."""


@dataclass(frozen=True)
class Reading:
    """The weights as the services hold them after one step (nothing taken from the Lambda's answer)."""

    #: blue/green of each ALB's HTTPS listener, blue ALB first (the LISTENER_ARNS order).
    listeners: tuple[str, ...]
    #: blue/green of the two weighted records.
    r53: str
    #: record (SetIdentifier) -> name of the ALB its alias target resolves to.
    aliases: dict[str, str]
    ssm: str

    @property
    def all_blue(self) -> bool:
        return all(w == "100/0" for w in self.listeners) and self.r53 == "100/0"


@dataclass
class Report:
    stacks: dict[str, int] = field(default_factory=dict)
    phantoms: str = ""
    launch_seconds: float = 0.0
    steps: list[dict] = field(default_factory=list)
    rollback: dict = field(default_factory=dict)
    teardown: str = "not run"

    def render(self) -> str:
        lines = ["", "=" * 78, "REPORT: blue-green run on the local emulator", "=" * 78]
        lines.append(f"sceptre launch: {len(self.stacks)} stacks, {sum(self.stacks.values())} resources "
                     f"in {self.launch_seconds:.0f} s")
        for name, count in sorted(self.stacks.items()):
            lines.append(f"  {name:<34} {count:>4} resources")
        lines.append(f"phantom check: {self.phantoms}")
        lines.append("traffic shift (weights read back from both ALBs' listeners, Route 53 and SSM):")
        lines.append(f"  {'t+s':>6}  {'event':<34} {'blue ALB':>9} {'green ALB':>9} {'R53 b/g':>9} {'SSM':>4}  status")
        for s in self.steps:
            blue, green = s["listeners"]
            lines.append(f"  {s['t']:>6.1f}  {s['event']:<34} {blue:>9} {green:>9} {s['r53']:>9} {s['ssm']:>4}  {s['status']}")
        if self.steps:
            aliases = self.steps[-1]["aliases"]
            lines.append("weighted records alias two different ALBs: " + ", ".join(
                f"{record} -> {aliases.get(record)}" for record in COLOURS))
        if self.rollback:
            r = self.rollback
            lines.append(f"rollback: {r['reason']}")
            lines.append(f"  alarm event delivered -> both ALB listeners and Route 53 at 100 % blue in {r['seconds']:.2f} s "
                         f"(one Lambda invocation through the emulator)")
        lines.append(f"teardown: {self.teardown}")
        lines.append("=" * 78)
        return "\n".join(lines)


class Emulated:
    """The AWS clients of the run, all pointed at the emulator by AWS_ENDPOINT_URL."""

    def __init__(self, env: str):
        self.settings = load_environment(env, ROOT)
        self.session = boto3.session.Session(region_name="us-east-1")
        self.cfn = self.session.client("cloudformation")
        self.lam = self.session.client("lambda")
        self.cw = self.session.client("cloudwatch")
        self.elb = self.session.client("elbv2")
        self.r53 = self.session.client("route53")
        self.ssm = self.session.client("ssm")
        self.function = f"lambda-traffic-shifter-{self.settings.name}-{self.settings.suffix}"

    def invoke(self, payload: dict) -> dict:
        """The shifter's answer to ``payload``; DemoError when it failed or refused (a denial named first)."""
        response = self.lam.invoke(FunctionName=self.function, Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read() or b"null")
        asked = payload.get("command") or payload.get("detail-type") or "event"
        if response.get("FunctionError"):  # the runtime's error object: errorMessage, errorType, stackTrace
            error = body if isinstance(body, dict) else {"errorMessage": str(body)}
            raise DemoError(f"the traffic shifter failed on {asked!r} ({error.get('errorType', response['FunctionError'])}): "
                            f"{explain_text(str(error.get('errorMessage', '')))}")
        if not isinstance(body, dict) or body.get("ok") is False or "state" not in body:
            refusal = body.get("error") if isinstance(body, dict) else None
            raise DemoError(f"the traffic shifter refused {asked!r}: {explain_text(str(refusal or body))}")
        return body

    def lambda_env(self) -> dict[str, str]:
        return self.lam.get_function_configuration(FunctionName=self.function)["Environment"]["Variables"]

    def weights(self, env: dict[str, str]) -> Reading:
        """Both listeners (LISTENER_ARNS with the target groups in the same order), both records, SSM."""
        arns = {key: env[key].split(",") for key in ("LISTENER_ARNS", "BLUE_TARGET_GROUP_ARNS", "GREEN_TARGET_GROUP_ARNS")}
        listeners = []
        for listener_arn, blue, green in zip(arns["LISTENER_ARNS"], arns["BLUE_TARGET_GROUP_ARNS"],
                                             arns["GREEN_TARGET_GROUP_ARNS"], strict=False):
            listener = self.elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
            groups = {g["TargetGroupArn"]: g.get("Weight") for g in
                      listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
            listeners.append(f"{groups.get(blue)}/{groups.get(green)}")
        records = [r for r in self.r53.list_resource_record_sets(HostedZoneId=env["HOSTED_ZONE_ID"])["ResourceRecordSets"]
                   if r.get("SetIdentifier") in COLOURS and "Weight" in r]
        by_colour = {r["SetIdentifier"]: r for r in records}
        albs = {_dns(lb["DNSName"]): lb["LoadBalancerName"]
                for lb in self.elb.describe_load_balancers()["LoadBalancers"]}
        aliases = {colour: albs.get(_dns(r.get("AliasTarget", {}).get("DNSName", "")), "not an ALB of this account")
                   for colour, r in by_colour.items()}
        r53 = "/".join(str(by_colour.get(c, {}).get("Weight")) for c in COLOURS)
        ssm = self.ssm.get_parameter(Name=env["SSM_PREFIX"] + "/traffic/green-weight")["Parameter"]["Value"]
        return Reading(listeners=tuple(listeners), r53=r53, aliases=aliases, ssm=ssm)


def _dns(name: str) -> str:
    """An alias target as Route 53 returns it (``dualstack.``, trailing dot, any case) -> the ALB's DNSName."""
    name = name.lower().rstrip(".")
    return name[len("dualstack."):] if name.startswith("dualstack.") else name


def run_sceptre(*args: str) -> None:
    """Sceptre from the project venv, its progress streamed to the terminal."""
    sceptre = Path(sys.executable).parent / "sceptre"
    command = [str(sceptre), "--dir", str(ROOT), *args]
    say("$ sceptre " + " ".join(args))
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        raise DemoError(f"`sceptre {' '.join(args)}` failed (exit {result.returncode}); see its output above")


def group_stacks(aws: Emulated) -> dict[str, int]:
    prefix = f"payments-{aws.settings.name}-"
    counts = {}
    for page in aws.cfn.get_paginator("list_stacks").paginate():
        for stack in page["StackSummaries"]:
            if stack["StackName"].startswith(prefix) and stack["StackStatus"] != "DELETE_COMPLETE":
                resources = aws.cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]
                counts[stack["StackName"]] = len(resources)
    return counts


def check_phantoms() -> str:
    result = subprocess.run([str(ROOT / "scripts" / "emulator"), "phantoms"], cwd=ROOT,
                            capture_output=True, text=True)
    lines = (result.stdout + result.stderr).splitlines()
    summary = next((line for line in reversed(lines) if "resources checked" in line), "no summary printed")
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
        raise DemoError(f"phantom resources found: {summary}")
    return summary


def set_gates(aws: Emulated, env: dict[str, str], state: str, reason: str) -> None:
    """Every alarm of the deployment to `state` (CloudWatch would do it from the metrics)."""
    suffix = f"-{aws.settings.name}-{aws.settings.suffix}"
    for page in aws.cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in page["MetricAlarms"] + page["CompositeAlarms"]:
            if alarm["AlarmName"].endswith(suffix):
                aws.cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason)


def alarm_event(name: str, state: str, reason: str) -> dict:
    """The EventBridge event CloudWatch sends on an alarm state change."""
    return {
        "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "detail": {"alarmName": name, "state": {"value": state, "reason": reason,
                                                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())}},
    }


def shift_with_fault(aws: Emulated, report: Report) -> None:
    env = aws.lambda_env()
    aws.ssm.put_parameter(Name=env["SSM_PREFIX"] + "/shift/plan", Value=json.dumps(DEMO_PLAN),
                          Type="String", Overwrite=True)
    set_gates(aws, env, "OK", "demo: metrics healthy")
    start = time.monotonic()

    def record(event: str, status: str) -> Reading:
        reading = aws.weights(env)
        report.steps.append({"t": time.monotonic() - start, "event": event, "listeners": reading.listeners,
                             "r53": reading.r53, "aliases": reading.aliases, "ssm": reading.ssm, "status": status})
        edges = "   ".join(f"{edge} ALB {w:>6}" for edge, w in zip(COLOURS, reading.listeners, strict=False))
        records = ", ".join(f"{c} -> {reading.aliases.get(c)}" for c in COLOURS)
        say(f"{event:<34} {edges}   Route 53 {reading.r53:>7} ({records})   SSM {reading.ssm:>3}   {status}")
        return reading

    record("before start", "idle")
    result = aws.invoke({"command": "start", "actor": "demo"})
    record("operator: start", result["state"]["status"])
    for _ in range(20):
        time.sleep(DEMO_PLAN["steps"][0]["bake_seconds"] + 0.5)
        result = aws.invoke(SCHEDULED_EVENT)
        reading = record(f"schedule tick: {result['decision']['action']}", result["state"]["status"])
        if int(reading.ssm) >= FAULT_AT_GREEN_WEIGHT:
            break
    else:
        raise DemoError("the shift never reached 50 % green; run `bluegreen shift status --env dev`")
    if len(set(reading.aliases.values())) != len(COLOURS):
        raise DemoError(f"the weighted records must alias two different ALBs, found {reading.aliases}")

    gate = env["GATE_ALARMS"].split(",")[0]
    reason = "demo fault: green target 5xx rate 12 % > 1 % for 1 datapoint"
    say(f"injecting a fault into green: {gate} -> ALARM")
    aws.cw.set_alarm_state(AlarmName=gate, StateValue="ALARM", StateReason=reason)
    sent = time.monotonic()
    result = aws.invoke(alarm_event(gate, "ALARM", reason))
    seconds = time.monotonic() - sent
    reading = record(f"alarm event: {result['decision']['action']}", result["state"]["status"])
    if not reading.all_blue:
        raise DemoError(f"rollback did not restore blue in that run: listeners {reading.listeners}, Route 53 {reading.r53}")
    report.rollback = {"reason": result["state"]["reason"], "seconds": seconds}
    result = aws.invoke(SCHEDULED_EVENT)
    record("next tick (plan stopped)", result["state"]["status"])


def teardown(aws: Emulated, report: Report) -> None:
    run_sceptre("delete", "-y", aws.settings.name)
    left = group_stacks(aws)
    if left:
        raise DemoError(f"stacks left after delete: {sorted(left)}")
    report.teardown = f"`sceptre delete {aws.settings.name}`: every stack deleted, none left"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dev", help="stack group to launch (default dev)")
    parser.add_argument("--keep", action="store_true", help="leave the stacks up at the end")
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("demo: AWS_ENDPOINT_URL is not set; this run is for the local emulator only. "
              "Use scripts/demo, which starts the emulator and sets it.", file=sys.stderr)
        return 2
    report = Report()

    def run() -> None:
        check_endpoint(os.environ["AWS_ENDPOINT_URL"])
        aws = Emulated(args.env)
        began = time.monotonic()
        run_sceptre("launch", "-y", args.env)
        report.launch_seconds = time.monotonic() - began
        report.stacks = group_stacks(aws)
        say(f"launched {len(report.stacks)} stacks, {sum(report.stacks.values())} resources; checking for phantoms")
        report.phantoms = check_phantoms()
        say(report.phantoms)
        shift_with_fault(aws, report)
        if not args.keep:
            teardown(aws, report)
    return outcome(report, run)


def outcome(report: Report, run: Callable[[], None]) -> int:
    """Run the demo's steps; print the report; 0, or 1 with one line saying what failed (an AWS denial
    named: action, resource, principal), never a traceback."""
    try:
        run()
    except (DemoError, PreflightError) as err:
        failure = str(err)
    except (ClientError, BotoCoreError) as err:
        failure = f"an AWS call of the demo failed: {describe(err)}"
    else:
        print(report.render())
        return 0
    print(report.render())
    print(f"demo: FAILED: {failure}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
