"""bluegreen.lambda_zip (the build) and hooks/package_lambda.py (the upload), with real pip and moto S3."""

import hashlib
import logging
import os
import re
import shutil
import zipfile

import pytest
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError

from bluegreen import lambda_zip
from bluegreen.aws_failures import AwsCallFailed
from bluegreen_hooks.package_lambda import PackageLambda
from bluegreen_hooks.preflight import Preflight
from tests import lambda_sources

ARGUMENT = {"source": "lambda_src/demo", "bucket": "s3-artifacts-dev-d01"}


def hook(argument, root, s3=None, builder=lambda_zip.build):
    return PackageLambda(argument, s3_client=s3, builder=builder, project_root=root)


# ---------------------------------------------------------------- build: reproducible
def test_build__same_source_twice__same_bytes_and_hash(source_root):
    first = lambda_zip.build("demo", root=source_root)
    second = lambda_zip.build("demo", root=source_root)
    assert first.data == second.data
    assert first.sha256 == second.sha256 == hashlib.sha256(first.data).hexdigest()


def test_build__changed_file__new_hash(source_root):
    before = lambda_zip.build("demo", root=source_root)
    (source_root / "lambda_src" / "demo" / "handler.py").write_text(lambda_sources.HANDLER + "# changed\n")
    after = lambda_zip.build("demo", root=source_root)
    assert after.sha256 != before.sha256
    assert after.key == f"lambda/demo/{after.sha256}.zip"


def test_build__file_times_and_modes_differ__same_hash(source_root):
    before = lambda_zip.build("demo", root=source_root)
    handler = source_root / "lambda_src" / "demo" / "handler.py"
    handler.chmod(0o755)
    os.utime(handler, (1_700_000_000, 1_700_000_000))
    assert lambda_zip.build("demo", root=source_root).sha256 == before.sha256


def test_build__entries__sorted_with_fixed_time_and_mode(source_root):
    infos = list(lambda_sources.entries(lambda_zip.build("demo", root=source_root).data).values())
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_build__package__at_zip_root_as_its_folder(source_root):
    names = set(lambda_sources.entries(lambda_zip.build("demo", root=source_root).data))
    assert names == {"demo/__init__.py", "demo/handler.py"}


def test_build__pycache_and_pyc__left_out(source_root):
    package = source_root / "lambda_src" / "demo"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (package / "stale.pyc").write_bytes(b"\0")
    names = set(lambda_sources.entries(lambda_zip.build("demo", root=source_root).data))
    assert names == {"demo/__init__.py", "demo/handler.py"}


# ---------------------------------------------------------------- build: dependencies
@pytest.fixture
def with_requirements(source_root):
    (source_root / "lambda_src" / "demo" / "requirements.txt").write_text(
        "# runtime deps\ntinydep==1.0\nboto3==1.34.0\nbotocore==1.34.0  # provided by the runtime\n"
    )
    return source_root


def test_build__requirements__deps_at_zip_root_without_runtime_provided(with_requirements, builder):
    # boto3/botocore are not in the offline wheelhouse: pip would fail if they were installed.
    names = set(lambda_sources.entries(builder("demo", root=with_requirements).data))
    assert {"tinydep/__init__.py", "tinydep-1.0.dist-info/METADATA", "demo/handler.py"} <= names
    assert not {n for n in names if n.startswith(("boto3", "botocore"))}
    assert "demo/requirements.txt" not in names


def test_build__dependency_console_script__left_out(with_requirements, builder):
    names = set(lambda_sources.entries(builder("demo", root=with_requirements).data))
    assert not {n for n in names if n.startswith("bin/")}


def test_build__requirements_twice__same_hash_from_cache(with_requirements, builder, wheelhouse):
    first = builder("demo", root=with_requirements)
    shutil.rmtree(wheelhouse)  # pip can no longer install anything: the second build must use the cache
    assert builder("demo", root=with_requirements).sha256 == first.sha256


def test_build__dependency_not_installable__raises_with_pip_output(source_root, builder):
    (source_root / "lambda_src" / "demo" / "requirements.txt").write_text("nosuchdist==9.9\n")
    with pytest.raises(lambda_zip.LambdaSourceError, match=r"pip could not install .*nosuchdist"):
        builder("demo", root=source_root)


