"""Packaging the nested parent for its Sceptre stack config (config/nested-<env>/main.yaml).

Sceptre deploys the parent like every other stack (create, update, change sets, diff, status,
delete); this module holds the plain functions its template handler and hooks call:

* ``packaged_template`` (templates/main.py, the handler): the parent of ``bluegreen.nested`` with
  every TemplateURL the https S3 URL of its child under ``templates/<stack>/<sha256>.json``;
* ``upload`` (the ``!package_nested`` hook, before create, update and change sets): those child
  templates and every Lambda zip the parent's code parameters name (``bluegreen.lambda_zip``: the same
  bytes and ``lambda/<name>/<sha256>.zip`` key as ``!package_lambda`` and ``!lambda_code_key``), each
  only when its content-addressed key is not there yet, with SSE-KMS under the bucket's own default
  key; a bucket without one is refused.

What Sceptre cannot do is the one command left here: a change set that shows the nested stacks'
changes too (CloudFormation's ``IncludeNestedStacks``, which ``sceptre create-change-set`` does not
pass), for a change board that reviews one change set per release::

    python -m bluegreen.package --env prod --change-set release-42
    sceptre describe change-set nested-prod/main.yaml release-42     # Sceptre's own from here on
    sceptre execute nested-prod/main.yaml release-42

It runs through Sceptre's own stack actions, so the stack config's hooks (preflight, the upload)
and parameters are the ones ``sceptre create-change-set`` would use. Exit status 0 when the change
set is ready (or has no changes), 1 otherwise, with a message that says what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bluegreen import cfn, lambda_zip, nested
from bluegreen.s3_objects import default_kms_key, object_exists

ROOT = nested.ROOT
TEMPLATE_PREFIX = "templates"
#: The parent's stack config under each environment's nested group: config/nested-<env>/main.yaml.
NESTED_GROUP = "nested-{env}"
PARENT_CONFIG = "main.yaml"

Printer = Callable[[str], None]


class PackageError(RuntimeError):
    """Packaging cannot go on; the message says why and what to do."""


def s3_url(bucket: str, key: str, region: str) -> str:
    """The virtual-hosted https URL CloudFormation takes as a TemplateURL."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def template_key(name: str, data: bytes) -> str:
    return f"{TEMPLATE_PREFIX}/{name}/{hashlib.sha256(data).hexdigest()}.json"


def child_objects(parent: nested.Parent, root: Path = ROOT) -> dict[str, tuple[str, bytes]]:
    """logical ID -> (S3 key, bytes) of each child template the parent nests."""
    found = {}
    for logical, filename in parent.children.items():
        data = (Path(root) / nested.TEMPLATES_DIR / filename).read_bytes()
        found[logical] = (template_key(Path(filename).stem, data), data)
    return found


def packaged_template(parent: nested.Parent, bucket: str, region: str, root: Path = ROOT) -> dict:
    """The parent as a dict, each TemplateURL the S3 URL ``upload`` puts its child at."""
    check_bucket_name(bucket)
    template = json.loads(cfn.to_json(parent.template))
    for logical, (key, _) in child_objects(parent, root).items():
        template["Resources"][logical]["Properties"]["TemplateURL"] = s3_url(bucket, key, region)
    return template


def check_bucket_name(bucket: Any) -> None:
    if not isinstance(bucket, str) or not bucket:
        raise PackageError(
            "no packaging bucket: run with --var packaging_bucket=<bucket> or set PACKAGING_BUCKET (the bucket "
            "with a default SSE-KMS key of docs/deployment.md, 'The packaging bucket')"
        )


