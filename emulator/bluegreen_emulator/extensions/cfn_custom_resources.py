"""Lambda-backed custom resources (``Custom::*``, ``AWS::CloudFormation::CustomResource``).

moto 5.2 invokes the Lambda in a background thread with a ResponseURL on ``host.docker.internal``,
ignores FAILED responses and the returned PhysicalResourceId, and never sends Update or Delete.
Here the Lambda is invoked synchronously (awslambda.py runs it) with a ResponseURL on this
emulator; Create, Update (with OldResourceProperties) and Delete are sent; the response's
PhysicalResourceId and Data are used (Data feeds ``Fn::GetAtt``); a FAILED response, or a handler
that never responds, fails the resource with its reason. A changed PhysicalResourceId is a
replacement: the old one gets its Delete, and a failed cleanup is a DELETE_FAILED event only.

Upstream: a candidate change to moto's ``moto/cloudformation/custom_model.py`` (a synchronous
protocol with Update and Delete, for server mode); until then the model replaces moto's
``CustomModel`` here (``moto_internals``).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

from .. import launcher
from ..moto_internals import patch
from ._base import BackendResource
from ._cfn import CustomResourceFailed, add_resource_event, failure_reason, stack_for

log = logging.getLogger("bluegreen_emulator.cloudformation")

EXTENSIONS = [
    ("Custom::* / AWS::CloudFormation::CustomResource", "Lambda-backed: synchronous Create/Update/Delete via ResponseURL on the emulator; FAILED -> resource "
                                                        "fails with the reason"),
]

_PARSING = "moto.cloudformation.parsing"
#: The emulator's port, for the ResponseURL (install() sets it).
_PORT = 5100
#: moto's own, bound before install() replaces it.
_original_resource_class_from_type = parsing.resource_class_from_type


class _PendingRequest:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: dict[str, Any] | None = None


_PENDING: dict[str, _PendingRequest] = {}
_PENDING_LOCK = threading.Lock()


class CustomResource(BackendResource, CloudFormationModel):
    """A custom resource served by a Lambda function (ServiceToken = function ARN)."""

    TYPE = "AWS::CloudFormation::CustomResource"

    def __init__(self, account_id: str, region_name: str, stack_id: str, logical_id: str, resource_type: str, properties: dict[str, Any]):
        super().__init__(account_id, region_name, logical_id, properties)
        self.stack_id = stack_id
        self.resource_type = resource_type
        self.data: dict[str, Any] = {}

    # moto's CustomModel API (kept for moto code that calls it)
    @property
    def request_id(self) -> str:
        return ""

    def set_data(self, data: dict[str, Any]) -> None:
        self.data = data or {}

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # any key of the provider's Data

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        raise CustomResourceFailed(
            f"CustomResource attribute error: Vendor response doesn't contain {attribute_name} attribute "
            f"in object {self.physical_id or self.logical_id}"
        )

    # ------------------------------------------------------------ protocol
    def _send(
        self, request_type: str, properties: dict[str, Any], old_properties: dict[str, Any] | None = None, physical_id: str | None = None
    ) -> dict[str, Any]:
        token = properties.get("ServiceToken")
        if not token:
            raise CustomResourceFailed("ServiceToken is missing")
        if ":sns:" in str(token):
            raise CustomResourceFailed("SNS-backed custom resources are not supported by the emulator (only Lambda)")
        backend = get_lambda_backend(self.account_id, self.region_name)
        fn = backend.get_function(token)
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": f"{launcher.url_for(_PORT)}/cloudformation_{self.region_name}/cfnresponse?stack={self.stack_id}&request={request_id}",
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": properties,
        }
        if physical_id:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = old_properties
        pending = _PendingRequest()
        with _PENDING_LOCK:
            _PENDING[request_id] = pending
        try:
            headers: dict[str, Any] = {}
            payload = fn.invoke(json.dumps(event), {}, headers)
            # The handler ran synchronously; its PUT has already been served.
            pending.done.wait(timeout=5)
        finally:
            with _PENDING_LOCK:
                _PENDING.pop(request_id, None)
        response = pending.response
        if response is None:
            detail = payload.decode() if isinstance(payload, bytes) else str(payload)
            raise CustomResourceFailed(
                f"{request_type}: the custom resource provider {fn.function_name} did not send a response (Lambda result: {detail[:500]})"
            )
        if response.get("Status") != "SUCCESS":
            raise CustomResourceFailed(response.get("Reason") or f"{request_type} failed (no reason given)")
        return response

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> CustomResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        resource = cls(account_id, region_name, kwargs["StackId"], kwargs["LogicalId"], kwargs["ResourceType"], properties)
        response = resource._send("Create", properties)
        resource.physical_id = response.get("PhysicalResourceId") or f"{kwargs['LogicalId']}-{uuid.uuid4().hex[:12]}"
        resource.data = response.get("Data") or {}
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]  # only a CustomResource is ever updated as one
        cls, original_resource: CustomResource, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> CustomResource:
        new_properties = dict(cloudformation_json.get("Properties") or {})
        old = original_resource
        response = old._send("Update", new_properties, old_properties=old.properties, physical_id=old.physical_id)
        new_physical = response.get("PhysicalResourceId") or old.physical_id
        if new_physical != old.physical_id:
            # Replacement: CloudFormation deletes the old resource in its cleanup phase.
            # A failed cleanup does not fail the update (as in CloudFormation): it is a
            # DELETE_FAILED event of the old resource.
            try:
                old._send("Delete", old.properties, physical_id=old.physical_id)
            except (CustomResourceFailed, UnknownFunctionException) as exc:
                log.warning("custom resource %s: cleanup Delete failed: %s", old.logical_id, exc)
                stack = stack_for(old.account_id, old.region_name, old.stack_id)
                if stack is not None:
                    add_resource_event(stack, old.logical_id, old.physical_id, old.resource_type, "DELETE_FAILED", failure_reason(exc))
        old.physical_id = new_physical
        old.properties = new_properties
        old.data = response.get("Data") or {}
        return old

    def remove(self) -> None:
        try:
            self._send("Delete", self.properties, physical_id=self.physical_id)
        except UnknownFunctionException as exc:
            # The provider is gone (deleted outside the stack): CloudFormation would
            # time out; the emulator reports it clearly.
            raise CustomResourceFailed(f"Delete: provider function not found: {exc}") from exc


def _process_cfn_response(self: Any) -> tuple[int, dict[str, int], str]:
    """PUT <ResponseURL>: record the provider's answer for the waiting request."""
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        body = {}
    request_id = body.get("RequestId") or (self.querystring.get("request") or [""])[0]
    with _PENDING_LOCK:
        pending = _PENDING.get(request_id)
    if pending is not None:
        pending.response = body
        pending.done.set()
    else:
        log.warning("cfnresponse for unknown request %s ignored", request_id)
    return 200, {"status": 200}, ""


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return CustomResource
    return _original_resource_class_from_type(resource_type)


def install(port: int) -> None:
    global _PORT
    _PORT = port
    patch(f"{_PARSING}.CustomModel", CustomResource)
    patch(f"{_PARSING}.resource_class_from_type", _resource_class_from_type)
    patch("moto.cloudformation.responses.CloudFormationResponse.process_cfn_response", _process_cfn_response)
