"""Deployment environments as Sceptre reads the stack groups that define them.

An environment is a top-level stack group ``config/<env>/`` whose group config names itself::

    environment: dev
    environment_suffix: d01
    ssm_prefix: /payments-migration/dev-d01
    parameters:
      Project: payments-migration

(``config/nested-dev/`` shares dev's group config through a symlink and so says ``environment: dev``:
it is dev's nested parent, not an environment of its own.) Resource names follow
``<kind>[-<qualifier>...]-<environment>-<suffix>`` (bluegreen.cfn.name), so the traffic shifter of
dev/d01 is ``lambda-traffic-shifter-dev-d01``.

Nothing here parses a config file: ``SceptrePlan`` reads the group (Jinja with ``var`` empty,
``environment_variable``, inheritance from config/config.yaml, resolvers and hooks set up but not
run) and the values come from its ``Stack`` objects: ``stack_group_config``, the parameters every
stack is given and ``Stack.region``. They must agree across the group's stacks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CONFIG_DIR = "config"
CONFIG_FILE = "config.yaml"
_SUFFIX = re.compile(r"^[a-z0-9]{2,8}$")


class EnvironmentConfigError(ValueError):
    """A stack-group config that does not give what the tools need; the message says what."""


class UnknownEnvironmentError(EnvironmentConfigError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown environment {name!r}; known environments: {', '.join(known) or 'none'}")


@dataclass(frozen=True)
class Environment:
    name: str
    suffix: str
    project: str
    ssm_prefix: str
    region: str
    config_file: Path

    @property
    def label(self) -> str:
        """``dev-d01``."""
        return f"{self.name}-{self.suffix}"

    def resource_name(self, kind: str, *qualifiers: str) -> str:
        return "-".join([kind, *qualifiers, self.name, self.suffix])

    @property
    def traffic_shifter_function(self) -> str:
        return self.resource_name("lambda", "traffic-shifter")


def find_project_root(start: Path | None = None) -> Path:
    """The folder holding ``config/config.yaml``: ``start`` (default: cwd) or a parent, else this checkout."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parent.parent):
        if (folder / CONFIG_DIR / CONFIG_FILE).is_file():
            return folder
    raise EnvironmentConfigError(f"no {CONFIG_DIR}/{CONFIG_FILE} in {here} or its parents; run from the project folder")


def stacks(root: Path, group: str, variables: Mapping[str, Any] | None = None, *,
           dependencies: bool = False) -> list[Any]:
    """Sceptre's stacks of ``config/<group>/`` (SceptrePlan: no AWS call), by name; with ``dependencies``
    also the stacks outside it they depend on. A config Sceptre refuses is an EnvironmentConfigError
    naming the folder. The one place this project asks Sceptre to read its configs."""
    from sceptre.context import SceptreContext
    from sceptre.exceptions import SceptreException
    from sceptre.plan.plan import SceptrePlan

    folder = Path(root) / CONFIG_DIR / group
    context = SceptreContext(project_path=str(root), command_path=group, user_variables=dict(variables or {}))
    try:
        plan = SceptrePlan(context)
    except ValueError as err:  # Sceptre's only ValueError: a file that is not YAML once rendered
        raise EnvironmentConfigError(f"{folder}: not valid YAML once Sceptre rendered it: {err}") from err
    except (SceptreException, TypeError) as err:
        raise EnvironmentConfigError(f"{folder}: Sceptre cannot read it: {err}") from err
    # What `sceptre launch` skips (``ignore``, ``obsolete``: the datacentre stacks where datacentre_link is
    # "off") is not part of the environment: no parent nests it, no tool looks for it.
    found = plan.graph if dependencies else plan.command_stacks
    return sorted((s for s in found if not (s.ignore or s.obsolete)), key=lambda s: s.name)


