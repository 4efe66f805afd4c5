"""The ``bluegreen`` command line: its commands and their arguments (cli.py runs them)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from traffic_shifter.decisions import COMMANDS  # pure: neither boto3 clients nor Powertools load with it

DB_COMMANDS = ("status", "switchover")
#: ``--role`` short names: the people's roles of templates/access.py.
PEOPLE_ROLES = ("operator", "auditor")
MFA_SERIAL_VARIABLE = "BLUEGREEN_MFA_SERIAL"
UNUSED_VERBOSE = "unused; accepted like the other commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bluegreen", description="Blue-green migration operator commands.")
    # Who acts is said before or after the command (``bluegreen --role operator shift status``, as
    # ``aws --profile``, or ``bluegreen shift status --role operator``); the command's own wins.
    add_role_arguments(parser)
    sub = parser.add_subparsers(dest="group", required=True, metavar="{shift,db,approve,evidence,rehearse}")
    shift = sub.add_parser(
        "shift",
        help="traffic shift: status, start, pause, resume, promote, rollback",
        description="Show the traffic shift (read here, with the traffic-shifter Lambda's code and configuration) or "
                    "change it (the Lambda runs the command: it may tick the plan, and a tick may move the database writer).",
    )
    shift.add_argument("command", choices=COMMANDS)
    shift.add_argument("--env", required=True, help="environment: a folder of config/ (dev, prod)")
    shift.add_argument("--change-id", help="the change (or incident) number, e.g. CHG-4711: required to change anything")
    shift.add_argument("--reason", default="", help="why, recorded with the state and in the notification: required "
                       "to change anything")
    add_common_arguments(shift, "print the decision log (JSON lines) on stderr", "-v")
    db = sub.add_parser(
        "db",
        help="database writer: status, switchover --to blue|green (docs/db-switchover.md)",
        description="Show or move the active database writer, guarded; run by the traffic-shifter Lambda inside the VPC.",
    )
    db.add_argument("command", choices=DB_COMMANDS)
    db.add_argument("--to", choices=("blue", "green"), help="switchover: the colour that becomes the writer")
    for flag, kwargs in (
        ("--env", {"required": True, "help": "environment: a folder of config/ (dev, prod)"}),
        ("--change-id", {"help": "the change number, e.g. CHG-4711: required for the switchover"}),
        ("--reason", {"default": "", "help": "why, recorded in the log: required for the switchover"}),
    ):
        db.add_argument(flag, **kwargs)
    add_common_arguments(db, "print the switchover log (JSON lines) on stderr")
    approve = sub.add_parser(
        "approve",
        help="the second operator's approval of a change's start, promote or switchover (prod)",
        description="Record, as your AWS identity, your approval of another operator's start, promote or db "
                    "switchover under a change id; it expires after an hour (bluegreen.approvals).",
    )
    approve_arguments: tuple[tuple[str, dict[str, Any]], ...] = (
        ("--env", {"required": True, "help": "environment: a folder of config/ (dev, prod)"}),
        ("--change-id", {"required": True, "help": "the change number, e.g. CHG-4711"}),
        ("--for", {"required": True, "dest": "action", "choices": ("start", "promote", "switchover"),
                       "help": "what the approval allows"}),
        ("--reason", {"required": True, "help": "why you approve, for the audit trail"}),
    )
    for flag, kwargs in approve_arguments:
        approve.add_argument(flag, **kwargs)
    add_common_arguments(approve, UNUSED_VERBOSE)
    evidence = sub.add_parser(
        "evidence",
        help="one evidence pack per cut-over: bluegreen evidence CHG-4711 --env prod --out DIR; "
             "bluegreen evidence verify DIR",
        description="Gather a change's evidence into a hash-chained folder (bluegreen.evidence), or verify one.",
    )
    evidence.add_argument("what", help="the change id (CHG-4711) to gather, or 'verify'")
    evidence.add_argument("folder", nargs="?", type=Path, help="verify: the pack's folder")
    for flag, kwargs in (
        ("--env", {"help": "environment: a folder of config/ (gather: required; verify: also check the recorded head)"}),
        ("--out", {"type": Path, "help": "gather: the empty folder the pack is written to"}),
        ("--review", {"type": Path, "help": "gather: the change-set review folder (python -m bluegreen.change_sets)"}),
        ("--attach", {"type": Path, "action": "append", "default": [], "help": "gather: a file to include (scanner or "
                                                                      "test results, the rehearsal report); repeatable"}),
    ):
        evidence.add_argument(flag, **kwargs)
    add_common_arguments(evidence, UNUSED_VERBOSE)
    # Parsed by the rehearsal's own command line (bluegreen/rehearsal/cli.py); listed here for --help.
    sub.add_parser("rehearse", help="the migration dress rehearsal on this machine (docs/rehearsal.md)", add_help=False)
    return parser


def add_common_arguments(parser: argparse.ArgumentParser, verbose_help: str, *verbose_flags: str) -> None:
    """What every command takes after its own arguments: --json, --verbose, --project-dir and who acts."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--verbose", *verbose_flags, action="store_true", help=verbose_help)
    parser.add_argument("--project-dir", type=Path, help="project folder holding config/ (default: found from the cwd)")
    add_role_arguments(parser, given_before=True)


def add_role_arguments(parser: argparse.ArgumentParser, *, given_before: bool = False) -> None:
    """``--role``, ``--mfa-serial``, ``--mfa-code``. On a command (``given_before``) they default to nothing at
    all (SUPPRESS), so the values given before the command are kept when the command does not repeat them."""
    unset = argparse.SUPPRESS if given_before else None
    parser.add_argument("--role", default=unset,
                        help=f"act as this role: {' or '.join(PEOPLE_ROLES)} (the environment's) or a role ARN")
    parser.add_argument("--mfa-serial", default=unset if given_before else os.environ.get(MFA_SERIAL_VARIABLE),
                        help=f"your MFA device's ARN, for a role trusted with MFA (default: ${MFA_SERIAL_VARIABLE})")
    parser.add_argument("--mfa-code", default=unset,
                        help="the MFA device's current code (asked for when missing and --mfa-serial is set)")
