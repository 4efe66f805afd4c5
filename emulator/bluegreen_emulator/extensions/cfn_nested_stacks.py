"""Nested stacks (``AWS::CloudFormation::Stack``) and templates read from the emulator's own S3.

What moto 5.2 does and what changes here:

* ``Fn::GetAtt [Child, Outputs.X]`` crashes the parent (``Stack`` has no ``get_cfn_attribute``)
  -> the child's output;
* ``Ref`` returns the child's name -> its stack ID, as AWS;
* an update deletes and re-creates the child -> the child is updated in place, with the parent's
  tags and the new parameters; a child that fails fails the parent's resource with its reasons;
* a ``TemplateURL`` on the emulator itself (``http://127.0.0.1:PORT/bucket/key``, as Sceptre's
  ``template_bucket_name`` and the nested parent give it) was not read -> read from moto's S3.

Upstream: each is a candidate change to moto (``moto/cloudformation/models.py``'s ``Stack`` as a
CloudFormation model, ``utils.get_stack_from_s3_url`` for any endpoint URL), written so it could be
offered there as it is; until then it is patched here (``moto_internals``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from moto.cloudformation import utils as cfn_utils
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import Stack, cloudformation_backends

from ..moto_internals import patch
from ._cfn import stack_for

EXTENSIONS = [
    ("AWS::CloudFormation::Stack", "Fn::GetAtt Outputs.X works, Ref = stack ID, in-place update of the child stack"),
    ("TemplateURL on the emulator", "a template at http://127.0.0.1:PORT/bucket/key is read from the emulated S3 (moto: fetched over HTTP from AWS's S3 host "
                                    "names only)"),
]

#: moto's own, bound before install() replaces it.
_original_get_stack_from_s3_url = cfn_utils.get_stack_from_s3_url


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


@classmethod  # type: ignore[misc]  # moto calls it on the class: a classmethod set onto moto's Stack
def _stack_create_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    backend = cloudformation_backends[account_id][region_name]
    properties = cloudformation_json["Properties"]
    body = _child_template(properties["TemplateURL"], account_id)
    parent = stack_for(account_id, region_name, kwargs.get("StackId", ""))
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


@classmethod  # type: ignore[misc]  # moto calls it on the class: a classmethod set onto moto's Stack
def _stack_update_from_cfn(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    backend = cloudformation_backends[account_id][region_name]
    properties = cloudformation_json["Properties"]
    body = _child_template(properties["TemplateURL"], account_id)
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in _nested_parameters(properties).items()]
    return backend.update_stack(name=original_resource.stack_id, template=body, role_arn=None, parameters=params, tags=None)


def _child_template(template_url: str, account_id: str) -> str:
    """The child's template, refused as AWS refuses it: a template read by TemplateURL has the same quotas
    (1 MB, 500 resources, ...: cfn_limits) whether a request or a parent's AWS::CloudFormation::Stack names it."""
    from ._cfn import ResourceRefused
    from .cfn_limits import problem

    body = cfn_utils.get_stack_from_s3_url(template_url, account_id=account_id, partition="aws")
    found = problem(body, by_url=True)
    if found:
        raise ResourceRefused(f"{found} (nested stack template {template_url})")
    return body


def _get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    parsed = urlparse(template_url)
    if parsed.hostname in ("127.0.0.1", "localhost"):
        from moto.s3.models import s3_backends

        bucket, key = parsed.path.lstrip("/").split("/", 1)
        return s3_backends[account_id][partition].get_object(bucket, key).value.decode("utf-8")
    return _original_get_stack_from_s3_url(template_url, account_id, partition)


def install(port: int) -> None:
    stack = "moto.cloudformation.models.Stack"
    patch(f"{stack}.get_cfn_attribute", _stack_get_cfn_attribute)
    patch(f"{stack}.physical_resource_id", property(lambda self: self.stack_id))
    patch(f"{stack}.create_from_cloudformation_json", _stack_create_from_cfn)
    patch(f"{stack}.update_from_cloudformation_json", _stack_update_from_cfn)
    for module in ("utils", "models", "responses"):
        patch(f"moto.cloudformation.{module}.get_stack_from_s3_url", _get_stack_from_s3_url)
