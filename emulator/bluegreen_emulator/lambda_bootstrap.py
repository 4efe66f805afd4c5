"""Runs one Lambda invocation in a fresh interpreter (started by extensions/awslambda.py).

Usage: python -S -E lambda_bootstrap.py CODE_DIR RUNTIME_DIR HANDLER RESULT_FILE < event.json

* ``-S``: no site-packages. ``sys.path`` becomes: the unpacked function code (like
  /var/task), the layers (like /opt/python), then RUNTIME_DIR, which holds only what the
  Lambda Python runtime provides (boto3, botocore and their dependencies). A handler
  that forgot to vendor a dependency fails here as it would in Lambda.
* The handler's return value (JSON) is written to RESULT_FILE; stdout/stderr are the
  function's log. An exception produces Lambda's error document and exit code 1.
* The handler gets ``AWS_LAMBDA_FUNCTION_TIMEOUT`` seconds, measured from its start,
  like Lambda (interpreter start-up is not counted).
* Credentials: the function's own execution role. Before the handler is imported, the
  invocation's one-time Lambda service key (``_EMULATOR_LAMBDA_KEY_ID``/``_SECRET``, made by
  iam.enforcement.lambda_environment) calls sts:AssumeRole on ``_EMULATOR_ROLE_ARN`` at the
  emulator, which checks the role's trust policy; the handler sees only the role session's
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, as in Lambda.

Standard library and the runtime's botocore only; nothing here imports moto.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import time
import traceback
import uuid


class LambdaTimeout(Exception):
    pass


class Context:
    """The attributes and method of the Lambda context object handlers use."""

    def __init__(self, timeout: float) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = env.get("_EMULATOR_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = env.get("_EMULATOR_REQUEST_ID") or str(uuid.uuid4())
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class RoleNotAssumed(Exception):
    pass


def assume_execution_role() -> None:
    """Replace the service key in the environment by the execution role's session credentials."""
    role = os.environ.pop("_EMULATOR_ROLE_ARN", "")
    key_id = os.environ.pop("_EMULATOR_LAMBDA_KEY_ID", "")
    secret = os.environ.pop("_EMULATOR_LAMBDA_SECRET", "")
    if not (role and key_id and secret):
        raise RoleNotAssumed("the emulator gave this invocation no key to assume the function's role")
    import botocore.session  # the runtime's (RUNTIME_DIR), as the handler's boto3 uses
    from botocore.exceptions import BotoCoreError, ClientError

    session = botocore.session.Session()
    session.set_credentials(key_id, secret)
    sts = session.create_client("sts", region_name=os.environ.get("AWS_REGION", "us-east-1"),
                                endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    try:
        credentials = sts.assume_role(RoleArn=role, RoleSessionName=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "lambda")[:64],
                                      DurationSeconds=3600)["Credentials"]
    except (BotoCoreError, ClientError) as exc:
        raise RoleNotAssumed(f"The role defined for the function cannot be assumed by Lambda ({role}): {exc}") from exc
    os.environ.update({"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                       "AWS_SESSION_TOKEN": credentials["SessionToken"]})


def main() -> int:
    code_dir, runtime_dir, handler, result_file = sys.argv[1:5]
    layer_paths = [p for p in os.environ.get("_EMULATOR_LAYER_PATHS", "").split(os.pathsep) if p]
    sys.path[:0] = [code_dir, *layer_paths, runtime_dir]
    os.chdir(code_dir)
    try:
        assume_execution_role()
    except RoleNotAssumed as exc:
        print(f"[ERROR] {exc}", flush=True)
        with open(result_file, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"errorMessage": str(exc), "errorType": "AccessDeniedException"}))
        return 1

    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    context = Context(timeout)
    # Like the Lambda runtime: a root handler with the request id in every line.
    root = logging.getLogger()
    log_handler = logging.StreamHandler(sys.stdout)
    log_handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    log_handler.addFilter(_RequestIdFilter(context.aws_request_id))
    root.addHandler(log_handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())

    event = json.load(sys.stdin)
    print(f"START RequestId: {context.aws_request_id} Version: {context.function_version}", flush=True)
    started = time.monotonic()
    ok = False
    try:
        module_name, func_name = handler.rsplit(".", 1)
        module = importlib.import_module(module_name.replace("/", "."))
        func = getattr(module, func_name)

        def _on_timeout(signum: int, frame: object) -> None:
            raise LambdaTimeout(f"Task timed out after {timeout:.2f} seconds")

        context._deadline = time.monotonic() + timeout
        signal.signal(signal.SIGALRM, _on_timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = func(event, context)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        payload = json.dumps(result)
        ok = True
    except LambdaTimeout as exc:
        payload = json.dumps({"errorMessage": str(exc), "errorType": "Sandbox.Timedout"})
        print(f"{context.aws_request_id} {exc}", flush=True)
    except Exception as exc:  # noqa: BLE001 - reported like the Lambda runtime does
        tb = traceback.extract_tb(exc.__traceback__)
        payload = json.dumps(
            {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_list(tb),
            }
        )
        print(f"[ERROR] {type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc(file=sys.stdout)
    elapsed = (time.monotonic() - started) * 1000
    sys.stdout.flush()
    print(f"END RequestId: {context.aws_request_id}", flush=True)
    print(
        f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms\t"
        f"Memory Size: {context.memory_limit_in_mb} MB",
        flush=True,
    )
    with open(result_file, "w", encoding="utf-8") as fh:
        fh.write(payload)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
