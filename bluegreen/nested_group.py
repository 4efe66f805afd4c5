"""Sceptre's own reading of a stack group, as the nested parent (nested.py) needs it: each stack's
config, its resolvers and hooks by their YAML tag, and the group's identity parameters. Nothing is
parsed here: ``SceptrePlan`` reads the group; this module checks and maps what it read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bluegreen import cfn, environments
from bluegreen.environments import unresolved_parameters

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = "config"
DEFAULT_ENV = "prod"
#: Sceptre keys a stack config may set; any other (protect, stack_name, sceptre_user_data, ...) would be
#: silently lost in the parent, so it stops the generator. Group-config keys are values, not settings.
STACK_CONFIG_KEYS = frozenset({
    "template", "parameters", "hooks", "dependencies", "stack_tags", "project_code", "region",
    "parameters_inheritance", "hooks_inheritance", "stack_tags_inheritance", "dependencies_inheritance",
    "project_path", "stack_group_path",
})
#: Hooks whose work the parent's stack config does with a hook of its own (docs/deployment.md):
#: package_lambda -> package_nested, record_green_weight, preflight and change_control -> the same hooks on the parent,
#: empty_bucket -> empty_nested_buckets, upload_trust_store -> package_nested (the CA bundle and CRL into the
#: packaging bucket, which the trust store's bucket parameter becomes, as the Lambda code bucket does).
#: empty_backup_vault has no counterpart yet: a nested dev teardown leaves a vault with recovery points to
#: CloudFormation, which refuses to delete it (docs/aws-constraints.md).
HANDLED_HOOKS = frozenset({"package_lambda", "record_green_weight", "empty_bucket", "preflight", "upload_trust_store",
                           "change_control", "empty_backup_vault"})
STACK_SUFFIX = "Stack"


class NestedError(ValueError):
    """A stack group the parent cannot reproduce; the message names the file and what to change."""


def camel(name: str) -> str:
    """``traffic_shifter`` -> ``TrafficShifter``."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def logical_id(stack: str) -> str:
    return camel(stack) + STACK_SUFFIX


def short_name(sceptre_name: str) -> str:
    """``dev/networking/network`` or ``dev/networking/network.yaml`` -> ``network``."""
    return sceptre_name.removesuffix(".yaml").rsplit("/", 1)[-1]


@cache
def _tags(group: str) -> dict[tuple[str, ...], str]:
    """(module, class) -> YAML tag, from the entry points Sceptre builds its YAML tags from."""
    return {tuple(ep.value.split(":", 1)): ep.name for ep in entry_points(group=group)}


def tag_of(obj: Any) -> str:
    """The YAML tag of a resolver or hook instance (``stack_output``), or its class name if none."""
    group = "sceptre.hooks" if _is_hook(obj) else "sceptre.resolvers"
    return _tags(group).get((type(obj).__module__, type(obj).__qualname__), type(obj).__name__)


def _is_hook(obj: Any) -> bool:
    from sceptre.hooks import Hook

    return isinstance(obj, Hook)


def _is_resolver(obj: Any) -> bool:
    from sceptre.resolvers import Resolver

    return isinstance(obj, Resolver)


def show(obj: Any) -> str:
    """``!stack_output 'dev/networking/network.yaml::VpcId'``: a resolver or hook as the config wrote it."""
    return f"!{tag_of(obj)} {obj._argument!r}"


# ------------------------------------------------------------------------------ reading the group
@dataclass
class StackConfig:
    """One of Sceptre's stacks, with what the parent needs of it."""

    name: str  # short name: network
    sceptre_name: str  # dev/networking/network
    path: Path  # its config file
    template: str  # the rendered child JSON, e.g. network.json
    parameters: dict[str, Any]  # unresolved, as Sceptre holds them
    dependencies: set[str]  # short names of stack.dependencies (explicit and every !stack_output)
    hooks: dict[str, list[Any]]  # Sceptre's hook instances per hook point, group hooks merged
    tags: dict[str, str]

    @property
    def logical_id(self) -> str:
        return logical_id(self.name)

    def hook_calls(self) -> list[tuple[str, Any]]:
        return [(point, hook) for point, hooks in self.hooks.items() for hook in hooks or []]


@dataclass
class Group:
    """A stack group as Sceptre read it."""

    env: str
    root: Path
    config: dict[str, Any]  # stack_group_config (the group's own keys)
    identity: dict[str, str]  # the identity parameters every stack is given
    stacks: dict[str, StackConfig]
    project_code: str | None = None
    region: str | None = None


