"""An AWS call that was denied, or that reached nothing, said in one sentence an operator can act on.

Every entry point that calls AWS (this Lambda's answer, the ``bluegreen`` command, the Sceptre hooks
and resolvers, ``scripts/demo``) turns its failures into text here, so a denial reads the same
everywhere: which action, on which resource, for which principal, and what to do. It lives in the
Lambda's package because the Lambda's zip holds only ``lambda_src/traffic_shifter/``; the tools import
it from there, as the CLI imports the rest of the shifter's code.

What AWS answers when IAM denies a call (docs/aws-constraints.md lists the sources):

* the code: ``AccessDenied`` (query and REST-XML services: STS, ELB, CloudWatch, CloudFormation,
  Route 53, S3), ``AccessDeniedException`` (JSON services: SSM, DynamoDB, Lambda, Secrets Manager, KMS),
  ``AccessDeniedFault`` (DMS), ``AuthorizationError`` (SNS), ``UnauthorizedOperation`` (EC2), and
  ``KMSAccessDenied...`` variants where a service uses a key with the caller's permissions;
* the message, for most services: ``User: <principal ARN> is not authorized to perform: <action>
  [on resource: <ARN>] because no identity-based policy allows the <action> action`` (or ``with an
  explicit deny in ...``); S3 quotes the resource; EC2 says only ``You are not authorized to perform
  this operation. Encoded authorization failure message: ...`` (``aws sts decode-authorization-message``
  reveals the rest), so there the action is the service and operation of the call.

Text in, text out: ``parse`` reads any message (a ClientError's, or one that an error wrapped, or a
Lambda's ``errorMessage``), so a denial is still named after it crossed a process boundary.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

#: Error codes AWS answers an IAM denial with (see the module docstring); matched case-insensitively,
#: and any code containing "AccessDenied" (KMSAccessDeniedException, KmsAccessDenied...) is one too.
DENIAL_CODES = frozenset({"accessdenied", "accessdeniedexception", "accessdeniedfault", "authorizationerror",
                          "authorizationerrorexception", "unauthorizedoperation", "client.unauthorizedoperation"})
_MESSAGE = re.compile(
    r"(?P<principal>arn:[^\s\"']+) is not authorized to perform: (?P<action>[\w.-]+:[\w*.-]+)"
    r"(?: on resource: \"?(?P<resource>arn:[^\s\"']+?)\"?(?=[\s,;)]|\.?$))?"
)
#: botocore's names of endpoint failures (no import: the runtime's botocore provides the classes).
UNREACHABLE = ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError")
WHAT_TO_DO = "grant that action on that resource to that principal's policy, or act as a principal that has it"


@dataclass(frozen=True)
class Denial:
    """One denied AWS call: what, on what, for whom, as AWS said it."""

    action: str  # "elasticloadbalancing:ModifyListener"
    resource: str  # the ARN AWS names, or "" when it names none
    principal: str  # the caller's ARN, or "" when AWS does not say (EC2)
    code: str = ""  # the error code, when known
    why: str = ""  # AWS's reason: "because no identity-based policy allows ...", "with an explicit deny in ..."

    def sentence(self) -> str:
        """``AccessDenied: <principal> may not <action> on <resource> (<why>); <what to do>``."""
        who = self.principal or "the caller (`aws sts get-caller-identity` says who)"
        on = f" on {self.resource}" if self.resource else ""
        why = f" ({self.why})" if self.why else ""
        return f"{self.code or 'AccessDenied'}: {who} may not {self.action}{on}{why}; {WHAT_TO_DO}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def is_denial_code(code: str | None) -> bool:
    return bool(code) and (code.lower() in DENIAL_CODES or "accessdenied" in code.lower())  # type: ignore[union-attr]  # bool(code) first: code is a str here


def parse(text: str, code: str = "") -> Denial | None:
    """The denial a message states (anywhere in ``text``), or None."""
    found = _MESSAGE.search(text or "")
    if found is None:
        return None
    return Denial(action=found["action"], resource=(found["resource"] or "").rstrip("."), principal=found["principal"],
                  code=code, why=_reason(text[found.end():]))


def _reason(rest: str) -> str:
    """AWS's "because ..." / "with an explicit deny in ..." after the action, up to where a wrapping text goes on."""
    rest = rest.lstrip()
    if not rest.startswith(("because ", "with ")):
        return ""
    why = re.split(r"[;\n]|\. Go to |\. Encoded ", rest, maxsplit=1)[0]
    while why.endswith(")") and why.count(")") > why.count("("):  # the wrapper's closing parenthesis
        why = why[:-1]
    return why.rstrip(" .'\"")


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and what caused it, outermost first (a cycle-safe walk of __cause__ / __context__)."""
    seen: list[BaseException] = []
    while err is not None and all(err is not s for s in seen):
        seen.append(err)
        err = err.__cause__ or err.__context__  # type: ignore[assignment]  # the chain holds exceptions (BaseException) besides Exception; the loop stops at None
    return seen


def denial_of(err: BaseException) -> Denial | None:
    """The denial behind ``err``: a ClientError with a denial code, or any error in its chain whose text states one."""
    for link in _chain(err):
        response: Any = getattr(link, "response", None)
        if isinstance(response, dict) and "Error" in response:
            error = response.get("Error") or {}
            code = str(error.get("Code") or "")
            if not is_denial_code(code):
                continue
            message = str(error.get("Message") or "")
            found = parse(message, code)
            if found is not None:
                return found
            # EC2's encoded message (and S3 across accounts) names neither action nor principal:
            # the call itself is the action (UnauthorizedOperation is EC2's code alone).
            operation = str(getattr(link, "operation_name", "") or "the call")
            action = f"ec2:{operation}" if code.lower().endswith("unauthorizedoperation") else operation
            return Denial(action=action, resource="", principal="", code=code,
                          why=message.split(" Encoded authorization failure message:")[0].rstrip(" ."))
    for link in _chain(err):
        found = parse(str(link))
        if found is not None:
            return found
    return None


def unreachable_of(err: BaseException) -> BaseException | None:
    """The endpoint failure (no answer at all) behind ``err``, or None."""
    return next((link for link in _chain(err) if type(link).__name__ in UNREACHABLE), None)


def explain(err: BaseException) -> str:
    """One line for an operator: the denial if there is one, else that the endpoint did not answer, else the error.

    The denial comes first; a wrapping error's own words follow it (``AccessDenied: ... -- rollback did
    not finish ...``), as they say what state the run left behind.
    """
    denied = denial_of(err)
    own = str(err)
    if denied is not None:
        if getattr(err, "response", None) is not None or own in ("", denied.action):
            return denied.sentence()
        return f"{denied.sentence()} -- {own}"
    lost = unreachable_of(err)
    if lost is not None:
        return f"no answer from the AWS endpoint: {lost}"
    return own or type(err).__name__


def explain_text(text: str) -> str:
    """``explain`` for a failure that arrives as text (a Lambda's ``error`` or ``errorMessage``): the denial it
    states first, then the text."""
    denied = parse(text)
    return f"{denied.sentence()} -- {text}" if denied is not None else text
