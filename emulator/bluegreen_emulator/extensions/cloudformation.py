"""CloudFormation engine fixes: nested stacks, Lambda-backed custom resources, dynamic
references, dependency-ordered deletes and failure statuses instead of HTTP 500s.

What moto 5.2 does and what changes here:

* Nested stack: ``Fn::GetAtt [Child, Outputs.X]`` crashes the parent (``Stack`` has no
  ``get_cfn_attribute``); ``Ref`` returns the child's name instead of its stack ID; an
  update deletes and re-creates the child. -> outputs resolve, Ref = stack ID, the child
  is updated in place.
* Custom resources (``Custom::*`` / ``AWS::CloudFormation::CustomResource``): moto
  invokes the Lambda in a background thread with a ResponseURL on
  ``host.docker.internal``, ignores FAILED responses and the returned
  PhysicalResourceId, and never sends Update or Delete. -> the Lambda is invoked
  synchronously (see awslambda.py) with a ResponseURL on this emulator; Create, Update
  (with OldResourceProperties) and Delete are sent; SUCCESS data feeds Fn::GetAtt, a
  FAILED response or a handler that never responds fails the resource with its reason.
* ``{{resolve:ssm:...}}``, ``{{resolve:ssm-secure:...}}``,
  ``{{resolve:secretsmanager:...}}`` in resource properties are resolved from the
  emulated services, as CloudFormation does.
* Stack delete follows reverse dependency order (Ref / GetAtt / Sub / DependsOn), so a
  custom resource is deleted before the function that serves it.
* A resource that fails to create no longer turns CreateStack into an HTTP 500: the
  stack goes CREATE_FAILED -> ROLLBACK_COMPLETE with a resource event carrying the
  error (what Sceptre prints); failed updates -> UPDATE_ROLLBACK_FAILED (the emulator
  does not roll updates back), failed deletes -> DELETE_FAILED.
* A resource type without an update implementation in moto is kept as it was (moto
  drops it from the stack); a stack event says the change was not applied.
* An update also reaches resources whose template text did not change but whose
  resolved properties did (Ref/GetAtt of a replaced or updated resource, nested stack
  outputs); moto only updated resources whose text or parameters changed.
* TemplateURL may point at the emulator itself (``http://127.0.0.1:PORT/bucket/key``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from typing import Any
from urllib.parse import urlparse

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation import parsing
from moto.cloudformation import utils as cfn_utils
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends
from moto.core.common_models import CloudFormationModel

from .. import launcher
from ..moto_internals import patch
from ._base import MOTO_ERRORS, BackendResource

log = logging.getLogger("bluegreen_emulator.cloudformation")

EXTENSIONS = [
    ("AWS::CloudFormation::Stack", "Fn::GetAtt Outputs.X works, Ref = stack ID, in-place update of the child stack"),
    ("Custom::* / AWS::CloudFormation::CustomResource", "Lambda-backed: synchronous Create/Update/Delete via ResponseURL on the emulator; FAILED -> resource fails with the reason"),
    ("dynamic references", "{{resolve:ssm|ssm-secure|secretsmanager:...}} resolved from the emulated services"),
    ("boolean strings", "\"true\"/\"false\" from parameters become booleans for moto-native models (e.g. DynamoDB DeletionProtectionEnabled: \"false\" protected the table)"),
    ("Fn::Cidr, Fn::GetAZs", "Fn::Cidr implemented (moto: unresolved); Fn::GetAZs returns the region's six AZs (moto: four)"),
    ("DescribeStacks parameters", "List/CommaDelimitedList values comma-joined as AWS returns them (moto: Python repr, so `sceptre diff` saw every list as changed); NoEcho values masked by key (moto compared the value)"),
    ("stack lifecycle", "reverse-dependency delete order; CREATE_FAILED/ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED, DELETE_FAILED with reasons instead of HTTP 500"),
]

_PORT = 5100
_PARSING = "moto.cloudformation.parsing"


# ============================================================================ events


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


def _stack_for(account_id: str, region_name: str, stack_id: str) -> Stack | None:
    try:
        return cloudformation_backends[account_id][region_name].get_stack(stack_id)
    except ValidationError:  # "Stack with id ... does not exist"
        return None


# ============================================================================ nested stacks


def _stack_get_cfn_attribute(self: Stack, attribute_name: str) -> Any:
    if attribute_name.startswith("Outputs."):
        key = attribute_name[len("Outputs."):]
        for output in self.output_map.values():
            if output is not None and output.key == key:
                return output.value
        raise ValidationError(message=f"Template error: stack {self.name} has no output {key}")
    raise UnformattedGetAttTemplateException()


def _nested_parameters(properties: dict[str, Any]) -> dict[str, str]:
    result = {}
    for key, value in (properties.get("Parameters") or {}).items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        result[key] = str(value) if not isinstance(value, str) else value
    return result


@classmethod  # type: ignore[misc]
def _stack_create_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
    backend = cloudformation_backends[account_id][region_name]
    properties = cloudformation_json["Properties"]
    body = cfn_utils.get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id, partition="aws")
    parent = _stack_for(account_id, region_name, kwargs.get("StackId", ""))
    child = backend.create_stack(
        name=resource_name,
        template=body,
        parameters=_nested_parameters(properties),
        tags=dict(parent.tags) if parent is not None else None,
    )
    if child.status not in ("CREATE_COMPLETE", "CREATE_IN_PROGRESS"):
        reasons = [e.resource_status_reason for e in child.events if e.resource_status_reason and "FAILED" in e.resource_status]
        raise RuntimeError(f"nested stack {child.name} failed: {'; '.join(reasons) or child.status}")
    return child


@classmethod  # type: ignore[misc]
def _stack_update_from_cfn(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
    backend = cloudformation_backends[account_id][region_name]
    properties = cloudformation_json["Properties"]
    body = cfn_utils.get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id, partition="aws")
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in _nested_parameters(properties).items()]
    return backend.update_stack(name=original_resource.stack_id, template=body, role_arn=None, parameters=params, tags=None)


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


def _patch_nested_stacks() -> None:
    stack = "moto.cloudformation.models.Stack"
    patch(f"{stack}.get_cfn_attribute", _stack_get_cfn_attribute)
    patch(f"{stack}.physical_resource_id", property(lambda self: self.stack_id))
    patch(f"{stack}.create_from_cloudformation_json", _stack_create_from_cfn)
    patch(f"{stack}.update_from_cloudformation_json", _stack_update_from_cfn)
    patch(f"{stack}.parameter_list", property(_parameter_list))


# ============================================================================ custom resources


class CustomResourceFailed(Exception):
    """A custom resource provider answered FAILED (or never answered)."""


#: What a resource delete may raise for a reason of the services (a dependency still in
#: place, a provider's FAILED): retried in another order, then reported.
DELETE_RETRIED: tuple[type[Exception], ...] = (*MOTO_ERRORS, CustomResourceFailed)


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
    def _send(self, request_type: str, properties: dict[str, Any], old_properties: dict[str, Any] | None = None, physical_id: str | None = None) -> dict[str, Any]:
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
                f"{request_type}: the custom resource provider {fn.function_name} did not send a response "
                f"(Lambda result: {detail[:500]})"
            )
        if response.get("Status") != "SUCCESS":
            raise CustomResourceFailed(response.get("Reason") or f"{request_type} failed (no reason given)")
        return response

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "CustomResource":
        properties = dict(cloudformation_json.get("Properties") or {})
        resource = cls(account_id, region_name, kwargs["StackId"], kwargs["LogicalId"], kwargs["ResourceType"], properties)
        response = resource._send("Create", properties)
        resource.physical_id = response.get("PhysicalResourceId") or f"{kwargs['LogicalId']}-{uuid.uuid4().hex[:12]}"
        resource.data = response.get("Data") or {}
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: "CustomResource", new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> "CustomResource":
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
                stack = _stack_for(old.account_id, old.region_name, old.stack_id)
                if stack is not None:
                    add_resource_event(stack, old.logical_id, old.physical_id, old.resource_type, "DELETE_FAILED", _failure_reason(exc))
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


_original_resource_class_from_type = parsing.resource_class_from_type


def _patch_custom_resources() -> None:
    patch(f"{_PARSING}.CustomModel", CustomResource)
    patch(f"{_PARSING}.resource_class_from_type", _resource_class_from_type)
    patch("moto.cloudformation.responses.CloudFormationResponse.process_cfn_response", _process_cfn_response)


# ============================================================================ dynamic references

_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")


def _resolve_reference(kind: str, body: str, resources_map: Any) -> str:
    account_id, region_name = resources_map._account_id, resources_map._region_name
    if kind in ("ssm", "ssm-secure"):
        from moto.ssm.models import ssm_backends

        parameter = ssm_backends[account_id][region_name].get_parameter(body)
        if parameter is None:
            raise ValueError(f"dynamic reference {{{{resolve:{kind}:{body}}}}}: parameter not found")
        return parameter.value
    from moto.secretsmanager.models import secretsmanager_backends

    parts = body.split(":")
    if parts[0] == "arn":
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, rest = parts[0], parts[1:]
    rest += [""] * (4 - len(rest))
    _field, json_key, version_stage, version_id = rest[:4]
    value = secretsmanager_backends[account_id][region_name].get_secret_value(
        secret_id, version_id or None, version_stage or ("AWSCURRENT" if not version_id else None)
    )
    secret_string = value.get("SecretString", "")
    if json_key:
        try:
            return str(json.loads(secret_string)[json_key])
        except (ValueError, KeyError) as exc:
            raise ValueError(f"dynamic reference to {secret_id}: key {json_key!r} not in the secret") from exc
    return secret_string


def _fn_cidr(args: list[Any]) -> list[str]:
    """Fn::Cidr [ipBlock, count, cidrBits]: the first `count` subnets of size 2^cidrBits."""
    import ipaddress

    block, count, bits = args
    network = ipaddress.ip_network(str(block), strict=False)
    prefix = network.max_prefixlen - int(bits)
    subnets = network.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(int(count))]


def _fn_get_azs(region: str, resources_map: Any) -> list[str]:
    from moto.ec2.models import ec2_backends

    region = region or resources_map._region_name
    return [zone.name for zone in ec2_backends[resources_map._account_id][region].describe_availability_zones()]


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    # Intrinsic functions moto does not implement (or implements for 4 AZs only).
    if isinstance(resource_json, dict) and len(resource_json) == 1:
        if "Fn::Cidr" in resource_json:
            return _fn_cidr(_clean_json(resource_json["Fn::Cidr"], resources_map))
        if "Fn::GetAZs" in resource_json:
            return _fn_get_azs(_clean_json(resource_json["Fn::GetAZs"], resources_map), resources_map)
    result = _original_clean_json(resource_json, resources_map)
    if isinstance(result, str) and "{{resolve:" in result:
        result = _DYNAMIC_REFERENCE.sub(lambda m: _resolve_reference(m.group(1), m.group(2), resources_map), result)
    return result


_original_clean_json = parsing.clean_json


# ============================================================================ template URLs


def _get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    parsed = urlparse(template_url)
    if parsed.hostname in ("127.0.0.1", "localhost"):
        from moto.s3.models import s3_backends

        bucket, key = parsed.path.lstrip("/").split("/", 1)
        return s3_backends[account_id][partition].get_object(bucket, key).value.decode("utf-8")  # type: ignore[union-attr]
    return _original_get_stack_from_s3_url(template_url, account_id, partition)


_original_get_stack_from_s3_url = cfn_utils.get_stack_from_s3_url


# ============================================================================ lifecycle


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
    return _clean_json(resource_json.get("Properties") or {}, resources_map)


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
    except Exception as exc:  # noqa: BLE001 - not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (logical_id, resource_json.get("Type", ""))  # type: ignore[attr-defined]
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
        stack = _stack_for(account_id, region_name, resources_map.stack_id)
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
    except Exception as exc:  # noqa: BLE001 - not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (logical_id, resource_json.get("Type", ""))  # type: ignore[attr-defined]
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
    except Exception as exc:  # noqa: BLE001 - not handled: named for the stack's failure event, re-raised
        if not hasattr(exc, "_bluegreen_resource"):
            exc._bluegreen_resource = (f"Outputs.{output_logical_id}", "Output")  # type: ignore[attr-defined]
        raise


_original_parse_output = parsing.parse_output
_original_parse_and_create_resource = parsing.parse_and_create_resource
_original_resource_map_update = parsing.ResourceMap.update
_original_parse_and_update_resource = parsing.parse_and_update_resource


def _is_bug(exc: BaseException) -> bool:
    """Not an answer of a service or a provider: the emulator's log gets the traceback."""
    return not isinstance(exc, (*MOTO_ERRORS, CustomResourceFailed))


