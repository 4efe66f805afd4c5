"""The nested parent against its children and against Sceptre's own reading of the configs.

Sceptre's config reader (SceptrePlan, no AWS call) is the oracle: the parent must hold the same
stacks, hand every stack the same values (config values as parameter defaults, stack outputs as
GetAtt, weights through the one GreenWeight) and launch them in an order Sceptre would accept.
"""

from __future__ import annotations

import json
import re

import pytest
from sceptre.resolvers.stack_output import StackOutput as SceptreStackOutput

from bluegreen import cfn, nested
from bluegreen import suppressions as exceptions
from bluegreen_resolvers.lambda_code_key import LambdaCodeKey
from bluegreen_resolvers.traffic_weight import TrafficWeight
from tests.test_nested.conftest import ENVS, ROOT, config_file, edit, stack_path

STACK = "AWS::CloudFormation::Stack"


# ------------------------------------------------------------------------------------ helpers
def stacks(template: dict) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == STACK}


def getatts(node) -> list[tuple[str, str]]:
    """Every ``Fn::GetAtt [Logical, Attribute]`` under ``node``."""
    if isinstance(node, dict):
        found = [tuple(node["Fn::GetAtt"])] if "Fn::GetAtt" in node else []
        return found + [g for v in node.values() for g in getatts(v)]
    if isinstance(node, list):
        return [g for v in node for g in getatts(v)]
    return []


def parent_graph(template: dict) -> dict[str, set[str]]:
    """Logical ID -> the stacks it waits for (GetAtt or DependsOn)."""
    graph = {}
    for logical, resource in stacks(template).items():
        depends = resource.get("DependsOn", [])
        graph[logical] = {g[0] for g in getatts(resource)} | set([depends] if isinstance(depends, str) else depends)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def evaluate(value, parameters: dict) -> str:
    """A child parameter value with every parent parameter at its default."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(parameters[value["Ref"]]["Default"])
    if "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        items = items if isinstance(items, list) else [items]
        return separator.join(evaluate(i, parameters) for i in items)
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: str(parameters[m.group(1)]["Default"]), value["Fn::Sub"])
    raise AssertionError(f"cannot evaluate {value!r}")


def sceptre_parameters(stack) -> dict:
    return stack.__dict__["_parameters"]  # raw: reading stack.parameters would resolve against AWS


def code_buckets(stack) -> list[str]:
    """The !stack_output arguments of the stack's !package_lambda and !upload_trust_store hooks (their bucket)."""
    found = []
    for hooks in (stack.hooks or {}).values():
        for hook in hooks:
            bucket = (getattr(hook, "_argument", None) or {}).get("bucket") if type(hook).__name__ in ("PackageLambda", "UploadTrustStore") \
                else None
            if isinstance(bucket, SceptreStackOutput):
                found.append(bucket._argument)
    return found


# ------------------------------------------------------------------------------------ children
@pytest.mark.parametrize("logical", sorted(stacks(json.loads((ROOT / "templates" / "main.json").read_text()))))
def test_main_json__child_parameter_without_default__given_by_the_parent(main_json, child, logical):
    resource = main_json["Resources"][logical]["Properties"]
    declared = child(resource["TemplateURL"])["Parameters"]
    required = {k for k, p in declared.items() if "Default" not in p}
    assert required - set(resource["Parameters"]) == set()


@pytest.mark.parametrize("logical", sorted(stacks(json.loads((ROOT / "templates" / "main.json").read_text()))))
def test_main_json__parameter_given__declared_by_the_child(main_json, child, logical):
    resource = main_json["Resources"][logical]["Properties"]
    assert set(resource["Parameters"]) - set(child(resource["TemplateURL"])["Parameters"]) == set()


def test_main_json__every_getatt_of_a_child__names_an_output_the_child_declares(main_json, child):
    children = stacks(main_json)
    wrong = []
    for logical, attribute in getatts({"r": main_json["Resources"], "o": main_json["Outputs"]}):
        output = attribute.removeprefix("Outputs.")
        if logical not in children or output not in child(children[logical]["Properties"]["TemplateURL"]).get("Outputs", {}):
            wrong.append(f"{logical}.{attribute}")
    assert wrong == []


