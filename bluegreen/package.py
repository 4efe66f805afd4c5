"""Package the nested parent of a stack group into S3 and, on request, deploy it.

    python -m bluegreen.package --env prod --bucket <packaging bucket>
    python -m bluegreen.package --env prod --bucket <packaging bucket> --deploy [--stack-name NAME]
                                [--green-weight N] [--parameter KEY=VALUE ...] [--review-only] [--direct]
    python -m bluegreen.package --env dev --delete [--stack-name NAME]

What ``aws cloudformation package`` would do for the parent of ``bluegreen.nested``, plus the work of
the Sceptre hooks, which have no nested-stack equivalent:

1. builds every Lambda the stack configs name with ``!lambda_code_key`` (``bluegreen.lambda_zip``: the
   same bytes and the same ``lambda/<name>/<sha256>.zip`` key as the ``!package_lambda`` hook) and
   uploads each zip unless that key is already there;
2. uploads every child template as ``templates/<stack>/<sha256>.json`` (unless already there);
3. writes the packaged parent to ``dist/main.packaged.json``: TemplateURLs replaced by the https S3
   URLs, the code-key and code-bucket parameters given these values as defaults; and uploads it too.
   Every object is written with SSE-KMS under the bucket's own default KMS key; a bucket without one
   is refused.

With ``--deploy`` it creates or updates the parent stack through a change set (including the nested
stacks' change sets), prints the changes and the stack events while it waits, and afterwards writes
the applied ``GreenWeight`` to the SSM parameter the ``!record_green_weight`` hooks write, so the
automation and the next deployment start from it. ``GreenWeight`` is ``--green-weight`` when given,
else the value in SSM (what the traffic shifter last applied), else 0 for a stack that does not
exist yet: a deployment never silently undoes a shift.

With ``--delete`` it does what ``sceptre delete`` does with the ``!empty_bucket`` hooks: empties the
buckets those hooks name (read from the nested stacks' outputs), then deletes the parent and waits.
A prod parent is only deleted with ``--allow-prod``.

Exit status: 0 on success (also when a change set has no changes), 1 on any failure, with a message
that says what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from bluegreen import lambda_zip, nested
from bluegreen.s3_objects import default_kms_key, object_exists
from bluegreen.cfn import to_json
from bluegreen.weights import WeightError, parse_green_weight

ROOT = nested.ROOT
DIST = "dist"
PACKAGED = "main.packaged.json"
TEMPLATE_PREFIX = "templates"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
#: Stack states after which an update or delete may start.
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
           "IMPORT_ROLLBACK_COMPLETE"}
#: What deploy() returns when the run left the stack as the template says.
SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "NO_CHANGES"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "does not contain changes")

Printer = Callable[[str], None]


class PackageError(RuntimeError):
    """Packaging or deployment cannot go on; the message says why and what to do."""


# ------------------------------------------------------------------------------------ preflight
def check_endpoint(environ: dict[str, str] | None = None, *, timeout: float = 3.0) -> None:
    """With AWS_ENDPOINT_URL set (the local emulator), refuse early when nothing answers there."""
    environ = os.environ if environ is None else environ
    url = environ.get("AWS_ENDPOINT_URL")
    if not url:
        return
    try:
        urllib.request.urlopen(url, timeout=timeout).close()  # noqa: S310 - the configured endpoint
    except urllib.error.HTTPError:
        return  # it answered, if only with an error status
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise PackageError(
            f"AWS_ENDPOINT_URL is {url} but nothing answers there ({getattr(err, 'reason', err)}): start the "
            "emulator (scripts/emulator start; eval \"$(scripts/emulator env)\") or unset AWS_ENDPOINT_URL to use AWS"
        ) from err


def check_credentials(session: Any) -> None:
    if session.get_credentials() is None:
        raise PackageError(
            "no AWS credentials: set AWS_PROFILE (aws sso login --profile <profile>) or the AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY variables for the target account"
        )


def bucket_kms_key(s3: Any, bucket: str) -> str:
    """The bucket's default SSE-KMS key; a missing bucket or one without such a key is refused."""
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


# ------------------------------------------------------------------------------------ uploads

def upload(s3: Any, bucket: str, key: str, data: bytes, kms_key: str, content_type: str,
           metadata: dict[str, str]) -> bool:
    """Put ``data`` at ``key`` unless it is there (keys are content-addressed); True when uploaded."""
    if object_exists(s3, bucket, key):
        return False
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=kms_key, ChecksumAlgorithm="SHA256", Metadata=metadata)
    return True


