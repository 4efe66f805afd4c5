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
  ARNs and condition keys (iam_requests.request); a call that table does not know is checked at
  action level on resource ``*`` (iam_requests.action_level); S3 requests use moto's own action
  and bucket/object ARN. KMS use a service makes with the caller's permissions is checked too
  (iam_requests.service_side: the key of the secret, topic, queue, table or SecureString).
* **allowed?**: the caller's inline and managed policies (users: and their groups') evaluated by
  iam_policy.allows; sts:AssumeRole also needs the role's trust policy to name the caller.
  A denial answers AccessDenied(Exception) naming the caller, the action and the resource.

What this does not evaluate (resource policies, key policies, SCPs, boundaries, session policies)
is listed in docs/emulator.md, "IAM: what is proven, and where".
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from moto.core.exceptions import ServiceException

from . import iam_policy, iam_requests
from .iam_requests import Request

log = logging.getLogger(__name__)

#: ``enforce`` (default) or ``off``: read once when the server starts.
FLAG = "EMULATOR_IAM"
DEPLOYER = "emulator-deployer"
LAMBDA_SERVICE = "lambda.amazonaws.com"
#: A Lambda service key is valid for one AssumeRole within this many seconds of the invocation's start.
LAMBDA_KEY_SECONDS = 60.0
#: The one unsigned request AWS accepts here: the custom resource's presigned ResponseURL.
UNSIGNED_ACTIONS = {"ProcessCfnResponse"}
#: Error code of an access denial by protocol (services with their own code first).
DENIED_CODE = {"dms": "AccessDeniedFault", "sns": "AuthorizationError"}
DENIED_BY_PROTOCOL = {"query": "AccessDenied", "rest-xml": "AccessDenied", "ec2": "UnauthorizedOperation"}

#: WSGI environ key of the request body as it arrived (werkzeug consumes a form body while parsing it).
RAW_BODY = "bluegreen_emulator.raw_body"

_state = {"enforce": True}


def enforced() -> bool:
    return _state["enforce"]


def flag_value() -> bool:
    raw = os.environ.get(FLAG, "enforce").strip().lower()
    if raw not in ("enforce", "off"):
        raise ValueError(f"{FLAG}={raw!r}: use 'enforce' (the default) or 'off'")
    return raw == "enforce"


# ---------------------------------------------------------------------------------------- principals
@dataclass
class LambdaKey:
    secret: str
    role_arn: str
    function_arn: str
    account: str
    expires: float


_lambda_keys: dict[str, LambdaKey] = {}
_lock = threading.Lock()


def issue_lambda_key(role_arn: str, function_arn: str, account: str) -> tuple[str, str]:
    """(access key id, secret) with which one invocation may assume its function's role once."""
    now = time.monotonic()
    key_id = "ASIALAMBDA" + secrets.token_hex(5).upper()
    with _lock:
        for stale in [k for k, v in _lambda_keys.items() if v.expires < now]:
            del _lambda_keys[stale]
        _lambda_keys[key_id] = LambdaKey(secrets.token_urlsafe(30), role_arn, function_arn, account, now + LAMBDA_KEY_SECONDS)
        return key_id, _lambda_keys[key_id].secret


@dataclass
class Principal:
    arn: str  # IAM user or assumed-role session ARN; the service principal for a Lambda key
    account: str
    secret: str
    token: str | None
    documents: list[dict] = field(default_factory=list)  # identity policies
    lambda_key: LambdaKey | None = None

    def as_trust_principal(self) -> dict[str, str]:
        if self.lambda_key is not None:
            return {"Service": LAMBDA_SERVICE}
        return {"AWS": self.arn, "Account": self.account}


class Denial(ServiceException):
    """The error document of a refusal (a class outside moto: moto's serializer looks for a service by module)."""


