"""Run with the emulator venv's python: what installing the emulator changes in moto, as JSON.

Used by test_moto_internals.py (the project venv must not patch its own moto: the in-process
``mock_aws`` tests share it). Prints one JSON document:

* ``moto``: the installed moto version;
* ``problems``: entries of moto_internals that no longer match the installed moto (before install);
* ``changed``: every moto function, method, class attribute or mapping item that installing the
  emulator (``server.build_app``, as the server does) replaced, added or removed, in the moto
  modules loaded before (the server imports moto.moto_server afterwards: new, not changed);
* ``registered``: the canonical name of every registered patch target, ``applied`` the targets
  ``moto_internals.patch`` installed;
* ``replaced_models``: moto's CloudFormation models whose type an extension model takes over;
  ``model_entries``: the MODEL entries, canonical;
* ``foreign_errors``: exception classes of the moto packages the emulator uses that derive from
  none of ``extensions._base.MOTO_ERRORS``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import tempfile
from types import ModuleType
from typing import Any


def _moto_modules() -> dict[str, ModuleType]:
    return {name: module for name, module in list(sys.modules.items()) if name.split(".")[0] == "moto" and module}


def _snapshot() -> dict[str, int]:
    """Canonical name -> identity of every module attribute, class attribute and module-level dict item."""
    seen: dict[str, int] = {}
    for name, module in _moto_modules().items():
        for attr, value in list(vars(module).items()):
            if isinstance(value, ModuleType):
                continue  # a submodule imported meanwhile is not a change of moto
            seen[f"{name}.{attr}"] = id(value)
            # Module-level tables (UPPER_CASE) and a service's URL routes (urls.url_paths: an added route is a change).
            if isinstance(value, dict) and (attr.isupper() or attr == "url_paths"):
                for key, item in list(value.items()):
                    seen[f"{name}.{attr}[{key}]"] = id(item)
            if inspect.isclass(value) and value.__module__ == name:
                for class_attr, class_value in list(vars(value).items()):
                    seen[f"{name}.{value.__qualname__}.{class_attr}"] = id(class_value)
    return seen


def _module_of(name: str) -> str:
    """The moto module a snapshot name belongs to (its longest prefix that is a loaded module)."""
    parts = name.split("[", 1)[0].split(".")
    for end in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:end]) in sys.modules:
            return ".".join(parts[:end])
    return ""


def _canonical(target: str) -> str:
    from bluegreen_emulator import moto_internals

    holder, name = moto_internals.resolve(target)
    if isinstance(holder, dict):
        return target
    if inspect.isclass(holder):
        return f"{holder.__module__}.{holder.__qualname__}.{name}"
    return f"{holder.__name__}.{name}"


def main() -> None:
    os.environ["EMULATOR_STATE_DIR"] = tempfile.mkdtemp(prefix="moto-boundary-")  # build_app writes keys there
    import moto

    from bluegreen_emulator import extensions, moto_internals, server

    for module in extensions.MODULES:  # defines the models, imports the moto modules they use
        importlib.import_module(f"{extensions.__name__}.{module}")
    problems = [p for p in (moto_internals.state_problem(e) for e in moto_internals.INTERNALS) if p]
    modules_before = set(_moto_modules())
    before = _snapshot()
    server.build_app(int(os.environ.get("MOTO_BOUNDARY_PORT", "5999")))
    after = {k: v for k, v in _snapshot().items() if _module_of(k) in modules_before}  # not modules imported since
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    from moto.core.common_models import CloudFormationModel

    ours = {m.cloudformation_type() for m in CloudFormationModel.__subclasses__() if m.__module__.startswith("bluegreen_emulator.")}
    replaced = sorted(
        f"{m.__module__}.{m.__qualname__}"
        for m in CloudFormationModel.__subclasses__()
        if m.__module__.startswith("moto.") and m.cloudformation_type() in ours
    )
    patches = [e for e in moto_internals.INTERNALS if e.how != moto_internals.MODEL]
    models = [e for e in moto_internals.INTERNALS if e.how == moto_internals.MODEL]

    from bluegreen_emulator.extensions._base import MOTO_ERRORS

    foreign = set()
    for name, module in _moto_modules().items():
        if name.endswith(".exceptions"):
            for value in vars(module).values():
                if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == name:
                    if not issubclass(value, MOTO_ERRORS):
                        foreign.add(f"{name}.{value.__qualname__}")
    document: dict[str, Any] = {
        "moto": moto.__version__,
        "problems": problems,
        "changed": changed,
        "registered": sorted(_canonical(e.target) for e in patches),
        "applied": sorted(moto_internals.applied()),
        "patch_targets": sorted(e.target for e in patches),
        "replaced_models": replaced,
        "model_entries": sorted(
            f"{cls.__module__}.{cls.__qualname__}" for cls in (getattr(*moto_internals.resolve(e.target)) for e in models)
        ),
        "foreign_errors": sorted(foreign),
    }
    print(json.dumps(document))


if __name__ == "__main__":
    main()
