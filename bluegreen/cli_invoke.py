"""How ``bluegreen`` hands a command to the traffic-shifter Lambda and reads its answer.

The commands that change the shift (``bluegreen shift start|pause|resume|promote|rollback``) and every
``bluegreen db`` command run inside the function, not in the operator's shell: a changing command may
tick the plan, and a tick may recover or run the database switchover, whose calls (the master secret,
a TLS session to each cluster inside the VPC) the operator role is denied and cannot make from a
workstation anyway. The function runs them as its own role and answers; this module is that transport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import IO, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

#: How long the CLI waits for the function's answer: its whole run (switchover budget + undo = the Lambda's
#: 300 s timeout) and a margin. boto3's default read timeout (60 s) would give up on a live switchover.
INVOKE_READ_TIMEOUT_SECONDS = 320

#: The transport: (session, function name, payload, whether to ask for the log's tail) -> what boto3's
#: ``lambda.invoke`` answers (``Payload``, ``FunctionError``, ``LogResult``). Tests pass the handler run in-process.
Invoke = Callable[[boto3.Session, str, bytes, bool], Mapping[str, Any]]


class InvokeError(Exception):
    """The command did not run to an answer (refused, or the function failed): the message says what to do."""


def lambda_invoke(session: boto3.Session, function: str, payload: bytes, tail: bool) -> Mapping[str, Any]:
    """A synchronous invocation (RequestResponse), never retried by botocore: a retried command could run twice."""
    from botocore.config import Config

    client = session.client("lambda", config=Config(read_timeout=INVOKE_READ_TIMEOUT_SECONDS, retries={"max_attempts": 0}))
    return client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=payload,
                         **({"LogType": "Tail"} if tail else {}))


def invoke_function(session: boto3.Session, function: str, event: Mapping[str, Any], *, invoke: Invoke = lambda_invoke,
                    log: IO[str] | None = None, describe: Callable[[BaseException], str] = str) -> dict[str, Any]:
    """The function's answer to ``event``. A refusal (``ok: false``) or a failed run raises InvokeError; with
    ``log``, the last 4 KB of the invocation's log (what Lambda returns with LogType Tail) is written there."""
    command = event["command"]
    try:
        response = invoke(session, function, json.dumps(event).encode(), log is not None)
    except (ClientError, BotoCoreError) as err:
        raise InvokeError(f"{command}: invoking {function} failed: {describe(err)}. {_what_now(command)}") from err
    if log is not None and response.get("LogResult"):
        log.write(base64.b64decode(response["LogResult"]).decode(errors="replace"))
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {"errorMessage": raw.decode(errors="replace")[:500]}
    if response.get("FunctionError"):
        raise InvokeError(f"{command}: {function} failed: {answer.get('errorType', '')}: {answer.get('errorMessage', answer)}. "
                          f"{_what_now(command)}")
    if not isinstance(answer, dict):
        raise InvokeError(f"{command}: {function} answered {answer!r}, not a command's answer")
    if answer.get("ok") is False:  # a shift command's refusal says "cannot <command>: ..." already
        error = str(answer.get("error") or answer)
        raise InvokeError(f"{command} refused: {error}" if command.startswith("db ") else error)
    return answer


def _what_now(command: str) -> str:
    if command.startswith("db "):
        return ("A switchover that did not finish keeps its journal; the next run (the minute tick, or this command again) "
                "finishes or undoes it: bluegreen db status shows which")
    return "Check what happened with bluegreen shift status before repeating the command"