def unresolved_parameters(stack: Any) -> dict[str, Any]:
    """``Stack.parameters`` as Sceptre holds it before resolving (strings, lists, resolver instances).

    Reading ``stack.parameters`` would resolve every ``!stack_output`` and ``!ssm`` against AWS; the
    descriptor keeps the set-up values under its own name until then.
    """
    from sceptre.stack import Stack

    return dict(getattr(stack, Stack.__dict__["parameters"].name))


def group_config(root: Path, group: str) -> dict[str, Any]:
    """The group config Sceptre gives the stacks of ``config/<group>/`` (``Stack.stack_group_config``)
    plus ``parameters`` (what every stack is given) and ``region``; keys that differ between the
    group's stacks (a sub-group's own values) are left out."""
    found = stacks(root, group)
    if not found:
        raise EnvironmentConfigError(f"{Path(root) / CONFIG_DIR / group}: no stack configs, so Sceptre reads no "
                                     "group config there")
    def common(values: list[dict[str, Any]]) -> dict[str, Any]:
        first = values[0]
        return {k: v for k, v in first.items() if all(k in other and other[k] == v for other in values[1:])}

    config = common([dict(s.stack_group_config) for s in found])
    config["parameters"] = common([{k: v for k, v in unresolved_parameters(s).items() if isinstance(v, str)}
                                   for s in found])
    if len({s.region for s in found}) == 1:
        config["region"] = found[0].region
    return config


def read_config(path: Path, environment: str, root: Path) -> dict[str, Any]:
    """The group config of ``path``'s folder as Sceptre reads it (``group_config``; ``path`` names the
    group's config.yaml, ``environment`` is kept for the callers that name it)."""
    group = Path(path).resolve().parent if Path(path).name == CONFIG_FILE else Path(path).resolve()
    return group_config(root, str(group.relative_to((Path(root) / CONFIG_DIR).resolve())))


@lru_cache(maxsize=32)
def _environment_of(root: str, group: str, mtime: float) -> str | None:
    try:
        return group_config(Path(root), group).get("environment")
    except EnvironmentConfigError:
        return None


def known_environments(root: Path) -> list[str]:
    """The top-level groups whose group config names themselves (``environment: <folder>``)."""
    config = Path(root) / CONFIG_DIR
    found = []
    for path in sorted(config.glob(f"*/{CONFIG_FILE}")):
        group = path.parent.name
        if _environment_of(str(Path(root).resolve()), group, path.stat().st_mtime) == group:
            found.append(group)
    return found


def load_environment(name: str, root: Path | None = None) -> Environment:
    """The environment ``name`` (a folder of config/), with its names checked against each other."""
    root = find_project_root() if root is None else Path(root)
    path = root / CONFIG_DIR / name / CONFIG_FILE
    if not path.is_file():
        raise UnknownEnvironmentError(name, known_environments(root))
    values = group_config(root, name)

    def required(key: str, where: Mapping[str, Any] = values, label: str = "") -> str:
        value = where.get(key)
        if not isinstance(value, str) or not value.strip():
            raise EnvironmentConfigError(f"{path}: {label or key} must be a non-empty string, got {value!r}")
        return value.strip()

    environment = required("environment")
    if environment != name:
        raise EnvironmentConfigError(f"{path}: environment is {environment!r} but the folder is {name!r}"
                                     + (f" (config/{name} deploys {environment!r}: use {environment!r})"
                                        if environment in known_environments(root) else ""))
    suffix = required("environment_suffix")
    if not _SUFFIX.match(suffix):
        raise EnvironmentConfigError(f"{path}: environment_suffix must be 2-8 lower-case letters or digits, got {suffix!r}")
    project = required("Project", values["parameters"], "parameters: Project")
    ssm_prefix = required("ssm_prefix").rstrip("/")
    expected = f"/{project}/{environment}-{suffix}"
    if ssm_prefix != expected:
        raise EnvironmentConfigError(f"{path}: ssm_prefix is {ssm_prefix!r} but Project, environment and suffix make {expected!r}")
    return Environment(
        name=environment,
        suffix=suffix,
        project=project,
        ssm_prefix=ssm_prefix,
        region=required("region"),
        config_file=path,
    )
