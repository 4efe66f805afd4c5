"""The nested parent stack, derived from the Sceptre stack configs so the two cannot drift.

    python -m bluegreen.nested --env dev      # print the parent template of config/dev
    templates/main.py                         # the same for prod, rendered to templates/main.json

Every stack config of ``config/<env>/`` becomes one ``AWS::CloudFormation::Stack`` of the parent.
Nothing about the stacks is written down here: the configs are read the way Sceptre reads them,
with two differences that keep the environment's values out of the structure:

* Jinja is rendered with ``environment`` = the env name, ``var`` empty (so ``{% if var.green_weight
  is defined %}`` takes the SSM branch, the one a plain ``sceptre launch`` takes) and every other
  scalar group-config key replaced by a marker ``CFG(<key>)``;
* the YAML is loaded with the resolver and hook tags kept as marker objects, not run.

Each stack parameter then maps to the parent:

====================================================  ===============================================
in the stack config                                   in the parent
====================================================  ===============================================
identity parameter (group ``parameters``, merged)      ``Ref`` of the parent parameter of that name
``!stack_output <env>/<stack>.yaml::<Key>``            ``Fn::GetAtt [<Stack>Stack, Outputs.<Key>]``
a value holding ``{{ <key> }}``                        parent parameter ``CamelCase(<key>)``, Default =
                                                       the env's value, Type and constraints copied
                                                       from the child parameter; one per key
``!traffic_weight {colour, green_weight}``             ``Fn::FindInMap [WeightSplit, GreenWeight, Blue]``
                                                       from the one parent parameter ``GreenWeight``
``!lambda_code_key lambda_src/<name>``                 parent parameter ``<Name>CodeKey`` (package command)
the ``bucket`` of a ``!package_lambda`` hook           parent parameter ``LambdaCodeBucket`` (package command)
a literal                                              the same literal, as a string
====================================================  ===============================================

The last-but-one row is the one exception to the ``!stack_output`` rule: under Sceptre the hook
uploads the zip into the artifacts bucket before the stack is created; in the parent the package
command uploads it, before the parent (and so the artifacts bucket) exists, into the packaging
bucket, as ``aws cloudformation package`` does. Every Sceptre dependency (``dependencies:`` and
every ``!stack_output``, in parameters or hooks) that no ``GetAtt`` path already orders becomes a
``DependsOn``, so the parent creates the stacks in Sceptre's order.

Hooks have no nested-stack equivalent; ``bluegreen.package`` does their work around the parent
(see docs/deployment.md), and a hook it does not know stops the generator. So does anything else
the parent cannot express: another resolver tag, a stack-config key other than ``template``,
``parameters``, ``hooks``, ``dependencies``, ``stack_tags``, a config key that steers the Jinja
instead of becoming a value, a parameter the child template does not declare, a required child
parameter nobody gives.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml
from troposphere import Export, FindInMap, GetAtt, Join, Output, Parameter, Ref, Sub, Tags
from troposphere.cloudformation import Stack

from bluegreen import cfn, lambda_zip

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = "config"
TEMPLATES_DIR = "templates"
GROUP_CONFIG = "config.yaml"
DEFAULT_ENV = "prod"

#: Stand-in for a group-config value while the Jinja renders: a plain scalar in any YAML position.
MARKER = "CFG({})"
_MARKER = re.compile(r"CFG\(([A-Za-z_][A-Za-z0-9_]*)\)")

#: Stack-config keys the parent reproduces; any other key would be silently lost, so it stops the generator.
STACK_CONFIG_KEYS = frozenset({"template", "parameters", "hooks", "dependencies", "stack_tags"})
#: Hooks whose work ``bluegreen.package`` does around the parent (docs/deployment.md).
HANDLED_HOOKS = frozenset({"package_lambda", "record_green_weight", "empty_bucket"})
#: Resolver tags a stack parameter may carry.
PARAMETER_TAGS = ("stack_output", "traffic_weight", "lambda_code_key")

WEIGHT_MAPPING = "WeightSplit"
GREEN_WEIGHT = "GreenWeight"
CODE_BUCKET = "LambdaCodeBucket"
CODE_KEY_SUFFIX = "CodeKey"
STACK_SUFFIX = "Stack"
#: CloudFormation's limit on the parameters of one template.
MAX_PARAMETERS = 200

#: Child outputs the parent exports: what people and the automation look up after a deployment.
#: The child that declares each one is found in the child templates, not named here.
PARENT_OUTPUTS = (
    # Both edges (one ALB per colour): what a client resolves to, and what the shifter drives.
    "BlueLoadBalancerDnsName",
    "GreenLoadBalancerDnsName",
    "BlueHttpsListenerArn",
    "GreenHttpsListenerArn",
    "BlueWriterEndpoint",
    "GreenWriterEndpoint",
    "BlueClusterIdentifier",
    "GreenClusterIdentifier",
    "ReplicationTaskArn",
    "TrafficShifterFunctionName",
    "TrafficShifterFunctionArn",
    "StateTableName",
    "HostedZoneId",
    "RecordName",
    "NotifyTopicArn",
    "GreenWeightParameterName",
    # The operator loads the RDS CA bundle into it once (docs/db-switchover.md).
    "DbCaBundleParameterName",
    "WriterHostname",
)

#: cfn-lint W3002 says a local TemplateURL needs packaging: that is the design (docs/deployment.md).
PACKAGED_URL_EXCEPTION = {"cfn-lint": {
    "config": {"ignore_checks": ["W3002"]},
    "Reasons": {"W3002": "TemplateURL is the rendered child file beside this template on purpose: python -m "
                         "bluegreen.package uploads it and writes its https S3 URL into dist/main.packaged.json, "
                         "as aws cloudformation package does; cfn-lint E3043 checks the local file's parameters."},
}}

#: Parameter properties copied from the child parameter a config key feeds.
_CONSTRAINTS = ("AllowedValues", "AllowedPattern", "ConstraintDescription", "MinValue", "MaxValue",
                "MinLength", "MaxLength", "NoEcho")


class NestedError(ValueError):
    """A stack config the parent cannot reproduce; the message names the file and what to change."""


# ------------------------------------------------------------------------------------ markers
@dataclass(frozen=True)
class StackOutput:
    """``!stack_output <env>/<stack>.yaml::<output>``."""

    stack: str
    output: str
    group: str | None = None

    def __str__(self) -> str:
        return f"!stack_output {self.group + '/' if self.group else ''}{self.stack}.yaml::{self.output}"


@dataclass(frozen=True)
class Tagged:
    """Any other resolver or hook tag, with its argument as loaded (markers inside)."""

    tag: str
    argument: Any

    def __str__(self) -> str:
        return f"!{self.tag} {self.argument!r}"


class _Loader(yaml.SafeLoader):
    """Safe YAML with Sceptre's tags kept as StackOutput / Tagged objects."""


