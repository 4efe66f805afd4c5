"""Phantom detector: does every resource of a stack really exist in the emulated service?

moto reports CREATE_COMPLETE for resource types it does not implement; such resources
have an empty physical ID (or are missing from ListStackResources) and no service knows
them. This module lists a stack's resources and asks the owning service about each one
through its own API (boto3, against the emulator endpoint):

    python -m bluegreen_emulator phantoms --stack payments-dev-networking-network
    scripts/emulator phantoms                     # every stack
    scripts/emulator phantoms --stack X --delete  # delete X, then report leftovers

Verdicts: ``ok`` (the service describes it), ``PHANTOM`` (empty physical ID),
``MISSING`` (the service does not know it), ``ABSENT`` (in the template, not in the
stack), ``unchecked`` (no check for this type in ``CHECKS``; not a failure) and, with
``--delete``, ``LEFTOVER`` (still exists after the stack was deleted).

Only boto3 is needed, so this runs in either venv. ``CHECKS`` documents how each type
is verified through the service API.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import launcher
from .phantom_checks import CHECKS, NotFound


@dataclass
class Row:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    verdict: str
    detail: str = ""
    properties: dict[str, Any] = field(default_factory=dict, repr=False)


def credentials_for(endpoint: str) -> tuple[str, str]:
    """The keys to sign with: those of the environment ``scripts/emulator env`` set up for this
    endpoint, else the launcher's for the emulator on the endpoint's port (never others)."""
    if os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") == endpoint.rstrip("/") and os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ["AWS_ACCESS_KEY_ID"], os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    env = launcher.env_vars(urlparse(endpoint).port or launcher.default_port())
    return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]


class Clients:
    """boto3 clients for the emulator, created on first use."""

    def __init__(self, endpoint: str, region: str = launcher.REGION) -> None:
        self.endpoint = endpoint
        self.region = region
        key, secret = credentials_for(endpoint)
        self._session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 1})
            )
        return self._clients[service]


_NOT_FOUND_HINTS = (
    "notfound",
    "nosuch",
    "not found",
    "does not exist",
    "doesn't exist",
    "invalid",
    "could not be found",
    "unknown",
    "unable to describe",
    "nonexistent",
)


def _is_not_found(exc: Exception) -> bool:
    if isinstance(exc, NotFound):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "")).lower()
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status == 404 or any(h in code for h in _NOT_FOUND_HINTS) or any(h in str(exc).lower() for h in _NOT_FOUND_HINTS)
    return isinstance(exc, (KeyError, IndexError, StopIteration))


def _resolve(value: Any, physical: dict[str, str], parameters: dict[str, str]) -> Any:
    """Resolve Ref / simple Sub against the stack's physical IDs (enough for checks)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return physical.get(value["Ref"], parameters.get(value["Ref"], value["Ref"]))
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name, pid in {**parameters, **physical}.items():
                text = text.replace("${" + name + "}", str(pid))
            return text
        if "Fn::Select" in value and isinstance(value["Fn::Select"], list) and len(value["Fn::Select"]) == 2:
            # A CommaDelimitedList parameter resolves to its comma-joined text (the datacentre-link routes).
            index, items = value["Fn::Select"][0], _resolve(value["Fn::Select"][1], physical, parameters)
            if isinstance(items, str):
                items = items.split(",")
            if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                return items[int(index)]
            return value
        if "Fn::GetAtt" in value:
            # Approximation good enough for existence checks: APIs that take an ARN
            # (Lambda, SNS, SQS URLs aside) also take the name the physical ID holds.
            target = value["Fn::GetAtt"][0] if isinstance(value["Fn::GetAtt"], list) else str(value["Fn::GetAtt"]).split(".")[0]
            return physical.get(target, value)
        return {k: _resolve(v, physical, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, physical, parameters) for v in value]
    return value


def check_resource(clients: Clients, resource_type: str, physical_id: str, properties: dict[str, Any]) -> tuple[str, str]:
    """(verdict, detail) for one resource: ok / MISSING / unchecked / error."""
    entry = CHECKS.get(resource_type)
    if entry is None:
        return "unchecked", "no existence check for this type"
    how, check = entry
    try:
        check(clients, physical_id, properties)
    except Exception as exc:  # noqa: BLE001 - any failure is a failing verdict: MISSING, or error naming its type
        if _is_not_found(exc):
            return "MISSING", f"{how}: {exc}"[:300]
        return "error", f"{how}: {type(exc).__name__}: {exc}"[:300]
    return "ok", how


