"""The nested parent's Sceptre stack config (config/nested-<env>/main.yaml), its template handler and
hooks, and what is left of python -m bluegreen.package: uploads against moto, the parent's stack as
Sceptre reads it, the emptying guard, the change set with nested stacks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sceptre.context import SceptreContext
from sceptre.exceptions import InvalidHookArgumentTypeError, ProtectedStackError
from sceptre.plan.plan import SceptrePlan
from sceptre.stack_status import StackChangeSetStatus

from bluegreen import environments, lambda_zip, nested, package
from bluegreen_hooks.empty_nested_buckets import EmptyNestedBuckets
from bluegreen_hooks.package_nested import NestedPackagingError, PackageNested
from tests.test_nested.conftest import ENVS, ROOT

BUCKET = "packages-123456789012-us-east-1"
#: Every Sceptre hook point that uploads before CloudFormation is called for the parent.
UPLOAD_POINTS = ("before_create", "before_update", "before_create_change_set")


def fake_build(name: str, *, root: Path = ROOT) -> lambda_zip.Package:
    """Stands in for lambda_zip.build: no pip, a distinct and stable payload per Lambda."""
    data = f"zip of {name}".encode()
    return lambda_zip.Package(name=name, data=data, sha256=hashlib.sha256(data).hexdigest())


def parent_stack(env: str, **variables):
    """Sceptre's stack of config/nested-<env>/main.yaml (no AWS call)."""
    context = SceptreContext(project_path=str(ROOT), command_path=f"nested-{env}/main.yaml",
                             user_variables={"packaging_bucket": BUCKET, **variables})
    (stack,) = [s for s in SceptrePlan(context).graph if s.name == f"nested-{env}/main"]
    return stack


def kinds(hooks) -> list[str]:
    return [type(h).__name__ for h in hooks]


@pytest.fixture(scope="module")
def parents():
    return {env: nested.generate(env) for env in ENVS}


@pytest.fixture
def kms_key(aws):
    return aws.client("kms").create_key(Description="packaging")["KeyMetadata"]["Arn"]


@pytest.fixture
def bucket(aws, kms_key):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}}]})
    return BUCKET


def keys(aws, bucket=BUCKET) -> set[str]:
    return {o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}


