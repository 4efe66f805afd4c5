"""The nested parent stack, derived from Sceptre's own reading of a stack group so the two cannot drift.

    python -m bluegreen.nested --env dev      # print the parent template of config/dev
    templates/main.py                         # the same for prod, rendered to templates/main.json;
                                              # with sceptre_user_data, the packaged parent Sceptre deploys

Every stack of the group becomes one ``AWS::CloudFormation::Stack`` of the parent. Nothing about the
stacks is written down here and no config file is parsed here: ``SceptrePlan`` reads the group (Jinja,
YAML, inheritance, resolvers and hooks, dependencies) and this module maps Sceptre's ``Stack`` objects:

====================================================  ===============================================
Sceptre's stack                                       in the parent
====================================================  ===============================================
identity parameter (``cfn.IDENTITY_PARAMETERS``)       ``Ref`` of the parent parameter of that name
``StackOutput`` resolver ``<env>/.../<stack>.yaml::K``  ``Fn::GetAtt [<Stack>Stack, Outputs.K]``
``TrafficWeight`` resolver ``{colour, green_weight}``  ``Fn::FindInMap [WeightSplit, GreenWeight, Blue]``
                                                       from the one parent parameter ``GreenWeight``
``LambdaCodeKey`` resolver ``lambda_src/<name>``       parent parameter ``<Name>CodeKey``
the ``bucket`` of a ``PackageLambda`` hook             parent parameter ``LambdaCodeBucket``
a string (what Sceptre rendered from the group config) the same string
====================================================  ===============================================

Environment values reach the parent as the strings Sceptre renders for each stack, not as parent
parameters: a rendered value cannot be mapped back to its config key honestly (in prod five keys hold
"true"), and the parent is deployed by Sceptre too (config/nested-<env>/), so a release's override is
``--var`` exactly as for the stacks themselves. What changes between deployments without a config
change stays a parameter: ``GreenWeight``, the Lambda code keys and their bucket.

The last-but-one row: under Sceptre the hook uploads the zip into the artifacts bucket before the
stack is created; the parent's ``!package_nested`` hook uploads it, before the parent (and so the
artifacts bucket) exists, into the packaging bucket. Every Sceptre dependency (``stack.dependencies``:
``dependencies:`` and every ``!stack_output``) that no ``GetAtt`` path already orders becomes a
``DependsOn``, so the parent creates the stacks in Sceptre's order.

Hooks have no nested-stack equivalent; the parent's own stack config runs a hook for each kind
(``HANDLED_HOOKS``, docs/deployment.md), and a hook it does not know stops the generator. So does
anything else the parent cannot express: another resolver, a stack-config key other than those in
``STACK_CONFIG_KEYS``, a parameter the child template does not declare, a required child parameter
nobody gives.
"""

from __future__ import annotations

import argparse
import graphlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troposphere import Export, FindInMap, GetAtt, Join, Output, Parameter, Ref, Sub, Tags
from troposphere.cloudformation import Stack as NestedStack

from bluegreen import cfn, lambda_zip
from bluegreen.nested_group import (  # noqa: F401 - the names nested.X callers and tests use
    CONFIG_DIR,
    DEFAULT_ENV,
    HANDLED_HOOKS,
    ROOT,
    Group,
    NestedError,
    StackConfig,
    _as_string,
    _is_resolver,
    camel,
    logical_id,
    read_group,
    short_name,
    show,
    tag_of,
)

TEMPLATES_DIR = "templates"
#: Resolvers a stack parameter may be.
PARAMETER_TAGS = ("stack_output", "traffic_weight", "lambda_code_key")
WEIGHT_MAPPING = "WeightSplit"
GREEN_WEIGHT = "GreenWeight"
CODE_BUCKET = "LambdaCodeBucket"
CODE_KEY_SUFFIX = "CodeKey"
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
    # Short: the parent repeats it on every child, and the parent's own body is under 51,200 bytes.
    "Reasons": {"W3002": "Local child file on purpose: the parent's !package_nested hook uploads it and deploys "
                         "the https S3 URL (docs/deployment.md); cfn-lint E3043 checks its parameters."},
}}


# ----------------------------------------------------------------------------- the parent
@dataclass(frozen=True)
class Parent:
    """The generated parent and what its Sceptre stack config's hooks need to fill and follow it."""

    env: str
    template: Any  # troposphere.Template
    #: logical ID -> child template file (the TemplateURL before packaging), e.g. NetworkStack -> network.json
    children: dict[str, str]
    #: parent parameter -> Lambda name, e.g. TrafficShifterCodeKey -> traffic_shifter
    lambda_code: dict[str, str]
    #: parent parameter holding the bucket of the Lambda zips, or None when no stack packages one
    code_bucket_parameter: str | None
    #: SSM parameters the stacks read green_weight from (the !ssm of !traffic_weight)
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
    #: (kind, S3 key, file or "" when someone else uploads it) of the trust store's CA bundle and revocation list
    trust_store_objects: tuple[tuple[str, str, str], ...] = ()