def sceptre_stacks(env: str, root: Path = ROOT, variables: Mapping[str, Any] | None = None) -> list[Any]:
    """Sceptre's stacks of ``config/<env>/`` and those they depend on, raising NestedError on a bad config."""
    root = Path(root)
    if not (root / CONFIG_DIR / env / "config.yaml").is_file():
        raise NestedError(f"no stack group {env!r}: {root / CONFIG_DIR / env / 'config.yaml'} is missing "
                          f"(known: {', '.join(environments.known_environments(root))})")
    try:
        return environments.stacks(root, env, variables, dependencies=True)
    except environments.EnvironmentConfigError as err:
        raise NestedError(str(err).replace("Sceptre cannot read it", "Sceptre cannot read the group")) from err


def read_group(env: str = DEFAULT_ENV, root: Path = ROOT, variables: Mapping[str, Any] | None = None) -> Group:
    """The stacks of ``config/<env>/`` as Sceptre reads them, checked for what the parent can express."""
    root = Path(root)
    stacks: dict[str, StackConfig] = {}
    found = sceptre_stacks(env, root, variables)
    group_config: dict[str, Any] = {}
    project_code = region = None
    for stack in sorted(found, key=lambda s: s.name):
        path = root / CONFIG_DIR / f"{stack.name}.yaml"
        if not stack.name.startswith(env + "/"):
            raise NestedError(f"a stack of {env} depends on {stack.name}, outside the {env} group; a parent only "
                              "nests its own group")
        name = short_name(stack.name)
        if name in stacks:
            raise NestedError(f"{path}: {stacks[name].path} has the same name {name!r}; a parent's logical IDs "
                              "come from the stacks' short names, rename one")
        unknown = sorted(set(stack.config) - STACK_CONFIG_KEYS - set(stack.stack_group_config))
        if unknown:
            raise NestedError(
                f"{path}: the parent cannot reproduce the stack-config keys {unknown} "
                f"(it knows {', '.join(sorted({'template', 'parameters', 'hooks', 'dependencies', 'stack_tags'}))}); "
                "teach bluegreen/nested.py or drop them"
            )
        template = dict(stack.template_handler_config or {})
        if set(template) - {"path", "type"} or template.get("type", "file") != "file" \
                or not str(template.get("path", "")).endswith(".py"):
            raise NestedError(f"{path}: expected 'template: {{path: <stack>.py}}' (a handler of templates/), "
                              f"got {template!r}")
        stacks[name] = StackConfig(
            name=name,
            sceptre_name=stack.name,
            path=path,
            template=Path(template["path"]).with_suffix(".json").name,
            parameters=unresolved_parameters(stack),
            dependencies={short_name(d.name) for d in stack.dependencies},
            hooks={point: list(hooks or []) for point, hooks in (stack.hooks or {}).items()},
            tags={str(k): _as_string(v) for k, v in (stack.tags or {}).items()},
        )
        group_config = group_config or dict(stack.stack_group_config)
        project_code, region = stack.project_code, stack.region
    if not stacks:
        raise NestedError(f"{root / CONFIG_DIR / env}: no stack configs")
    group = Group(env=env, root=root, config=group_config, identity=_identity(stacks), stacks=stacks,
                  project_code=project_code, region=region)
    _check_hooks(group)
    return group


def _identity(stacks: dict[str, StackConfig]) -> dict[str, str]:
    """The identity parameters (``cfn.IDENTITY_PARAMETERS``) with the one value every stack is given."""
    identity: dict[str, str] = {}
    for key in cfn.IDENTITY_PARAMETERS:
        values = {s.name: s.parameters[key] for s in stacks.values() if key in s.parameters}
        distinct = set(values.values()) if all(isinstance(v, str) for v in values.values()) else None
        if distinct is None or len(distinct) > 1:
            raise NestedError(f"identity parameter {key} is not one string for every stack ({values}); the "
                              "parent passes its own parameter of that name to every child")
        if distinct:
            identity[key] = distinct.pop()
    return identity


def _check_hooks(group: Group) -> None:
    for stack in group.stacks.values():
        for point, hook in stack.hook_calls():
            if not _is_hook(hook) or tag_of(hook) not in HANDLED_HOOKS:
                raise NestedError(
                    f"{stack.path}: hook {show(hook) if _is_hook(hook) else repr(hook)} ({point}) has no nested-stack "
                    f"equivalent and the parent's stack config does not do its work (it does "
                    f"{', '.join(sorted(HANDLED_HOOKS))}); teach it before using the hook"
                )


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_as_string(v) for v in value)
    return "" if value is None else str(value)
