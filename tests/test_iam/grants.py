"""Which IAM request an API call is, and whether a policy document allows it: the emulator's own.

The mapping (``request``: action, resource ARNs, Route 53 condition keys of a recorded call) and the
evaluation (``allows``) are the ones the emulator enforces on every request it serves
(emulator/bluegreen_emulator/iam/requests.py, policy.py): one source. Tests evaluate strictly:
a condition operator the evaluator does not know is an error here, not a statement that does not apply.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_EMULATOR = str(Path(__file__).resolve().parents[2] / "emulator")
if _EMULATOR not in sys.path:
    sys.path.insert(0, _EMULATOR)

from bluegreen_emulator.iam.policy import Verdict, _listed, _match, allows, granted_actions, trust_allows  # noqa: E402 - after sys.path has the emulator's folder
from bluegreen_emulator.iam.requests import (  # noqa: E402 - after sys.path has the emulator's folder
    ACCOUNT,
    OPERATIONS,
    REGION,
    UNAUTHORIZED,
    Request,
    _arn,
    request,
    service_side,
    via,
)

__all__ = ["ACCOUNT", "OPERATIONS", "REGION", "UNAUTHORIZED", "Request", "Verdict", "_arn", "_listed", "_match",
           "allows", "granted_actions", "request", "service_side", "trust_allows", "via"]


def without_action(policy: dict, sid: str, action: str) -> dict:
    """A copy of ``policy`` whose statement ``sid`` no longer grants ``action`` (the proof that it is needed)."""
    out = json.loads(json.dumps(policy))
    for statement in out["Statement"]:
        if statement.get("Sid") == sid:
            statement["Action"] = [a for a in _listed(statement["Action"]) if a != action] or ["none:None"]
    return out


def granted_pairs(document: dict, known_excess) -> list[tuple[str, str]]:
    """Every (statement Sid, action) a template's policy document grants, less the named excess."""
    return [(s["Sid"], a) for s in document["Statement"] for a in _listed(s["Action"]) if (s["Sid"], a) not in known_excess]


#: What AWS Lambda needs of a function's role to attach it to a VPC (AWSLambdaVPCAccessExecutionRole).
VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")


def runtime_use(log_group: str) -> list[Request]:
    """What the Lambda runtime does with a VPC function's role (from the template, not the code): its log, the VPC attach."""
    stream = _arn("logs", f"log-group:{log_group}:log-stream:2026/01/01/[$LATEST]x")
    return ([Request(a, (stream,), why="runtime log") for a in ("logs:CreateLogStream", "logs:PutLogEvents")]
            + [Request(a, ("*",), why="VPC attach") for a in VPC_ACTIONS])


def denied(policy: dict, requests: list[Request]) -> list[str]:
    """Each request ``policy`` refuses, as 'action on resources context (why)', sorted (a test's failure message)."""
    return sorted({f"{r.action} on {', '.join(r.resources)} {r.ctx() or ''} ({r.why})"
                   for r in requests if not allows(policy, r).allowed})


def unused(policy: dict, requests: list[Request]) -> set[tuple[str, str]]:
    """Every (statement Sid, action) ``policy`` grants that no request needed: excess, unless a test names why."""
    used = {(sid, r.action) for r in requests for sid in allows(policy, r).statements}
    return set(granted_actions(policy)) - used


def first_denied_without(policy: dict, requests: list[Request], sid: str, action: str) -> list[str]:
    """The action of the first request refused once statement ``sid`` no longer grants ``action`` ([] if none is)."""
    reduced = without_action(policy, sid, action)
    return [r.action for r in requests if not allows(reduced, r).allowed][:1]