def split(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    assert parsed.scheme == "https" and parsed.netloc.endswith(".s3.us-east-1.amazonaws.com"), url
    return parsed.netloc.split(".s3.")[0], parsed.path.lstrip("/")


# ------------------------------------------------------------------------------------ the stack config
@pytest.mark.parametrize("env", ENVS)
def test_parent_config__group_config__the_environments_own(env, sceptre):
    stack = parent_stack(env)
    child = next(iter(sceptre[env].values()))
    shared = set(child.stack_group_config) - {"project_path"}
    assert {k: stack.stack_group_config.get(k) for k in shared} == {k: child.stack_group_config[k] for k in shared}
    assert stack.external_name == f"payments-{env}-main"
    assert stack.tags == child.tags


@pytest.mark.parametrize("env", ENVS)
def test_parent_config__parameters__exactly_what_the_parent_needs_and_the_identity(env, parents):
    stack = parent_stack(env)
    given = environments.unresolved_parameters(stack)
    declared = json.loads(nested.cfn.to_json(parents[env].template))["Parameters"]
    assert set(given) == set(declared)
    assert all(given[k] == declared[k]["Default"] for k in nested.cfn.IDENTITY_PARAMETERS)
    code = {k: v._argument for k, v in given.items() if k.endswith(nested.CODE_KEY_SUFFIX)}
    assert code == {k: f"lambda_src/{name}" for k, name in parents[env].lambda_code.items()}
    assert [nested.tag_of(v) for k, v in given.items() if k.endswith(nested.CODE_KEY_SUFFIX)] == \
        ["lambda_code_key"] * len(code)
    assert given[nested.CODE_BUCKET] == BUCKET


@pytest.mark.parametrize("env", ENVS)
def test_parent_config__green_weight__the_ssm_parameter_the_stacks_read_and_write(env, parents):
    stack = parent_stack(env)
    weight = environments.unresolved_parameters(stack)[nested.GREEN_WEIGHT]
    assert nested.tag_of(weight) == "traffic_weight" and weight._argument["colour"] == "green"
    assert (weight._argument["green_weight"]._argument,) == parents[env].green_weight_sources
    records = [h._argument["parameter_name"] for point in ("after_create", "after_update")
               for h in stack.hooks[point] if nested.tag_of(h) == "record_green_weight"]
    assert set(records) == set(parents[env].green_weight_records) and len(records) == 2


def test_parent_config__weight_in_ssm__the_parent_is_given_it(aws, parents):
    aws.client("ssm").put_parameter(Name=parents["prod"].green_weight_sources[0], Value="25", Type="String")
    assert environments.unresolved_parameters(parent_stack("prod"))[nested.GREEN_WEIGHT].resolve() == "25"


def test_parent_config__no_weight_in_ssm__refused_not_guessed(aws, parents):
    # Sceptre resolves the parameters before its first CloudFormation call: nothing is deployed.
    from resolver.exceptions import ParameterNotFoundError  # sceptre-ssm-resolver's

    with pytest.raises(ParameterNotFoundError):
        environments.unresolved_parameters(parent_stack("prod"))[nested.GREEN_WEIGHT].resolve()


def test_parent_config__var_green_weight__the_literal_split():
    weight = environments.unresolved_parameters(parent_stack("dev", green_weight="30"))[nested.GREEN_WEIGHT]
    assert weight.resolve() == "30"


@pytest.mark.parametrize("env", ENVS)
def test_parent_config__hooks__preflight_then_upload_before_aws_and_emptying_before_delete(env):
    hooks = parent_stack(env).hooks
    for point in UPLOAD_POINTS:
        # The change control (prod: reviewed change sets only) runs where the parent is launched or updated.
        expected = ["Preflight", "PackageNested"] if point == "before_create_change_set" else ["Preflight", "ChangeControl", "PackageNested"]
        assert kinds(hooks[point]) == expected, point
    assert kinds(hooks["before_delete"]) == ["EmptyNestedBuckets"]


@pytest.mark.parametrize("env", ENVS)
def test_parent_config__user_data__the_environment_bucket_region_and_project(env):
    assert package.settings(parent_stack(env).sceptre_user_data) == (env, BUCKET, "us-east-1", ROOT, {
        "packaging_bucket": BUCKET})


def test_parent_config__no_bucket__the_handler_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("PACKAGING_BUCKET", raising=False)
    context = SceptreContext(project_path=str(ROOT), command_path="nested-dev/main.yaml")
    (stack,) = list(SceptrePlan(context).graph)
    with pytest.raises(package.PackageError, match=r"no packaging bucket: run with --var packaging_bucket=<bucket> "
                                                   r"or set PACKAGING_BUCKET"):
        package.packaged_template(nested.generate("dev"), stack.sceptre_user_data["bucket"], "us-east-1")


def test_environments__nested_groups__not_environments_of_their_own():
    from bluegreen.environments import EnvironmentConfigError, known_environments, load_environment

    assert known_environments(ROOT) == ["dev", "prod"]
    with pytest.raises(EnvironmentConfigError, match=r"environment is 'dev' but the folder is 'nested-dev' "
                                                     r"\(config/nested-dev deploys 'dev': use 'dev'\)"):
        load_environment("nested-dev", ROOT)


# ------------------------------------------------------------------------------------ the template handler
def test_handler__sceptre_renders_the_parent__packaged_compact_and_within_the_body_limit():
    body = parent_stack("prod").template.body
    assert len(body.encode()) <= 51_200  # CloudFormation's TemplateBody limit: Sceptre sends it inline
    template = json.loads(body.removeprefix("---\n"))  # Sceptre's YAML document marker; JSON is YAML
    committed = json.loads((ROOT / "templates" / "main.json").read_text())
    urls = {}
    for logical, resource in template["Resources"].items():
        urls[logical] = split(resource["Properties"]["TemplateURL"])
        resource["Properties"]["TemplateURL"] = committed["Resources"][logical]["Properties"]["TemplateURL"]
    assert template == committed
    parent = nested.generate("prod")
    assert urls == {logical: (BUCKET, key) for logical, (key, _) in package.child_objects(parent).items()}


# ------------------------------------------------------------------------------------ uploads
DEV_CA_BUNDLE = ROOT / "config" / "dev" / "mtls" / "client-ca-bundle.pem"


def pki_owner_uploads_prod_ca_bundle(aws, parent, bucket=BUCKET):
    """Prod names its trust store's CA bundle by key only: the PKI owner puts it in the bucket."""
    (kind, key, file), = parent.trust_store_objects
    assert (kind, file) == ("CA bundle", "")
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=DEV_CA_BUNDLE.read_bytes())
    return key


