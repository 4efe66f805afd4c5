"""Lambda without Docker: Python functions run in a local subprocess.

moto runs Lambda code in a Docker container; there is no Docker here. This extension
replaces ``LambdaFunction._invoke_lambda`` for ``python*`` runtimes: the function's zip
(and its layers) are unpacked once into ``.emulator/lambda/<sha256>/`` and each
invocation starts ``lambda_bootstrap.py`` with the emulator venv's interpreter:

* ``sys.path`` = function code, layers, then a directory holding only what the Lambda
  runtime provides (boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3) --
  no site-packages, so a dependency that was not vendored fails as in Lambda;
* environment = the function's variables plus the reserved Lambda variables,
  ``AWS_ENDPOINT_URL`` pointing at this emulator and fake credentials (with IAM enforced,
  iam.enforcement's wrapper of ``_environment`` replaces them by a key that assumes the
  function's own role);
* the handler's timeout is enforced (``Task timed out after N seconds``);
* the output goes to CloudWatch Logs (``/aws/lambda/<name>``) as in Lambda.

Invoke then returns the handler's real result (or Lambda's error document with
``FunctionError``), and custom resources that PUT to their ResponseURL really complete.
Other runtimes keep moto's behaviour (Docker).

Also two CloudFormation models: EventInvokeConfig (moto had none: a phantom) and
Permission (moto's had no physical ID and was never removed).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
import zipfile
from contextlib import suppress
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException, UnknownPolicyException
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.core.common_models import CloudFormationModel
from moto.logs.exceptions import LogsClientError

from .. import launcher
from ..moto_internals import patch
from ._base import BackendResource, as_int

log = logging.getLogger("bluegreen_emulator.awslambda")

EXTENSIONS = [
    ("Lambda Invoke (python runtimes)", "handler runs in a subprocess with the function's env, AWS_ENDPOINT_URL = emulator, timeout enforced, only boto3 & co. "
                                        "importable besides the zip"),
    ("AWS::Lambda::EventInvokeConfig", "new model: put/delete_function_event_invoke_config (retries, max age, destinations)"),
    ("AWS::Lambda::Permission", "replaces moto's model: Ref = statement id, remove_permission on delete"),
]

#: What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
#: Interpreter start-up allowance on top of the function timeout (Lambda's init phase).
INIT_ALLOWANCE_SECONDS = 10.0

_PORT = 5100
_lock = threading.Lock()
_original_invoke_lambda = LambdaFunction._invoke_lambda


def _cache_root() -> Path:
    return launcher.state_dir() / "lambda"


def _unpack(code: bytes, kind: str) -> Path:
    """Extract a zip once per content hash; returns the directory."""
    digest = hashlib.sha256(code).hexdigest()[:32]
    target = _cache_root() / kind / digest
    if target.is_dir():
        return target
    with _lock:
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=target.parent))
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)
        os.replace(staging, target)
    return target


def runtime_dir() -> Path:
    """A directory with links to boto3 & co. of this interpreter (the 'Lambda runtime')."""
    target = _cache_root() / "runtime"
    marker = target / ".complete"
    if marker.exists():
        return target
    with _lock:
        if marker.exists():
            return target
        target.mkdir(parents=True, exist_ok=True)
        import boto3  # locate site-packages

        site = Path(boto3.__file__).resolve().parents[1]
        for name in RUNTIME_PACKAGES:
            source = site / name
            link = target / name
            if source.exists() and not link.exists():
                link.symlink_to(source)
        marker.write_text("boto3 runtime\n")
    return target


def _layer_paths(fn: LambdaFunction) -> list[str]:
    paths: list[str] = []
    backend = lambda_backends[fn.account_id][fn.region]
    for layer in fn.layers or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None or not getattr(version, "code_bytes", b""):
            continue
        root = _unpack(version.code_bytes, "layers")
        paths.append(str(root / "python"))
        for lib in sorted((root / "python" / "lib").glob("python3*/site-packages")):
            paths.append(str(lib))
    return paths


def _environment(fn: LambdaFunction, code_dir: Path, request_id: str) -> dict[str, str]:
    env = {k: str(v) for k, v in (fn.environment_vars or {}).items()}
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": str(code_dir.parent),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": fn.handler or "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"emulator/[{fn.version}]{request_id[:8]}",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": launcher.FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": launcher.FAKE_SECRET_KEY,
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": launcher.url_for(_PORT),
            "_EMULATOR_FUNCTION_ARN": fn.function_arn,
            "_EMULATOR_REQUEST_ID": request_id,
            "_EMULATOR_LAYER_PATHS": os.pathsep.join(_layer_paths(fn)),
        }
    )
    return env


def run_python_function(fn: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    """(payload, errored, logs) for one invocation, as moto's _invoke_lambda returns."""
    if not fn.code_bytes:
        return json.dumps({"errorMessage": "function has no code", "errorType": "Runtime.InvalidEntrypoint"}), True, ""
    code_dir = _unpack(fn.code_bytes, "code")
    request_id = str(uuid.uuid4())
    bootstrap = Path(__file__).resolve().parents[1] / "lambda_bootstrap.py"
    fd, result_path = tempfile.mkstemp(prefix="lambda-result-", suffix=".json")
    os.close(fd)
    timeout = float(fn.timeout or 3)
    try:
        try:
            proc = subprocess.run(
                [sys.executable, "-S", "-E", str(bootstrap), str(code_dir), str(runtime_dir()), fn.handler or "", result_path],
                input=json.dumps(event if event is not None else {}),
                capture_output=True,
                text=True,
                env=_environment(fn, code_dir, request_id),
                cwd=str(code_dir),
                timeout=timeout + INIT_ALLOWANCE_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or "") + (exc.stderr or "") if isinstance(exc.stdout, str) else ""
            message = f"Task timed out after {timeout:.2f} seconds (interpreter did not finish)"
            return json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}), True, out + message
        logs = proc.stdout + proc.stderr
        payload = Path(result_path).read_text(encoding="utf-8") if os.path.getsize(result_path) else ""
        if not payload:
            payload = json.dumps(
                {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {proc.returncode}",
                    "errorType": "Runtime.ExitError",
                }
            )
            return payload, True, logs
        return payload, proc.returncode != 0, logs
    finally:
        try:
            os.unlink(result_path)
        except OSError:
            pass


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if not str(self.run_time or "").startswith("python") or self.package_type == "Image":
        return _original_invoke_lambda(self, event)
    self.logs_backend.ensure_log_group(self.logs_group_name)
    payload, errored, logs = run_python_function(self, event)
    try:
        self.save_logs(logs or "(no output)")
    except LogsClientError as exc:  # the result counts more than its log: say so, return it
        log.warning("Lambda %s: output not written to CloudWatch Logs: %s", self.function_name, exc)
    return payload, errored, logs


