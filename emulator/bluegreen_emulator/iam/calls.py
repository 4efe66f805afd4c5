"""Which IAM requests one API call is: its parameters parsed by moto's own protocol parsers, looked up
in requests.py, and the KMS key a service uses on the caller's behalf (found in the service's backend)."""

from __future__ import annotations

import logging
from typing import Any

from . import requests as iam_requests
from .requests import Request

log = logging.getLogger("bluegreen_emulator.iam.enforcement")


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
