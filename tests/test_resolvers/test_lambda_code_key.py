"""resolvers/lambda_code_key.py: the S3 key of a Lambda zip, computed without AWS."""

import hashlib
import json
import re

import pytest
from sceptre.exceptions import InvalidResolverArgumentError

from bluegreen import lambda_zip
from bluegreen_resolvers.lambda_code_key import LambdaCodeKey
from tests import lambda_sources
from tests.test_templates import policy


def resolve(argument, root, builder=lambda_zip.build):
    return LambdaCodeKey(argument, builder=builder, project_root=root).resolve()


def test_lambda_code_key__source__sha256_key_of_the_built_zip(source_root, builder):
    data = builder("demo", root=source_root).data
    assert resolve("lambda_src/demo", source_root, builder) == f"lambda/demo/{hashlib.sha256(data).hexdigest()}.zip"


def test_lambda_code_key__resolved_twice__same_key(source_root, builder):
    assert resolve("lambda_src/demo", source_root, builder) == resolve("lambda_src/demo", source_root, builder)


def test_lambda_code_key__code_changed__new_key(source_root, builder):
    before = resolve("lambda_src/demo", source_root, builder)
    (source_root / "lambda_src" / "demo" / "handler.py").write_text("def lambda_handler(e, c):\n    return 1\n")
    assert resolve("lambda_src/demo", source_root, builder) != before


def test_lambda_code_key__pinned_dependency_changed__new_key(source_root, builder, tmp_path):
    before = resolve("lambda_src/demo", source_root, builder)
    lambda_sources.write_wheel(tmp_path / "wheels", version="1.1")
    (source_root / "lambda_src" / "demo" / "requirements.txt").write_text("tinydep==1.1\n")
    assert resolve("lambda_src/demo", source_root, builder) != before


@pytest.mark.parametrize("argument", [None, 42, "", "src/demo", "lambda_src/Demo", "lambda_src/demo/extra",
                                      {"source": "lambda_src/demo"}])
def test_lambda_code_key__argument_not_lambda_src_name__raises(argument, source_root):
    with pytest.raises(InvalidResolverArgumentError,
                       match=r"!lambda_code_key takes 'lambda_src/<name>' .*got " + re.escape(repr(argument))):
        resolve(argument, source_root)


def test_lambda_code_key__folder_missing__raises(source_root):
    with pytest.raises(InvalidResolverArgumentError, match=r"\(no __init__\.py\): nothing to package for .absent."):
        resolve("lambda_src/absent", source_root)


def test_lambda_code_key__traffic_shifter__key_accepted_by_automation_template():
    # The real Lambda, with its real pinned dependencies (from the registry once, then .build/).
    key = resolve("lambda_src/traffic_shifter", policy.ROOT)
    template = json.loads((policy.TEMPLATES / "automation.json").read_text())
    assert re.match(template["Parameters"]["TrafficShifterCodeKey"]["AllowedPattern"], key)


def test_lambda_code_key__traffic_shifter__zip_has_handler_and_deps_without_boto3():
    names = set(lambda_sources.entries(lambda_zip.build("traffic_shifter").data))
    assert {"traffic_shifter/handler.py", "aws_lambda_powertools/__init__.py"} <= names
    assert not {n for n in names if n.split("/")[0] in ("boto3", "botocore") or "__pycache__" in n}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_lambda_code_key__sceptre_automation_config__resolves_to_the_built_key(environment):
    from sceptre.context import SceptreContext
    from sceptre.plan.plan import SceptrePlan

    plan = SceptrePlan(SceptreContext(project_path=str(policy.ROOT), command_path=f"{environment}/operations/automation.yaml"))
    (stack,) = [s for s in plan.graph if s.name == f"{environment}/operations/automation"]
    resolver = stack._parameters["TrafficShifterCodeKey"]
    assert isinstance(resolver, LambdaCodeKey)
    assert resolver.resolve() == lambda_zip.build("traffic_shifter").key