def bucket_kms_key(s3: Any, bucket: str) -> str:
    """The bucket's default SSE-KMS key; a missing bucket or one without such a key is refused."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise PackageError(
                f"bucket {bucket!r} does not exist: create the packaging bucket first (docs/deployment.md, "
                "'The packaging bucket')"
            ) from err
        if code in ("403", "AccessDenied", "Forbidden"):
            raise PackageError(f"bucket {bucket!r} exists but these credentials may not use it (403)") from err
        raise
    key = default_kms_key(s3, bucket)
    if key:
        return key
    raise PackageError(
        f"bucket {bucket!r} has no default SSE-KMS key: Lambda code and templates are only uploaded to a bucket "
        "encrypted with a customer-managed KMS key (aws s3api put-bucket-encryption, docs/deployment.md)"
    )


def put(s3: Any, bucket: str, key: str, data: bytes, kms_key: str, content_type: str,
        metadata: dict[str, str]) -> bool:
    """Put ``data`` at ``key`` unless it is there (keys are content-addressed); True when uploaded."""
    if object_exists(s3, bucket, key):
        return False
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=kms_key, ChecksumAlgorithm="SHA256", Metadata=metadata)
    return True


def put_trust_store_object(s3: Any, bucket: str, kind: str, key: str, file: str, kms_key: str, root: Path) -> bool:
    """The trust store's CA bundle or CRL, as !upload_trust_store puts it into the artifacts bucket for the
    Sceptre stacks: from its file when the config names one, else it must be in the bucket already."""
    from bluegreen import trust_store

    if not file:
        if not object_exists(s3, bucket, key):
            raise PackageError(trust_store.missing_message(kind, bucket, key))
        return False
    path = Path(root) / file
    if not path.is_file():
        raise PackageError(f"{file} (the trust store's {kind}) does not exist")
    data = path.read_bytes()
    try:
        trust_store.check(kind, data)
    except trust_store.TrustStoreError as err:
        raise PackageError(f"{file}: {err}") from err
    if trust_store.same_object(s3, bucket, key, data):
        return False
    trust_store.put(s3, bucket, key, data, kms_key)
    return True


def upload(parent: nested.Parent, bucket: str, s3: Any, *, root: Path = ROOT,
           builder: Callable[..., lambda_zip.Package] = lambda_zip.build) -> dict[str, bool]:
    """Every child template and Lambda zip of the parent into ``bucket``; {key: True if uploaded now}."""
    check_bucket_name(bucket)
    kms_key = bucket_kms_key(s3, bucket)
    done: dict[str, bool] = {}
    for name in parent.lambda_code.values():
        try:
            built = builder(name, root=Path(root))
        except lambda_zip.LambdaSourceError as err:
            raise PackageError(f"cannot build lambda_src/{name}: {err}") from err
        done[built.key] = put(s3, bucket, built.key, built.data, kms_key, "application/zip",
                              {"sha256": built.sha256, "source": f"lambda_src/{name}"})
    for kind, key, file in parent.trust_store_objects:
        done[key] = put_trust_store_object(s3, bucket, kind, key, file, kms_key, root)
    for logical, (key, data) in child_objects(parent, root).items():
        done[key] = put(s3, bucket, key, data, kms_key, "application/json",
                        {"source": f"templates/{parent.children[logical]}"})
    return done


def settings(user_data: Mapping[str, Any] | None) -> tuple[str, str, str, Path, dict[str, Any]]:
    """(environment, bucket, region, project path, variables) from the parent's sceptre_user_data."""
    data = dict(user_data or {})
    expected = {"environment", "bucket", "region", "project_path", "variables"}
    if set(data) != expected:
        raise PackageError(f"the parent's sceptre_user_data takes exactly {sorted(expected)}, got {sorted(data)}: "
                           "see config/nested-dev/main.yaml")
    return (str(data["environment"]), data["bucket"], str(data["region"]), Path(data["project_path"]),
            dict(data["variables"] or {}))