def test_main_json__every_ref__names_a_parent_parameter(main_json):
    def refs(node):
        if isinstance(node, dict):
            return ([node["Ref"]] if "Ref" in node else []) + [r for v in node.values() for r in refs(v)]
        return [r for v in node for r in refs(v)] if isinstance(node, list) else []
    declared = set(main_json["Parameters"]) | {"AWS::StackName"}
    assert set(refs({"r": main_json["Resources"], "o": main_json["Outputs"]})) - declared == set()


def test_main_json__template_urls__the_rendered_children_beside_it(main_json):
    urls = {r["Properties"]["TemplateURL"] for r in stacks(main_json).values()}
    assert all((ROOT / "templates" / url).is_file() for url in urls), urls


# ------------------------------------------------------------------------------------ Sceptre parity
@pytest.mark.parametrize("env", ENVS)
def test_parent__stacks__exactly_the_sceptre_stacks_of_the_env(env, generated, sceptre):
    assert set(stacks(generated[env])) == {nested.logical_id(name) for name in sceptre[env]}


def test_main_json__generated_for_prod__equals_the_prod_parent(main_json, generated):
    assert main_json == generated["prod"]


@pytest.mark.parametrize("env", ENVS)
def test_parent__template_of_each_stack__the_json_twin_of_its_sceptre_handler(env, generated, sceptre):
    for name, stack in sceptre[env].items():
        url = generated[env]["Resources"][nested.logical_id(name)]["Properties"]["TemplateURL"]
        assert url == stack.template_handler_config["path"].removesuffix(".py") + ".json"


@pytest.mark.parametrize("env", ENVS)
def test_parent__each_stack_parameter__the_value_sceptre_passes(env, generated, sceptre):
    template = generated[env]
    params = template["Parameters"]
    mismatches = []
    for name, stack in sceptre[env].items():
        given = template["Resources"][nested.logical_id(name)]["Properties"]["Parameters"]
        expected = sceptre_parameters(stack)
        if set(given) != set(expected):
            mismatches.append(f"{name}: parent gives {sorted(set(given) ^ set(expected))} differently")
            continue
        for key, value in expected.items():
            ours = given[key]
            if isinstance(value, SceptreStackOutput):
                if value._argument in code_buckets(stack):
                    want = {"Ref": nested.CODE_BUCKET}
                else:
                    path, output = value._argument.split("::")
                    want = {"Fn::GetAtt": [nested.logical_id(path.split("/")[-1].removesuffix(".yaml")),
                                           f"Outputs.{output}"]}
                ok = ours == want
            elif isinstance(value, TrafficWeight):
                ok = ours == {"Fn::FindInMap": [nested.WEIGHT_MAPPING, {"Ref": nested.GREEN_WEIGHT},
                                                value._argument["colour"].capitalize()]}
            elif isinstance(value, LambdaCodeKey):
                ok = ours == {"Ref": nested.camel(value._argument.split("/")[-1]) + nested.CODE_KEY_SUFFIX}
            elif isinstance(value, str):
                ok = evaluate(ours, params) == value
            else:
                ok = False
            if not ok:
                mismatches.append(f"{name}.{key}: Sceptre {value!r}, parent {ours!r}")
    assert mismatches == []


@pytest.mark.parametrize("env", ENVS)
def test_parent__child_stack_tags__sceptre_stack_tags(env, generated, sceptre):
    params = generated[env]["Parameters"]
    for name, stack in sceptre[env].items():
        tags = generated[env]["Resources"][nested.logical_id(name)]["Properties"]["Tags"]
        assert {t["Key"]: evaluate(t["Value"], params) for t in tags} == stack.tags, name


def test_main_json__child_stack_tags__refs_of_the_identity_parameters(main_json):
    for logical, resource in stacks(main_json).items():
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags == {k: {"Ref": k} for k in ("Environment", "Project", "CostCenter")}, logical


