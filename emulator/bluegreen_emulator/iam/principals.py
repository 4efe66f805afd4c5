"""Who a request comes from: the key it is signed with, looked up by moto (an IAM user's, a role
session's) or one of the emulator's one-time Lambda service keys (moto has none), with the identity
policies moto collects for it; and the deployer the server creates at start."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import requests as iam_requests

DEPLOYER = "emulator-deployer"
LAMBDA_SERVICE = "lambda.amazonaws.com"
#: A Lambda service key is valid for one AssumeRole within this many seconds of the invocation's start.
LAMBDA_KEY_SECONDS = 60.0


class Refused(Exception):
    """Why a request is not authenticated or not authorized: (error code, message)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


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


def spend(key: LambdaKey) -> None:
    """A Lambda service key assumes its role once."""
    with _lock:
        _lambda_keys.pop(next((k for k, v in _lambda_keys.items() if v is key), ""), None)


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