@pytest.fixture
def uploaded(aws, bucket, parents):
    pki_owner_uploads_prod_ca_bundle(aws, parents["prod"])
    return package.upload(parents["prod"], bucket, aws.client("s3"), builder=fake_build)


def test_upload__kms_bucket__every_child_template_and_lambda_zip(aws, uploaded, parents):
    parent = parents["prod"]
    expected = {key for key, _ in package.child_objects(parent).values()}
    expected |= {fake_build(name).key for name in parent.lambda_code.values()}
    bundle = parent.trust_store_objects[0][1]
    assert keys(aws) == expected | {bundle} == set(uploaded)
    assert all(v for k, v in uploaded.items() if k != bundle) and uploaded[bundle] is False  # there already


def test_upload__prod_ca_bundle_missing__refused_naming_the_key(aws, bucket, parents):
    with pytest.raises(package.PackageError, match="client-ca-bundle.pem is missing"):
        package.upload(parents["prod"], bucket, aws.client("s3"), builder=fake_build)


def test_upload__dev_ca_bundle_and_crl_files__put_at_their_keys_once(aws, bucket, parents):
    objects = parents["dev"].trust_store_objects
    assert [kind for kind, _, _ in objects] == ["CA bundle", "revocation list"]
    first = package.upload(parents["dev"], bucket, aws.client("s3"), builder=fake_build)
    again = package.upload(parents["dev"], bucket, aws.client("s3"), builder=fake_build)
    for _, key, file in objects:
        assert first[key] is True and again[key] is False
        assert aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == (ROOT / file).read_bytes()


def test_upload__each_template_url__holds_its_child(aws, uploaded, parents):
    template = package.packaged_template(parents["prod"], BUCKET, "us-east-1")
    s3 = aws.client("s3")
    for logical, filename in parents["prod"].children.items():
        bucket, key = split(template["Resources"][logical]["Properties"]["TemplateURL"])
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == (ROOT / "templates" / filename).read_bytes()


def test_upload__objects__sse_kms_under_the_buckets_key(aws, uploaded, kms_key, parents):
    s3 = aws.client("s3")
    for key in keys(aws) - {parents["prod"].trust_store_objects[0][1]}:  # that one is the PKI owner's
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms_key), key


def test_upload__second_run__uploads_nothing(aws, bucket, uploaded, parents):
    again = package.upload(parents["prod"], bucket, aws.client("s3"), builder=fake_build)
    assert set(again) == set(uploaded) and not any(again.values())


def test_upload__missing_bucket__raises_saying_so(aws, parents):
    with pytest.raises(package.PackageError, match=r"bucket 'nowhere-bucket' does not exist"):
        package.upload(parents["prod"], "nowhere-bucket", aws.client("s3"), builder=fake_build)


def test_upload__bucket_without_kms_key__refused_and_nothing_uploaded(aws, parents):
    aws.client("s3").create_bucket(Bucket="plain-bucket")
    with pytest.raises(package.PackageError, match=r"bucket 'plain-bucket' has no default SSE-KMS key"):
        package.upload(parents["prod"], "plain-bucket", aws.client("s3"), builder=fake_build)
    assert keys(aws, "plain-bucket") == set()


