"""hooks/empty_bucket.py against moto's S3 (in process) and CloudFormation (moto server),
the stack-output cases through a real Sceptre Stack and its connection manager."""

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sceptre.exceptions import (
    InvalidHookArgumentTypeError,
    InvalidHookArgumentValueError,
    ProtectedStackError,
    SceptreException,
)
from sceptre.stack import Stack

from bluegreen.environments import read_config
from bluegreen_hooks.empty_bucket import EmptyBucket
from tests.test_hooks.conftest import fill_versioned

ROOT = Path(__file__).resolve().parents[2]


def versions(s3, bucket):
    listed = s3.list_object_versions(Bucket=bucket)
    return listed.get("Versions", []) + listed.get("DeleteMarkers", [])


def sceptre_stack(argument, protected=False, emptying_allowed=True):
    """The artifacts stack as Sceptre builds it from config/dev/operations/artifacts.yaml, with this hook."""
    stack = Stack(
        name="dev/operations/artifacts",
        project_code="payments",
        region="us-east-1",
        template_handler_config={"type": "file", "path": "artifacts.py"},
        protected=protected,
        hooks={"before_delete": [EmptyBucket(argument)]},
        stack_group_config={"empty_buckets_on_delete": emptying_allowed},
    )
    return stack, stack.hooks["before_delete"][0]


# ---------------------------------------------------------------- emptying
def test_empty_bucket__versioned_bucket__every_version_and_delete_marker_deleted(s3, versioned_bucket):
    bucket, count = versioned_bucket
    assert len(versions(s3, bucket)) == count
    assert EmptyBucket({"bucket": bucket}, s3_client=s3).run() == {bucket: count}
    assert versions(s3, bucket) == []
    s3.delete_bucket(Bucket=bucket)  # what CloudFormation does next: it must now succeed


def test_empty_bucket__more_than_one_delete_batch__all_deleted(s3):
    s3.create_bucket(Bucket="s3-big-dev-d01")
    count = fill_versioned(s3, "s3-big-dev-d01", keys=[f"k{i:04d}" for i in range(501)])
    assert count > 1000
    assert EmptyBucket(["s3-big-dev-d01"], s3_client=s3).run() == {"s3-big-dev-d01": count}
    assert versions(s3, "s3-big-dev-d01") == []


def test_empty_bucket__list_of_buckets__each_emptied_in_order(s3):
    for bucket in ("s3-one-dev-d01", "s3-two-dev-d01"):
        s3.create_bucket(Bucket=bucket)
        fill_versioned(s3, bucket)
    result = EmptyBucket({"buckets": ["s3-one-dev-d01", "s3-two-dev-d01"]}, s3_client=s3).run()
    assert list(result) == ["s3-one-dev-d01", "s3-two-dev-d01"]
    assert versions(s3, "s3-one-dev-d01") == versions(s3, "s3-two-dev-d01") == []


def test_empty_bucket__bucket_already_gone__skipped(s3):
    assert EmptyBucket({"bucket": "s3-gone-dev-d01"}, s3_client=s3).run() == {"s3-gone-dev-d01": 0}


def test_empty_bucket__version_under_compliance_lock__error_names_the_object(s3):
    s3.create_bucket(Bucket="s3-locked-dev-d01", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="s3-locked-dev-d01", Key="locked.zip", Body=b"x",
                  ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate="2099-01-01T00:00:00Z")
    with pytest.raises(SceptreException, match=r"object versions in s3-locked-dev-d01 were not deleted, e\.g\. 'locked\.zip'"):
        EmptyBucket({"bucket": "s3-locked-dev-d01"}, s3_client=s3).run()


# ---------------------------------------------------------------- the stack's own outputs
def test_empty_bucket__outputs_of_its_own_stack__those_buckets_emptied(server_aws, artifacts_stack):
    _, hook = sceptre_stack({"outputs": ["ArtifactBucketName", "AccessLogBucketName"]})
    assert hook.run() == {"s3-artifacts-dev-d01": 7, "s3-access-logs-dev-d01": 7}
    s3 = server_aws.client("s3")
    assert versions(s3, "s3-artifacts-dev-d01") == versions(s3, "s3-access-logs-dev-d01") == []


def test_empty_bucket__stack_does_not_exist__nothing_to_empty(server_aws):
    _, hook = sceptre_stack({"outputs": ["ArtifactBucketName"]})
    assert hook.run() == {}


def test_empty_bucket__output_key_unknown__error_lists_the_outputs(artifacts_stack):
    _, hook = sceptre_stack({"outputs": ["ArtifactBucket"]})
    with pytest.raises(InvalidHookArgumentValueError, match=r"no outputs \['ArtifactBucket'\].*'AccessLogBucketName', 'ArtifactBucketName'"):
        hook.run()


def test_empty_bucket__protected_stack__refused_before_anything_is_deleted(server_aws, artifacts_stack):
    _, hook = sceptre_stack({"outputs": ["ArtifactBucketName"]}, protected=True)
    with pytest.raises(ProtectedStackError, match="'dev/operations/artifacts': the stack is protected"):
        hook.run()
    assert len(versions(server_aws.client("s3"), "s3-artifacts-dev-d01")) == 7


def test_empty_bucket__group_config_does_not_allow_emptying__refused_before_anything_is_deleted(server_aws, artifacts_stack):
    _, hook = sceptre_stack({"outputs": ["ArtifactBucketName"]}, emptying_allowed=False)
    with pytest.raises(ProtectedStackError, match="does not set empty_buckets_on_delete: true"):
        hook.run()
    assert len(versions(server_aws.client("s3"), "s3-artifacts-dev-d01")) == 7


@pytest.mark.parametrize("env,allowed", [("dev", True), ("prod", False)])
def test_empty_bucket__group_configs__dev_tears_down_prod_keeps_its_logs(env, allowed):
    config = read_config(ROOT / "config" / env / "config.yaml", env, ROOT)
    assert config["empty_buckets_on_delete"] is allowed


# ---------------------------------------------------------------- argument
@pytest.mark.parametrize("argument", [
    "s3-artifacts-dev-d01",
    {},
    {"bucket": "a-bucket", "buckets": ["b-bucket"]},
    {"name": "a-bucket"},
    None,
])
def test_empty_bucket__argument_of_wrong_shape__error_shows_the_value(argument):
    with pytest.raises(InvalidHookArgumentTypeError, match=r"!empty_bucket takes \{bucket: <name>\}.*got " + re.escape(repr(argument))):
        EmptyBucket(argument).run()


@pytest.mark.parametrize("argument", [[], [""], [3], {"buckets": "a-bucket"}, {"bucket": ""}, {"outputs": []}])
def test_empty_bucket__no_usable_names__error_shows_the_value(argument):
    with pytest.raises(InvalidHookArgumentTypeError, match=r"needs one or more non-empty strings .*got " + re.escape(repr(argument))):
        EmptyBucket(argument).run()


def test_empty_bucket__not_a_bucket_name__error_names_it():
    with pytest.raises(InvalidHookArgumentValueError, match=r"not S3 bucket names: \['Not_A_Bucket'\]"):
        EmptyBucket(["Not_A_Bucket"]).run()


def test_empty_bucket__entry_point__registered_for_sceptre():
    (entry,) = [e for e in entry_points(group="sceptre.hooks") if e.name == "empty_bucket"]
    assert entry.load() is EmptyBucket