@pytest.mark.parametrize("env", ENVS)
def test_parent__identity_parameters__defaults_from_the_group_config(env, generated):
    group = nested.read_group(env)
    for key, value in group.identity.items():
        assert generated[env]["Parameters"][key]["Default"] == str(value)


# ------------------------------------------------------------------------------------ order
@pytest.mark.parametrize("env", ENVS)
def test_parent_graph__each_sceptre_dependency__ordered_by_getatt_or_dependson(env, generated, sceptre):
    graph = parent_graph(generated[env])
    unordered = [f"{name} -> {dep.name}" for name, stack in sceptre[env].items() for dep in stack.dependencies
                 if nested.logical_id(dep.name.rsplit("/", 1)[-1]) not in reachable(graph, nested.logical_id(name))]
    assert unordered == []


@pytest.mark.parametrize("env", ENVS)
def test_parent_graph__each_parent_edge__a_sceptre_dependency(env, generated, sceptre):
    sceptre_graph = {nested.logical_id(n): {nested.logical_id(d.name.rsplit("/", 1)[-1]) for d in s.dependencies}
                     for n, s in sceptre[env].items()}
    extra = [f"{a} -> {b}" for a, deps in parent_graph(generated[env]).items() for b in deps
             if b not in reachable(sceptre_graph, a)]
    assert extra == []


@pytest.mark.parametrize("env", ENVS)
def test_parent_graph__getatt_and_dependson__no_cycle(env, generated):
    graph = parent_graph(generated[env])
    assert [node for node in graph if node in reachable(graph, node)] == []


def test_parent_graph__dependson__only_where_no_getatt_path_orders_already(main_json):
    graph = {k: {g[0] for g in getatts(r)} for k, r in stacks(main_json).items()}
    for logical, resource in stacks(main_json).items():
        for dep in resource.get("DependsOn", []):
            assert dep not in reachable(graph, logical), f"{logical} DependsOn {dep} is redundant"


def test_launch_order__cycle__raises():
    with pytest.raises(nested.NestedError, match=r"dependency cycle among \['a', 'b'\]"):
        nested.launch_order({"a": {"b"}, "b": {"a"}, "c": set()})


# ------------------------------------------------------------------------------------ weights, code, outputs
def test_main_json__weight_split__every_percent_blue_and_green_add_up_to_100(main_json):
    split = main_json["Mappings"][nested.WEIGHT_MAPPING]
    assert split == {str(g): {"Blue": str(100 - g), "Green": str(g)} for g in range(101)}


def test_main_json__green_weight__one_parameter_whose_pattern_admits_exactly_the_mapping_keys(main_json):
    param = main_json["Parameters"][nested.GREEN_WEIGHT]
    admitted = {str(n) for n in range(-5, 200) if re.fullmatch(param["AllowedPattern"], str(n))}
    assert admitted == set(main_json["Mappings"][nested.WEIGHT_MAPPING])
    assert not re.fullmatch(param["AllowedPattern"], "05") and "Default" not in param


def test_main_json__weights__every_use_reads_the_one_green_weight(main_json):
    def find_in_maps(node):
        if isinstance(node, dict):
            return ([node["Fn::FindInMap"]] if "Fn::FindInMap" in node else []) + \
                [f for v in node.values() for f in find_in_maps(v)]
        return [f for v in node for f in find_in_maps(v)] if isinstance(node, list) else []
    uses = find_in_maps(main_json["Resources"])
    assert uses and all(u[:2] == [nested.WEIGHT_MAPPING, {"Ref": nested.GREEN_WEIGHT}] for u in uses)


def test_main_json__lambda_code__one_key_parameter_per_lambda_and_no_defaults(main_json):
    sources = set()
    for path in (ROOT / "config" / "prod").rglob("*.yaml"):
        sources |= set(re.findall(r"!lambda_code_key\s+lambda_src/([a-z_]+)", path.read_text()))
    code = {k for k in main_json["Parameters"] if k.endswith(nested.CODE_KEY_SUFFIX)}
    assert code == {nested.camel(s) + nested.CODE_KEY_SUFFIX for s in sources}
    assert all("Default" not in main_json["Parameters"][k] for k in code | {nested.CODE_BUCKET})


