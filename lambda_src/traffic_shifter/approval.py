"""The two-person rule where the change happens: this function refuses a prod ``start``, ``promote`` or
``db switchover`` that no second operator approved, however it was invoked (``bluegreen`` or a bare
``aws lambda invoke``).

The approval is an item of the state table (``plan_id`` = ``approval#<change id>#<action>``) that
``bluegreen approve`` writes as the approver's STS identity (bluegreen/approvals.py writes it; this
module holds the rule both sides apply, so the CLI and the function cannot disagree). The event must
name its change (``change_id``) and who asks (``caller``: the CLI puts the caller's STS ARN there);
the approval must exist, be unexpired and be given by another identity than ``caller``.

What the function cannot know: who invoked it (a synchronous Invoke carries no caller identity to the
handler). ``caller`` is therefore a claim; what holds it honest is that only the operator role may
invoke the function (templates/access.py), CloudTrail records the Invoke with its real principal, and
the approval itself was written by another identity. PCI DSS v4.0.1 6.5.1 / 6.5.4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Environments where the rule applies (the function reads its own from ENVIRONMENT; dev rehearses without it).
ENVIRONMENTS = ("prod",)
#: Commands that need an approval, as ``bluegreen approve --for`` names them.
ACTIONS = ("start", "promote", "switchover")
#: The function's event command -> the approval it needs.
GUARDED_COMMANDS = {"start": "start", "promote": "promote", "db switchover": "switchover"}
#: How long an approval may be used: the change window, not the day.
APPROVAL_MINUTES = 60
#: A change id of the change-management system (one pattern for every command): CHG-4711, INC-12.
CHANGE_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[0-9]{1,10}$")
#: The function's environment variable naming its environment (templates/automation.py sets it).
ENVIRONMENT_VARIABLE = "ENVIRONMENT"


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
    def from_item(cls, item: Mapping[str, Any]) -> Approval:
        return cls(item["change_id"], item["action"], item["approved_by"], item.get("reason", ""),
                   datetime.fromisoformat(item["approved_at"]), datetime.fromisoformat(item["expires_at"]))


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


def event_refusal(event: Mapping[str, Any], environment: str, approval: Approval | None, now: datetime) -> str | None:
    """Why this function must refuse ``event`` (None: not guarded here, or approved). Pure: the caller
    reads the approval named by :func:`wanted` first."""
    action = GUARDED_COMMANDS.get(str(event.get("command")))
    if action is None or environment not in ENVIRONMENTS:
        return None
    change_id, caller = str(event.get("change_id") or ""), str(event.get("caller") or "")
    if not CHANGE_ID.match(change_id):
        return (f"{event.get('command')} in {environment} needs the event's change_id (a change number like CHG-4711) "
                "and a second operator's approval of it; use bluegreen, which sends both")
    if not caller:
        return f"{event.get('command')} in {environment} needs the event's caller (the STS ARN of who asks)"
    return refusal(approval, change_id, action, caller, now)


def wanted(event: Mapping[str, Any], environment: str) -> str | None:
    """The state-table key of the approval ``event`` needs here (None: none needed or none can match)."""
    action = GUARDED_COMMANDS.get(str(event.get("command")))
    change_id = str(event.get("change_id") or "")
    if action is None or environment not in ENVIRONMENTS or not CHANGE_ID.match(change_id):
        return None
    return key(change_id, action)


def read(dynamodb: Any, table: str, item_key: str) -> Approval | None:
    """The approval item (low-level DynamoDB client, strongly consistent: an approval just given counts)."""
    from boto3.dynamodb.types import TypeDeserializer

    raw = dynamodb.get_item(TableName=table, Key={"plan_id": {"S": item_key}}, ConsistentRead=True).get("Item")
    if not raw:
        return None
    plain = {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}
    return Approval.from_item(plain)


def now() -> datetime:
    return datetime.now(UTC)