def _failure_reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    kind = "emulator bug, traceback in the emulator log" if _is_bug(exc) else "emulator"
    return f"{message} ({type(exc).__name__}, {kind})"


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
                            name, _failure_reason(cleanup_exc))
            self.stacks.pop(stack.stack_id, None)
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is the stack's CREATE_FAILED, named below
        stack = next((s for s in self.stacks.values() if s.name == name), None)
        if stack is None:
            raise ValidationError(message=_failure_reason(exc)) from exc
        logical_id, resource_type = getattr(exc, "_bluegreen_resource", ("", ""))
        reason = _failure_reason(exc)
        log.warning("stack %s: resource %s (%s) failed to create: %s", name, logical_id, resource_type, reason,
                    exc_info=_is_bug(exc))
        if logical_id:
            add_resource_event(stack, logical_id, "", resource_type, "CREATE_FAILED", reason)
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.")
        try:
            stack.resource_map.delete()
        except Exception as rollback_exc:  # noqa: BLE001 - reported as ROLLBACK_FAILED with its reason
            log.warning("stack %s: rollback failed: %s", name, _failure_reason(rollback_exc), exc_info=_is_bug(rollback_exc))
            stack.status = "ROLLBACK_FAILED"
            stack._add_stack_event("ROLLBACK_FAILED", _failure_reason(rollback_exc))
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
    except Exception as exc:  # noqa: BLE001 - any failure is the stack's UPDATE_ROLLBACK_FAILED, named below
        stack = self.get_stack(name)
        logical_id, resource_type = getattr(exc, "_bluegreen_resource", ("", ""))
        reason = _failure_reason(exc)
        log.warning("stack %s: update failed at %s: %s", name, logical_id, reason, exc_info=_is_bug(exc))
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
    except Exception as exc:  # noqa: BLE001 - any failure is the stack's DELETE_FAILED, named below
        if stack is None:
            raise
        reason = _failure_reason(exc)
        log.warning("stack %s: delete failed: %s", stack.name, reason, exc_info=_is_bug(exc))
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", f"The following resource(s) failed to delete: {reason}")
        self.stacks[stack.stack_id] = stack
        self.deleted_stacks.pop(stack.stack_id, None)


