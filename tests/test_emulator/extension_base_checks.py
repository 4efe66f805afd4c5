"""Checks of the extension models' shared plumbing (extensions/_base.py), run in the emulator venv.

_base imports moto.cloudformation, which the project venv's moto cannot import (no server
extras), so test_base.py runs this file with the emulator venv's python: each
``check_*`` function is one test; the result is JSON, {check name: "ok" or the traceback}.
Nothing here patches moto.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.route53.exceptions import NoSuchHostedZone

from bluegreen_emulator.extensions import _base


class _Raised:
    value: BaseException


@contextmanager
def raises(kind: type[BaseException], match: str = "") -> Iterator[_Raised]:
    """pytest.raises for a process without pytest."""
    raised = _Raised()
    try:
        yield raised
    except kind as exc:
        raised.value = exc
        assert re.search(match, str(exc)), f"{exc!r} does not match {match!r}"
    else:
        raise AssertionError(f"{kind.__name__} not raised")


class _Validation(Exception):
    pass


def check_absent_ok__the_not_found_message__ignored():
    with _base.absent_ok(_Validation, "No scalable target found"):
        raise _Validation("400: No scalable target found for service/c/s")


def check_absent_ok__same_class_other_message__raised():
    with raises(_Validation, match="MinCapacity"):
        with _base.absent_ok(_Validation, "No scalable target found"):
            raise _Validation("MinCapacity must be at most MaxCapacity")


def check_absent_ok__other_class__raised():
    with raises(KeyError):
        with _base.absent_ok(_Validation, "No scalable target found"):
            raise KeyError("No scalable target found")


class _Model(_base.BackendResource):
    TYPE = "Test::Thing"
    GETATT = {"Name": lambda r: f"name-of-{r.physical_id}"}
    ATTRIBUTES = ("Arn",)

    def __init__(self, fail: BaseException | None = None) -> None:
        super().__init__("123456789012", "us-east-1", "Thing", {"A": "1", "B": "2"})
        self.physical_id = "thing-1"
        self.fail = fail

    def remove(self) -> None:
        if self.fail is not None:
            raise self.fail

    def attribute(self, name: str) -> str:
        return f"arn:{self.physical_id}"


def check_delete__attribute_error_in_remove__extension_error_naming_the_resource():
    # moto's ResourceMap takes TypeError/AttributeError for "no delete here" and tries another
    # way; a bug of ours must not be routed there.
    with raises(_base.ExtensionError, match=r"Test::Thing Thing \(thing-1\).*AttributeError: gone") as caught:
        _Model(AttributeError("gone")).delete("123456789012", "us-east-1")
    assert isinstance(caught.value.__cause__, AttributeError)


def check_delete__a_moto_error__passes_unchanged():
    with raises(NoSuchHostedZone):
        _Model(NoSuchHostedZone("Z1")).delete("123456789012", "us-east-1")


def check_get_cfn_attribute__table_then_attributes_then_moto_s_error():
    model = _Model()

    assert model.get_cfn_attribute("Name") == "name-of-thing-1"
    assert model.get_cfn_attribute("Arn") == "arn:thing-1"
    assert _Model.has_cfn_attr("Name") and _Model.has_cfn_attr("Arn") and not _Model.has_cfn_attr("Other")
    with raises(UnformattedGetAttTemplateException):
        model.get_cfn_attribute("Other")


def check_changed__changed_added_and_removed_properties():
    assert _Model().changed({"A": "1", "B": "3", "C": "4"}) == {"B": "3", "C": "4"}
    assert _Model().changed({"A": "1"}) == {"B": None}


def check_update_without_put_or_update__not_implemented_means_replacement():
    with raises(NotImplementedError):
        _Model().update({"A": "2"})


def check_snake_kwargs__tags_booleans_numbers_skip_and_none():
    kwargs = _base.snake_kwargs(
        {"DBClusterIdentifier": "x", "StorageEncrypted": "true", "Port": "3306", "Tags": {"Env": "dev"}, "KmsKeyId": None,
         "EngineVersion": "8.0"},
        skip={"DBClusterIdentifier"}, bools={"storage_encrypted"}, ints={"port"},
    )

    assert kwargs == {"storage_encrypted": True, "port": 3306, "tags": [{"Key": "Env", "Value": "dev"}], "engine_version": "8.0"}


def check_getatt__table_fallback_and_unknown():
    class Moto:
        arn = "arn:x"

    with_fallback = _base.getatt({"Arn": lambda m: m.arn}, fallback=lambda m, name: f"moto:{name}")
    strict = _base.getatt({"Arn": lambda m: m.arn})

    assert with_fallback(Moto(), "Arn") == "arn:x"
    assert with_fallback(Moto(), "DNSName") == "moto:DNSName"
    with raises(UnformattedGetAttTemplateException):
        strict(Moto(), "DNSName")


def main() -> None:
    results = {}
    for name, check in list(globals().items()):
        if name.startswith("check_") and callable(check):
            try:
                check()
            except Exception:  # noqa: BLE001 - every failure is that check's result
                results[name] = traceback.format_exc()
            else:
                results[name] = "ok"
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
