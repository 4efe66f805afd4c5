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

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: Environments where the rule applies (group config names them; dev rehearses without it).
ENVIRONMENTS = ("prod",)
#: Commands that need an approval, as ``--for`` names them.
ACTIONS = ("start", "promote", "switchover")
#: How long an approval may be used: the change window, not the day.
APPROVAL_MINUTES = 60
#: A change id of the change-management system (one pattern for every command): CHG-4711, INC-12.
CHANGE_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[0-9]{1,10}$")


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


def key(change_id: str, action: str) -> str:
    return f"approval#{change_id}#{action}"


@dataclass(frozen=True)
class Approval:
    change_id: str
    action: str
    approved_by: str
    reason: str
    approved_at: datetime
    expires_at: datetime

    def item(self) -> dict[str, Any]:
        return {"plan_id": key(self.change_id, self.action), "change_id": self.change_id, "action": self.action,
                "approved_by": self.approved_by, "reason": self.reason,
                "approved_at": self.approved_at.isoformat(), "expires_at": self.expires_at.isoformat()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Approval:
        return cls(item["change_id"], item["action"], item["approved_by"], item.get("reason", ""),
                   datetime.fromisoformat(item["approved_at"]), datetime.fromisoformat(item["expires_at"]))


def grant(change_id: str, action: str, approver: str, reason: str, now: datetime) -> Approval:
    if action not in ACTIONS:
        raise ApprovalError(f"--for {action!r}: approvals are for {', '.join(ACTIONS)}")
    return Approval(check_change_id(change_id), action, approver, check_reason(reason), now,
                    now + timedelta(minutes=APPROVAL_MINUTES))


def refusal(approval: Approval | None, change_id: str, action: str, actor: str, now: datetime) -> str | None:
    """Why ``actor`` may not do ``action`` under ``change_id`` now (None: approved by someone else, in time)."""
    ask = (f"a second operator runs: bluegreen approve --env <env> --change-id {change_id} --for {action} "
           "--reason \"...\"")
    if approval is None:
        return f"{action} in this environment needs a second operator's approval of {change_id}: {ask}"
    if approval.expires_at <= now:
        return f"the approval of {change_id} for {action} by {approval.approved_by} expired at " \
               f"{approval.expires_at.isoformat()}: {ask}"
    if approval.approved_by == actor:
        return f"{change_id} for {action} was approved by {actor} -- the same identity that now acts; " \
               f"the two-person rule needs another: {ask}"
    return None


# ----------------------------------------------------------------------------- the state table


def save(table: Any, approval: Approval) -> None:
    table.put_item(Item=approval.item())


def load(table: Any, change_id: str, action: str) -> Approval | None:
    item = table.get_item(Key={"plan_id": key(change_id, action)}, ConsistentRead=True).get("Item")
    return Approval.from_item(item) if item else None


def now() -> datetime:
    return datetime.now(UTC)
