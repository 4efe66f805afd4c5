"""``bluegreen``: operator commands.

    bluegreen shift status   --env dev
    bluegreen shift start    --env dev  --change-id CHG-4711 --reason "release 1.4.0"
    bluegreen shift pause    --env prod --change-id CHG-4711 --reason "card network maintenance"
    bluegreen shift resume   --env prod --change-id CHG-4711 --reason "maintenance over"
    bluegreen shift promote  --env prod --change-id CHG-4711 --reason "every gate OK for 30 min"
    bluegreen shift rollback --env prod --change-id INC-812 --reason "declines up on green"
    bluegreen db status      --env dev
    bluegreen db switchover  --env prod --to green --change-id CHG-4711 --reason "cut-over"
    bluegreen approve        --env prod --change-id CHG-4711 --for start --reason "CAB approved"
    ... every command that changes something needs --change-id and --reason; who acted is the caller's
        AWS identity (STS), never a typed name; in prod, start, promote and the db switchover need a
        second operator's approval first (bluegreen.approvals)
    ... add --json for machine output, --verbose for the decision log (stderr)
    ... add --role operator|auditor|<role ARN> --mfa-serial ARN [--mfa-code 123456] to act as that role,
        before the command (bluegreen --role operator shift status --env prod) or after it

``bluegreen shift status`` reads here, in-process, with the very code the traffic-shifter Lambda runs,
configured by that Lambda's own environment (read with lambda:GetFunctionConfiguration on
``lambda-traffic-shifter-<env>-<suffix>``), so the ARNs have one source of truth. boto3 honours
AWS_ENDPOINT_URL, so the same commands work against the local emulator. ``--role`` assumes the operator's
or the auditor's role (templates/access.py: ``role-<who>-<env>-<suffix>``, trusted with MFA) or any role
ARN before anything else, so the command has exactly that role's permissions (an AWS profile with
``role_arn`` does the same through boto3).

Every other ``shift`` command and every ``bluegreen db`` command invokes that Lambda with the command,
who asks (the caller's STS identity) and why, and prints its answer (bluegreen.cli_invoke): a changing
shift command may tick the plan, a tick may run or recover the database switchover, and the databases
are reachable only from inside the VPC, with a secret the operator does not hold.

Exit codes: 0 done, 1 refused or failed (message on stderr, no traceback), 2 usage or unknown env.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.cli_format import format_db, format_result, format_status  # noqa: F401 - the command's output; tests read them here
from bluegreen.cli_invoke import Invoke, InvokeError, invoke_function, lambda_invoke
from bluegreen.cli_parser import DB_COMMANDS, MFA_SERIAL_VARIABLE, PEOPLE_ROLES, add_role_arguments, build_parser  # noqa: F401 - cli.X for callers
from bluegreen.environments import (
    Environment,
    EnvironmentConfigError,
    UnknownEnvironmentError,
    find_project_root,
    load_environment,
)
from traffic_shifter.model import LOG_SERVICE

if TYPE_CHECKING:  # pragma: no cover
    from traffic_shifter.db import DbSwitchover

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

SessionFactory = Callable[..., boto3.Session]


class CliError(Exception):
    """A failure the operator can act on; printed as ``error: <message>``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def main(
    argv: Sequence[str] | None = None,
    *,
    session_factory: SessionFactory = boto3.Session,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    db_kind: DbSwitchover | None = None,
    invoke: Invoke = lambda_invoke,
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["rehearse"]:
        from bluegreen.rehearsal.cli import main as rehearse  # only this command needs it

        return rehearse(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        run = {"db": run_db, "approve": run_approve, "evidence": run_evidence}.get(args.group, run_shift)
        result = run(args, session_factory=session_factory, stderr=stderr, db_kind=db_kind, invoke=invoke)
    except CliError as err:
        return _fail(args, str(err), err.code, stdout, stderr)
    except (ClientError, BotoCoreError) as err:  # a denial names action, resource and principal (aws_failures)
        return _fail(args, f"AWS: {describe(err)}", EXIT_FAILED, stdout, stderr)
    except Exception as err:  # the operator gets a message, never a traceback
        if getattr(args, "verbose", False):
            raise
        return _fail(args, f"{type(err).__name__}: {describe(err)}", EXIT_FAILED, stdout, stderr)
    if args.json:
        stdout.write(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    else:
        stdout.write(format_result(result) + "\n")
    return EXIT_OK


def describe(err: BaseException) -> str:
    """An AWS failure in one line: a denial names action, resource and principal (bluegreen.aws_failures)."""
    from bluegreen.aws_failures import describe as said  # loads the Lambda package, as run_* do

    return said(err)


def _fail(args: argparse.Namespace, message: str, code: int, stdout: IO[str], stderr: IO[str]) -> int:
    if getattr(args, "json", False):
        stdout.write(json.dumps({"ok": False, "error": message}, indent=2) + "\n")
    stderr.write(f"bluegreen: error: {message}\n")
    return code


def _require_endpoint() -> None:
    """Fail at once, saying how to start it, when AWS_ENDPOINT_URL names a local emulator that is down."""
    from bluegreen.preflight import PreflightError, check_endpoint

    try:
        check_endpoint(os.environ.get("AWS_ENDPOINT_URL"))
    except PreflightError as err:
        raise CliError(str(err)) from err


def make_session(env: Environment, session_factory: SessionFactory = boto3.Session, *, role: str | None = None,
                 mfa_serial: str | None = None, mfa_code: str | None = None) -> boto3.Session:
    """A session in the environment's region (AWS_ENDPOINT_URL, profiles etc. apply as boto3 does); with
    ``role``, a session of that role assumed from it (sts:AssumeRole, with the MFA device's code if given)."""
    session = session_factory(region_name=env.region)
    if not role:
        return session
    if not role.startswith("arn:") and role not in PEOPLE_ROLES:
        raise CliError(f"--role {role!r}: use {' or '.join(PEOPLE_ROLES)}, or a role ARN (arn:aws:iam::...:role/...)", EXIT_USAGE)
    sts = session.client("sts")
    arn = role if role.startswith("arn:") else role_arn(env, role, sts.get_caller_identity()["Account"])
    request: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": session_name()}
    if mfa_serial:
        request.update(SerialNumber=mfa_serial, TokenCode=mfa_code or getpass.getpass(f"MFA code for {mfa_serial}: "))
    try:
        credentials = sts.assume_role(**request)["Credentials"]
    except ClientError as err:
        hint = "" if mfa_serial else f" (the people's roles need MFA: --mfa-serial or ${MFA_SERIAL_VARIABLE})"
        raise CliError(f"cannot assume {arn}: {describe(err)}{hint}") from err
    return session_factory(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"], region_name=env.region)


def role_arn(env: Environment, role: str, account: str) -> str:
    """The ARN of ``operator`` / ``auditor`` in ``env`` (templates/access.py names them role-<who>-<env>-<suffix>)."""
    return f"arn:aws:iam::{account}:role/{env.resource_name('role', role)}"


def session_name() -> str:
    """Who assumed the role, as CloudTrail shows it: bluegreen-<local user>, in STS's alphabet."""
    return re.sub(r"[^\w+=,.@-]", "-", f"bluegreen-{getpass.getuser()}")[:64]


def lambda_environment(session: boto3.Session, env: Environment) -> dict[str, str]:
    """The traffic-shifter Lambda's environment variables: the one source of its ARNs and names."""
    function = env.traffic_shifter_function
    try:
        config = session.client("lambda").get_function_configuration(FunctionName=function)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            raise CliError(
                f"function {function} not found in {env.region}; is the automation stack of {env.label} deployed?"
            ) from err
        raise
    environment = config.get("Environment") or {}
    if environment.get("Error"):
        raise CliError(f"cannot read the environment of {function}: {environment['Error'].get('Message', environment['Error'])}")
    variables = dict(environment.get("Variables") or {})
    prefix = variables.get("SSM_PREFIX", "").rstrip("/")
    if prefix != env.ssm_prefix:
        raise CliError(
            f"{function} has SSM_PREFIX {prefix!r} but {env.config_file} says {env.ssm_prefix!r}; "
            "refusing to act on a deployment that does not match its config"
        )
    return variables


def caller(session: boto3.Session) -> str:
    """Who acts, as AWS knows them (sts:GetCallerIdentity): the audit trail's actor, never a typed name."""
    try:
        return session.client("sts").get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError) as err:
        raise CliError(f"cannot read your AWS identity (sts:GetCallerIdentity), which the audit trail records: "
                       f"{describe(err)}") from err


def change_of(args: argparse.Namespace) -> tuple[str, str]:
    """(change id, reason) of a command that changes something; refused as a usage error without them."""
    from bluegreen import approvals

    try:
        return approvals.check_change_id(args.change_id), approvals.check_reason(args.reason)
    except approvals.ApprovalError as err:
        raise CliError(f"{args.group} {args.command}: {err}", EXIT_USAGE) from err


def require_approval(env: Environment, session: boto3.Session, variables: Mapping[str, str], change_id: str,
                     action: str, actor: str) -> None:
    """In the environments of the two-person rule, refuse unless another identity approved this change."""
    from bluegreen import approvals

    if env.name not in approvals.ENVIRONMENTS:
        return
    table = session.resource("dynamodb").Table(variables["STATE_TABLE"])
    why = approvals.refusal(approvals.load(table, change_id, action), change_id, action, actor, approvals.now())
    if why:
        raise CliError(why)


def run_evidence(args: argparse.Namespace, *, session_factory: SessionFactory, stderr: IO[str],
                 db_kind: DbSwitchover | None = None, invoke: Invoke = lambda_invoke) -> dict[str, Any]:
    """``bluegreen evidence <change id>`` gathers a pack; ``bluegreen evidence verify <folder>`` checks one."""
    from bluegreen import approvals, evidence

    try:
        if args.what == "verify":
            if args.folder is None:
                raise CliError("evidence verify needs the pack's folder", EXIT_USAGE)
            recorded = None
            if args.env:
                manifest = json.loads((args.folder / evidence.MANIFEST).read_text()) \
                    if (args.folder / evidence.MANIFEST).is_file() else {}
                _, session, variables = _deployment(args, session_factory)
                recorded = evidence.recorded_head(session, variables, str(manifest.get("change_id")))
                if recorded is None:
                    raise CliError(f"no evidence head recorded for {manifest.get('change_id')} in {args.env}")
            return {"command": "evidence verify", **evidence.verify(args.folder, recorded)}
        change_id = approvals.check_change_id(args.what)
    except approvals.ApprovalError as err:
        raise CliError(f"evidence: {err}", EXIT_USAGE) from err
    except evidence.EvidenceError as err:
        raise CliError(str(err)) from err
    if not args.env or not args.out:
        raise CliError("evidence <change id> needs --env and --out", EXIT_USAGE)
    env, session, variables = _deployment(args, session_factory)
    collector = caller(session)
    status = None
    if variables.get("WRITER_ZONE_ID"):
        def status() -> Any:  # the databases answer only inside the VPC: the function reads them
            if db_kind is not None:
                return _run_db_here({"command": "db status", "actor": collector}, variables, session, db_kind, stderr, False)
            return invoke_function(session, env.traffic_shifter_function, {"command": "db status", "actor": collector},
                                   invoke=invoke, describe=describe)
    at = approvals.now().isoformat()
    meta = {"change_id": change_id, "environment": env.label, "collected_by": collector, "collected_at": at,
            "function": env.traffic_shifter_function}
    sources = evidence.deployment_sources(session, variables, change_id, env.traffic_shifter_function, status)
    sources += evidence.file_sources(args.review, list(args.attach))
    try:
        with _shifter_log(stderr, False):
            manifest = evidence.build(args.out, change_id, meta, sources)
    except evidence.EvidenceError as err:
        raise CliError(str(err)) from err
    evidence.record_head(session, variables, change_id, manifest["head"], collector, at)
    return {"command": "evidence", "ok": True, "change_id": change_id, "folder": str(args.out),
            "entries": len(manifest["entries"]), "head": manifest["head"], "collected_by": collector}


def run_approve(args: argparse.Namespace, *, session_factory: SessionFactory, stderr: IO[str],
                db_kind: DbSwitchover | None = None, invoke: Invoke = lambda_invoke) -> dict[str, Any]:
    """``bluegreen approve``: the second operator's approval, as their STS identity, in the state table."""
    from bluegreen import approvals

    env, session, variables = _deployment(args, session_factory)
    approver = caller(session)
    try:
        approval = approvals.grant(args.change_id, args.action, approver, args.reason, approvals.now())
    except approvals.ApprovalError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    approvals.save(session.resource("dynamodb").Table(variables["STATE_TABLE"]), approval)
    return {"ok": True, "command": "approve", "environment": env.label, **approval.item()}


def _deployment(args: argparse.Namespace, session_factory: SessionFactory) -> tuple[Environment, boto3.Session, dict[str, str]]:
    """What ``shift`` and ``db`` both start from: the environment's config, a session (as ``--role`` says)
    and the deployed traffic-shifter function's own environment variables."""
    try:
        env = load_environment(args.env, args.project_dir or find_project_root())
    except UnknownEnvironmentError as err:
        raise CliError(str(err), EXIT_USAGE) from err
    except EnvironmentConfigError as err:
        raise CliError(str(err)) from err
    _require_endpoint()
    session = make_session(env, session_factory, role=args.role, mfa_serial=args.mfa_serial, mfa_code=args.mfa_code)
    return env, session, lambda_environment(session, env)


@contextmanager
def _shifter_log(stderr: IO[str], verbose: bool) -> Iterator[None]:
    """The shifter's log is JSON lines meant for CloudWatch; here it goes to stderr, and only when asked."""
    from aws_lambda_powertools import Logger  # Powertools loads only for these commands

    logger = Logger(service=LOG_SERVICE)  # the one logger every module of the shifter logs to
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler), "Powertools logs through a StreamHandler"
    previous = handler.stream, logger.log_level
    handler.setStream(stderr)
    logger.setLevel("INFO" if verbose else "CRITICAL")
    try:
        yield
    finally:
        handler.setStream(previous[0])
        logger.setLevel(previous[1])


def run_db(args: argparse.Namespace, *, session_factory: SessionFactory, stderr: IO[str],
           db_kind: DbSwitchover | None = None, invoke: Invoke = lambda_invoke) -> dict[str, Any]:
    """``bluegreen db status|switchover``: invokes the traffic-shifter Lambda with the command (the databases
    are reachable only from inside the VPC, and the operator holds no database secret) and returns its
    answer. ``db_kind``: tests run a step kind with a stand-in fence in-process instead."""
    if args.command == "switchover" and not args.to:
        raise CliError("db switchover needs --to blue|green", EXIT_USAGE)
    change = change_of(args) if args.command == "switchover" else None
    env, session, variables = _deployment(args, session_factory)
    identity = caller(session)
    if change is not None:
        # The two-person rule holds on the operator's path too: checked before the function is invoked.
        require_approval(env, session, variables, change[0], "switchover", identity)
    event = {"command": f"db {args.command}", "actor": identity, "caller": identity,
             "reason": f"{change[0]}: {change[1]}" if change else args.reason}
    if change is not None:  # the function checks the approval of this change again (traffic_shifter.approval)
        event["change_id"] = change[0]
    if args.command == "switchover":
        event["to"] = args.to
    if db_kind is not None:
        result = _run_db_here(event, variables, session, db_kind, stderr, args.verbose)
    else:
        result = _invoke(session, env, event, invoke, stderr if args.verbose else None)
    result["environment"] = env.label
    return result


def _invoke(session: boto3.Session, env: Environment, event: Mapping[str, Any], invoke: Invoke, log: IO[str] | None) -> dict[str, Any]:
    try:
        return invoke_function(session, env.traffic_shifter_function, event, invoke=invoke, log=log, describe=describe)
    except InvokeError as err:
        raise CliError(str(err)) from err


def _run_db_here(event: Mapping[str, Any], variables: Mapping[str, str], session: boto3.Session, kind: DbSwitchover,
                 stderr: IO[str], verbose: bool) -> dict[str, Any]:
    from traffic_shifter import ShifterConfig, ShiftError  # see run_shift
    from traffic_shifter.aws import Clients

    with _shifter_log(stderr, verbose):
        try:
            event = dict(event, actor=f"{event['actor']} (cli)")
            return kind.command(Clients(session), ShifterConfig.from_env(variables), event)
        except ShiftError as err:
            raise CliError(describe(err)) from err


def run_shift(args: argparse.Namespace, *, session_factory: SessionFactory, stderr: IO[str],
              db_kind: DbSwitchover | None = None, invoke: Invoke = lambda_invoke) -> dict[str, Any]:
    """``bluegreen shift``: ``status`` reads here, with the function's own code and configuration (read only,
    so the auditor, who may not invoke the function, can run it); every command that changes the shift is
    sent to the function, because it may tick the plan and a tick may run or recover the database
    switchover, which only the function can (bluegreen.cli_invoke)."""
    change = change_of(args) if args.command != "status" else None
    env, session, variables = _deployment(args, session_factory)
    identity = caller(session)
    if args.command == "status":
        result = _status_here(variables, session, db_kind, stderr, args.verbose)
    else:
        if change and args.command in ("start", "promote"):
            require_approval(env, session, variables, change[0], args.command, identity)
        # The state and the notification carry the change id with the reason (the state keeps the last one;
        # the log and the notifications keep every one); "(cli)": the command came through bluegreen.
        event = {"command": args.command, "actor": f"{identity} (cli)", "caller": identity,
                 "reason": f"{change[0]}: {change[1]}" if change else args.reason}
        if change:
            event["change_id"] = change[0]
        result = _invoke(session, env, event, invoke, stderr if args.verbose else None)
    result["environment"] = env.label
    result["function"] = env.traffic_shifter_function
    return result


def _status_here(variables: Mapping[str, str], session: boto3.Session, db_kind: DbSwitchover | None, stderr: IO[str],
                 verbose: bool) -> dict[str, Any]:
    # Imported here: the Lambda package's AWS side (boto3 clients, Powertools) loads only for this command.
    from traffic_shifter import Shifter, ShiftError, StepKinds

    with _shifter_log(stderr, verbose):
        try:
            shifter = Shifter.from_env(variables, session=session, kinds=StepKinds(db_kind) if db_kind else None)
            return shifter.run("status")
        except ShiftError as err:
            raise CliError(describe(err)) from err


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