def test_build__dependency_not_installable__leaves_no_cache_entry(source_root, builder, tmp_path):
    (source_root / "lambda_src" / "demo" / "requirements.txt").write_text("nosuchdist==9.9\n")
    with pytest.raises(lambda_zip.LambdaSourceError):
        builder("demo", root=source_root)
    assert list((tmp_path / "cache" / "deps").iterdir()) == []


@pytest.mark.parametrize("line", ["tinydep", "tinydep>=1.0", "git+https://example.invalid/x.git"])
def test_build__unpinned_requirement__raises(source_root, line):
    (source_root / "lambda_src" / "demo" / "requirements.txt").write_text(line + "\n")
    with pytest.raises(lambda_zip.LambdaSourceError, match=r"requirements.txt:1: requirement must be pinned"):
        lambda_zip.build("demo", root=source_root)


def test_build__folder_without_init__raises(tmp_path):
    (tmp_path / "lambda_src" / "empty").mkdir(parents=True)
    with pytest.raises(lambda_zip.LambdaSourceError, match=r"no __init__.py.*'empty'"):
        lambda_zip.build("empty", root=tmp_path)


@pytest.mark.parametrize("value", ["lambda_src", "lambda_src/", "src/demo", "lambda_src/Demo", "lambda_src/a/b",
                                   "lambda_src/../x", 7, None])
def test_parse_source__not_lambda_src_name__raises(value):
    with pytest.raises(lambda_zip.LambdaSourceError, match=r"lambda_src/<name>"):
        lambda_zip.parse_source(value)


def test_parse_source__trailing_slash__name():
    assert lambda_zip.parse_source("lambda_src/traffic_shifter/") == "traffic_shifter"


# ---------------------------------------------------------------- hook: upload
def test_package_lambda__new_code__uploaded_under_content_key(source_root, s3, kms_bucket):
    key = hook(ARGUMENT, source_root, s3).run()
    package = lambda_zip.build("demo", root=source_root)
    assert key == package.key
    assert s3.get_object(Bucket=kms_bucket, Key=key)["Body"].read() == package.data