def s3_url(bucket: str, key: str, region: str) -> str:
    """The virtual-hosted https URL CloudFormation takes as a TemplateURL."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def template_key(name: str, data: bytes) -> str:
    return f"{TEMPLATE_PREFIX}/{name}/{hashlib.sha256(data).hexdigest()}.json"


@dataclass
class Packaged:
    parent: nested.Parent
    template: dict
    template_url: str
    output: Path
    #: values the packaging gave the parent's code parameters (also their defaults in the template)
    parameters: dict[str, str]
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def package(env: str, bucket: str, *, session: Any, root: Path = ROOT, output: Path | None = None,
            builder: Callable[..., lambda_zip.Package] = lambda_zip.build, out: Printer = print) -> Packaged:
    """Upload the Lambda zips and child templates of ``env`` and write the packaged parent."""
    try:
        parent = nested.generate(env, root)
    except nested.NestedError as err:
        raise PackageError(f"cannot derive the parent of {env}: {err}") from err
    region = session.region_name or parent.region or "us-east-1"
    s3 = session.client("s3")
    kms_key = bucket_kms_key(s3, bucket)
    result = Packaged(parent=parent, template=json.loads(to_json(parent.template)), template_url="",
                      output=Path(output) if output else Path(root) / DIST / PACKAGED, parameters={})

    def put(key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        done = upload(s3, bucket, key, data, kms_key, content_type, metadata)
        (result.uploaded if done else result.skipped).append(key)
        out(f"{'uploaded' if done else 'already there'}: s3://{bucket}/{key}")

    for parameter, name in parent.lambda_code.items():
        try:
            built = builder(name, root=Path(root))
        except lambda_zip.LambdaSourceError as err:
            raise PackageError(f"cannot build lambda_src/{name}: {err}") from err
        put(built.key, built.data, "application/zip", {"sha256": built.sha256, "source": f"lambda_src/{name}"})
        result.parameters[parameter] = built.key
    if parent.code_bucket_parameter:
        result.parameters[parent.code_bucket_parameter] = bucket

    resources = result.template["Resources"]
    for logical, filename in parent.children.items():
        data = (Path(root) / nested.TEMPLATES_DIR / filename).read_bytes()
        key = template_key(Path(filename).stem, data)
        put(key, data, "application/json", {"source": f"templates/{filename}"})
        resources[logical]["Properties"]["TemplateURL"] = s3_url(bucket, key, region)
    for name, value in result.parameters.items():
        result.template["Parameters"][name]["Default"] = value

    body = (json.dumps(result.template, indent=2, sort_keys=True) + "\n").encode()
    result.output.parent.mkdir(parents=True, exist_ok=True)
    result.output.write_bytes(body)
    out(f"wrote {result.output}")
    key = template_key(f"main-{env}", body)
    put(key, body, "application/json", {"source": f"bluegreen.package --env {env}"})
    result.template_url = s3_url(bucket, key, region)
    return result


# ------------------------------------------------------------------------------------ deploy
def describe(cfn: Any, stack_name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as err:
        if "does not exist" in err.response.get("Error", {}).get("Message", ""):
            return None
        raise


def ssm_value(ssm: Any, name: str) -> str | None:
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise


def choose_green_weight(requested: str | None, parent: nested.Parent, ssm: Any, stack: dict | None) -> str:
    """``--green-weight``, else the weight in SSM, else 0 for a parent that does not exist yet."""
    if requested is not None:
        try:
            return str(parse_green_weight(requested))
        except WeightError as err:
            raise PackageError(f"--green-weight: {err}") from err
    for name in parent.green_weight_sources:
        value = ssm_value(ssm, name)
        if value is not None:
            try:
                return str(parse_green_weight(value))
            except WeightError as err:
                raise PackageError(f"SSM parameter {name} holds {value!r}: {err}; pass --green-weight") from err
    if stack is None:
        return "0"
    raise PackageError(
        f"cannot tell the green_weight in force: none of {list(parent.green_weight_sources)} exists in SSM; "
        "pass --green-weight N (the percent green has now)"
    )


def deploy(cfn: Any, stack_name: str, template_url: str, parameters: dict[str, str], tags: dict[str, str], *,
           review_only: bool = False, direct: bool = False, out: Printer = print,
           sleep: Callable[[float], None] = time.sleep, poll_seconds: float = 10.0) -> str:
    """Create or update ``stack_name``; returns the final stack status (or the change set's when reviewing)."""
    stack = describe(cfn, stack_name)
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise PackageError(f"stack {stack_name} is ROLLBACK_COMPLETE (its creation failed): delete it "
                           f"(aws cloudformation delete-stack --stack-name {stack_name}) and deploy again")
    if stack is not None and stack["StackStatus"] not in SETTLED:
        raise PackageError(f"stack {stack_name} is {stack['StackStatus']}: wait until it settles")
    kind = "UPDATE" if stack is not None else "CREATE"
    common = dict(
        StackName=stack_name, TemplateURL=template_url, Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    )
    seen = event_ids(cfn, stack_name) if stack is not None else set()
    since = datetime.now(timezone.utc)
    if direct:
        # CreateStack/UpdateStack without a change set (no preview).
        try:
            (cfn.update_stack if stack is not None else cfn.create_stack)(**common)
        except ClientError as err:
            if any(text in str(err) for text in NO_CHANGES):
                out(f"{stack_name}: no changes")
                return "NO_CHANGES"
            raise
        return wait_for_stack(cfn, stack_name, seen, out=out, sleep=sleep, poll_seconds=poll_seconds)
    name = "bluegreen-" + since.strftime("%Y%m%d-%H%M%S")
    change_set = cfn.create_change_set(ChangeSetName=name, ChangeSetType=kind, IncludeNestedStacks=True,
                                       Description="python -m bluegreen.package --deploy", **common)["Id"]
    while True:
        described = cfn.describe_change_set(ChangeSetName=change_set, StackName=stack_name)
        status = described["Status"]
        if status in ("CREATE_COMPLETE", "FAILED"):
            break
        sleep(poll_seconds / 2)
    if status == "FAILED":
        reason = described.get("StatusReason", "")
        if any(text in reason for text in NO_CHANGES):
            out(f"{stack_name}: no changes")
            cfn.delete_change_set(ChangeSetName=change_set, StackName=stack_name)
            return "NO_CHANGES"
        raise PackageError(f"change set {name} of {stack_name} failed: {reason}")
    out(f"change set {name} ({kind.lower()} {stack_name}):")
    for change in described.get("Changes", []):
        rc = change.get("ResourceChange", {})
        replacement = f" replacement={rc['Replacement']}" if rc.get("Replacement") else ""
        out(f"  {rc.get('Action', '?'):8} {rc.get('LogicalResourceId', '?'):24} {rc.get('ResourceType', '')}{replacement}")
    if review_only:
        out(f"left for review: aws cloudformation execute-change-set --change-set-name {change_set}")
        return "REVIEW"
    cfn.execute_change_set(ChangeSetName=change_set, StackName=stack_name)
    return wait_for_stack(cfn, stack_name, seen, out=out, sleep=sleep, poll_seconds=poll_seconds)


def event_ids(cfn: Any, stack_name: str) -> set[str]:
    """The IDs of the events the stack has now (newest page): what wait_for_stack must not print again."""
    pages = cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name)
    return {e["EventId"] for page in pages for e in page["StackEvents"]}