class Refused(Exception):
    """Why a request is not authenticated or not authorized: (error code, message)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _document(policy: Any) -> dict:
    """moto's policy objects: a managed Policy (default version), a user's inline record, a document or its JSON."""
    if hasattr(policy, "versions"):
        text = next(v.document for v in policy.versions if v.is_default)
    elif isinstance(policy, dict):
        text = policy.get("policy_document", policy)  # a user's inline policy record, or a role's document (CFN)
    else:
        text = policy
    return json.loads(text) if isinstance(text, str) else text


def identify(key_id: str, token: str | None, account: str, partition: str, headers: Any) -> Principal:
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

    with _lock:
        lambda_key = _lambda_keys.get(key_id)
    if lambda_key is not None:
        if lambda_key.expires < time.monotonic():
            raise Refused("ExpiredToken", "The Lambda service key of this invocation has expired.")
        return Principal(LAMBDA_SERVICE, lambda_key.account, lambda_key.secret, token, lambda_key=lambda_key)
    try:
        key = create_access_key(account_id=account, partition=partition, access_key_id=key_id, headers=headers)
    except CreateAccessKeyFailure as err:
        if err.reason == "InvalidToken":
            raise Refused("InvalidClientTokenId", "The security token included in the request is invalid.") from None
        raise Refused("InvalidClientTokenId", f"The security token included in the request is invalid: access key "
                      f"{key_id} is not known to the emulator (use the deployer's keys: scripts/emulator env)") from None
    credentials = key.create_credentials()
    return Principal(key.arn, account, credentials.secret_key, credentials.token,
                     [_document(p) for p in key.collect_policies()])


def _between(first: str, second: str, text: str) -> str:
    return text.partition(first)[2].partition(second)[0]


def keep_raw_body(environ: dict[str, Any]) -> None:
    """Read the body once and put it back, keeping the bytes for the signature (server.py's app calls it)."""
    import io

    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > 0:
        raw = environ["wsgi.input"].read(int(length))
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and environ.get("wsgi.input_terminated"):
        raw = environ["wsgi.input"].read()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    else:
        return
    environ[RAW_BODY] = raw
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))