def test_upload__lambda_source_broken__raises_naming_it(aws, bucket, parents):
    def broken(name, *, root):
        raise lambda_zip.LambdaSourceError("requirement must be pinned")
    with pytest.raises(package.PackageError, match=r"cannot build lambda_src/\w+: requirement must be pinned"):
        package.upload(parents["prod"], bucket, aws.client("s3"), builder=broken)


def test_settings__other_keys__refused_naming_the_expected():
    with pytest.raises(package.PackageError, match=r"sceptre_user_data takes exactly \['bucket', 'environment'"):
        package.settings({"environment": "dev"})


# ------------------------------------------------------------------------------------ the hooks
def test_package_nested_hook__parent_stack__uploads_what_the_handler_names(aws, bucket):
    stack = parent_stack("prod")
    (hook,) = [h for h in stack.hooks["before_create"] if isinstance(h, PackageNested)]
    hook._s3_client, hook._builder = aws.client("s3"), fake_build
    bundle = pki_owner_uploads_prod_ca_bundle(aws, nested.generate("prod"))
    done = hook.run()
    template = json.loads(stack.template.body.removeprefix("---\n"))
    named = {split(r["Properties"]["TemplateURL"])[1] for r in template["Resources"].values()}
    assert named <= set(done) and named <= keys(aws)
    assert set(done) - named == {fake_build(n).key for n in ("schema_migration", "ssm_parameter", "traffic_shifter")} | {bundle}


def test_package_nested_hook__bucket_without_kms_key__refused_naming_the_stack(aws):
    aws.client("s3").create_bucket(Bucket=BUCKET)
    stack = parent_stack("dev")
    (hook,) = [h for h in stack.hooks["before_update"] if isinstance(h, PackageNested)]
    hook._s3_client, hook._builder = aws.client("s3"), fake_build
    with pytest.raises(NestedPackagingError, match=rf"^nested-dev/main - bucket '{BUCKET}' has no default SSE-KMS"):
        hook.run()


@pytest.mark.parametrize("hook", [PackageNested, EmptyNestedBuckets])
def test_nested_hooks__argument_given__refused(hook):
    with pytest.raises(InvalidHookArgumentTypeError, match=r"takes no argument"):
        hook({"bucket": "x"}).setup()


class NestedStacks:
    """CloudFormation as the emptying hook sees the parent (moto's CloudFormation does not import in this
    venv: sceptre's jsonschema pin): each nested stack's outputs by logical ID; None = parent gone."""

    def __init__(self, outputs: dict[str, dict[str, str]] | None):
        self.outputs = outputs
        self.calls: list[str] = []

    def _missing(self, name):
        from botocore.exceptions import ClientError
        return ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack {name} does not exist"}}, "Describe")

    def describe_stack_resource(self, StackName, LogicalResourceId):
        self.calls.append(LogicalResourceId)
        if self.outputs is None or LogicalResourceId not in self.outputs:
            raise self._missing(StackName)
        return {"StackResourceDetail": {"PhysicalResourceId": f"arn:stack/{LogicalResourceId}"}}

    def describe_stacks(self, StackName):
        logical = StackName.split("/")[-1]
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs[logical].items()]}]}


def test_empty_nested_buckets__dev_parent__the_nested_stacks_buckets_emptied_in_reverse_launch_order(aws):
    from tests.test_hooks.conftest import fill_versioned

    s3 = aws.client("s3")
    names = {"ArtifactBucketName": "s3-artifacts", "AccessLogBucketName": "s3-access-logs",
             "AlbLogBucketName": "s3-alb-logs", "TrailBucketName": "s3-trail"}
    for name in names.values():
        s3.create_bucket(Bucket=name)
        fill_versioned(s3, name)
    outputs = {"ArtifactsStack": {k: names[k] for k in ("ArtifactBucketName", "AccessLogBucketName")},
               "AlbStack": {"AlbLogBucketName": names["AlbLogBucketName"]},
               "AuditStack": {"TrailBucketName": names["TrailBucketName"], "TrailName": "not a bucket"}}
    stack = parent_stack("dev")
    (hook,) = stack.hooks["before_delete"]
    hook._s3_client, hook._cloudformation_client = s3, NestedStacks(outputs)
    emptied = hook.run()
    assert list(emptied) == ["s3-trail", "s3-alb-logs", "s3-artifacts", "s3-access-logs"]
    assert all(s3.list_object_versions(Bucket=b).get("Versions") is None for b in names.values())


