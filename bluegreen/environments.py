"""Deployment environments as the Sceptre stack-group configs define them.

``config/config.yaml`` holds what every group shares (``region``); ``config/<env>/config.yaml``
holds the environment's own keys::

    environment: dev
    environment_suffix: d01
    ssm_prefix: /payments-migration/dev-d01
    parameters:
      Project: payments-migration

Resource names follow ``<kind>[-<qualifier>...]-<environment>-<suffix>`` (bluegreen.cfn.name), so
the traffic shifter of dev/d01 is ``lambda-traffic-shifter-dev-d01``.

The files are read the way Sceptre reads them: Jinja first (``{{ environment }}``,
``{{ environment_variable.X }}``; an unknown ``var`` renders empty), then YAML, where the tags
of resolvers and hooks (``!stack_output``, ``!ssm``, ...) are kept as plain values, not run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


def known_environments(root: Path) -> list[str]:
    config = Path(root) / CONFIG_DIR
    return sorted(p.parent.name for p in config.glob(f"*/{CONFIG_FILE}"))


def load_environment(name: str, root: Path | None = None) -> Environment:
    """The environment ``name`` (a folder of config/), with its names checked against each other."""
    root = find_project_root() if root is None else Path(root)
    known = known_environments(root)
    if name not in known:
        raise UnknownEnvironmentError(name, known)
    path = root / CONFIG_DIR / name / CONFIG_FILE
    shared = read_config(root / CONFIG_DIR / CONFIG_FILE, name, root)
    values = {**shared, **read_config(path, name, root)}

    def required(key: str, where: Mapping[str, Any] = values, label: str = "") -> str:
        value = where.get(key)
        if not isinstance(value, str) or not value.strip():
            raise EnvironmentConfigError(f"{path}: {label or key} must be a non-empty string, got {value!r}")
        return value.strip()

    environment = required("environment")
    if environment != name:
        raise EnvironmentConfigError(f"{path}: environment is {environment!r} but the folder is {name!r}")
    suffix = required("environment_suffix")
    if not _SUFFIX.match(suffix):
        raise EnvironmentConfigError(f"{path}: environment_suffix must be 2-8 lower-case letters or digits, got {suffix!r}")
    parameters = values.get("parameters")
    if not isinstance(parameters, Mapping):
        raise EnvironmentConfigError(f"{path}: parameters must be a mapping with Project, got {parameters!r}")
    project = required("Project", parameters, "parameters: Project")
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


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML that keeps Sceptre's resolver and hook tags as the plain values under them."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ConfigLoader.add_multi_constructor("!", _untagged)


def read_config(path: Path, environment: str, root: Path) -> dict[str, Any]:
    """One Sceptre config file: rendered with Jinja (as Sceptre does), then parsed."""
    try:
        text = path.read_text()
    except OSError as err:
        raise EnvironmentConfigError(f"cannot read {path}: {err.strerror}") from err
    if "{{" in text or "{%" in text:
        import jinja2  # Sceptre's own dependency

        try:
            text = jinja2.Template(text).render(
                environment=environment,
                command_path=environment,
                project_path=str(root),
                environment_variable=os.environ,
                var={},
            )
        except jinja2.TemplateError as err:
            raise EnvironmentConfigError(f"{path}: Jinja error: {err}") from err
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise EnvironmentConfigError(f"{path}: not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvironmentConfigError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data
