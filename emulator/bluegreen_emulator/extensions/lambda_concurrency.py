"""Lambda's account concurrency: a reservation refused as AWS refuses it, and GetAccountSettings.

AWS keeps at least 100 of a Region's concurrent executions unreserved: "You can reserve up to the
Unreserved account concurrency value that is shown, minus 100 for functions that don't have reserved
concurrency" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and "New
AWS accounts have reduced concurrency and memory quotas" (as low as 10;
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). So in a fresh account any
``ReservedConcurrentExecutions`` fails the stack. moto checked nothing unless MOTO_LAMBDA_CONCURRENCY_QUOTA
was set, and never when a function was created with one (CloudFormation's path).

``EMULATOR_LAMBDA_CONCURRENCY=<n>`` (read at server start; default 1000, AWS's default quota) is the
account's concurrent executions. CreateFunction (and so ``AWS::Lambda::Function``) and
PutFunctionConcurrency are refused with AWS's InvalidParameterValueException when the reservation would
leave fewer than 100 unreserved; GetAccountSettings (moto: not implemented) answers the quota and what
is left unreserved, which the preflight reads (bluegreen.preflight.check_lambda_concurrency).
"""

from __future__ import annotations

import json
import os
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException

from ..moto_internals import patch

EXTENSIONS = [
    ("EMULATOR_LAMBDA_CONCURRENCY", "the account's concurrent executions (default 1000): a ReservedConcurrentExecutions (CreateFunction, "
                                    "AWS::Lambda::Function, PutFunctionConcurrency) leaving under 100 unreserved is refused, as AWS"),
    ("GetAccountSettings", "added: AccountLimit.ConcurrentExecutions and UnreservedConcurrentExecutions of that quota"),
]

FLAG = "EMULATOR_LAMBDA_CONCURRENCY"
#: AWS's default concurrent executions per Region.
DEFAULT_QUOTA = 1000
#: What AWS keeps unreserved whatever the functions reserve.
MINIMUM_UNRESERVED = 100
#: AWS's own message (InvalidParameterValueException).
REFUSED = ("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
           f"below its minimum value of [{MINIMUM_UNRESERVED}].")
ACCOUNT_SETTINGS_PATH = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"

_quota = {"value": DEFAULT_QUOTA}


def quota_from(environ: dict[str, str] | os._Environ[str]) -> int:
    raw = environ.get(FLAG, str(DEFAULT_QUOTA)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{FLAG}={raw!r}: give the account's concurrent executions, a whole number (AWS's default: {DEFAULT_QUOTA})")
    return int(raw)


def reserved(backend: Any, *, besides: str = "") -> int:
    """What the account's functions reserve, ``besides`` (a function name) left out."""
    return sum(int(fn.reserved_concurrency) for fn in backend.list_functions()
               if fn.reserved_concurrency and fn.function_name != besides)


def check(backend: Any, function_name: str, requested: Any) -> None:
    if requested in (None, ""):
        return
    if _quota["value"] - reserved(backend, besides=function_name) - int(requested) < MINIMUM_UNRESERVED:
        raise InvalidParameterValueException(REFUSED)


def _create_function(original: Any) -> Any:
    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        check(self, spec.get("FunctionName", ""), spec.get("ReservedConcurrentExecutions"))
        return original(self, spec)
    return create_function


def _put_function_concurrency(original: Any) -> Any:
    def put_function_concurrency(self: Any, function_name: str, reserved_concurrency: str) -> Any:
        name = self.get_function(function_name).function_name
        check(self, name, reserved_concurrency)
        return original(self, function_name, reserved_concurrency)
    return put_function_concurrency


def _get_account_settings(self: Any) -> Any:
    backend = self.backend
    return 200, {}, json.dumps({
        "AccountLimit": {"ConcurrentExecutions": _quota["value"], "UnreservedConcurrentExecutions": _quota["value"] - reserved(backend),
                         "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800},
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(list(backend.list_functions()))},
    })


def install(port: int) -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse

    _quota["value"] = quota_from(os.environ)
    patch("moto.awslambda.models.LambdaBackend.create_function", _create_function(LambdaBackend.create_function))
    patch("moto.awslambda.models.LambdaBackend.put_function_concurrency", _put_function_concurrency(LambdaBackend.put_function_concurrency))
    patch("moto.awslambda.responses.LambdaResponse.get_account_settings", _get_account_settings)
    patch(f"moto.awslambda.urls.url_paths[{ACCOUNT_SETTINGS_PATH}]", LambdaResponse.dispatch)
