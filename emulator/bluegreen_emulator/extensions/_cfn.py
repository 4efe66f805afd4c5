"""What the CloudFormation extensions (``cfn_*.py``) share: a stack's resource events, finding a
stack by ID, and how a failure is named in a stack event."""

from __future__ import annotations

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Event, Stack, cloudformation_backends

from ._base import MOTO_ERRORS


def add_resource_event(stack: Stack, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str | None) -> None:
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(event)


def stack_for(account_id: str, region_name: str, stack_id: str) -> Stack | None:
    try:
        return cloudformation_backends[account_id][region_name].get_stack(stack_id)
    except ValidationError:  # "Stack with id ... does not exist"
        return None


class CustomResourceFailed(Exception):
    """A custom resource provider answered FAILED (or never answered)."""


class ResourceRefused(Exception):
    """AWS accepted the stack request but refuses this resource (a nested stack's child template over a
    quota): the resource fails with the reason, not the request, and it is no emulator bug."""


#: What a resource delete may raise for a reason of the services (a dependency still in
#: place, a provider's FAILED): retried in another order, then reported.
DELETE_RETRIED: tuple[type[Exception], ...] = (*MOTO_ERRORS, CustomResourceFailed)


def is_bug(exc: BaseException) -> bool:
    """Not an answer of a service or a provider: the emulator's log gets the traceback."""
    return not isinstance(exc, (*MOTO_ERRORS, CustomResourceFailed, ResourceRefused))


def failure_reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    kind = "emulator bug, traceback in the emulator log" if is_bug(exc) else "emulator"
    return f"{message} ({type(exc).__name__}, {kind})"