def wait_for_stack(cfn: Any, stack_name: str, seen: set[str], *, out: Printer = print,
                   sleep: Callable[[float], None] = time.sleep, poll_seconds: float = 10.0,
                   deleting: bool = False) -> str:
    """Print the stack's new events (oldest first) until it settles; returns the final status.

    A deletion is followed by the stack's own events only: describing a deleted parent makes the
    local emulator evaluate its outputs again, which re-creates the nested stacks there.
    """
    seen = set(seen)
    final = None
    started = datetime.now(timezone.utc) - timedelta(minutes=1)  # clock skew: the reasons matter more
    while True:
        events = []
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
            fresh = [e for e in page["StackEvents"] if e["EventId"] not in seen]
            events += fresh
            if len(fresh) < len(page["StackEvents"]):
                break  # newest first: the rest was printed before
        for event in sorted(events, key=lambda e: e["Timestamp"]):
            seen.add(event["EventId"])
            reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            out(f"{event['Timestamp']:%H:%M:%S} {event['ResourceStatus']:28} {event['LogicalResourceId']:24} "
                f"{event.get('ResourceType', '')}{reason}")
            if event.get("PhysicalResourceId") == stack_name or event["LogicalResourceId"] == stack_name:
                final = event["ResourceStatus"]
        if deleting:
            if final in ("DELETE_COMPLETE", "DELETE_FAILED"):
                return final
            sleep(poll_seconds)
            continue
        status = describe(cfn, stack_name)["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            if status not in SUCCEEDED | {"DELETE_COMPLETE"}:
                explain_failure(cfn, stack_name, started, out=out)
            return status
        sleep(poll_seconds)


def explain_failure(cfn: Any, stack_name: str, since: datetime, *, out: Printer = print) -> None:
    """The parent only says "Embedded stack ... was not successfully created": print the child's own reasons."""
    try:
        children = [r for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
                    if r["ResourceType"] == "AWS::CloudFormation::Stack" and r.get("PhysicalResourceId")]
        for child in children:
            events = cfn.describe_stack_events(StackName=child["PhysicalResourceId"])["StackEvents"]
            for event in reversed(events):
                if event["ResourceStatus"].endswith("_FAILED") and event["Timestamp"] >= since:
                    out(f"  {child['LogicalResourceId']}/{event['LogicalResourceId']}: {event['ResourceStatus']} "
                        f"{event.get('ResourceStatusReason', '')}")
    except ClientError as err:  # the explanation must not hide the failure itself
        out(f"  (could not read the nested stacks' events: {err})")


def record_green_weight(ssm: Any, parent: nested.Parent, applied: str, *, out: Printer = print) -> None:
    """What the !record_green_weight hooks do after a Sceptre update: SSM holds the weight in force."""
    for name in parent.green_weight_records:
        current = ssm_value(ssm, name)
        if current is None:
            out(f"warning: SSM parameter {name} does not exist (the parameters stack creates it); not recorded")
        elif current != applied:
            ssm.put_parameter(Name=name, Value=applied, Overwrite=True)
            out(f"recorded green_weight {applied} in {name} (was {current})")


# ------------------------------------------------------------------------------------ delete
def child_outputs(cfn: Any, stack_name: str, logical: str) -> dict[str, str]:
    """The outputs of the parent's nested stack ``logical`` ({} when it is gone)."""
    try:
        resource = cfn.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical)["StackResourceDetail"]
        child = describe(cfn, resource["PhysicalResourceId"])
    except (ClientError, KeyError):
        return {}
    return {o["OutputKey"]: o["OutputValue"] for o in (child or {}).get("Outputs", [])}


