"""Reviewed change sets: a stack changes in prod only as the change set a second person read.

    python -m bluegreen.change_sets create  --env prod --group database --change-id CHG-4711 --reason "..." \
        --out review/CHG-4711
    python -m bluegreen.change_sets execute --env prod --group database --change-id CHG-4711 --reason "..." \
        --reviewed review/CHG-4711

``create`` asks Sceptre (its own ``create_change_set``, so every resolver and the
``before_create_change_set`` hooks run exactly as for a launch) for one change set per stack of the
group, named ``<change id>-<commit>``, with the stack tags ``Commit`` and ``ChangeId`` (Sceptre
variables ``commit`` and ``change_id``, read by config/<env>/config.yaml). It waits for them and
writes, for review, one JSON file per stack (the change set as CloudFormation describes it) and
``manifest.json``: the change id, the commit, the reason, who created it (the caller's STS ARN,
never a typed name), and each file's SHA-256.

``execute`` describes every change set again and executes them (Sceptre's ``execute_change_set``,
in dependency order, with its hooks) only when each one is still exactly what was reviewed: same
change-set ID, same changes, parameters and tags, and the review files unchanged. Anything else (a
change set re-created, a stack of the group with no reviewed change set, an edited review file) is
refused before any is executed, naming what differs. Who executed, and why, is appended to the
folder's ``executions.json``.

Decisions (names, what is compared, what differs) are pure functions; Sceptre and STS are the
adapters. Exit codes: 0 done, 1 refused or failed (message on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bluegreen import approvals
from bluegreen.environments import CONFIG_DIR, EnvironmentConfigError, find_project_root

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: A change id of the change-management system (bluegreen.approvals holds the one pattern).
CHANGE_ID = approvals.CHANGE_ID
MANIFEST = "manifest.json"
EXECUTIONS = "executions.json"
#: Environments whose stacks change only through reviewed change sets (hooks/change_control.py refuses a
#: plain ``sceptre launch``/``update`` there).
CHANGE_CONTROLLED = ("prod",)
#: What of a DescribeChangeSet answer is the change itself; the rest (times, paging, request ids) is not.
REVIEWED_KEYS = ("StackName", "StackId", "ChangeSetName", "ChangeSetId", "Changes", "Parameters", "Tags",
                 "Capabilities")


class ChangeSetError(Exception):
    """Refused or failed; the message says what to do."""


# ----------------------------------------------------------------------------- pure decisions


def check_change_id(change_id: str) -> str:
    if not CHANGE_ID.match(change_id or ""):
        raise ChangeSetError(f"change id {change_id!r} is not a change number like CHG-4711 "
                             "(capital letters, a dash, digits)")
    return change_id


def check_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise ChangeSetError("a reason is required (--reason): why this change, for the audit trail")
    return reason.strip()


def direct_change_refusal(environment: str, stack: str) -> str | None:
    """Why ``stack`` may not be launched or updated directly (None: its environment is not change-controlled)."""
    if environment not in CHANGE_CONTROLLED:
        return None
    group = stack.split("/")[1] if stack.count("/") >= 2 else "<group>"
    return (f"{stack}: {environment} stacks change only through a reviewed change set, never by a plain "
            f"`sceptre launch`/`update`; nothing was changed. Use: python -m bluegreen.change_sets create --env "
            f"{environment} --group {group} --change-id CHG-... --reason \"...\" --out review/CHG-..., have it "
            f"reviewed, then python -m bluegreen.change_sets execute ... --reviewed review/CHG-... (docs/deployment.md)")


#: True while ``execute`` runs Sceptre's execute_change_set on the reviewed change sets (Sceptre runs the
#: stacks in threads of this process, so a module flag, not a context variable). A ``sceptre execute``
#: in a process of its own never sets it: hooks/change_control.py refuses it in prod.
_executing_reviewed = False


def executing_reviewed() -> bool:
    return _executing_reviewed


def direct_execute_refusal(environment: str, stack: str) -> str | None:
    """Why a change set of ``stack`` may not be executed here (None: not change-controlled, or reviewed)."""
    if environment not in CHANGE_CONTROLLED or executing_reviewed():
        return None
    return (f"{stack}: in {environment} a change set is executed only by python -m bluegreen.change_sets execute, "
            "which checks it is exactly the reviewed one; nothing was executed")


def change_set_name(change_id: str, commit: str) -> str:
    """``chg-4711-<12 hex of the commit>``: a CloudFormation change-set name ([a-zA-Z][-a-zA-Z0-9]*)."""
    return f"{check_change_id(change_id).lower()}-{commit[:12]}"


def reviewed_view(description: dict[str, Any]) -> dict[str, Any]:
    """The parts of a change set a reviewer approves, in a stable order."""
    view = {k: description.get(k) for k in REVIEWED_KEYS}
    view["Parameters"] = sorted(view["Parameters"] or [], key=lambda p: p.get("ParameterKey", ""))
    view["Tags"] = sorted(view["Tags"] or [], key=lambda t: t.get("Key", ""))
    return view


def canonical(document: Any) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, default=str) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_name(stack: str) -> str:
    return stack.replace("/", "__").removesuffix(".yaml") + ".json"


def differences(manifest: dict[str, Any], reviewed_files: dict[str, bytes | None],
                current: dict[str, dict[str, Any]]) -> list[str]:
    """Why the change sets as they are now are not exactly the reviewed ones ([] when they are).

    ``reviewed_files``: stack -> the review file's bytes (None when missing); ``current``: stack ->
    the change set's description now ({} when it is gone).
    """
    problems = []
    reviewed = manifest.get("stacks", {})
    for stack in sorted(set(current) - set(reviewed)):
        problems.append(f"{stack}: a stack of the group with no reviewed change set")
    for stack, entry in sorted(reviewed.items()):
        data = reviewed_files.get(stack)
        if data is None:
            problems.append(f"{stack}: review file {entry['file']} is missing")
            continue
        if sha256(data) != entry["sha256"]:
            problems.append(f"{stack}: review file {entry['file']} was edited after it was written")
            continue
        now = current.get(stack)
        if not now:
            problems.append(f"{stack}: change set {manifest['change_set_name']} no longer exists")
            continue
        if sha256(canonical(reviewed_view(now))) != entry["sha256"]:
            was = json.loads(data)
            changed = [k for k in REVIEWED_KEYS if was.get(k) != reviewed_view(now).get(k)]
            problems.append(f"{stack}: the change set differs from the reviewed one ({', '.join(changed)})")
    return problems


# ----------------------------------------------------------------------------- adapters


@dataclass
class Adapters:
    """What talks to Sceptre, git and STS: replaced in tests only by other real implementations."""

    root: Path

    def plan(self, env: str, group: str, variables: dict[str, str]):
        from sceptre.context import SceptreContext
        from sceptre.plan.plan import SceptrePlan

        path = f"{env}/{group}" if group else env
        if not (self.root / CONFIG_DIR / path).is_dir():
            raise ChangeSetError(f"no stack group config/{path}: name a group of config/{env}/")
        return SceptrePlan(SceptreContext(project_path=str(self.root), command_path=path,
                                          user_variables=variables))

    def commit(self) -> str:
        try:
            head = subprocess.run(["git", "-C", str(self.root), "rev-parse", "HEAD"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(self.root), "status", "--porcelain", "--", "config",
                                    "templates", "hooks", "resolvers", "lambda_src"],
                                   capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ChangeSetError(f"cannot read the commit of {self.root} ({exc}): run from a git checkout") from exc
        if dirty:
            raise ChangeSetError("uncommitted changes under config/, templates/, hooks/, resolvers/ or lambda_src/: "
                                 "a reviewed change is a commit; commit or stash them first")
        return head

    def caller(self, region: str | None = None) -> str:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return boto3.client("sts", region_name=region or "us-east-1").get_caller_identity()["Arn"]
        except (BotoCoreError, ClientError) as exc:
            raise ChangeSetError(f"cannot read your AWS identity (sts:GetCallerIdentity): {exc}") from exc


def _by_stack(responses: dict[Any, Any]) -> dict[str, Any]:
    return {getattr(stack, "name", str(stack)): value for stack, value in responses.items()}


def create(adapters: Adapters, env: str, group: str, change_id: str, reason: str, out: Path) -> dict[str, Any]:
    check_change_id(change_id)
    reason = check_reason(reason)
    if out.exists() and any(out.iterdir()):
        raise ChangeSetError(f"{out} is not empty: each change's review gets a folder of its own")
    commit = adapters.commit()
    name = change_set_name(change_id, commit)
    creator = adapters.caller()
    plan = adapters.plan(env, group, {"commit": commit, "change_id": change_id})
    try:
        plan.create_change_set(name)
        plan.wait_for_cs_completion(name)
        descriptions = _by_stack(plan.describe_change_set(name))
    except Exception as exc:  # Sceptre raises many kinds; each is a refusal with its text
        raise ChangeSetError(f"Sceptre could not create the change sets: {type(exc).__name__}: {exc}") from exc
    out.mkdir(parents=True, exist_ok=True)
    stacks = {}
    for stack, description in sorted(descriptions.items()):
        if not description:
            raise ChangeSetError(f"{stack}: no change set {name} after creation (see Sceptre's log above)")
        data = canonical(reviewed_view(description))
        (out / file_name(stack)).write_bytes(data)
        stacks[stack] = {"file": file_name(stack), "sha256": sha256(data), "status": description.get("Status"),
                         "changes": len(description.get("Changes") or [])}
    manifest = {"change_id": change_id, "reason": reason, "environment": env, "group": group, "commit": commit,
                "change_set_name": name, "created_by": creator, "stacks": stacks}
    (out / MANIFEST).write_bytes(canonical(manifest))
    return manifest


def execute(adapters: Adapters, env: str, group: str, change_id: str, reason: str, reviewed: Path) -> dict[str, Any]:
    check_change_id(change_id)
    reason = check_reason(reason)
    try:
        manifest = json.loads((reviewed / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ChangeSetError(f"{reviewed / MANIFEST}: not a review folder written by `create` ({exc})") from exc
    for key, value in (("change_id", change_id), ("environment", env), ("group", group)):
        if manifest.get(key) != value:
            raise ChangeSetError(f"the review in {reviewed} is for {key} {manifest.get(key)!r}, not {value!r}")
    executor = adapters.caller()
    name = manifest["change_set_name"]
    plan = adapters.plan(env, group, {"commit": manifest["commit"], "change_id": change_id})
    try:
        current = _by_stack(plan.describe_change_set(name))
    except Exception as exc:
        raise ChangeSetError(f"Sceptre could not describe the change sets: {type(exc).__name__}: {exc}") from exc
    files = {}
    for stack, entry in manifest["stacks"].items():
        path = reviewed / entry["file"]
        files[stack] = path.read_bytes() if path.is_file() else None
    problems = differences(manifest, files, current)
    if problems:
        raise ChangeSetError("refused, nothing executed: " + "; ".join(problems))
    global _executing_reviewed
    _executing_reviewed = True
    try:
        results = _by_stack(plan.execute_change_set(name))
    except Exception as exc:
        raise ChangeSetError(f"Sceptre failed executing the change sets: {type(exc).__name__}: {exc}") from exc
    finally:
        _executing_reviewed = False
    record = {"change_id": change_id, "change_set_name": name, "executed_by": executor, "reason": reason,
              "results": {k: str(v) for k, v in sorted(results.items())}}
    log = reviewed / EXECUTIONS
    history = json.loads(log.read_text()) if log.is_file() else []
    log.write_bytes(canonical([*history, record]))
    return record


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.change_sets",
                                     description="Create change sets for review; execute exactly the reviewed ones.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command, folder, what in (("create", "--out", "empty folder the review is written to"),
                                  ("execute", "--reviewed", "the folder `create` wrote and reviewers read")):
        p = sub.add_parser(command)
        p.add_argument("--env", required=True, help="environment: a folder of config/ (dev, prod)")
        p.add_argument("--group", required=True, help="stack group under it: networking, security, database, ...")
        p.add_argument("--change-id", required=True, help="the change number, e.g. CHG-4711")
        p.add_argument("--reason", required=True, help="why, for the audit trail")
        p.add_argument(folder, required=True, type=Path, dest="folder", help=what)
    return parser


def main(argv: list[str] | None = None, *, adapters_for: Callable[[Path], Adapters] = Adapters,
         stdout: IO[str] = sys.stdout, stderr: IO[str] = sys.stderr) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        adapters = adapters_for(find_project_root())
        action = create if args.command == "create" else execute
        result = action(adapters, args.env, args.group, args.change_id, args.reason, args.folder)
    except (ChangeSetError, EnvironmentConfigError) as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_FAILED
    print(json.dumps(result, indent=2, sort_keys=True), file=stdout)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
