"""The ``!preflight`` hook, its wiring in the group configs and the hooks merge it enables."""

from pathlib import Path

import pytest
from sceptre.context import SceptreContext
from sceptre.exceptions import InvalidHookArgumentTypeError
from sceptre.plan.plan import SceptrePlan

from bluegreen_hooks.preflight import Preflight, PreflightFailedError, merge_hooks, other_vpc_cidrs
from tests.conftest import offline_aws

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"environment": "dev", "suffix": "d01", "vpc_cidr": "10.40.0.0/16", "certificate_arn": "",
        "datacentre_cidrs": ["10.0.0.0/14"]}
PREFLIGHT_POINTS = ["before_launch", "before_create", "before_update", "before_create_change_set",
                    "before_validate", "before_diff"]


class NoDmsRole:
    """An IAM client of an account without dms-vpc-role (IAM's own NoSuchEntity answer)."""

    def get_role(self, RoleName):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": f"The role with name {RoleName} cannot be found."}},
                          "GetRole")


class DefaultLambdaQuota:
    """A Lambda client of an account with AWS's default quota (1000) and none of our functions yet, answering
    as GetAccountSettings and GetFunctionConcurrency do (the emulator's own: tests/test_emulator/test_lambda_concurrency.py)."""

    def get_account_settings(self):
        return {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}}

    def get_function_concurrency(self, FunctionName):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {FunctionName}"}},
                          "GetFunctionConcurrency")


def refuse(address, timeout):
    raise ConnectionRefusedError(111, "Connection refused")


def hook(argument, **kwargs):
    kwargs = {"other_environments": {"prod": "10.50.0.0/16"}, "environ": {}, **kwargs}
    return Preflight(argument, **kwargs)


def stacks(env):
    return {s.name: s for s in SceptrePlan(SceptreContext(project_path=str(ROOT), command_path=env)).graph}


def kinds(stack):
    return {point: [type(h).__name__ for h in hooks] for point, hooks in stack.hooks.items()}


@pytest.mark.parametrize("argument", [None, "d01", {**GOOD, "extra": 1}, {k: v for k, v in GOOD.items() if k != "suffix"}])
def test_setup__malformed_argument__refused_with_the_keys(argument):
    with pytest.raises(InvalidHookArgumentTypeError, match=r"!preflight takes a dict with exactly the keys "
                                                            r"certificate_arn, datacentre_cidrs, environment, suffix, vpc_cidr"):
        hook(argument).setup()


def test_run__good_values__passes():
    assert hook(GOOD).run() is None


def test_run__one_bad_value__refused_with_its_message():
    with pytest.raises(PreflightFailedError, match=r"^preflight - preflight refused the 'dev' environment, nothing was "
                                                   r"changed: environment_suffix must be .* got 'D01'"):
        hook({**GOOD, "suffix": "D01"}).run()


def test_run__emulator_down_and_bad_suffix__both_numbered_on_one_line():
    with pytest.raises(PreflightFailedError) as raised:
        hook({**GOOD, "suffix": "D01"}, environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, connect=refuse).run()
    message = str(raised.value)
    assert "\n" not in message
    assert "(1) the local AWS emulator is not running at http://127.0.0.1:1" in message
    assert "(2) environment_suffix must be" in message


def test_merge_hooks__group_and_stack__group_hooks_first_per_point():
    parent = {"before_create": ["g"], "before_update": ["g"]}
    child = {"before_create": ["s"], "after_update": ["s"]}
    assert merge_hooks(parent, child) == {"before_create": ["g", "s"], "before_update": ["g"], "after_update": ["s"]}


@pytest.mark.parametrize("parent,child,merged", [(None, {"a": [1]}, {"a": [1]}), ({"a": [1]}, None, {"a": [1]}),
                                                  (None, None, {})])
def test_merge_hooks__one_side_missing__other_side(parent, child, merged):
    assert merge_hooks(parent, child) == merged


def test_merge_hooks__list_instead_of_mapping__refused():
    with pytest.raises(TypeError, match=r"hooks must be a mapping of hook point to a list of hooks"):
        merge_hooks({"before_create": []}, ["x"])


def test_other_vpc_cidrs__project__the_other_groups_cidrs():
    assert other_vpc_cidrs(str(ROOT), "dev") == {"prod": "10.50.0.0/16"}
    assert other_vpc_cidrs(str(ROOT), "prod") == {"dev": "10.40.0.0/16"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_group_config__every_stack__preflight_first_at_every_point_before_aws(env):
    for name, stack in stacks(env).items():
        for point in PREFLIGHT_POINTS:
            assert kinds(stack)[point][0] == "Preflight", (name, point)
        assert "before_delete" not in kinds(stack) or "Preflight" not in kinds(stack)["before_delete"], name


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_group_config__stacks_own_hooks__kept_after_the_preflight(env):
    found = stacks(env)
    assert kinds(found[f"{env}/route53/listeners"])["after_update"] == ["RecordGreenWeight"]
    assert kinds(found[f"{env}/compute/alb"])["before_delete"] == ["EmptyBucket"]
    assert kinds(found[f"{env}/operations/automation"])["before_create"] == ["Preflight", "ChangeControl", "PackageLambda"]
    assert kinds(found[f"{env}/route53/route53"])["after_create"] == ["RecordGreenWeight"]
    assert kinds(found[f"{env}/operations/artifacts"])["before_delete"] == ["EmptyBucket"]


def test_group_config__dev_values__pass_the_preflight(monkeypatch):
    import boto3
    from moto import mock_aws

    offline_aws(monkeypatch)
    stack = stacks("dev")["dev/networking/network"]
    stack.hooks["before_launch"][0]._environ = {}
    with mock_aws():  # an account without dms-vpc-role: dev's "true" is right there
        stack.hooks["before_launch"][0]._iam = boto3.client("iam")
        stack.hooks["before_launch"][0]._lambda = DefaultLambdaQuota()
        assert stack.hooks["before_launch"][0].run() is None


def test_group_config__prod_without_certificate__refused_until_it_is_set():
    stack = stacks("prod")["prod/networking/network"]
    stack.hooks["before_launch"][0]._environ = {}
    with pytest.raises(PreflightFailedError, match=r"prod/networking/network - preflight refused the 'prod' environment, nothing "
                                                   r"was changed: \(1\) certificate_arn is empty in prod.* \(2\) "
                                                   r"client_ca_bundle_file is empty in prod"):
        stack.hooks["before_launch"][0].run()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_nested_parent__preflight__the_environments_own_and_its_vpc_no_overlap_with_itself(env):
    stack = stacks(f"nested-{env}")[f"nested-{env}/main"]
    hook = stack.hooks["before_launch"][0]
    assert kinds(stack)["before_launch"] == ["Preflight", "ChangeControl"] and hook.argument["environment"] == env
    hook._environ = {}
    hook._iam = NoDmsRole()  # an account without dms-vpc-role: "true" is right there
    hook._lambda = DefaultLambdaQuota()
    if env == "dev":
        assert hook.run() is None  # dev's vpc_cidr is compared with prod's only, not with its own parent's
    else:
        with pytest.raises(PreflightFailedError, match=r"certificate_arn is empty in prod"):
            hook.run()


def test_other_vpc_cidrs__nested_groups__not_other_environments():
    assert set(other_vpc_cidrs(str(ROOT), "dev")) == {"prod"}