# ------------------------------------------------------------------------------------ the change set
def parent_stack(env: str, root: Path = ROOT, variables: Mapping[str, Any] | None = None) -> Any:
    """Sceptre's stack of the parent of ``env`` (config/nested-<env>/main.yaml)."""
    from bluegreen.environments import EnvironmentConfigError, stacks

    path = f"{NESTED_GROUP.format(env=env)}/{PARENT_CONFIG}"
    if not (Path(root) / nested.CONFIG_DIR / path).is_file():
        raise PackageError(f"no parent stack config config/{path}: the nested way of {env} is not set up")
    try:
        (stack,) = stacks(Path(root), path, variables)
    except EnvironmentConfigError as err:
        raise PackageError(str(err)) from err
    return stack


def nested_actions(stack: Any) -> Any:
    """Sceptre's StackActions for ``stack``, whose change sets include the nested stacks' changes."""
    from sceptre.plan.actions import StackActions

    class NestedChangeSets(StackActions):
        def _create_change_set(self, change_set_name, create_change_set_kwargs):
            super()._create_change_set(change_set_name, {**create_change_set_kwargs, "IncludeNestedStacks": True})

    return NestedChangeSets(stack)


def create_change_set(actions: Any, name: str, *, out: Printer = print) -> str:
    """Create the change set through Sceptre (its hooks run), wait, print its changes; returns its status."""
    from sceptre.stack_status import StackChangeSetStatus

    actions.create_change_set(name)
    try:
        status = actions.wait_for_cs_completion(name)
    except Exception as err:  # Sceptre logs a failed CreateChangeSet and carries on: say so here
        raise PackageError(f"change set {name} of {actions.stack.external_name} was not created ({err}); the "
                           "lines above say why") from err
    described = actions.describe_change_set(name)
    if status == StackChangeSetStatus.NO_CHANGES:
        out(f"{actions.stack.external_name}: change set {name} has no changes")
        return "NO_CHANGES"
    if status != StackChangeSetStatus.READY:
        raise PackageError(f"change set {name} of {actions.stack.external_name} is {described.get('Status')}: "
                           f"{described.get('StatusReason', '')}")
    out(f"change set {name} of {actions.stack.external_name} (with the nested stacks' changes):")
    for change in described.get("Changes", []):
        rc = change.get("ResourceChange", {})
        replacement = f" replacement={rc['Replacement']}" if rc.get("Replacement") else ""
        out(f"  {rc.get('Action', '?'):8} {rc.get('LogicalResourceId', '?'):24} {rc.get('ResourceType', '')}{replacement}")
    out(f"review: sceptre describe change-set {actions.stack.name}.yaml {name}; "
        f"run: sceptre execute {actions.stack.name}.yaml {name}")
    return "READY"


def main(argv: list[str] | None = None, *, root: Path | None = None, out: Printer = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.package", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=nested.DEFAULT_ENV, help="environment whose parent to review (default prod)")
    parser.add_argument("--change-set", required=True, metavar="NAME",
                        help="name of the change set to create over the parent and every nested stack")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE",
                        help="a Sceptre --var, e.g. packaging_bucket=... or green_image_tag=1.4.2 (repeatable)")
    parser.add_argument("--dir", type=Path, help="the project folder, as sceptre --dir (default: the one holding "
                                                 "config/config.yaml, from the current folder up)")
    args = parser.parse_args(argv)
    if args.dir is not None:
        root = args.dir
    elif root is None:
        from bluegreen.environments import find_project_root

        root = find_project_root()
    variables = {}
    for pair in args.var:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"--var takes KEY=VALUE, got {pair!r}")
        variables[key] = value
    from botocore.exceptions import BotoCoreError, ClientError
    from sceptre.exceptions import SceptreException

    try:
        stack = parent_stack(args.env, root, variables)
        create_change_set(nested_actions(stack), args.change_set, out=out)
        return 0
    except (PackageError, nested.NestedError, SceptreException) as err:
        print(f"bluegreen.package: {err}", file=sys.stderr)
    except (ClientError, BotoCoreError) as err:
        print(f"bluegreen.package: AWS refused: {err} (credentials: AWS_PROFILE or the AWS_* variables; the "
              "emulator: eval \"$(scripts/emulator env)\")", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
