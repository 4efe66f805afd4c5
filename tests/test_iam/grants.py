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
