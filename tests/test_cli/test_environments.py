"""config/<env>/ as Sceptre reads it -> names: the CLI's view of a deployment."""

from __future__ import annotations

import pytest

from bluegreen.environments import (
    Environment,
    EnvironmentConfigError,
    UnknownEnvironmentError,
    find_project_root,
    known_environments,
    load_environment,
)

from .conftest import PROJECT_ROOT

#: Sceptre reads a group's config for its stacks: each test group holds one (never launched here).
STACK = "template:\n  path: network.py\n"

DEV = """\
identity: &identity
  Environment: dev
  Project: payments-migration
environment: dev
environment_suffix: d01
ssm_prefix: /payments-migration/dev-d01
parameters:
  <<: *identity
  EnvironmentSuffix: d01
"""


@pytest.fixture
def group(project):
    """project(dev=...) with a stack config in each group, so Sceptre has a stack to read the group for."""
    def make(**groups: str):
        root = project(**groups)
        for name in groups:
            (root / "config" / name / "probe.yaml").write_text(STACK)
        return root
    return make


@pytest.mark.parametrize(
    ("name", "function", "prefix"),
    [("dev", "lambda-traffic-shifter-dev-d01", "/payments-migration/dev-d01"),
     ("prod", "lambda-traffic-shifter-prod-p01", "/payments-migration/prod-p01")],
)
def test_load_environment__repository_config__names_of_the_deployment(name, function, prefix):
    env = load_environment(name, PROJECT_ROOT)

    assert (env.traffic_shifter_function, env.ssm_prefix, env.project, env.region) == (function, prefix, "payments-migration", "us-east-1")


def test_known_environments__repository_config__dev_and_prod():
    assert known_environments(PROJECT_ROOT) == ["dev", "prod"]


def test_find_project_root__from_a_subfolder__the_folder_with_config(tmp_path, group):
    root = group(dev=DEV)
    (root / "templates" / "deep").mkdir(parents=True)

    assert find_project_root(root / "templates" / "deep") == root


def test_load_environment__unknown__lists_the_known_ones(group):
    root = group(dev=DEV)

    with pytest.raises(UnknownEnvironmentError, match=r"unknown environment 'qa'; known environments: dev"):
        load_environment("qa", root)


def test_load_environment__sceptre_tags_and_jinja__read_by_sceptre(group, monkeypatch):
    monkeypatch.setenv("TEAM", "payments")
    root = group(dev=DEV + """\
hooks:
  before_create:
    - !package_lambda
      source: lambda_src/traffic_shifter
      bucket: !stack_output shared/artifacts.yaml::ArtifactBucketName
team: {{ environment_variable.TEAM }}
""")
    (root / "config" / "shared").mkdir()  # the stack the hook's !stack_output names, outside the group
    (root / "config" / "shared" / "artifacts.yaml").write_text(STACK)

    assert load_environment("dev", root) == Environment(
        name="dev", suffix="d01", project="payments-migration", ssm_prefix="/payments-migration/dev-d01",
        region="us-east-1", config_file=root / "config" / "dev" / "config.yaml",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEV.replace("ssm_prefix: /payments-migration/dev-d01", "ssm_prefix: /payments/dev-d01"),
         r"ssm_prefix is '/payments/dev-d01' but Project, environment and suffix make '/payments-migration/dev-d01'"),
        (DEV.replace("environment: dev\n", "environment: prod\n"), r"environment is 'prod' but the folder is 'dev'"),
        (DEV.replace("environment_suffix: d01", "environment_suffix: D-01"), r"environment_suffix must be 2-8 lower-case letters or digits, got 'D-01'"),
        (DEV.replace("environment_suffix: d01\n", ""), r"environment_suffix must be a non-empty string, got None"),
        (DEV.replace("  Project: payments-migration\n", ""), r"parameters: Project must be a non-empty string, got None"),
        ("environment: [dev", r"not valid YAML"),
    ],
)
def test_load_environment__inconsistent_config__error_names_the_file_and_key(group, text, message):
    root = group(dev=text)

    with pytest.raises(EnvironmentConfigError, match=message):
        load_environment("dev", root)


def test_known_environments__a_group_sharing_an_environments_config__not_one_of_its_own(group):
    root = group(dev=DEV)
    (root / "config" / "nested-dev").mkdir()
    (root / "config" / "nested-dev" / "config.yaml").symlink_to("../dev/config.yaml")
    (root / "config" / "nested-dev" / "main.yaml").write_text(STACK)

    assert known_environments(root) == ["dev"]
    with pytest.raises(EnvironmentConfigError, match=r"use 'dev'"):
        load_environment("nested-dev", root)


def test_load_environment__group_without_stacks__says_sceptre_has_nothing_to_read(project):
    root = project(dev=DEV)

    with pytest.raises(EnvironmentConfigError, match=r"config/dev: no stack configs"):
        load_environment("dev", root)