def test_package_lambda__new_code__encrypted_with_bucket_kms_key(source_root, s3, kms_bucket, data_key_arn):
    key = hook(ARGUMENT, source_root, s3).run()
    head = s3.head_object(Bucket=kms_bucket, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", data_key_arn)


def test_package_lambda__new_code__sha256_in_metadata(source_root, s3, kms_bucket):
    key = hook(ARGUMENT, source_root, s3).run()
    metadata = s3.head_object(Bucket=kms_bucket, Key=key)["Metadata"]
    assert metadata == {"sha256": lambda_zip.build("demo", root=source_root).sha256, "source": "lambda_src/demo"}


def test_package_lambda__key_present__upload_skipped_and_logged(source_root, s3, kms_bucket, caplog):
    key = lambda_zip.build("demo", root=source_root).key
    s3.put_object(Bucket=kms_bucket, Key=key, Body=b"already here")
    with caplog.at_level(logging.INFO):
        assert hook(ARGUMENT, source_root, s3).run() == key
    assert s3.get_object(Bucket=kms_bucket, Key=key)["Body"].read() == b"already here"
    assert f"s3://{kms_bucket}/{key} is already uploaded: skipped" in caplog.text


def test_package_lambda__bucket_without_kms_default__refused(source_root, s3, sse_s3_bucket):
    with pytest.raises(InvalidHookArgumentValueError, match=r"'s3-plain-dev-d01' has no default SSE-KMS key"):
        hook({**ARGUMENT, "bucket": sse_s3_bucket}, source_root, s3).run()
    assert s3.list_objects_v2(Bucket=sse_s3_bucket)["KeyCount"] == 0


def test_package_lambda__bucket_missing__refused_naming_the_hook_and_aws_error(source_root, s3):
    with pytest.raises(AwsCallFailed, match=r"^!package_lambda: An error occurred \(NoSuchBucket\) when calling the HeadObject"):
        hook({**ARGUMENT, "bucket": "s3-missing-dev-d01"}, source_root, s3).run()


def test_package_lambda__requirements__uploads_what_resolver_keys(with_requirements, builder, s3, kms_bucket):
    key = hook(ARGUMENT, with_requirements, s3, builder).run()
    body = s3.get_object(Bucket=kms_bucket, Key=key)["Body"].read()
    assert key == f"lambda/demo/{hashlib.sha256(body).hexdigest()}.zip"


# ---------------------------------------------------------------- hook: argument
@pytest.mark.parametrize("argument", [
    "lambda_src/demo",
    ["lambda_src/demo", "bucket"],
    {"source": "lambda_src/demo"},
    {"source": "lambda_src/demo", "bucket": "b-dev-d01", "extra": 1},
    None,
])
def test_package_lambda__argument_not_source_bucket_dict__type_error(argument, source_root):
    with pytest.raises(InvalidHookArgumentTypeError,
                       match=r"takes a dict \{source: lambda_src/<name>, bucket: .*\}; got " + re.escape(repr(argument))):
        hook(argument, source_root).run()


def test_package_lambda__bad_source__value_error(source_root):
    with pytest.raises(InvalidHookArgumentValueError, match=r"source: .*got 'src/demo'"):
        hook({**ARGUMENT, "source": "src/demo"}, source_root).run()


@pytest.mark.parametrize("bucket", ["", "Upper-Case", "a", 12, None])
def test_package_lambda__bad_bucket__value_error(bucket, source_root):
    with pytest.raises(InvalidHookArgumentValueError, match=r"bucket must be an S3 bucket name.*got bucket "):
        hook({**ARGUMENT, "bucket": bucket}, source_root).run()


def test_package_lambda__source_missing__value_error_before_any_aws_call(tmp_path):
    with pytest.raises(InvalidHookArgumentValueError, match=r"could not package 'lambda_src/demo': .*no __init__.py"):
        hook(ARGUMENT, tmp_path, s3=None).run()


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_package_lambda__sceptre_automation_config__hook_bound_to_stack_and_project(environment):
    from sceptre.context import SceptreContext
    from sceptre.plan.plan import SceptrePlan

    root = lambda_zip.ROOT
    plan = SceptrePlan(SceptreContext(project_path=str(root), command_path=f"{environment}/operations/automation.yaml"))
    (stack,) = [s for s in plan.graph if s.name == f"{environment}/operations/automation"]
    # The group's preflight (and change-control) hooks run first at every point; the packaging hooks are
    # this stack's own.
    from bluegreen_hooks.change_control import ChangeControl

    hooks = [h for event in ("before_create", "before_update", "before_create_change_set")
             for h in stack.hooks[event] if not isinstance(h, Preflight | ChangeControl)]
    assert {type(h) for h in hooks} == {PackageLambda}
    assert {(h.stack.name, h._root()) for h in hooks} == {(f"{environment}/operations/automation", root)}


# ---------------------------------------------------------------- build: repository packages (local-packages.txt)
def test_build__local_package__at_zip_root_and_in_the_hash(source_root):
    shared = source_root / "app" / "shared_pkg"
    shared.mkdir(parents=True)
    (shared / "__init__.py").write_text("VALUE = 1\n")
    (source_root / "lambda_src" / "demo" / lambda_zip.LOCAL_PACKAGES).write_text("# vendored\napp/shared_pkg\n")

    before = lambda_zip.build("demo", root=source_root)
    (shared / "__init__.py").write_text("VALUE = 2\n")
    after = lambda_zip.build("demo", root=source_root)

    names = zipfile.ZipFile(__import__("io").BytesIO(before.data)).namelist()
    assert "shared_pkg/__init__.py" in names and f"demo/{lambda_zip.LOCAL_PACKAGES}" not in names
    assert before.sha256 != after.sha256  # the vendored code's change is a new key: a redeploy


@pytest.mark.parametrize("line", ["../outside", "/etc", "app/not_a_package"])
def test_build__local_package_outside_or_not_a_package__refused(source_root, line):
    (source_root / "app" / "not_a_package").mkdir(parents=True)
    (source_root / "lambda_src" / "demo" / lambda_zip.LOCAL_PACKAGES).write_text(line + "\n")

    with pytest.raises(lambda_zip.LambdaSourceError, match="is not a Python package folder of this repository"):
        lambda_zip.build("demo", root=source_root)