def _stack_output(loader: _Loader, node: yaml.Node) -> StackOutput:
    text = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    path, sep, output = (text or "").strip().partition("::")
    if not sep or not output or not path.endswith(".yaml"):
        raise NestedError(f"!stack_output takes '<env>/<stack>.yaml::<Output>', got {text!r}")
    group, _, stack = path[: -len(".yaml")].rpartition("/")
    return StackOutput(stack=stack, output=output, group=group or None)


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    return Tagged(tag=suffix, argument=value)


_Loader.add_constructor("!stack_output", _stack_output)
_Loader.add_multi_constructor("!", _tagged)


def camel(name: str) -> str:
    """``db_instance_class`` -> ``DbInstanceClass``; ``traffic_shifter`` -> ``TrafficShifter``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def logical_id(stack: str) -> str:
    return camel(stack) + STACK_SUFFIX


def markers(text: str) -> list[str]:
    return _MARKER.findall(text)


# ------------------------------------------------------------------------------ reading configs
@dataclass
class StackConfig:
    """One stack config as loaded: markers where values were."""

    name: str
    path: Path
    template: str  # the rendered child JSON, e.g. network.json
    parameters: dict[str, Any]
    dependencies: list[str]
    hooks: dict[str, list[Any]]
    stack_tags: dict[str, Any]

    @property
    def logical_id(self) -> str:
        return logical_id(self.name)

    def stack_outputs(self) -> list[StackOutput]:
        """Every !stack_output of the config (parameters and hooks): Sceptre's implicit dependencies."""
        found: list[StackOutput] = []

        def walk(node: Any) -> None:
            if isinstance(node, StackOutput):
                found.append(node)
            elif isinstance(node, Tagged):
                walk(node.argument)
            elif isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.parameters)
        walk(self.hooks)
        return found

    def sceptre_dependencies(self) -> set[str]:
        """The stacks Sceptre launches before this one."""
        return set(self.dependencies) | {o.stack for o in self.stack_outputs()}

    def hook_calls(self) -> list[tuple[str, Tagged]]:
        return [(event, hook) for event, hooks in self.hooks.items() for hook in hooks or []]