def scan_stack(clients: Clients, stack_name: str) -> list[Row]:
    cfn = clients("cloudformation")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    parameters.update({"AWS::Region": clients.region, "AWS::AccountId": "123456789012", "AWS::StackName": stack["StackName"]})
    template = cfn.get_template(StackName=stack["StackId"])["TemplateBody"]
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError:
            import yaml  # only for YAML templates

            template = yaml.safe_load(template)
    resources = template.get("Resources", {})
    summaries = []
    paginator_kwargs: dict[str, Any] = {"StackName": stack["StackId"]}
    while True:
        page = cfn.list_stack_resources(**paginator_kwargs)
        summaries += page["StackResourceSummaries"]
        if not page.get("NextToken"):
            break
        paginator_kwargs["NextToken"] = page["NextToken"]
    physical = {s["LogicalResourceId"]: s.get("PhysicalResourceId") or "" for s in summaries if s.get("LogicalResourceId")}
    rows: list[Row] = []
    status = stack["StackStatus"]
    absent_reason = "in the template but not a resource of the stack (type not supported by the emulator?)"
    if status not in HEALTHY_STACK_STATUSES:
        reasons = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
            for e in cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
            if "FAILED" in e["ResourceStatus"] and e.get("ResourceStatusReason")
        ]
        rows.append(
            Row(
                stack_name,
                stack_name,
                "AWS::CloudFormation::Stack",
                stack["StackId"],
                "error",
                f"stack is {status}: {'; '.join(reasons[:3]) or 'no reason recorded'}",
            )
        )
        absent_reason = f"not in the stack: the stack is {status}"
    for summary in summaries:
        logical = summary.get("LogicalResourceId") or ""
        rtype = summary.get("ResourceType") or resources.get(logical, {}).get("Type", "")
        pid = summary.get("PhysicalResourceId") or ""
        if not logical:
            continue  # moto's rows for unsupported types: reported as ABSENT below
        props = _resolve(resources.get(logical, {}).get("Properties", {}), physical, parameters)
        if not pid:
            rows.append(Row(stack_name, logical, rtype, pid, "PHANTOM", "empty physical ID: created by nobody", props))
            continue
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            rows.append(Row(stack_name, logical, rtype, pid, "ok", "custom resource: provider answered SUCCESS", props))
            continue
        verdict, detail = check_resource(clients, rtype, pid, props)
        rows.append(Row(stack_name, logical, rtype, pid, verdict, detail, props))
    listed = {r.logical_id for r in rows}
    for logical, definition in resources.items():
        if logical in listed:
            continue
        if definition.get("Condition"):
            rows.append(Row(stack_name, logical, definition.get("Type", ""), "", "skipped", f"condition {definition['Condition']} (not created?)"))
        else:
            rows.append(Row(stack_name, logical, definition.get("Type", ""), "", "ABSENT", absent_reason))
    return rows


def leftovers_after_delete(clients: Clients, rows: list[Row]) -> list[Row]:
    """Re-check resources that existed before a stack delete: anything found is a LEFTOVER."""
    result = []
    for row in rows:
        if row.verdict != "ok" or row.resource_type.startswith("Custom::"):
            continue
        verdict, detail = check_resource(clients, row.resource_type, row.physical_id, row.properties)
        if verdict == "ok":
            result.append(
                Row(row.stack, row.logical_id, row.resource_type, row.physical_id, "LEFTOVER", "still exists after the stack was deleted", row.properties)
            )
        elif verdict == "error":
            result.append(Row(row.stack, row.logical_id, row.resource_type, row.physical_id, "error", detail, row.properties))
    return result


FAILING = {"PHANTOM", "MISSING", "ABSENT", "LEFTOVER", "error"}
HEALTHY_STACK_STATUSES = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def _print(rows: list[Row], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{k: v for k, v in asdict(r).items() if k != "properties"} for r in rows], indent=2))
        return
    if not rows:
        print("(no resources)")
        return
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("stack", "logical_id", "resource_type", "verdict")]
    for r in sorted(rows, key=lambda r: (r.verdict not in FAILING, r.stack, r.logical_id)):
        print(
            f"{r.verdict:<{widths[3]}}  {r.stack:<{widths[0]}}  {r.logical_id:<{widths[1]}}  "
            f"{r.resource_type:<{widths[2]}}  {r.physical_id or '-'}  {r.detail if r.verdict != 'ok' else ''}".rstrip()
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phantoms", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", action="append", default=[], help="stack name (repeatable); default: every stack")
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL") or launcher.url_for(launcher.default_port()))
    parser.add_argument("--delete", action="store_true", help="delete the stack(s) afterwards and report LEFTOVER resources")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--list-checks", action="store_true", help="print the type -> check table and exit")
    args = parser.parse_args(argv)

    if args.list_checks:
        for rtype, (how, _check) in sorted(CHECKS.items()):
            print(f"{rtype:<48} {how}")
        return 0
    clients = Clients(args.endpoint)
    stacks = args.stack or [s["StackName"] for s in clients("cloudformation").describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    rows: list[Row] = []
    for name in stacks:
        rows += scan_stack(clients, name)
    if args.delete:
        for name in stacks:
            clients("cloudformation").delete_stack(StackName=name)
            status = clients("cloudformation").describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] if _exists(clients, name) else "DELETE_COMPLETE"
            if status != "DELETE_COMPLETE":
                rows.append(Row(name, name, "AWS::CloudFormation::Stack", "", "error", f"stack delete ended in {status}"))
        rows = [r for r in rows if r.verdict in FAILING] + leftovers_after_delete(clients, rows)
    _print(rows, args.json)
    failing = [r for r in rows if r.verdict in FAILING]
    if not args.json:
        print(f"\n{len(rows)} resources checked, {len(failing)} failing ({', '.join(sorted({r.verdict for r in failing})) or 'none'})", file=sys.stderr)
    return 1 if failing else 0


def _exists(clients: Clients, name: str) -> bool:
    try:
        clients("cloudformation").describe_stacks(StackName=name)
    except ClientError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