def delete(cfn: Any, s3: Any, parent: nested.Parent, stack_name: str, *, out: Printer = print,
           sleep: Callable[[float], None] = time.sleep, poll_seconds: float = 10.0) -> str:
    """What ``sceptre delete`` does with its ``!empty_bucket`` hooks: empty the buckets, then delete."""
    from bluegreen_hooks.empty_bucket import EmptyBucket  # the hook's own emptying, without a Sceptre stack

    stack = describe(cfn, stack_name)
    if stack is None:
        out(f"{stack_name} does not exist: nothing to delete")
        return "DELETE_COMPLETE"
    if stack["StackStatus"].endswith("_IN_PROGRESS"):
        raise PackageError(f"stack {stack_name} is {stack['StackStatus']}: wait until it settles")
    emptier = EmptyBucket([], None, s3_client=s3)
    # Reverse launch order, as Sceptre deletes: a log destination after the buckets that log into it.
    for logical, keys in reversed(parent.buckets_to_empty):
        outputs = child_outputs(cfn, stack["StackId"], logical)
        for key in keys:
            if key in outputs:
                out(f"emptying s3://{outputs[key]} ({logical} {key}): {emptier.empty(outputs[key])} versions deleted")
    seen = event_ids(cfn, stack["StackId"])
    cfn.delete_stack(StackName=stack["StackId"])
    return wait_for_stack(cfn, stack["StackId"], seen, out=out, sleep=sleep, poll_seconds=poll_seconds,
                          deleting=True)


# ------------------------------------------------------------------------------------ command line
def overrides(pairs: list[str], template: dict) -> dict[str, str]:
    """``--parameter KEY=VALUE`` values, checked against the parent's parameters."""
    declared = template["Parameters"]
    reserved = {nested.GREEN_WEIGHT, nested.CODE_BUCKET} | {k for k in declared if k.endswith(nested.CODE_KEY_SUFFIX)}
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in declared:
            raise PackageError(f"--parameter takes KEY=VALUE with KEY a parameter of the parent "
                               f"({', '.join(sorted(set(declared) - reserved))}); got {pair!r}")
        if key in reserved:
            raise PackageError(f"--parameter {key}: set by the package command itself"
                               + (" (use --green-weight)" if key == nested.GREEN_WEIGHT else ""))
        values[key] = value
    return values


