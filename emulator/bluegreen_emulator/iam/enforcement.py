"""IAM enforced on every request the emulator serves (on by default; ``EMULATOR_IAM=off`` turns it off).

moto's own access control (``INITIAL_NO_AUTH_ACTION_COUNT``) checks almost every request against
resource ``*`` and answers an unmet condition with a Deny; it cannot tell a least-privilege role
from a broken one. This module replaces the check moto calls before each action (the
``ActionAuthenticatorMixin`` hooks of moto.core.authorization) with the project's own:

* **who**: the request's SigV4 signature is verified with the secret of the access key it names:
  an IAM user's key (the deployer the server creates at start, ``create_deployer``), a role
  session's (sts:AssumeRole), or a one-time key of the Lambda service (``issue_lambda_key``: the
  invocation's way to assume its function's role, nothing else). Any other key is refused
  (InvalidClientTokenId); an unsigned request only for the custom-resource ResponseURL.
* **what**: the call's API parameters (moto's own request parsers) become IAM action, resource
  ARNs and condition keys (requests.request); a call that table does not know is checked at
  action level on resource ``*`` (requests.action_level); S3 requests use moto's own action
  and bucket/object ARN. KMS use a service makes with the caller's permissions is checked too
  (requests.service_side: the key of the secret, topic, queue, table or SecureString).
* **allowed?**: the caller's inline and managed policies (users: and their groups') evaluated by
  policy.allows; sts:AssumeRole also needs the role's trust policy to name the caller.
  A denial answers AccessDenied(Exception) naming the caller, the action and the resource.

Who is principals.py, the signature signature.py (moto's own check), what calls.py and requests.py,
allowed? policy.py; this module decides and sits in moto's place. What this does not evaluate
(resource policies, key policies, SCPs, boundaries, session policies) is listed in docs/emulator.md,
"IAM: what is proven, and where".
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any

from moto.core.exceptions import ServiceException

from . import policy as iam_policy
from . import requests as iam_requests
from .calls import requests_for
from .principals import DEPLOYER, Principal, Refused, identify, lambda_environment, spend
from .requests import Request
from .signature import between, signature_matches

log = logging.getLogger(__name__)

#: ``enforce`` (default) or ``off``: read once when the server starts.
FLAG = "EMULATOR_IAM"
#: The one unsigned request AWS accepts here: the custom resource's presigned ResponseURL.
UNSIGNED_ACTIONS = {"ProcessCfnResponse"}
#: Error code of an access denial by protocol (services with their own code first).
DENIED_CODE = {"dms": "AccessDeniedFault", "sns": "AuthorizationError"}
DENIED_BY_PROTOCOL = {"query": "AccessDenied", "rest-xml": "AccessDenied", "ec2": "UnauthorizedOperation"}

_state = {"enforce": True}


def enforced() -> bool:
    return _state["enforce"]


def flag_value() -> bool:
    raw = os.environ.get(FLAG, "enforce").strip().lower()
    if raw not in ("enforce", "off"):
        raise ValueError(f"{FLAG}={raw!r}: use 'enforce' (the default) or 'off'")
    return raw == "enforce"


class Denial(ServiceException):
    """The error document of a refusal (a class outside moto: moto's serializer looks for a service by module)."""


# ---------------------------------------------------------------------------------------- decisions
def _denied(principal: Principal, req: Request, resource: str, reason: str) -> Refused:
    on = "" if resource == "*" else f" on resource: {resource}"
    return Refused("AccessDenied", f"User: {principal.arn} is not authorized to perform: {req.action}{on} because {reason}")


def authorize(principal: Principal, requests: list[Request]) -> None:
    """Raise Refused for the first request the principal's policies (and trust policies) do not allow."""
    for req in requests:
        if principal.lambda_key is not None:
            _authorize_lambda_service(principal, req)
            continue
        verdict = iam_policy.allows(principal.documents, req, strict=False)
        if not verdict.allowed:
            reason = (f"an explicit deny in an identity-based policy (statement {verdict.denied_by})" if verdict.denied_by
                      else f"no identity-based policy allows the {req.action} action")
            if req.why and req.why not in ("code", iam_requests.ACTION_LEVEL_NOTE):
                reason += f" ({req.why})"
            raise _denied(principal, req, verdict.resource or req.resources[0], reason)
        if req.action == "sts:AssumeRole":
            _authorize_trust(principal, req)


def _role_trust(role_arn: str, account: str) -> dict | None:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except NotFoundException:
        return None
    document = role.assume_role_policy_document
    return json.loads(document) if isinstance(document, str) else document


def _authorize_trust(principal: Principal, req: Request, extra: tuple = ()) -> None:
    role_arn = req.resources[0]
    trust = _role_trust(role_arn, principal.account)
    if trust is None:
        raise _denied(principal, req, role_arn, "the role does not exist")
    trusted = Request(req.action, req.resources, req.context + extra, req.why)
    if not iam_policy.trust_allows(trust, principal.as_trust_principal(), trusted).allowed:
        raise _denied(principal, req, role_arn, "the role's trust policy does not allow this principal"
                      + (" (it asks for MFA: pass the MFA device's serial and code)"
                         if "MultiFactorAuthPresent" in json.dumps(trust) and not req.ctx().get("aws:MultiFactorAuthPresent")
                         else ""))


def _authorize_lambda_service(principal: Principal, req: Request) -> None:
    key = principal.lambda_key
    assert key is not None
    if req.action != "sts:AssumeRole" or req.resources != (key.role_arn,):
        raise _denied(principal, req, req.resources[0], "a Lambda service key only assumes its function's role")
    _authorize_trust(principal, req, (("aws:SourceAccount", (key.account,)), ("aws:SourceArn", (key.function_arn,))))
    spend(key)  # once


def check(response: Any, s3_action: str | None = None, s3_resource: str | None = None) -> None:
    """The whole check of one request; raises Refused."""
    operation = s3_action or response._get_action()
    authorization = response.headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        if operation in UNSIGNED_ACTIONS:
            return
        raise Refused("MissingAuthenticationToken", "Request is missing Authentication Token (the emulator enforces IAM: "
                      "sign requests with the deployer's keys, scripts/emulator env)")
    scope = between("Credential=", ",", authorization).split("/")
    key_id, region, signing_name = scope[0], scope[2], scope[3]
    token = response.headers.get("X-Amz-Security-Token")
    principal = identify(key_id, token, response.current_account, response.partition, response.headers)
    if principal.token and token != principal.token:
        raise Refused("InvalidClientTokenId", "The security token included in the request is invalid.")
    if not signature_matches(response, principal, key_id, signing_name, region):
        raise Refused("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
    if s3_action is not None:
        requests = [Request(f"s3:{s3_action}", (s3_resource or "*",), (), "s3")]
    else:
        requests = requests_for(response, signing_name, operation, principal.account, region)
    if not (":user/" in principal.arn and principal.arn.rsplit("/", 1)[-1] == DEPLOYER):  # moto's user ARN: no path
        for req in requests:
            if req.why == iam_requests.ACTION_LEVEL_NOTE:  # a role's grant judged without its resource: say so
                log.warning("IAM: %s for %s: %s", req.action, principal.arn, iam_requests.ACTION_LEVEL_NOTE)
    authorize(principal, requests)


# ---------------------------------------------------------------------------------------- moto hooks
def _protocol(response: Any) -> str:
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    try:
        return determine_request_protocol(get_service_model(response.boto3_service_name), response.headers.get("Content-Type", ""))
    except Exception:  # noqa: BLE001 - unknown model: answer as the query protocol does
        return "query"


def _error_response(response: Any, refused: Refused) -> Exception:
    """An HTTPException moto's call_action returns as is, in the service's own error format."""
    from moto.core.responses import ActionResult
    from werkzeug.exceptions import HTTPException

    code = refused.code
    if code == "AccessDenied":
        protocol = _protocol(response)
        code = DENIED_CODE.get(response.boto3_service_name) or DENIED_BY_PROTOCOL.get(protocol, "AccessDeniedException")
    try:
        with warnings.catch_warnings():  # moto warns that most services do not model these codes (AWS does not either)
            warnings.simplefilter("ignore")
            status, headers, body = response.serialized(ActionResult(Denial(code, refused.message)))
    except Exception:  # noqa: BLE001 - no model for this action: the generic XML error
        from moto.core.exceptions import _RESTError
        error = _RESTError(code, refused.message)
        error.code = refused.status
        return error
    response.response_headers.update({k: v for k, v in headers.items() if k != "status"})

    class Denied(HTTPException):
        pass
    error = Denied(description=body)
    error.code = refused.status if code in ("AccessDenied", "AuthorizationError", "UnauthorizedOperation",
                                             "InvalidClientTokenId", "SignatureDoesNotMatch",
                                             "MissingAuthenticationToken") else status
    return error


def _normal_action(self: Any, resource: str = "*") -> None:
    if not enforced():
        return
    try:
        check(self)
    except Refused as refused:
        log.warning("IAM: %s %s: %s", refused.code, self._get_action(), refused.message)
        raise _error_response(self, refused) from None


def _s3_action(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
    if not enforced():
        return
    from moto.s3.exceptions import S3ClientError

    target = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    try:
        check(self, s3_action=self._get_action(), s3_resource=f"arn:aws:s3:::{target}")
    except Refused as refused:
        log.warning("IAM: %s s3:%s: %s", refused.code, self._get_action(), refused.message)
        raise S3ClientError(refused.code, refused.message) from None


def install(enforce: bool | None = None) -> bool:
    """Put the check in moto's place and give Lambda invocations their role; True when enforcing."""
    from ..extensions import awslambda
    from ..moto_internals import patch
    from . import cfn as iam_cfn

    _state["enforce"] = flag_value() if enforce is None else enforce
    iam_cfn.install()
    patch("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_normal_action", _normal_action)
    patch("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_s3_action", _s3_action)
    environment = awslambda._environment
    if not getattr(environment, "assumes_role", False):
        # Our own module, not moto: every invocation's environment carries the role key (lambda_bootstrap.py).
        def with_role(fn: Any, code_dir: Any, request_id: str) -> dict[str, str]:
            return lambda_environment(fn, environment(fn, code_dir, request_id))
        with_role.assumes_role = True  # type: ignore[attr-defined]  # marks the wrapper so a second install does not wrap it again
        awslambda._environment = with_role
    return _state["enforce"]
