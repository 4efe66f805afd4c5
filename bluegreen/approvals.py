"""The two-person rule: in prod, ``start``, ``promote`` and the database switchover need a second operator.

    bluegreen approve --env prod --change-id CHG-4711 --for start --reason "CAB approved, window 22:00-23:00"

The approval is an item of the shifter's state table (``plan_id`` = ``approval#<change id>#<action>``)
holding who approved (their STS identity, never a typed name), why, when, and when it expires
(``APPROVAL_MINUTES`` later). Before acting, the command reads it and refuses when it is missing,
expired, or given by the very identity that now acts (PCI DSS v4.0.1 6.5.1 and 6.5.4: documented
approval by an authorised party other than the one who makes the change). The auditor's role has no
write on the table, so it can read approvals but not give one.

Identities are compared as STS reports them: for the people's roles that is
``arn:aws:sts::<account>:assumed-role/role-operator-prod-p01/<session name>``, and the session name
is what tells two operators apart (the CLI sets it from the local user; an identity provider sets it
from the person). What this does not prove: that two session names are two people -- an operator who
assumes the role twice under two names, or writes the item with DynamoDB directly, is not stopped
here; CloudTrail records both AssumeRole calls and the PutItem with their source identity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

# The rule itself lives with the traffic-shifter function, which applies it too (however it is invoked):
# one source for both sides.
from traffic_shifter.approval import (  # noqa: F401 - approvals.X for callers
    ACTIONS,
    APPROVAL_MINUTES,
    CHANGE_ID,
    ENVIRONMENTS,
    Approval,
    key,
    now,
    refusal,
)


class ApprovalError(Exception):
    """Refused; the message says what to do."""


def check_change_id(change_id: str | None) -> str:
    if not CHANGE_ID.match(change_id or ""):
        raise ApprovalError(f"--change-id {change_id!r} is not a change number like CHG-4711 "
                            "(capital letters, a dash, digits)")
    return str(change_id)


def check_reason(reason: str | None) -> str:
    if not (reason or "").strip():
        raise ApprovalError("--reason is required: why, for the audit trail")
    return str(reason).strip()


def grant(change_id: str, action: str, approver: str, reason: str, at: datetime) -> Approval:
    if action not in ACTIONS:
        raise ApprovalError(f"--for {action!r}: approvals are for {', '.join(ACTIONS)}")
    return Approval(check_change_id(change_id), action, approver, check_reason(reason), at,
                    at + timedelta(minutes=APPROVAL_MINUTES))


# ----------------------------------------------------------------------------- the state table


def save(table: Any, approval: Approval) -> None:
    table.put_item(Item=approval.item())


def load(table: Any, change_id: str, action: str) -> Approval | None:
    item = table.get_item(Key={"plan_id": key(change_id, action)}, ConsistentRead=True).get("Item")
    return Approval.from_item(item) if item else None