def test_main_json__outputs__exported_as_stack_name_dash_key(main_json):
    assert set(main_json["Outputs"]) == set(nested.PARENT_OUTPUTS)
    for key, output in main_json["Outputs"].items():
        assert output["Export"] == {"Name": {"Fn::Sub": "${AWS::StackName}-" + key}}
        assert output["Description"]


def test_main_json__child_stacks__state_delete_explicitly(main_json):
    for logical, resource in stacks(main_json).items():
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Delete", "Delete"), logical


def test_exceptions__main_json_local_template_urls__in_the_register_with_a_reason():
    found = [s for s in exceptions.collect() if s.template == "main"]
    assert {(s.scanner, s.rule) for s in found} == {("cfn-lint", "W3002")}
    assert exceptions.problems(found) == []


# ------------------------------------------------------------------------------------ derivation
def generate(root, env="prod") -> dict:
    return json.loads(cfn.to_json(nested.generate(env, root).template))


def test_generate__config_value_changed__the_stack_is_given_the_new_value(project):
    edit(project / "config" / "prod" / "config.yaml", "vpc_cidr: 10.50.0.0/16", "vpc_cidr: 10.77.0.0/16")
    assert generate(project)["Resources"]["NetworkStack"]["Properties"]["Parameters"]["VpcCidr"] == "10.77.0.0/16"


@pytest.mark.parametrize("env, green", [("dev", "1.4.2"), ("prod", "1.0.0")])  # prod: the committed release only
def test_generate__var_given__the_stacks_read_with_it_as_sceptre_would(project, env, green):
    parent = nested.generate(env, project, {"green_image_tag": "1.4.2"})
    given = json.loads(cfn.to_json(parent.template))["Resources"]["ComputeStack"]["Properties"]["Parameters"]
    assert (given["GreenImageTag"], given["BlueImageTag"]) == (green, "1.0.0")


def test_generate__stack_config_removed__its_stack_and_outputs_leave_the_parent(project):
    before = generate(project)
    config_file(project, "prod", "backup.yaml").unlink()
    after = generate(project)
    assert set(stacks(before)) - set(stacks(after)) == {"BackupStack"}


def test_generate__stack_config_added__parent_gains_its_stack(project):
    (config_file(project, "prod", "audit.yaml").parent / "audit2.yaml").write_text(
        "template:\n  path: audit.py\nparameters:\n"
        f"  OpsKeyArn: !stack_output {stack_path(project, 'prod', 'security')}::OpsKeyArn\n"
        f"  AccessLogBucketName: !stack_output {stack_path(project, 'prod', 'artifacts')}::AccessLogBucketName\n")
    resource = generate(project)["Resources"]["Audit2Stack"]
    assert resource["Properties"]["TemplateURL"] == "audit.json"
    assert resource["Properties"]["Parameters"]["OpsKeyArn"] == {"Fn::GetAtt": ["SecurityStack", "Outputs.OpsKeyArn"]}


def test_generate__new_config_key_used__the_stack_is_given_the_env_value(project):
    edit(config_file(project, "dev", "monitoring.yaml"), "parameters:\n",
         'parameters:\n  UnhealthyHostThreshold: "{{ unhealthy_hosts }}"\n')
    with (project / "config" / "prod" / "config.yaml").open("a") as config:
        config.write("unhealthy_hosts: 2\n")
    template = generate(project)
    assert template["Resources"]["MonitoringStack"]["Properties"]["Parameters"]["UnhealthyHostThreshold"] == "2"
    assert "UnhealthyHosts" not in template["Parameters"]  # env values are no parent parameters (module docstring)


def test_generate__explicit_dependency_added__becomes_depends_on(project):
    edit(config_file(project, "dev", "backup.yaml"), "template:",
         f"dependencies:\n  - {stack_path(project, 'dev', 'audit')}\ntemplate:")
    assert generate(project)["Resources"]["BackupStack"]["DependsOn"] == ["AuditStack"]