# ----------------------------------------------------------------------------- CloudFormation models


class EventInvokeConfigResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Lambda::EventInvokeConfig"
    REPLACE_ON = ("FunctionName", "Qualifier")

    @staticmethod
    def _config(p: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if p.get(key) is not None:
                config[key] = as_int(p[key])
        if p.get("DestinationConfig"):
            config["DestinationConfig"] = p["DestinationConfig"]
        return config

    def put(self, p: dict[str, Any]) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        backend.get_function(p["FunctionName"]).event_invoke_config = []  # put replaces the configuration
        backend.put_function_event_invoke_config(p["FunctionName"], self._config(p))
        self.physical_id = f"{p['FunctionName']}|{p.get('Qualifier', '$LATEST')}"

    def remove(self) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        with suppress(UnknownFunctionException):  # the function went first
            backend.delete_function_event_invoke_config(self.properties["FunctionName"])


class PermissionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Lambda::Permission"
    REPLACE_ON = ("Action", "FunctionName", "Principal", "SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID")

    def create(self, name: str) -> None:
        p = dict(self.properties)
        sid = name[:100]
        statement = {k: v for k, v in p.items() if k != "FunctionName"}
        statement["StatementId"] = sid
        backend = get_lambda_backend(self.account_id, self.region_name)
        backend.add_permission(p["FunctionName"], None, json.dumps(statement))
        self.physical_id = sid

    def remove(self) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        with suppress(UnknownFunctionException, UnknownPolicyException):  # the function went first
            backend.remove_permission(self.properties["FunctionName"], self.physical_id)


def install(port: int) -> None:
    global _PORT
    _PORT = port
    patch("moto.awslambda.models.LambdaFunction._invoke_lambda", _invoke_lambda)


def clear_cache() -> None:
    shutil.rmtree(_cache_root(), ignore_errors=True)