_original_create_stack = CloudFormationBackend.create_stack
_original_update_stack = CloudFormationBackend.update_stack
_original_delete_stack = CloudFormationBackend.delete_stack


# ============================================================================ boolean strings

#: Boolean properties of moto-native models that templates commonly feed from a
#: parameter ("true"/"false" strings). CloudFormation converts them; moto passes the
#: string on, and "false" is truthy (a "false" DeletionProtectionEnabled protected the
#: table). Paths are dotted property paths.
BOOLEAN_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": (
        "DeletionProtectionEnabled",
        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled",
        "SSESpecification.SSEEnabled",
    ),
    "AWS::S3::Bucket": (
        "PublicAccessBlockConfiguration.BlockPublicAcls",
        "PublicAccessBlockConfiguration.BlockPublicPolicy",
        "PublicAccessBlockConfiguration.IgnorePublicAcls",
        "PublicAccessBlockConfiguration.RestrictPublicBuckets",
        "ObjectLockEnabled",
    ),
    "AWS::EC2::VPC": ("EnableDnsHostnames", "EnableDnsSupport"),
    "AWS::EC2::Subnet": ("MapPublicIpOnLaunch",),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("HealthCheckEnabled",),
    "AWS::ECS::Service": (
        "EnableExecuteCommand",
        "EnableECSManagedTags",
        "DeploymentConfiguration.DeploymentCircuitBreaker.Enable",
        "DeploymentConfiguration.DeploymentCircuitBreaker.Rollback",
    ),
    "AWS::SQS::Queue": ("FifoQueue", "ContentBasedDeduplication"),
    "AWS::SNS::Topic": ("FifoTopic", "ContentBasedDeduplication"),
    "AWS::Lambda::EventSourceMapping": ("Enabled",),
    "AWS::Events::Rule": (),
}


