"""The request's SigV4 signature, checked by moto's own code over the bytes that were signed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from ..extensions._base import MOTO_ERRORS
from .principals import Principal

#: WSGI environ key of the request body as it arrived (werkzeug consumes a form body while parsing it).
RAW_BODY = "bluegreen_emulator.raw_body"


def between(first: str, second: str, text: str) -> str:
    return text.partition(first)[2].partition(second)[0]


def keep_raw_body(environ: dict[str, Any]) -> None:
    """Read the body once and put it back, keeping the bytes for the signature (server.py's app calls it)."""
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


@dataclass
class _SigningKey:
    """What moto's signature check asks of an access key: its credentials."""

    key_id: str
    principal: Principal

    def create_credentials(self) -> Any:
        from botocore.credentials import Credentials

        return Credentials(self.key_id, self.principal.secret, self.principal.token)


def signature_matches(response: Any, principal: Principal, key_id: str, service: str, region: str) -> bool:
    """moto's own SigV4 check (``IAMRequestBase.check_signature``) over the request as received.

    moto's constructor would look the key up again (the principal is known: a Lambda service key is
    not moto's) and sign werkzeug's parsed form instead of the bytes that were signed, so the check
    is given both as they are."""
    from moto.iam.access_control import IAMRequest, S3IAMRequest

    cls = S3IAMRequest if service == "s3" else IAMRequest
    query = urlparse(response.uri).query
    signed = cls.__new__(cls)
    signed.account_id, signed._method, signed._headers = principal.account, response.method, dict(response.headers)
    signed._path = response.raw_path + ("?" + query if query else "")
    signed._body, signed._data = response.normalized_request.environ.get(RAW_BODY, b""), {}
    signed._region, signed._service = region, service
    signed._access_key = _SigningKey(key_id, principal)
    try:
        signed.check_signature()
    except MOTO_ERRORS:  # moto's SignatureDoesNotMatch in the service's flavour (EC2's AuthFailure, S3's own)
        return False
    return True
