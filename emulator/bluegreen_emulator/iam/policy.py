"""Whether identity policies allow an IAM request (requests.Request), and whether a trust policy
lets a principal assume its role.

Evaluated as IAM does within one account for identity policies: a request is allowed when every
resource it names is allowed by some Allow statement of some policy and denied by no Deny statement
of any (explicit Deny wins); Action / NotAction and Resource / NotResource with IAM's wildcards
(``*`` any run, ``?`` one character). Conditions: StringEquals, StringNotEquals, StringLike,
ArnEquals, ArnLike, Bool, Null and the ForAllValues:/ForAnyValue: forms of the string operators.
A condition key the request does not carry makes its statement **not apply**, for Allow and for
Deny alike (IAM: a missing key fails every operator but the ...IfExists forms and Null); an operator
not listed here is an error in tests (``strict=True``) and makes the statement not apply in the
emulator, which logs it. Not evaluated: permission boundaries, SCPs, session policies, resource
policies (docs/emulator.md, "IAM: what is proven, and where"). Standard library only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from .requests import UNAUTHORIZED, Request

log = logging.getLogger(__name__)


class UnknownOperator(ValueError):
    pass


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _match(pattern: str, value: str, *, case: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


_SINGLE = {
    "StringEquals": lambda w, v: v == w,
    "StringNotEquals": lambda w, v: v != w,
    "StringLike": lambda w, v: _match(w, v, case=True),
    "ArnEquals": lambda w, v: v == w,
    "ArnLike": lambda w, v: _match(w, v, case=True),
    "Bool": lambda w, v: v.lower() == w.lower(),
}
_NEGATED = {"StringNotEquals"}


def _condition(operator: str, key: str, expected: Any, ctx: dict[str, tuple[str, ...]]) -> bool:
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(expected)]
    if operator == "Null":
        return (key not in ctx) == (wanted[0].lower() == "true")
    quantifier, _, base = operator.rpartition(":")
    if base not in _SINGLE or quantifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnknownOperator(f"condition operator {operator} is not evaluated by {__file__}")
    if key not in ctx:
        return False
    values, test = ctx[key], _SINGLE[base]
    one = (lambda v: all(test(w, v) for w in wanted)) if base in _NEGATED else (lambda v: any(test(w, v) for w in wanted))
    if quantifier == "ForAllValues":
        return all(one(v) for v in values)
    if quantifier == "ForAnyValue":
        return any(one(v) for v in values)
    return len(values) == 1 and one(values[0])


def _conditions_hold(statement: dict, ctx: dict, strict: bool) -> bool:
    try:
        return all(_condition(op, key, expected, ctx)
                   for op, keys in (statement.get("Condition") or {}).items() for key, expected in keys.items())
    except UnknownOperator:
        if strict:
            raise
        log.warning("statement %s: condition %s not evaluated: the statement does not apply",
                    statement.get("Sid", "?"), statement.get("Condition"))
        return False


def _element(statement: dict, name: str, value: str, *, case: bool) -> bool:
    """Action/NotAction or Resource/NotResource matches ``value`` (absent: matches, as in trust policies)."""
    if name in statement:
        return any(_match(p, value, case=case) for p in _listed(statement[name]))
    if "Not" + name in statement:
        return not any(_match(p, value, case=case) for p in _listed(statement["Not" + name]))
    return name == "Resource"


def applies(statement: dict, action: str, resource: str, ctx: dict, *, strict: bool = True) -> bool:
    return (_element(statement, "Action", action, case=False)
            and _element(statement, "Resource", resource, case=True)
            and _conditions_hold(statement, ctx, strict))


@dataclass
class Verdict:
    allowed: bool
    statements: list[str] = field(default_factory=list)  # Sids that allowed it
    denied_by: str = ""  # Sid of the explicit Deny, if one denied it
    resource: str = ""  # the resource no statement allowed (or the one denied)


def statements_of(documents: dict | list[dict]) -> list[dict]:
    return [s for d in _listed(documents) for s in _listed(d["Statement"])]


def allows(documents: dict | list[dict], req: Request, *, strict: bool = True) -> Verdict:
    """Allowed when every resource of the request is allowed by some statement and denied by none."""
    if req.action in UNAUTHORIZED:
        return Verdict(True)
    statements = statements_of(documents)
    ctx, sids = req.ctx(), []
    for resource in req.resources:
        deny = next((s for s in statements if s["Effect"] == "Deny" and applies(s, req.action, resource, ctx, strict=strict)), None)
        if deny is not None:
            return Verdict(False, denied_by=deny.get("Sid", "?"), resource=resource)
        allowing = [s.get("Sid", "?") for s in statements
                    if s["Effect"] == "Allow" and applies(s, req.action, resource, ctx, strict=strict)]
        if not allowing:
            return Verdict(False, resource=resource)
        sids += allowing
    return Verdict(True, sids)


def _principal_matches(expected: Any, principal: dict[str, str]) -> bool:
    """``principal``: {"AWS": caller ARN, "Account": its account} or {"Service": service principal}."""
    if expected == "*":
        return True
    for kind, values in (expected or {}).items():
        for value in _listed(values):
            if kind == "Service" and principal.get("Service") == value:
                return True
            if kind == "AWS" and "AWS" in principal:
                account = principal["Account"]
                if value in ("*", principal["AWS"], account, f"arn:aws:iam::{account}:root"):
                    return True
    return False


def trust_allows(document: dict, principal: dict[str, str], req: Request, *, strict: bool = False) -> Verdict:
    """A role's trust policy: some Allow statement names the principal and the action, none denies it."""
    ctx = req.ctx()
    statements = _listed(document["Statement"])

    def concerned(s: dict) -> bool:
        return (_element(s, "Action", req.action, case=False) and _principal_matches(s.get("Principal"), principal)
                and _conditions_hold(s, ctx, strict))
    deny = next((s for s in statements if s["Effect"] == "Deny" and concerned(s)), None)
    if deny is not None:
        return Verdict(False, denied_by=deny.get("Sid", "?"))
    allowing = [s.get("Sid", "?") for s in statements if s["Effect"] == "Allow" and concerned(s)]
    return Verdict(bool(allowing), allowing)


def granted_actions(document: dict) -> list[tuple[str, str]]:
    """(Sid, action) of every Allow statement: what a run must use, or the grant is excess."""
    return [(s.get("Sid", "?"), a) for s in _listed(document["Statement"]) if s["Effect"] == "Allow"
            for a in _listed(s["Action"])]