def default_stack_name(parent: nested.Parent) -> str:
    return "-".join(p for p in (parent.project_code, parent.env, "main") if p)


def main(argv: list[str] | None = None, *, session_factory: Callable[..., Any] | None = None,
         builder: Callable[..., lambda_zip.Package] = lambda_zip.build, root: Path = ROOT,
         out: Printer = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.package", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=nested.DEFAULT_ENV, help="stack group under config/ (default prod)")
    parser.add_argument("--bucket", help="packaging bucket (SSE-KMS default key) in the target region")
    parser.add_argument("--output", type=Path, help=f"packaged parent (default {DIST}/{PACKAGED})")
    parser.add_argument("--deploy", action="store_true", help="create or update the parent stack")
    parser.add_argument("--stack-name", help="parent stack name (default <project_code>-<env>-main)")
    parser.add_argument("--green-weight", help="percent for green to deploy (default: the value in SSM)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="with --deploy: override a parent parameter for this deployment, e.g. "
                             "GreenImageTag=1.4.2 (repeatable; the default is the config value)")
    parser.add_argument("--review-only", action="store_true", help="with --deploy: create the change set, do not run it")
    parser.add_argument("--direct", action="store_true", help="with --deploy: CreateStack/UpdateStack, no change set")
    parser.add_argument("--delete", action="store_true",
                        help="empty the stacks' buckets (the !empty_bucket hooks) and delete the parent stack")
    parser.add_argument("--allow-prod", action="store_true", help="with --delete: allow deleting a prod parent")
    args = parser.parse_args(argv)
    if not args.bucket and not args.delete:
        parser.error("--bucket is required (except with --delete)")
    if args.delete and args.deploy:
        parser.error("--delete and --deploy exclude each other")
    try:
        check_endpoint()
        import boto3

        session = (session_factory or boto3.session.Session)()
        check_credentials(session)
        if args.delete:
            try:
                parent = nested.generate(args.env, root)
            except nested.NestedError as err:
                raise PackageError(f"cannot derive the parent of {args.env}: {err}") from err
            if parent.tags.get("Environment") == "prod" and not args.allow_prod:
                raise PackageError("refusing to delete a prod parent without --allow-prod (it empties the audit "
                                   "trail bucket first; docs/deployment.md)")
            stack_name = args.stack_name or default_stack_name(parent)
            status = delete(session.client("cloudformation"), session.client("s3"), parent, stack_name, out=out)
            out(f"{stack_name}: {status}")
            return 0 if status == "DELETE_COMPLETE" else 1
        packaged = package(args.env, args.bucket, session=session, root=root, output=args.output, builder=builder,
                           out=out)
        if not args.deploy:
            return 0
        parent = packaged.parent
        stack_name = args.stack_name or default_stack_name(parent)
        cfn, ssm = session.client("cloudformation"), session.client("ssm")
        weight = choose_green_weight(args.green_weight, parent, ssm, describe(cfn, stack_name))
        parameters = {**overrides(args.parameter, packaged.template), **packaged.parameters,
                      nested.GREEN_WEIGHT: weight}
        status = deploy(cfn, stack_name, packaged.template_url, parameters, parent.tags,
                        review_only=args.review_only, direct=args.direct, out=out)
        if status == "REVIEW":
            return 0
        if status not in SUCCEEDED:
            out(f"{stack_name}: {status}")
            return 1
        record_green_weight(ssm, parent, weight, out=out)
        out(f"{stack_name}: {status} (green_weight {weight})")
        return 0
    except PackageError as err:
        print(f"bluegreen.package: {err}", file=sys.stderr)
    except NoCredentialsError as err:
        print(f"bluegreen.package: no AWS credentials ({err}): set AWS_PROFILE or the AWS_* variables", file=sys.stderr)
    except EndpointConnectionError as err:
        print(f"bluegreen.package: cannot reach AWS ({err}); check the network, AWS_ENDPOINT_URL and the region",
              file=sys.stderr)
    except (ClientError, BotoCoreError) as err:
        print(f"bluegreen.package: AWS refused: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
