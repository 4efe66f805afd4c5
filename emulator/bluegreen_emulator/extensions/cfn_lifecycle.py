"""The stack lifecycle as CloudFormation runs it: create, update and delete with AWS's statuses.

What moto 5.2 does and what changes here:

* a resource that fails to create turns CreateStack into an HTTP 500 -> the stack goes
  CREATE_FAILED -> ROLLBACK_COMPLETE with a resource event carrying the error (what Sceptre
  prints), and nothing is left; a template or parameter error leaves no stack (AWS: synchronous);
  failed updates -> UPDATE_ROLLBACK_FAILED (the emulator does not roll updates back), failed
  deletes -> DELETE_FAILED;
* stack delete in arbitrary (set) order -> reverse dependency order (Ref / GetAtt / Sub /
  DependsOn), so a custom resource is deleted before the function that serves it;
* an update only reaches resources whose template text changed -> also those whose resolved
  properties changed (Ref/GetAtt of a replaced or updated resource, a nested stack's outputs);
* a type without an update in moto is dropped from the stack -> kept as it was, with a stack
  event saying the change was not applied; a changed custom name replaces the resource;
* DescribeStacks renders a List/CommaDelimitedList parameter as Python's repr (``sceptre diff``
  saw every list as changed) and masks NoEcho by value -> comma-joined, NoEcho masked by key.

Upstream: each is a candidate change to moto's ``moto/cloudformation/parsing.py`` (``ResourceMap``)
and ``models.py`` (``CloudFormationBackend``, ``Stack.parameter_list``); until then they wrap
moto's here (``moto_internals``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

from ..moto_internals import patch
from ._base import MOTO_ERRORS, BackendResource
from ._cfn import DELETE_RETRIED, add_resource_event, failure_reason, is_bug, stack_for
from .cfn_intrinsics import clean_json

log = logging.getLogger("bluegreen_emulator.cloudformation")

EXTENSIONS = [
    ("DescribeStacks parameters", "List/CommaDelimitedList values comma-joined as AWS returns them (moto: Python repr, so `sceptre diff` saw every list as "
                                  "changed); NoEcho values masked by key (moto compared the value)"),
    ("stack lifecycle", "reverse-dependency delete order; CREATE_FAILED/ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED, DELETE_FAILED with reasons instead of HTTP "
                        "500"),
]

_PARSING = "moto.cloudformation.parsing"
#: moto's own, bound before install() replaces them.
_original_parse_output = parsing.parse_output
_original_parse_and_create_resource = parsing.parse_and_create_resource
_original_resource_map_update = parsing.ResourceMap.update
_original_parse_and_update_resource = parsing.parse_and_update_resource
_original_create_stack = CloudFormationBackend.create_stack
_original_update_stack = CloudFormationBackend.update_stack
_original_delete_stack = CloudFormationBackend.delete_stack


def _references(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                        found.add(name.split(".")[0])
                _references(value, found)
            else:
                _references(value, found)
    elif isinstance(node, list):
        for item in node:
            _references(item, found)
    return found


def dependency_map(resources: dict[str, Any]) -> dict[str, set[str]]:
    """logical id -> the logical ids it depends on (Ref, GetAtt, Sub, DependsOn)."""
    deps: dict[str, set[str]] = {}
    for name, definition in resources.items():
        found = _references(definition.get("Properties", {}), set())
        depends_on = definition.get("DependsOn") or []
        found.update([depends_on] if isinstance(depends_on, str) else depends_on)
        deps[name] = {d for d in found if d in resources and d != name}
    return deps


def _ordered_delete(self: Any) -> None:
    """ResourceMap.delete in reverse dependency order (moto: arbitrary set order)."""
    resources = self._resource_json_map
    retained = {k for k, v in resources.items() if v.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")}
    remaining = [k for k in resources if k not in retained]
    deps = dependency_map(resources)
    last_exception: Exception | None = None
    for strict in (True, False):  # second round: ignore order (dependency cycles)
        for _attempt in range(5):
            progressed = False
            for name in list(remaining):
                if strict and any(name in deps.get(other, ()) for other in remaining if other != name):
                    continue
                parsed = self._parsed_resources.get(name)
                try:
                    if parsed is not None and not isinstance(parsed, (str, int, float, list, dict)):
                        self._delete_resource(parsed, resources[name])
                    self._parsed_resources.pop(name, None)
                except DELETE_RETRIED as exc:  # e.g. DependencyViolation: retried, then reported
                    last_exception = exc
                    continue
                remaining.remove(name)
                progressed = True
            if not remaining or not progressed:
                break
        if not remaining:
            return
    if last_exception is not None:
        raise last_exception
    raise RuntimeError(f"could not delete {sorted(remaining)}")


def _resolved(resources_map: Any, resource_json: dict[str, Any]) -> Any:
    return clean_json(resource_json.get("Properties") or {}, resources_map)


#: What resolving a resource's properties can raise for a reason in the template or the
#: services (an unresolvable GetAtt, a missing export or secret, a bad Fn::Cidr, ...).
RESOLVE_ERRORS: tuple[type[Exception], ...] = (*MOTO_ERRORS, UnformattedGetAttTemplateException, ValueError, KeyError)

_UNRESOLVED = object()


def _try_resolved(resources_map: Any, logical_id: str, resource_json: dict[str, Any]) -> Any:
    """The resolved properties, or _UNRESOLVED (logged: that resource's value changes then go unseen)."""
    try:
        return _resolved(resources_map, resource_json)
    except RESOLVE_ERRORS as exc:
        log.warning("%s: properties not resolvable (%s: %s); changes of its referenced values are not propagated",
                    logical_id, type(exc).__name__, exc)
        return _UNRESOLVED


def _remember(resources_map: Any, logical_id: str, resource_json: dict[str, Any]) -> None:
    """Record the resolved properties a resource was created/updated with."""
    resolved = _try_resolved(resources_map, logical_id, resource_json)
    if resolved is not _UNRESOLVED:
        resources_map.__dict__.setdefault("_bluegreen_resolved", {})[logical_id] = resolved


def _parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str) -> Any:
    try:
        resource = _original_parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as exc:  # not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (logical_id, resource_json.get("Type", ""))  # type: ignore[attr-defined]  # the failing resource, named on the exception for the stack's event
        raise
    if resource is not None:
        _remember(resources_map, logical_id, resource_json)
    return resource


