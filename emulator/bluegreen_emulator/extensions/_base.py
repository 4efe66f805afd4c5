"""Shared plumbing for CloudFormation models layered on top of moto's service backends.

moto builds its CloudFormation type map from the *direct* subclasses of
``moto.core.common_models.CloudFormationModel`` (``parsing.get_model_list``). Each
extension model is therefore declared as ``class X(BackendResource, CloudFormationModel)``:
``BackendResource`` carries the generic lifecycle, ``CloudFormationModel`` registers it.

An extension model is a thin handle: it keeps the identity of the resource (physical ID,
ARN, ...) while the service backend owns the state, exactly as if the resource had been
created through the service API. Create, update and delete call the backend's own
methods, so describe/get/list calls of the service see the resource, and a stack delete
removes it from the backend.

Upstreaming: in moto the same methods would live on the backend's model class itself
(``create_from_cloudformation_json`` calling ``backend.create_x(...)``); the logic of each
``create``/``update``/``remove`` below moves over unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.exceptions import ServiceException
from moto.core.utils import camelcase_to_underscores
from werkzeug.exceptions import HTTPException

#: moto's own error classes: every service error derives from one of these (its
#: ``_RESTError`` is a werkzeug HTTPException); test_moto_internals checks it. An error of
#: any other class coming out of moto or an extension is a bug, not an AWS answer.
MOTO_ERRORS: tuple[type[Exception], ...] = (ServiceException, HTTPException)


# ----------------------------------------------------------------------------- helpers


def tags_to_dict(tags: Any) -> dict[str, str]:
    """CloudFormation tags ([{Key, Value}] or {k: v}) as a dict."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags}


