"""A CloudFormation custom-resource request as the custom resources' handler tests send it."""

from __future__ import annotations

from typing import Any

ACCOUNT_STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/"


def request(request_type: str, logical: str, resource_type: str, stack: str, properties: dict[str, Any],
            physical_id: str | None = None, *, request_id: str = "r-1") -> dict[str, Any]:
    """``request_type`` for ``logical`` of ``stack`` (its name/id); an Update or Delete names the physical
    id and, as old properties, the same ones. The response URL goes nowhere."""
    event: dict[str, Any] = {"RequestType": request_type, "RequestId": request_id, "LogicalResourceId": logical,
                             "StackId": ACCOUNT_STACK + stack, "ResponseURL": "http://127.0.0.1:9/unused",
                             "ResourceType": resource_type, "ResourceProperties": properties}
    if physical_id:
        event.update(PhysicalResourceId=physical_id, OldResourceProperties=properties)
    return event