def _cascading_update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """ResourceMap.update, then propagate changed values to unchanged resources.

    moto only updates resources whose template text (or referenced parameters) changed.
    CloudFormation also updates a resource when a value it references changed: a new
    task-definition revision reaching the ECS service, a nested stack's new output, ...
    """
    _original_resource_map_update(self, template, parameters)
    remembered = self.__dict__.setdefault("_bluegreen_resolved", {})
    for _pass in range(5):
        changed = False
        for logical_id, resource_json in self._resource_json_map.items():
            if logical_id not in remembered or self._parsed_resources.get(logical_id) is None:
                continue
            now = _try_resolved(self, logical_id, resource_json)
            if now is _UNRESOLVED or now == remembered[logical_id]:
                continue
            updated = parsing.parse_and_update_resource(logical_id, resource_json, self, self._account_id, self._region_name)
            if updated is not None:
                self._parsed_resources[logical_id] = updated
            remembered[logical_id] = now
            changed = True
        if not changed:
            return


def _parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str) -> Any:
    resource_class = parsing.resource_class_from_type(resource_json["Type"])
    original = resources_map._parsed_resources.get(logical_id)
    if resource_class is None or hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
        before = resources_map.__dict__.get("_bluegreen_resolved", {}).get(logical_id)
        _remember(resources_map, logical_id, resource_json)
        after = resources_map.__dict__.get("_bluegreen_resolved", {}).get(logical_id)
        stack = stack_for(account_id, region_name, resources_map.stack_id)
        if stack is not None and before != after:
            add_resource_event(
                stack, logical_id, getattr(original, "physical_resource_id", ""), resource_json["Type"], "UPDATE_COMPLETE",
                "emulator: moto cannot update this resource type; the new properties were NOT applied to the service",
            )
        return original
    try:
        resource = _replace_if_renamed(resource_class, original, logical_id, resource_json, resources_map, account_id, region_name)
        if resource is None:
            resource = _original_parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as exc:  # not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (logical_id, resource_json.get("Type", ""))  # type: ignore[attr-defined]  # the failing resource, named on the exception for the stack's event
        raise
    _remember(resources_map, logical_id, resource_json)
    return resource


def _replace_if_renamed(resource_class: Any, original: Any, logical_id: str, resource_json: dict[str, Any],
                        resources_map: Any, account_id: str, region_name: str) -> Any:
    """A changed custom name means replacement in CloudFormation; moto's own models
    mostly keep the old name. Create the new resource, then delete the old one."""
    if original is None or isinstance(original, BackendResource):
        return None
    name_property = resource_class.cloudformation_name_type() if hasattr(resource_class, "cloudformation_name_type") else ""
    if not name_property:
        return None
    before = resources_map.__dict__.get("_bluegreen_resolved", {}).get(logical_id, {}).get(name_property)
    after = _resolved(resources_map, resource_json).get(name_property)
    if before is None or after is None or before == after:
        return None
    replacement = _original_parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    resources_map._delete_resource(original, resource_json)
    return replacement


def _parse_output(output_logical_id: str, output_json: Any, resources_map: Any) -> Any:
    try:
        return _original_parse_output(output_logical_id, output_json, resources_map)
    except Exception as exc:  # not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (f"Outputs.{output_logical_id}", "Output")  # type: ignore[attr-defined]  # the failing output, named on the exception for the stack's event
        raise


_original_parse_and_create_resource = parsing.parse_and_create_resource
_original_parse_and_update_resource = parsing.parse_and_update_resource