def tags_to_list(tags: Any) -> list[dict[str, str]]:
    """CloudFormation tags as the [{Key, Value}] list most APIs take."""
    return [{"Key": k, "Value": v} for k, v in tags_to_dict(tags).items()]


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    """CloudFormation passes booleans as true/false or as the strings "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    return int(value)


def as_float(value: Any, default: float | None = None) -> float | None:
    if value is None or value == "":
        return default
    return float(value)


def snake_kwargs(properties: dict[str, Any], skip: set[str] | frozenset[str] = frozenset(),
                 bools: set[str] | frozenset[str] = frozenset(), ints: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """CloudFormation properties -> the snake_case keyword arguments of a moto backend method.

    None values and ``skip`` are left out; Tags become [{Key, Value}]; the snake names in
    ``bools`` / ``ints`` are converted (templates pass "true" and "5432" as strings).
    """
    kwargs: dict[str, Any] = {}
    for key, value in properties.items():
        if key in skip or value is None:
            continue
        name = camelcase_to_underscores(key)
        if name == "tags":
            value = tags_to_list(value)
        elif name in bools:
            value = as_bool(value)
        elif name in ints:
            value = as_int(value)
        kwargs[name] = value
    return kwargs


def identifier(name: str, max_len: int = 63, lower: bool = True) -> str:
    """A generated name squeezed into the usual AWS identifier rules.

    Letters, digits and single hyphens, starting with a letter, not ending with a hyphen.
    """
    value = re.sub(r"[^A-Za-z0-9-]", "-", name)
    value = re.sub(r"-{2,}", "-", value)
    if lower:
        value = value.lower()
    if not value or not value[0].isalpha():
        value = "r" + value
    if len(value) > max_len:
        # keep the random suffix moto appended, drop characters from the middle
        value = value[: max_len - 14] + "-" + value[-13:]
        value = re.sub(r"-{2,}", "-", value)
    return value.strip("-")


def policy_text(value: Any) -> str:
    """A policy document as the JSON text the APIs take (templates give objects)."""
    return value if isinstance(value, str) else json.dumps(value)


@contextmanager
def absent_ok(error: type[BaseException] | tuple[type[BaseException], ...], message: str) -> Iterator[None]:
    """A delete of something already gone is what the delete wants.

    For moto errors that mean "not found" only by their text (e.g. a ValidationException
    "No scalable target found"): ``error`` with ``message`` in it is ignored, any other is
    raised. Where moto has a not-found class of its own, ``contextlib.suppress`` it.
    """
    try:
        yield
    except error as exc:
        if message not in str(exc):
            raise


#: A stack-delete function for a moto model without a delete: (model object, account, region).
Deleter = Callable[[Any, str, str], None]


def getatt(attributes: dict[str, Callable[[Any], Any]], fallback: Callable[[Any, str], Any] | None = None) -> Callable[[Any, str], Any]:
    """A ``get_cfn_attribute`` for a moto model: attribute name -> how to read it from the model.

    Other names go to ``fallback`` (moto's own method), or are the error moto raises for an
    unknown attribute.
    """

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name in attributes:
            return attributes[attribute_name](self)
        if fallback is not None:
            return fallback(self, attribute_name)
        raise UnformattedGetAttTemplateException()

    return get_cfn_attribute


# ----------------------------------------------------------------------------- base


class ExtensionError(RuntimeError):
    """A bug of an extension model, kept from being mistaken for something moto handles."""


class BackendResource:
    """Lifecycle shared by every extension model (mix in before CloudFormationModel).

    Subclasses set ``TYPE`` (and ``NAME_PROPERTY``, ``ATTRIBUTES``, ``REPLACE_ON``) and
    implement ``create(name)``, ``remove()``, optionally ``update(new_properties)`` and
    ``attribute(name)`` -- or ``put(properties)`` for both create and update.
    """

    #: The CloudFormation resource type, e.g. "AWS::RDS::DBCluster".
    TYPE: ClassVar[str] = ""
    #: The property that names the resource (moto generates a name when it is absent).
    NAME_PROPERTY: ClassVar[str] = ""
    #: Names accepted by Fn::GetAtt, answered by ``attribute(name)``.
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()
    #: Or a table: Fn::GetAtt name -> how to read it from the resource.
    GETATT: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    #: Properties whose change requires a new physical resource (CFN "Replacement").
    REPLACE_ON: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account_id: str, region_name: str, logical_id: str, properties: dict[str, Any]):
        self.account_id = account_id
        self.region_name = region_name
        self.logical_id = logical_id
        self.properties = properties
        self.physical_id = ""

    # ---------------------------------------------------------------- to implement

    def create(self, name: str) -> None:
        """Create the resource in the backend and set ``self.physical_id`` (default: ``put``)."""
        self.put(self.properties)

    def update(self, new_properties: dict[str, Any]) -> None:
        """Apply a no-replacement update in place (default: ``put``; without it, replacement)."""
        self.put(new_properties)

    def put(self, properties: dict[str, Any]) -> None:
        """For APIs whose one call creates or overwrites (PutX): create and update in one."""
        raise NotImplementedError

    def remove(self) -> None:
        """Delete the resource from the backend; a resource already gone is not an error."""
        raise NotImplementedError

    def attribute(self, name: str) -> Any:
        """Value of Fn::GetAtt ``name`` (only called for names in ``ATTRIBUTES``)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- moto interface

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES or attr in cls.GETATT

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.GETATT:
            return self.GETATT[attribute_name](self)
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BackendResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        resource = cls(account_id, region_name, kwargs.get("LogicalId", ""), properties)
        resource.create(resource_name)
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: BackendResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> BackendResource:
        new_properties = dict(cloudformation_json.get("Properties") or {})
        if not original_resource.needs_replacement(new_properties):
            try:
                original_resource.update(new_properties)
            except NotImplementedError:
                pass
            else:
                original_resource.properties = new_properties
                return original_resource
        return original_resource.replace(new_resource_name, cloudformation_json)

    def changed(self, new_properties: dict[str, Any]) -> dict[str, Any]:
        """The properties an update changes (new value, or None when removed)."""
        keys = set(self.properties) | set(new_properties)
        return {k: new_properties.get(k) for k in keys if self.properties.get(k) != new_properties.get(k)}

    def needs_replacement(self, new_properties: dict[str, Any]) -> bool:
        keys = list(self.REPLACE_ON)
        if self.NAME_PROPERTY:
            keys.append(self.NAME_PROPERTY)
        return any(self.properties.get(k) != new_properties.get(k) for k in keys)

    def replace(self, new_resource_name: str, cloudformation_json: dict[str, Any]) -> BackendResource:
        """CloudFormation replacement: create the new resource, then delete the old one.

        With an unchanged custom name the two would collide, so the old one goes first
        (real CloudFormation refuses such an update; the emulator is lenient).
        """
        new_properties = cloudformation_json.get("Properties") or {}
        same_name = bool(
            self.NAME_PROPERTY
            and new_properties.get(self.NAME_PROPERTY)
            and new_properties.get(self.NAME_PROPERTY) == self.properties.get(self.NAME_PROPERTY)
        )
        if same_name:
            self.remove()
        new = type(self).create_from_cloudformation_json(
            new_resource_name,
            cloudformation_json,
            self.account_id,
            self.region_name,
            LogicalId=self.logical_id,
        )
        if not same_name:
            self.remove()
        return new

    def delete(self, account_id: str, region_name: str) -> None:
        """Called by moto's ResourceMap on stack delete and on resource removal.

        moto takes a TypeError or AttributeError out of here for "this model has no delete"
        and tries another way, which would hide a bug of the extension: it leaves as an
        ExtensionError naming the resource and the cause.
        """
        try:
            self.remove()
        except (TypeError, AttributeError) as exc:
            raise ExtensionError(f"{self.TYPE} {self.logical_id} ({self.physical_id}): delete failed: {type(exc).__name__}: {exc}") from exc

    def __repr__(self) -> str:
        return f"<{self.TYPE} {self.logical_id} {self.physical_id}>"