def _coerce_booleans(resource_type: str, properties: dict[str, Any]) -> None:
    for path in BOOLEAN_PROPERTIES.get(resource_type, ()):
        node: Any = properties
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str) and node[keys[-1]].lower() in ("true", "false"):
            node[keys[-1]] = node[keys[-1]].lower() == "true"


def _parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = _original_parse_resource(resource_json, resources_map)
    if parsed:
        _resource_class, cleaned, resource_type = parsed
        if isinstance(cleaned.get("Properties"), dict):
            _coerce_booleans(resource_type, cleaned["Properties"])
    return parsed


_original_parse_resource = parsing.parse_resource


# ============================================================================ names

#: Types whose generated physical names AWS creates in lower case (moto keeps the case
#: of the stack and logical names, which the service then rejects).
LOWERCASE_NAME_TYPES = {"AWS::ECR::Repository", "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster"}


def _generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    name = _original_generate_resource_name(resource_type, stack_name, logical_id)
    return name.lower() if resource_type in LOWERCASE_NAME_TYPES else name


_original_generate_resource_name = parsing.generate_resource_name


# ============================================================================ install


def install(port: int) -> None:
    global _PORT
    _PORT = port
    _patch_nested_stacks()
    _patch_custom_resources()
    for name, value in (
        ("clean_json", _clean_json),
        ("generate_resource_name", _generate_resource_name),
        ("parse_output", _parse_output),
        ("parse_resource", _parse_resource),
        ("parse_and_create_resource", _parse_and_create_resource),
        ("parse_and_update_resource", _parse_and_update_resource),
        ("ResourceMap.delete", _ordered_delete),
        ("ResourceMap.update", _cascading_update),
    ):
        patch(f"{_PARSING}.{name}", value)
    for module in ("utils", "models", "responses"):
        patch(f"moto.cloudformation.{module}.get_stack_from_s3_url", _get_stack_from_s3_url)
    for name, value in (("create_stack", _create_stack), ("update_stack", _update_stack), ("delete_stack", _delete_stack)):
        patch(f"moto.cloudformation.models.CloudFormationBackend.{name}", value)