def signature_matches(response: Any, principal: Principal, service: str, region: str) -> bool:
    """SigV4 recomputed over the request as received (moto's IAMRequestBase does the same)."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = response.headers["Authorization"]
    signed = _between("SignedHeaders=", ",", authorization).split(";")
    headers = {k: v for k, v in response.headers.items() if k.lower() in signed}
    query = urlparse(response.uri).query
    path = response.raw_path + ("?" + query if query else "")
    body = response.normalized_request.environ.get(RAW_BODY, b"")
    request = AWSRequest(method=response.method, url=path, data=body, headers=headers)
    request.context["timestamp"] = headers.get("X-Amz-Date") or response.headers.get("X-Amz-Date")
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(Credentials(_between("Credential=", "/", authorization),
                                                                          principal.secret, principal.token), service, region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request) == _between("Signature=", ",", authorization)


# ---------------------------------------------------------------------------------------- requests
def api_params(response: Any, operation: str) -> dict:
    """The call's parameters as botocore sent them, parsed by moto's protocol parser for the service."""
    params = getattr(response, "params", None)
    if response.automated_parameter_parsing and isinstance(params, dict) and params:
        return dict(params)
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    model = get_service_model(response.boto3_service_name)
    request = response.normalized_request
    parser = PROTOCOL_PARSERS[determine_request_protocol(model, request.content_type)](model.operation_model(operation))
    return dict(parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                              "body": request.data, "url_path": request.path, "url_params": response.uri_match}))


def _kms_key(service: str, operation: str, params: dict, account: str, region: str) -> str | None:
    """ARN of the customer KMS key the call makes its service use, or None (none, or AWS-owned)."""
    from moto.kms.models import kms_backends

    def arn(key_id: str | None) -> str | None:
        # AWS-managed keys (alias/aws/...) admit every principal the service serves: nothing to check.
        if not key_id or key_id.startswith("alias/aws/") or ":alias/aws/" in key_id:
            return None
        kms = kms_backends[account][region]
        found = kms.keys.get(kms.any_id_to_key_id(key_id) or "")
        return found.arn if found is not None else None
    if service == "secretsmanager":
        from moto.secretsmanager.models import secretsmanager_backends
        secret = secretsmanager_backends[account][region].secrets.get(params.get("SecretId", ""))
        return arn(getattr(secret, "kms_key_id", None))
    if service == "sns":
        from moto.sns.models import sns_backends
        topic = sns_backends[account][region].topics.get(params.get("TopicArn", ""))
        return arn(getattr(topic, "kms_master_key_id", None))
    if service == "sqs":
        from moto.sqs.models import sqs_backends
        name = params.get("QueueUrl", "").rstrip("/").rsplit("/", 1)[-1]
        queue = sqs_backends[account][region].queues.get(name)
        return arn(getattr(queue, "kms_master_key_id", None))
    if service == "dynamodb":
        from moto.dynamodb.models import dynamodb_backends
        table = dynamodb_backends[account][region].tables.get(params.get("TableName", "").rsplit("/", 1)[-1])
        sse = getattr(table, "sse_specification", None) or {}
        return arn(sse.get("KMSMasterKeyId")) if sse.get("Enabled") and sse.get("SSEType") == "KMS" else None
    if service == "ssm":
        from moto.ssm.models import ssm_backends
        if operation == "PutParameter":
            return arn(params.get("KeyId")) if params.get("Type") == "SecureString" else None
        if not params.get("WithDecryption"):
            return None
        latest = ssm_backends[account][region].get_parameter(params.get("Name", ""))
        return arn(latest.keyid) if latest is not None and latest.parameter_type == "SecureString" else None
    return None


def requests_for(response: Any, signing_name: str, operation: str, account: str, region: str) -> list[Request]:
    service = response.boto3_service_name
    key = (service, operation)
    if key not in iam_requests.OPERATIONS and key not in iam_requests.SERVICE_SIDE_KMS:
        return [iam_requests.action_level(service, signing_name, operation)]
    try:
        params = api_params(response, operation)
    except Exception as err:  # noqa: BLE001 - a body moto's parser rejects: the service itself will answer it
        log.warning("IAM: %s.%s: parameters not parsed (%s): checked at action level", service, operation, err)
        return [iam_requests.action_level(service, signing_name, operation)]
    try:
        found = [iam_requests.request(service, operation, params, region=region, account=account)]
    except KeyError:
        found = [iam_requests.action_level(service, signing_name, operation)]
    return found + iam_requests.service_side(service, operation, _kms_key(service, operation, params, account, region), region)


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
    with _lock:
        _lambda_keys.pop(next(k for k, v in _lambda_keys.items() if v is key), None)  # once


def check(response: Any, s3_action: str | None = None, s3_resource: str | None = None) -> None:
    """The whole check of one request; raises Refused."""
    operation = s3_action or response._get_action()
    authorization = response.headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        if operation in UNSIGNED_ACTIONS:
            return
        raise Refused("MissingAuthenticationToken", "Request is missing Authentication Token (the emulator enforces IAM: "
                      "sign requests with the deployer's keys, scripts/emulator env)")
    scope = _between("Credential=", ",", authorization).split("/")
    key_id, region, signing_name = scope[0], scope[2], scope[3]
    token = response.headers.get("X-Amz-Security-Token")
    principal = identify(key_id, token, response.current_account, response.partition, response.headers)
    if principal.token and token != principal.token:
        raise Refused("InvalidClientTokenId", "The security token included in the request is invalid.")
    if not signature_matches(response, principal, signing_name, region):
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


# ---------------------------------------------------------------------------------------- set-up
def create_deployer(account: str = iam_requests.ACCOUNT) -> dict[str, str]:
    """The deployer: an IAM user allowed everything (Sceptre, the demo, the tests act as it). Its keys."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
    if DEPLOYER not in iam.users:
        iam.create_user(iam_requests.REGION, DEPLOYER, path="/emulator/")
        iam.put_user_policy(DEPLOYER, "deploy-everything", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Deployer", "Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(DEPLOYER)
    return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key, "Arn": iam.get_user(DEPLOYER).arn}


def lambda_environment(fn: Any, env: dict[str, str]) -> dict[str, str]:
    """The invocation's environment with a one-time key to assume the function's role instead of any credentials."""
    key_id, secret = issue_lambda_key(fn.role, fn.function_arn, fn.account_id)
    out = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    out.update({"_EMULATOR_ROLE_ARN": fn.role, "_EMULATOR_LAMBDA_KEY_ID": key_id, "_EMULATOR_LAMBDA_SECRET": secret})
    return out


def install(enforce: bool | None = None) -> bool:
    """Put the check in moto's place and give Lambda invocations their role; True when enforcing."""
    from . import iam_cfn
    from .extensions import awslambda
    from .moto_internals import patch

    _state["enforce"] = flag_value() if enforce is None else enforce
    iam_cfn.install()
    patch("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_normal_action", _normal_action)
    patch("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_s3_action", _s3_action)
    environment = awslambda._environment
    if not getattr(environment, "assumes_role", False):
        # Our own module, not moto: every invocation's environment carries the role key (lambda_bootstrap.py).
        def with_role(fn: Any, code_dir: Any, request_id: str) -> dict[str, str]:
            return lambda_environment(fn, environment(fn, code_dir, request_id))
        with_role.assumes_role = True  # type: ignore[attr-defined]
        awslambda._environment = with_role
    return _state["enforce"]