@pytest.mark.parametrize("old,new,passed", [
    ('"{{ health_check_path }}"', '"/v1{{ health_check_path }}"', "/v1/health"),
    # A value the Jinja computes from a key reaches the parent as Sceptre rendered it.
    ('"{{ health_check_path }}"', '"{% if app_port == 8080 %}/ready{% endif %}"', "/ready"),
])
def test_generate__jinja_around_a_config_value__the_string_sceptre_renders(project, old, new, passed):
    edit(config_file(project, "dev", "route53.yaml"), f"HealthCheckPath: {old}", f"HealthCheckPath: {new}")
    assert generate(project)["Resources"]["Route53Stack"]["Properties"]["Parameters"]["HealthCheckPath"] == passed


@pytest.mark.parametrize("stack_file,old,new,message", [
    ("dms.yaml", "template:", "protect: true\ntemplate:", r"cannot reproduce the stack-config keys \['protect'\]"),
    ("network.yaml", 'VpcCidr: "{{ vpc_cidr }}"', "VpcCidr: !file_contents cidr.txt",
     r"parameter VpcCidr: !file_contents 'cidr.txt' has no nested-stack equivalent"),
    ("network.yaml", 'VpcCidr: "{{ vpc_cidr }}"', 'VpcCidr: "{{ vpc_cidr }}"\n  NoSuchThing: "x"',
     r"network.json declares no parameters \['NoSuchThing'\]"),
    ("alb.yaml", "  VpcId: !stack_output {{ environment }}/networking/network.yaml::VpcId\n", "",
     r"alb.json needs parameters \['VpcId'\] that nobody gives"),
    ("alb.yaml", "network.yaml::VpcId", "network.yaml::NoSuchOutput",
     r"network declares no output 'NoSuchOutput'"),
    ("network.yaml", "template:", "hooks:\n  before_create:\n    - !cmd echo hi\ntemplate:",
     r"hook !cmd 'echo hi' \(before_create\) has no nested-stack equivalent"),
    ("network.yaml", "template:", "dependencies:\n  - {{ environment }}/nowhere.yaml\ntemplate:",
     r"Sceptre cannot read the group: .*Dependency prod/nowhere.yaml not found"),
])
def test_generate__config_the_parent_cannot_reproduce__raises_naming_file_and_fix(project, stack_file, old, new,
                                                                                    message):
    edit(config_file(project, "dev", stack_file), old, new)
    with pytest.raises(nested.NestedError, match=message):
        nested.generate("prod", project)


def test_generate__unknown_env__raises_listing_the_known():
    with pytest.raises(nested.NestedError, match=r"no stack group 'qa'.*known: dev, prod"):
        nested.generate("qa")


def test_generate__child_template_not_rendered__raises_with_the_render_command(project):
    (project / "templates" / "dns.json").unlink()
    with pytest.raises(nested.NestedError, match=r"python -m bluegreen.render dns"):
        nested.generate("prod", project)


# ------------------------------------------------------------------------------------ what the package command follows
@pytest.mark.parametrize("env", ENVS)
def test_parent__green_weight_ssm__the_parameter_sceptre_reads_and_the_hooks_write(env, sceptre):
    parent = nested.generate(env)
    reads = {repr(v._argument["green_weight"]).removeprefix("!SSM(").removesuffix(")")
             for s in sceptre[env].values() for v in sceptre_parameters(s).values() if isinstance(v, TrafficWeight)}
    assert set(parent.green_weight_sources) == reads
    assert set(parent.green_weight_records) == reads


def test_parent__buckets_to_empty__every_empty_bucket_hook_with_its_outputs():
    parent = nested.generate("prod")
    expected = {}
    for path in sorted((ROOT / "config" / "prod").rglob("*.yaml")):
        for outputs in re.findall(r"!empty_bucket\s+outputs: \[([^\]]+)\]", path.read_text()):
            expected[nested.logical_id(path.stem)] = tuple(o.strip() for o in outputs.split(","))
    assert dict(parent.buckets_to_empty) == expected


def test_main__env_dev__prints_the_dev_parent(capsys):
    assert nested.main(["--env", "dev"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["Parameters"]["Environment"]["Default"] == "dev"