@dataclass
class Group:
    """A stack group: its merged config and its stack configs."""

    env: str
    root: Path
    config: dict[str, Any]
    stacks: dict[str, StackConfig]

    @property
    def identity(self) -> dict[str, Any]:
        return dict(self.config.get("parameters") or {})

    def resolve(self, value: Any) -> Any:
        """A string with its markers replaced by this environment's config values."""
        if not isinstance(value, str):
            return value
        return _MARKER.sub(lambda m: _as_string(self.config[m.group(1)]), value)


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_as_string(v) for v in value)
    return "" if value is None else str(value)


def _render(path: Path, context: dict[str, Any], loader_dir: Path) -> tuple[str, set[str]]:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(loader_dir)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True)
    source = path.read_text()
    try:
        used = jinja2.meta.find_undeclared_variables(env.parse(source))
        return env.from_string(source).render(context), used
    except jinja2.TemplateError as err:
        raise NestedError(f"{path}: Jinja cannot render it for the parent: {err}") from err


def _load_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise NestedError(f"{path}: not valid YAML once rendered: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NestedError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    return data


def read_group(env: str = DEFAULT_ENV, root: Path = ROOT) -> Group:
    """``config/config.yaml`` and ``config/<env>/config.yaml`` merged, and every stack config of the env."""
    root = Path(root)
    config_dir = root / CONFIG_DIR
    group_dir = config_dir / env
    if not (group_dir / GROUP_CONFIG).is_file():
        known = sorted(p.parent.name for p in config_dir.glob(f"*/{GROUP_CONFIG}"))
        raise NestedError(f"no stack group {env!r}: {group_dir / GROUP_CONFIG} is missing (known: {', '.join(known)})")
    config: dict[str, Any] = {}
    for path in (config_dir / GROUP_CONFIG, group_dir / GROUP_CONFIG):
        if not path.is_file():
            continue
        text, _ = _render(path, {**config, "var": {}, "environment": env}, path.parent)
        values = _load_yaml(path, text)
        # parameters_inheritance: merge, as Sceptre merges them down the folders.
        parameters = {**(config.get("parameters") or {}), **(values.get("parameters") or {})}
        config.update(values)
        if parameters:
            config["parameters"] = parameters
    if config.get("environment", env) != env:
        raise NestedError(f"{group_dir / GROUP_CONFIG}: environment is {config['environment']!r} but the folder is {env!r}")
    config["environment"] = env
    scalars = {k: MARKER.format(k) for k, v in config.items()
               if k != "environment" and (v is None or isinstance(v, (str, int, float, bool)))}
    context = {**scalars, "environment": env, "var": {}, "command_path": [env], "stack_group_config": scalars}
    stacks = {}
    for path in sorted(group_dir.glob("*.yaml")):
        if path.name == GROUP_CONFIG:
            continue
        stacks[path.stem] = _read_stack(path, env, context, scalars)
    if not stacks:
        raise NestedError(f"{group_dir}: no stack configs")
    group = Group(env=env, root=root, config=config, stacks=stacks)
    _check_references(group)
    return group


def _read_stack(path: Path, env: str, context: dict[str, Any], scalars: dict[str, str]) -> StackConfig:
    text, used = _render(path, context, path.parent)
    # A key the Jinja only tests or transforms leaves no marker: the parent could not follow it.
    hidden = sorted(k for k in used if k in scalars and scalars[k] not in text)
    if hidden:
        raise NestedError(
            f"{path}: group-config keys {hidden} steer the Jinja instead of becoming a value; the parent "
            "can only pass a config value through to a parameter"
        )
    data = _load_yaml(path, text)
    unknown = sorted(set(data) - STACK_CONFIG_KEYS)
    if unknown:
        raise NestedError(
            f"{path}: the parent cannot reproduce the stack-config keys {unknown} "
            f"(it knows {', '.join(sorted(STACK_CONFIG_KEYS))}); teach bluegreen/nested.py or drop them"
        )
    template = data.get("template")
    if not isinstance(template, dict) or set(template) != {"path"} or not isinstance(template.get("path"), str):
        raise NestedError(f"{path}: expected 'template: {{path: <stack>.py}}' (a handler of templates/), got {template!r}")
    dependencies = []
    for dep in data.get("dependencies") or []:
        group, _, stack = str(dep).removesuffix(".yaml").rpartition("/")
        if group and group != env:
            raise NestedError(f"{path}: dependency {dep!r} is outside the {env} group; a parent only nests its own group")
        dependencies.append(stack)
    hooks = data.get("hooks") or {}
    if not isinstance(hooks, dict):
        raise NestedError(f"{path}: hooks must be a mapping of event to a list of hooks, got {hooks!r}")
    return StackConfig(
        name=path.stem,
        path=path,
        template=Path(template["path"]).with_suffix(".json").name,
        parameters=dict(data.get("parameters") or {}),
        dependencies=dependencies,
        hooks={event: list(calls or []) for event, calls in hooks.items()},
        stack_tags=dict(data.get("stack_tags") or {}),
    )


def _check_references(group: Group) -> None:
    for stack in group.stacks.values():
        for ref in stack.stack_outputs():
            if ref.group and ref.group != group.env:
                raise NestedError(f"{stack.path}: {ref} is outside the {group.env} group; a parent only nests its own group")
            if ref.stack not in group.stacks:
                raise NestedError(f"{stack.path}: {ref} names no stack config of {group.env}")
        for dep in stack.dependencies:
            if dep not in group.stacks:
                raise NestedError(f"{stack.path}: dependency {dep!r} names no stack config of {group.env}")
        for event, hook in stack.hook_calls():
            if not isinstance(hook, Tagged) or hook.tag not in HANDLED_HOOKS:
                raise NestedError(
                    f"{stack.path}: hook {hook} ({event}) has no nested-stack equivalent and bluegreen.package does "
                    f"not do its work (it does {', '.join(sorted(HANDLED_HOOKS))}); teach it before using the hook"
                )


# ----------------------------------------------------------------------------- the parent
@dataclass
class _ConfigParameter:
    key: str
    name: str
    default: str
    users: list[tuple[str, str]] = field(default_factory=list)  # (stack, child parameter)
    child: dict[str, Any] | None = None  # the first child parameter fed by exactly this marker
    descriptions: list[str] = field(default_factory=list)  # of every child parameter fed by exactly it


@dataclass(frozen=True)
class Parent:
    """The generated parent and what the package command needs to fill and follow it."""

    env: str
    template: Any  # troposphere.Template
    #: logical ID -> child template file (the TemplateURL before packaging), e.g. NetworkStack -> network.json
    children: dict[str, str]
    #: parent parameter -> Lambda name, e.g. TrafficShifterCodeKey -> traffic_shifter
    lambda_code: dict[str, str]
    #: parent parameter holding the bucket of the Lambda zips, or None when no stack packages one
    code_bucket_parameter: str | None
    #: SSM parameters the Sceptre configs read green_weight from (the !ssm of !traffic_weight)
    green_weight_sources: tuple[str, ...]
    #: SSM parameters the !record_green_weight hooks write the applied weight to
    green_weight_records: tuple[str, ...]
    #: (logical ID, output keys naming buckets) of the !empty_bucket hooks, in Sceptre's launch order
    buckets_to_empty: tuple[tuple[str, tuple[str, ...]], ...]
    #: the identity tags (stack_tags) with this environment's values
    tags: dict[str, str]
    #: Sceptre's launch order of the stacks
    order: tuple[str, ...]
    project_code: str | None = None
    region: str | None = None


def launch_order(stacks: dict[str, set[str]]) -> list[str]:
    """A topological order (dependencies first, ties by name); raises on a cycle."""
    order: list[str] = []
    done: set[str] = set()
    pending = dict(stacks)
    while pending:
        ready = sorted(s for s, deps in pending.items() if deps <= done)
        if not ready:
            raise NestedError(f"dependency cycle among {sorted(pending)}")
        for stack in ready:
            order.append(stack)
            done.add(stack)
            del pending[stack]
    return order


def _reachable(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


class _Builder:
    def __init__(self, group: Group, templates_dir: Path):
        self.group = group
        self.templates_dir = templates_dir
        self.children: dict[str, dict] = {}
        self.config_parameters: dict[str, _ConfigParameter] = {}
        self.lambda_code: dict[str, tuple[str, dict]] = {}
        self.code_buckets = [hook.argument.get("bucket") for s in group.stacks.values()
                             for _, hook in s.hook_calls()
                             if hook.tag == "package_lambda" and isinstance(hook.argument, dict)]
        self.code_bucket_child: dict | None = None
        self.green_weight_sources: set[str] = set()
        self.weights_used = False
        self.edges: dict[str, set[str]] = {name: set() for name in group.stacks}

    # -- children --------------------------------------------------------------------------
    def child(self, stack: StackConfig) -> dict:
        if stack.name not in self.children:
            path = self.templates_dir / stack.template
            if not path.is_file():
                raise NestedError(
                    f"{stack.path}: {path} does not exist; render it with python -m bluegreen.render {path.stem}"
                )
            self.children[stack.name] = json.loads(path.read_text())
        return self.children[stack.name]

    def child_named(self, name: str) -> dict:
        return self.child(self.group.stacks[name])

    # -- one parameter ---------------------------------------------------------------------
    def value(self, stack: StackConfig, key: str, raw: Any) -> Any:
        where = f"{stack.path}: parameter {key}"
        identity = self.group.identity
        if key in identity and raw == identity[key]:
            return Ref(key)
        if isinstance(raw, StackOutput):
            if raw in self.code_buckets:
                self.code_bucket_child = self.child(stack)["Parameters"][key]
                return Ref(CODE_BUCKET)
            outputs = self.child_named(raw.stack).get("Outputs", {})
            if raw.output not in outputs:
                raise NestedError(f"{where}: {raw}: {raw.stack} declares no output {raw.output!r} "
                                  f"(it has {sorted(outputs)})")
            self.edges[stack.name].add(raw.stack)
            return GetAtt(logical_id(raw.stack), f"Outputs.{raw.output}")
        if isinstance(raw, Tagged):
            if raw.tag == "traffic_weight":
                return self.weight(where, raw)
            if raw.tag == "lambda_code_key":
                try:
                    name = lambda_zip.parse_source(raw.argument)
                except lambda_zip.LambdaSourceError as err:
                    raise NestedError(f"{where}: {err}") from err
                self.lambda_code.setdefault(camel(name) + CODE_KEY_SUFFIX, (name, self.child(stack)["Parameters"][key]))
                return Ref(camel(name) + CODE_KEY_SUFFIX)
            raise NestedError(f"{where}: {raw} has no nested-stack equivalent (a parameter may be a literal, "
                              f"a {{{{ config key }}}} or one of {', '.join('!' + t for t in PARAMETER_TAGS)})")
        if isinstance(raw, list):
            items = [self.value(stack, key, item) for item in raw]
            if all(isinstance(i, str) for i in items):
                return ",".join(items)
            return Join(",", items)
        if isinstance(raw, dict):
            raise NestedError(f"{where}: a mapping is not a parameter value: {raw!r}")
        text = _as_string(raw)
        keys = markers(text)
        if not keys:
            return text
        for config_key in keys:
            self.config_parameter(stack, key, config_key, exact=(text == MARKER.format(config_key)))
        if len(keys) == 1 and text == MARKER.format(keys[0]):
            name = self.config_parameters[keys[0]].name
            child_type = self.child(stack)["Parameters"][key]["Type"]
            return Join(",", Ref(name)) if _is_list(child_type) else Ref(name)
        return Sub(_MARKER.sub(lambda m: "${" + self.config_parameters[m.group(1)].name + "}",
                               text.replace("${", "${!")))

    def config_parameter(self, stack: StackConfig, key: str, config_key: str, exact: bool) -> None:
        param = self.config_parameters.get(config_key)
        if param is None:
            param = self.config_parameters[config_key] = _ConfigParameter(
                key=config_key, name=camel(config_key), default=_as_string(self.group.config[config_key]))
        param.users.append((stack.name, key))
        child = self.child(stack)["Parameters"][key]
        if exact:
            if child.get("Description") and child["Description"] not in param.descriptions:
                param.descriptions.append(child["Description"])
            if param.child is None:
                param.child = child
            elif param.child["Type"] != child["Type"]:
                raise NestedError(
                    f"{stack.path}: parameter {key} is a {child['Type']} but config key {config_key!r} also feeds a "
                    f"{param.child['Type']} ({param.users[0][0]}.{param.users[0][1]}); one parent parameter cannot be both"
                )

    def weight(self, where: str, raw: Tagged) -> Any:
        argument = raw.argument
        if not isinstance(argument, dict) or set(argument) != {"colour", "green_weight"} \
                or argument["colour"] not in ("blue", "green"):
            raise NestedError(f"{where}: !traffic_weight takes {{colour: blue|green, green_weight: ...}}, got {argument!r}")
        source = argument["green_weight"]
        if isinstance(source, Tagged) and source.tag == "ssm":
            self.green_weight_sources.add(self.group.resolve(source.argument))
        self.weights_used = True
        return FindInMap(WEIGHT_MAPPING, Ref(GREEN_WEIGHT), argument["colour"].capitalize())

    # -- the template ----------------------------------------------------------------------
    def build(self) -> Parent:
        group = self.group
        sceptre_deps = {name: s.sceptre_dependencies() for name, s in group.stacks.items()}
        order = launch_order(sceptre_deps)
        t = cfn.new_template(
            f"Nested parent of the {group.env} stack group: one AWS::CloudFormation::Stack per config/{group.env}/"
            "<stack>.yaml, generated by bluegreen.nested (do not edit; change the Sceptre configs and re-render). "
            "Deploy with python -m bluegreen.package, which fills the code parameters and GreenWeight."
        )
        for name, value in group.identity.items():
            if name not in t.parameters:
                raise NestedError(f"config/{group.env}/{GROUP_CONFIG}: identity parameter {name!r} is not one of {sorted(t.parameters)}")
            t.parameters[name].properties["Default"] = _as_string(value)

        stacks: dict[str, Stack] = {}
        for name in order:
            stack = group.stacks[name]
            child = self.child(stack)
            declared = child.get("Parameters", {})
            merged = {**group.identity, **stack.parameters}  # parameters_inheritance: merge
            unknown = sorted(set(merged) - set(declared))
            if unknown:
                raise NestedError(f"{stack.path}: {stack.template} declares no parameters {unknown}")
            missing = sorted(k for k, p in declared.items() if "Default" not in p and k not in merged)
            if missing:
                raise NestedError(f"{stack.path}: {stack.template} needs parameters {missing} that nobody gives")
            parameters = {key: self.value(stack, key, raw) for key, raw in sorted(merged.items())}
            tags = {key: (Ref(key) if key in group.identity and value == group.identity[key] else _as_string(value))
                    for key, value in {**(group.config.get("stack_tags") or {}), **stack.stack_tags}.items()}
            props: dict[str, Any] = {"TemplateURL": stack.template, "Parameters": parameters}
            if tags:
                props["Tags"] = Tags(**tags)
            stacks[name] = cfn.deletable(Stack(stack.logical_id, Metadata=PACKAGED_URL_EXCEPTION, **props))

        # Sceptre's order: each dependency no GetAtt path already orders becomes a DependsOn.
        graph = {name: set(edges) for name, edges in self.edges.items()}
        for name in order:
            extra = sorted(d for d in sceptre_deps[name] if not _reachable(graph, name, d))
            if extra:
                stacks[name].DependsOn = [logical_id(d) for d in extra]
                graph[name] |= set(extra)
        for name in order:
            t.add_resource(stacks[name])

        self.add_parameters(t)
        if self.weights_used:
            t.add_mapping(WEIGHT_MAPPING, {str(g): {"Blue": str(100 - g), "Green": str(g)} for g in range(101)})
        self.add_outputs(t)
        self.add_interface(t)
        if len(t.parameters) > MAX_PARAMETERS:
            raise NestedError(f"the parent would have {len(t.parameters)} parameters; CloudFormation takes {MAX_PARAMETERS}")

        records = sorted({group.resolve(h.argument.get("parameter_name")) for s in group.stacks.values()
                          for _, h in s.hook_calls() if h.tag == "record_green_weight" and isinstance(h.argument, dict)})
        empties = []
        for name in order:
            outputs: list[str] = []
            for _, hook in group.stacks[name].hook_calls():
                if hook.tag == "empty_bucket":
                    if not (isinstance(hook.argument, dict) and set(hook.argument) == {"outputs"}):
                        raise NestedError(f"{group.stacks[name].path}: bluegreen.package empties buckets named by "
                                          f"!empty_bucket {{outputs: [...]}} only, got {hook}")
                    outputs += [o for o in hook.argument["outputs"] if o not in outputs]
            if outputs:
                empties.append((logical_id(name), tuple(outputs)))
        return Parent(
            env=group.env,
            template=t,
            children={logical_id(n): group.stacks[n].template for n in order},
            lambda_code={param: name for param, (name, _) in sorted(self.lambda_code.items())},
            code_bucket_parameter=CODE_BUCKET if self.code_bucket_child is not None else None,
            green_weight_sources=tuple(sorted(self.green_weight_sources)),
            green_weight_records=tuple(records),
            buckets_to_empty=tuple(empties),
            tags={k: _as_string(v) for k, v in (group.config.get("stack_tags") or {}).items()},
            order=tuple(order),
            project_code=group.config.get("project_code"),
            region=group.config.get("region"),
        )

    def add_parameters(self, t) -> None:
        taken = set(t.parameters)
        for config_key, param in sorted(self.config_parameters.items()):
            if param.name in taken or param.name in (GREEN_WEIGHT, CODE_BUCKET) or param.name.endswith(CODE_KEY_SUFFIX):
                raise NestedError(f"config key {config_key!r} would become parent parameter {param.name}, "
                                  "which is taken; rename the key")
            users = ", ".join(f"{s}.{p}" for s, p in param.users)
            props: dict[str, Any] = {"Type": "String", "Default": param.default}
            description = f"Config key {config_key} of config/{self.group.env}/config.yaml, passed to {users}."
            if param.child is not None:
                props["Type"] = param.child["Type"]
                props.update({k: param.child[k] for k in _CONSTRAINTS if k in param.child})
            if len(param.descriptions) == 1:
                # One meaning; a key feeding parameters that describe themselves differently (BlueDesiredCount,
                # GreenDesiredCount) keeps the neutral text rather than one child's.
                description = f"{param.descriptions[0].rstrip('.')}. {description}"
            t.add_parameter(Parameter(param.name, Description=description[:4000], **props))
        for name, (lambda_name, child) in sorted(self.lambda_code.items()):
            t.add_parameter(Parameter(
                name, Type="String", MinLength=1,
                AllowedPattern=r"^lambda/[a-z][a-z0-9_]*/[0-9a-f]{64}\.zip$",
                ConstraintDescription="lambda/<name>/<sha256>.zip, the key the package command uploaded.",
                Description=(f"{child.get('Description', '').rstrip('.')}. S3 key of the lambda_src/{lambda_name} zip, "
                             "filled by python -m bluegreen.package (lambda/<name>/<sha256>.zip).").lstrip(". "),
            ))
        if self.code_bucket_child is not None:
            t.add_parameter(Parameter(
                CODE_BUCKET, Type="String",
                AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                ConstraintDescription="An S3 bucket name.",
                Description=("Bucket holding the Lambda zips: the packaging bucket given to python -m bluegreen.package "
                             "(under Sceptre the !package_lambda hook uses the artifacts bucket instead)."),
            ))
        if self.weights_used:
            t.add_parameter(Parameter(
                GREEN_WEIGHT, Type="String",
                AllowedPattern="^(100|[1-9]?[0-9])$",
                ConstraintDescription="A whole number from 0 to 100, without sign or leading zero.",
                Description=("Percent of traffic for green (0-100); blue gets the rest. Both the ALB listener and the "
                             "Route 53 weights derive from it through the WeightSplit mapping. The package command "
                             "passes the value in SSM so a deployment never undoes a shift; no default on purpose."),
            ))

    def add_outputs(self, t) -> None:
        declared = {name: (self.child_named(name).get("Outputs") or {}) for name in self.group.stacks}
        for key in PARENT_OUTPUTS:
            owners = sorted(name for name, outputs in declared.items() if key in outputs)
            if len(owners) != 1:
                raise NestedError(f"parent output {key}: expected exactly one child declaring it, found {owners}")
            child_output = declared[owners[0]][key]
            t.add_output(Output(
                key,
                Description=f"{child_output.get('Description', key).rstrip('.')} (from the {owners[0]} stack).",
                Value=GetAtt(logical_id(owners[0]), f"Outputs.{key}"),
                Export=Export(Sub("${AWS::StackName}-" + key)),
            ))

    def add_interface(self, t) -> None:
        groups = [
            ("Identity (parameters of config/%s/config.yaml)" % self.group.env, list(self.group.identity)),
            ("Traffic split", [GREEN_WEIGHT] if self.weights_used else []),
            ("Filled by python -m bluegreen.package",
             sorted(self.lambda_code) + ([CODE_BUCKET] if self.code_bucket_child is not None else [])),
            ("Environment settings (keys of config/%s/config.yaml)" % self.group.env,
             [p.name for _, p in sorted(self.config_parameters.items())]),
        ]
        t.set_metadata({"AWS::CloudFormation::Interface": {
            "ParameterGroups": [{"Label": {"default": label}, "Parameters": names} for label, names in groups if names],
        }})


def _is_list(parameter_type: str) -> bool:
    return parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")


def generate(env: str = DEFAULT_ENV, root: Path = ROOT) -> Parent:
    """The parent of ``config/<env>/`` (its child templates read from ``<root>/templates/``)."""
    group = read_group(env, root)
    return _Builder(group, Path(root) / TEMPLATES_DIR).build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the nested parent template of a stack group.")
    parser.add_argument("--env", default=DEFAULT_ENV, help=f"stack group under config/ (default {DEFAULT_ENV})")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(cfn.to_json(generate(args.env).template))
    except NestedError as err:
        print(f"bluegreen.nested: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