def _create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Stack:
    try:
        return _original_create_stack(self, name, template, parameters, *args, **kwargs)
    except CloudFormationError:
        # Template / parameter errors (ValidationError, missing export, ...) are
        # synchronous in AWS and leave no stack behind; moto leaves a half-created one.
        stack = next((s for s in self.stacks.values() if s.name == name and s.status == "CREATE_IN_PROGRESS"), None)
        if stack is not None:
            try:
                stack.resource_map.delete()
            except DELETE_RETRIED as cleanup_exc:  # the template error is the answer; say what is left
                log.warning("stack %s: cleanup after a template error failed, resources may be left: %s",
                            name, failure_reason(cleanup_exc))
            self.stacks.pop(stack.stack_id, None)
        raise
    except Exception as exc:  # any failure is the stack's CREATE_FAILED, named below
        stack = next((s for s in self.stacks.values() if s.name == name), None)
        if stack is None:
            raise ValidationError(message=failure_reason(exc)) from exc
        logical_id, resource_type = getattr(exc, "_bluegreen_resource", ("", ""))
        reason = failure_reason(exc)
        log.warning("stack %s: resource %s (%s) failed to create: %s", name, logical_id, resource_type, reason,
                    exc_info=is_bug(exc))
        if logical_id:
            add_resource_event(stack, logical_id, "", resource_type, "CREATE_FAILED", reason)
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.")
        try:
            stack.resource_map.delete()
        except Exception as rollback_exc:  # reported as ROLLBACK_FAILED with its reason
            log.warning("stack %s: rollback failed: %s", name, failure_reason(rollback_exc), exc_info=is_bug(rollback_exc))
            stack.status = "ROLLBACK_FAILED"
            stack._add_stack_event("ROLLBACK_FAILED", failure_reason(rollback_exc))
        else:
            stack.status = "ROLLBACK_COMPLETE"
            stack._add_stack_event("ROLLBACK_COMPLETE")
        _freeze(stack)
        for export_name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            self.exports.pop(export_name, None)
        return stack


def _freeze(stack: Stack) -> None:
    """moto creates resources lazily whenever a stack's resources or outputs are read:
    after a failure only what really exists may be listed, and nothing may be created."""
    resource_map = stack.resource_map
    resource_map._resource_json_map = {
        k: v for k, v in resource_map._resource_json_map.items() if k in resource_map._parsed_resources
    }
    stack.output_map._output_json_map = {}


def _update_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Stack:
    try:
        return _original_update_stack(self, name, *args, **kwargs)
    except CloudFormationError:
        raise
    except Exception as exc:  # any failure is the stack's UPDATE_ROLLBACK_FAILED, named below
        stack = self.get_stack(name)
        logical_id, resource_type = getattr(exc, "_bluegreen_resource", ("", ""))
        reason = failure_reason(exc)
        log.warning("stack %s: update failed at %s: %s", name, logical_id, reason, exc_info=is_bug(exc))
        if logical_id:
            add_resource_event(stack, logical_id, "", resource_type, "UPDATE_FAILED", reason)
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", f"emulator: update failed at [{logical_id}] and is not rolled back: {reason}")
        return stack


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = None
    try:
        stack = self.get_stack(name_or_stack_id)
    except ValidationError:  # unknown stack: moto's delete is a no-op, as AWS's
        pass
    try:
        _original_delete_stack(self, name_or_stack_id)
    except CloudFormationError:
        raise
    except Exception as exc:  # any failure is the stack's DELETE_FAILED, named below
        if stack is None:
            raise
        reason = failure_reason(exc)
        log.warning("stack %s: delete failed: %s", stack.name, reason, exc_info=is_bug(exc))
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", f"The following resource(s) failed to delete: {reason}")
        self.stacks[stack.stack_id] = stack
        self.deleted_stacks.pop(stack.stack_id, None)


_original_update_stack = CloudFormationBackend.update_stack


def _parameter_list(self: Stack) -> list[dict[str, Any]]:
    """DescribeStacks parameters as CloudFormation returns them.

    moto renders a List/CommaDelimitedList value as Python's repr ("['a', 'b']"), so
    ``sceptre diff`` reports every list parameter as changed; and it masks NoEcho by comparing
    the value (not the key) with the NoEcho keys, so NoEcho values were echoed.
    """
    no_echo = self.resource_map.no_echo_parameter_keys
    return [
        {
            "ParameterKey": key,
            "ParameterValue": "****" if key in no_echo else (",".join(value) if isinstance(value, list) else value),
        }
        for key, value in self.resource_map.resolved_parameters.items()
    ]


def install(port: int) -> None:
    for name, value in (
        ("parse_output", _parse_output),
        ("parse_and_create_resource", _parse_and_create_resource),
        ("parse_and_update_resource", _parse_and_update_resource),
        ("ResourceMap.delete", _ordered_delete),
        ("ResourceMap.update", _cascading_update),
    ):
        patch(f"{_PARSING}.{name}", value)
    stack_calls: tuple[tuple[str, Callable[..., Any]], ...] = (
        ("create_stack", _create_stack), ("update_stack", _update_stack), ("delete_stack", _delete_stack))
    for name, call in stack_calls:
        patch(f"moto.cloudformation.models.CloudFormationBackend.{name}", call)
    patch("moto.cloudformation.models.Stack.parameter_list", property(_parameter_list))