def launch_order(stacks: dict[str, set[str]]) -> list[str]:
    """A topological order (dependencies first, ties by name); raises on a cycle."""
    sorter = graphlib.TopologicalSorter(stacks)
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        raise NestedError(f"dependency cycle among {sorted(set(err.args[1]))}") from err
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
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
        self.lambda_code: dict[str, tuple[str, dict]] = {}
        self.code_buckets = {hook._argument["bucket"]._argument for s in group.stacks.values()
                             for _, hook in s.hook_calls()
                             if tag_of(hook) in ("package_lambda", "upload_trust_store") and isinstance(hook._argument, dict)
                             and _is_resolver(hook._argument.get("bucket"))}
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
        if key in self.group.identity and raw == self.group.identity[key]:
            return Ref(key)
        if _is_resolver(raw):
            tag = tag_of(raw)
            if tag == "stack_output":
                return self.stack_output(stack, key, where, raw)
            if tag == "traffic_weight":
                return self.weight(where, raw)
            if tag == "lambda_code_key":
                try:
                    name = lambda_zip.parse_source(raw.argument)
                except lambda_zip.LambdaSourceError as err:
                    raise NestedError(f"{where}: {err}") from err
                self.lambda_code.setdefault(camel(name) + CODE_KEY_SUFFIX, (name, self.child(stack)["Parameters"][key]))
                return Ref(camel(name) + CODE_KEY_SUFFIX)
            raise NestedError(f"{where}: {show(raw)} has no nested-stack equivalent (a parameter may be a string, "
                              f"a list or one of {', '.join('!' + t for t in PARAMETER_TAGS)})")
        if isinstance(raw, list):
            items = [self.value(stack, key, item) for item in raw]
            if all(isinstance(i, str) for i in items):
                return ",".join(items)
            return Join(",", items)
        if isinstance(raw, dict):
            raise NestedError(f"{where}: a mapping is not a parameter value: {raw!r}")
        return _as_string(raw)

    def stack_output(self, stack: StackConfig, key: str, where: str, raw: Any) -> Any:
        argument = raw.argument
        path, _, output = argument.partition("::")
        if raw._argument in self.code_buckets:
            self.code_bucket_child = self.child(stack)["Parameters"][key]
            return Ref(CODE_BUCKET)
        source = short_name(path)
        if source not in self.group.stacks:
            raise NestedError(f"{where}: {show(raw)} names no stack config of {self.group.env}")
        outputs = self.child_named(source).get("Outputs", {})
        if output not in outputs:
            raise NestedError(f"{where}: {show(raw)}: {source} declares no output {output!r} "
                              f"(it has {sorted(outputs)})")
        self.edges[stack.name].add(source)
        return GetAtt(logical_id(source), f"Outputs.{output}")

    def weight(self, where: str, raw: Any) -> Any:
        argument = raw._argument  # .argument would resolve the nested !ssm against AWS
        if not isinstance(argument, dict) or set(argument) != {"colour", "green_weight"} \
                or argument["colour"] not in ("blue", "green"):
            raise NestedError(f"{where}: !traffic_weight takes {{colour: blue|green, green_weight: ...}}, got {argument!r}")
        source = argument["green_weight"]
        if _is_resolver(source) and tag_of(source) == "ssm":
            self.green_weight_sources.add(str(source._argument))
        self.weights_used = True
        return FindInMap(WEIGHT_MAPPING, Ref(GREEN_WEIGHT), argument["colour"].capitalize())

    # -- the template ----------------------------------------------------------------------
    def build(self) -> Parent:
        group = self.group
        order = launch_order({name: s.dependencies for name, s in group.stacks.items()})
        t = cfn.new_template(
            f"Nested parent of the {group.env} stack group: one AWS::CloudFormation::Stack per stack of config/"
            f"{group.env}/, generated by bluegreen.nested from Sceptre's reading of it (do not edit; change the "
            f"Sceptre configs and re-render). Deployed by Sceptre: config/nested-{group.env}/."
        )
        for name, value in group.identity.items():
            t.parameters[name].properties["Default"] = value

        stacks: dict[str, NestedStack] = {}
        for name in order:
            stack = group.stacks[name]
            declared = self.child(stack).get("Parameters", {})
            unknown = sorted(set(stack.parameters) - set(declared))
            if unknown:
                raise NestedError(f"{stack.path}: {stack.template} declares no parameters {unknown}")
            missing = sorted(k for k, p in declared.items() if "Default" not in p and k not in stack.parameters)
            if missing:
                raise NestedError(f"{stack.path}: {stack.template} needs parameters {missing} that nobody gives")
            parameters = {key: self.value(stack, key, raw) for key, raw in sorted(stack.parameters.items())}
            tags = {key: (Ref(key) if group.identity.get(key) == value else value) for key, value in stack.tags.items()}
            props: dict[str, Any] = {"TemplateURL": stack.template, "Parameters": parameters}
            if tags:
                props["Tags"] = Tags(**tags)
            stacks[name] = cfn.deletable(NestedStack(stack.logical_id, Metadata=PACKAGED_URL_EXCEPTION, **props))

        # Sceptre's order: each dependency no GetAtt path already orders becomes a DependsOn.
        graph = {name: set(edges) for name, edges in self.edges.items()}
        for name in order:
            extra = sorted(d for d in group.stacks[name].dependencies if not _reachable(graph, name, d))
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

        records = sorted({str(h._argument.get("parameter_name")) for s in group.stacks.values()
                          for _, h in s.hook_calls() if tag_of(h) == "record_green_weight" and isinstance(h._argument, dict)})
        empties = []
        for name in order:
            outputs: list[str] = []
            for _, hook in group.stacks[name].hook_calls():
                if tag_of(hook) == "empty_bucket":
                    if not (isinstance(hook._argument, dict) and set(hook._argument) == {"outputs"}):
                        raise NestedError(f"{group.stacks[name].path}: the parent empties buckets named by "
                                          f"!empty_bucket {{outputs: [...]}} only, got {show(hook)}")
                    outputs += [o for o in hook._argument["outputs"] if o not in outputs]
            if outputs:
                empties.append((logical_id(name), tuple(outputs)))
        trust_objects = []
        for name in order:
            for _, hook in group.stacks[name].hook_calls():
                if tag_of(hook) == "upload_trust_store" and isinstance(hook._argument, dict):
                    arg = hook._argument
                    for kind, key, file in (("CA bundle", arg.get("ca_bundle_key"), arg.get("ca_bundle_file")),
                                            ("revocation list", arg.get("crl_key"), arg.get("crl_file"))):
                        if key and (kind, str(key), str(file or "")) not in trust_objects:  # create and update: one hook
                            trust_objects.append((kind, str(key), str(file or "")))
        tags = next(iter(group.stacks.values())).tags
        return Parent(
            trust_store_objects=tuple(trust_objects),
            env=group.env,
            template=t,
            children={logical_id(n): group.stacks[n].template for n in order},
            lambda_code={param: name for param, (name, _) in sorted(self.lambda_code.items())},
            code_bucket_parameter=CODE_BUCKET if self.code_bucket_child is not None else None,
            green_weight_sources=tuple(sorted(self.green_weight_sources)),
            green_weight_records=tuple(records),
            buckets_to_empty=tuple(empties),
            tags=dict(tags),
            order=tuple(order),
            project_code=group.project_code,
            region=group.region,
        )

    def add_parameters(self, t) -> None:
        for name, (lambda_name, child) in sorted(self.lambda_code.items()):
            t.add_parameter(Parameter(
                name, Type="String", MinLength=1,
                AllowedPattern=r"^lambda/[a-z][a-z0-9_]*/[0-9a-f]{64}\.zip$",
                ConstraintDescription="lambda/<name>/<sha256>.zip, the key the !package_nested hook uploaded.",
                Description=(f"{child.get('Description', '').rstrip('.')}. S3 key of the lambda_src/{lambda_name} zip "
                             "(lambda/<name>/<sha256>.zip): !lambda_code_key in the parent's stack config.").lstrip(". "),
            ))
        if self.code_bucket_child is not None:
            t.add_parameter(Parameter(
                CODE_BUCKET, Type="String",
                AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                ConstraintDescription="An S3 bucket name.",
                Description=("Bucket holding the Lambda zips: the packaging bucket the parent's !package_nested hook "
                             "uploads to (under Sceptre the !package_lambda hook uses the artifacts bucket instead)."),
            ))
        if self.weights_used:
            t.add_parameter(Parameter(
                GREEN_WEIGHT, Type="String",
                AllowedPattern="^(100|[1-9]?[0-9])$",
                ConstraintDescription="A whole number from 0 to 100, without sign or leading zero.",
                Description=("Percent of traffic for green (0-100); blue gets the rest. Both the ALB listener and the "
                             "Route 53 weights derive from it through the WeightSplit mapping. The parent's stack config "
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
            ("Lambda code (given by the parent's stack config, config/nested-%s/)" % self.group.env,
             sorted(self.lambda_code) + ([CODE_BUCKET] if self.code_bucket_child is not None else [])),
        ]
        t.set_metadata({"AWS::CloudFormation::Interface": {
            "ParameterGroups": [{"Label": {"default": label}, "Parameters": names} for label, names in groups if names],
        }})


def generate(env: str = DEFAULT_ENV, root: Path = ROOT, variables: Mapping[str, Any] | None = None) -> Parent:
    """The parent of ``config/<env>/`` (its child templates read from ``<root>/templates/``).

    ``variables`` are Sceptre's ``--var`` values, e.g. ``{"green_image_tag": "1.4.2"}``: the stacks are
    read with them, as ``sceptre --var ... launch <env>`` would.
    """
    group = read_group(env, root, variables)
    return _Builder(group, Path(root) / TEMPLATES_DIR).build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the nested parent template of a stack group.")
    parser.add_argument("--env", default=DEFAULT_ENV, help=f"stack group under config/ (default {DEFAULT_ENV})")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(cfn.pretty(cfn.to_json(generate(args.env).template)))
    except NestedError as err:
        print(f"bluegreen.nested: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
