"""The shifter's recorded AWS calls, made again on a launched environment as the role that makes them.

test_lambda_calls.py's recorded run (lambda_run.py, ``recorded``) holds every call the traffic shifter's
code made, with its API parameters, in a world named as the dev stacks name things. On the emulator the
same calls name the resources the stacks really created: ``Translation`` maps each identifier of the
run (the Lambda environment's values: cluster and task ARNs, secrets, zone, record, CA parameter...)
to the launched function's, element by element for lists, and each cluster endpoint of the run to the
launched cluster's. ``replay`` then makes the call through a botocore client, so the emulator judges it
with IAM enforced exactly as it judges the Lambda's own calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tests.test_iam.lambda_run import Call

#: The codes AWS answers an IAM denial with, per protocol (docs/aws-constraints.md, "IAM denies a call ...").
DENIAL_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AccessDeniedFault", "AuthorizationError", "UnauthorizedOperation"})
#: ``<cluster id>.cluster-<x>.<region>.rds.amazonaws.com`` (moto's endpoint form), the writer name's value.
_ENDPOINT = re.compile(r"^(?P<cluster>[a-z][a-z0-9-]*)\.cluster-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com\.?$")
#: A DNS name (a record name of the environment), as opposed to an ARN, an id or a path.
_DNS_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$")


@dataclass(frozen=True)
class Translation:
    """Identifiers of the recorded run -> the launched environment's."""

    names: dict[str, str]
    endpoints: dict[str, str]  # cluster id -> the launched cluster's endpoint

    @classmethod
    def between(cls, recorded_env: dict[str, str], launched_env: dict[str, str], endpoints: dict[str, str]) -> Translation:
        names: dict[str, str] = {}
        for key, old in recorded_env.items():
            new = launched_env.get(key)
            if new is None or new == old:
                continue
            olds, news = old.split(","), new.split(",")
            if len(olds) != len(news):
                raise ValueError(f"{key}: the run has {len(olds)} value(s), the launched function {len(news)}: {old!r} / {new!r}")
            for o, n in zip(olds, news, strict=True):
                names[o] = n
                if _DNS_NAME.match(o) and _DNS_NAME.match(n):  # a record name is written with or without its final dot
                    names[o.rstrip(".")], names[o.rstrip(".") + "."] = n.rstrip("."), n.rstrip(".") + "."
        return cls(names, endpoints)

    def value(self, text: str) -> str:
        if text in self.names:
            return self.names[text]
        found = _ENDPOINT.match(text)
        if found and found["cluster"] in self.endpoints:
            return self.endpoints[found["cluster"]]
        return text

    def params(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.value(value)
        if isinstance(value, dict):
            return {k: self.params(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.params(v) for v in value]
        return value


def distinct(calls: Iterable[Call], phases: Iterable[str]) -> list[Call]:
    """The calls of ``phases``, each distinct (service, operation, parameters) once, in the run's order."""
    wanted, seen, out = set(phases), set(), []
    for call in calls:
        key = (call.service, call.operation, repr(call.params))
        if call.phase in wanted and key not in seen:
            seen.add(key)
            out.append(call)
    return out


@dataclass(frozen=True)
class Outcome:
    call: Call
    code: str | None  # None: the call succeeded
    message: str
    error: ClientError | None = None

    @property
    def denied(self) -> bool:
        return self.code in DENIAL_CODES

    def __str__(self) -> str:
        return f"{self.call.service}.{self.call.operation}: {self.code or 'ok'} {self.message[:300]}"


def replay(client: Callable[[str], Any], call: Call, translation: Translation) -> Outcome:
    """Make ``call`` (its identifiers translated) with ``client(service)``; the service's answer, never raised."""
    api = client(call.service)
    method = {op: name for name, op in api.meta.method_to_api_mapping.items()}[call.operation]
    try:
        getattr(api, method)(**translation.params(call.params))
    except ClientError as err:
        error = err.response.get("Error", {})
        return Outcome(call, str(error.get("Code")), str(err), err)
    return Outcome(call, None, "")