def test_empty_nested_buckets__parent_gone__nothing_to_empty(aws):
    (hook,) = parent_stack("dev").hooks["before_delete"]
    hook._s3_client, hook._cloudformation_client = aws.client("s3"), NestedStacks(None)
    assert hook.run() == {}


def test_empty_nested_buckets__prod_parent__refused_before_any_call():
    (hook,) = parent_stack("prod").hooks["before_delete"]
    cfn = hook._cloudformation_client = NestedStacks({})
    with pytest.raises(ProtectedStackError, match=r"does not set empty_buckets_on_delete: true"):
        hook.run()
    assert cfn.calls == []


# ------------------------------------------------------------------------------------ the change set
class Calls:
    """Sceptre's connection manager, recording calls."""

    def __init__(self):
        self.calls = []

    def call(self, service, command, kwargs=None, **_):
        self.calls.append((service, command, kwargs))
        return {}


def test_nested_actions__create_change_set__includes_the_nested_stacks():
    actions = package.nested_actions(parent_stack("prod"))
    actions.connection_manager = manager = Calls()
    actions._create_change_set("release-42", {"StackName": "payments-prod-main", "ChangeSetName": "release-42"})
    assert manager.calls == [("cloudformation", "create_change_set", {
        "StackName": "payments-prod-main", "ChangeSetName": "release-42", "IncludeNestedStacks": True})]


class ChangeSetActions:
    """What create_change_set() drives: Sceptre's StackActions, with the change set's fate chosen."""

    def __init__(self, status, described):
        self.status, self.described = status, described
        self.stack = parent_stack("prod")
        self.created = []

    def create_change_set(self, name):
        self.created.append(name)

    def wait_for_cs_completion(self, name):
        return self.status

    def describe_change_set(self, name):
        return self.described


def test_create_change_set__ready__changes_printed_with_the_sceptre_commands_to_go_on():
    actions = ChangeSetActions(StackChangeSetStatus.READY, {"Status": "CREATE_COMPLETE", "Changes": [
        {"ResourceChange": {"Action": "Modify", "LogicalResourceId": "ComputeStack",
                            "ResourceType": "AWS::CloudFormation::Stack"}}]})
    lines = []
    assert package.create_change_set(actions, "release-42", out=lines.append) == "READY"
    assert actions.created == ["release-42"]
    assert any("Modify" in line and "ComputeStack" in line for line in lines)
    assert lines[-1] == ("review: sceptre describe change-set nested-prod/main.yaml release-42; "
                         "run: sceptre execute nested-prod/main.yaml release-42")


def test_create_change_set__no_changes__said_and_not_a_failure():
    actions = ChangeSetActions(StackChangeSetStatus.NO_CHANGES, {"Status": "FAILED"})
    lines = []
    assert package.create_change_set(actions, "cs", out=lines.append) == "NO_CHANGES"
    assert lines == ["payments-prod-main: change set cs has no changes"]


def test_create_change_set__failed__raises_with_the_reason():
    actions = ChangeSetActions(StackChangeSetStatus.DEFUNCT, {"Status": "FAILED",
                                                             "StatusReason": "Parameter GreenWeight failed"})
    with pytest.raises(package.PackageError, match=r"change set cs of payments-prod-main is FAILED: Parameter"):
        package.create_change_set(actions, "cs", out=lambda line: None)


def test_main__environment_without_a_parent_config__exit_1_saying_so(capsys, tmp_path):
    (tmp_path / "config" / "qa").mkdir(parents=True)
    assert package.main(["--env", "qa", "--change-set", "cs"], root=tmp_path) == 1
    assert "no parent stack config config/nested-qa/main.yaml" in capsys.readouterr().err


def test_main__no_change_set_name__usage_error(capsys):
    with pytest.raises(SystemExit):
        package.main(["--env", "dev"])
    assert "--change-set" in capsys.readouterr().err
