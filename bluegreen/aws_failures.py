"""What the tools (``bluegreen``, the hooks and resolvers, ``scripts/demo``) say when an AWS call fails.

The words come from ``traffic_shifter.aws_errors`` (one place: a denial names action, resource and
principal there); this adds what only a tool on this machine can say (how to start the local
emulator) and, for Sceptre, the exception type Sceptre prints as one line and exits 1 on, with
the stack and the hook or resolver in front.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from sceptre.exceptions import SceptreException

from bluegreen.preflight import EMULATOR_HOW_TO, LOCAL_HOSTS

__all__ = ["AwsCallFailed", "describe", "names_aws_failures"]
# traffic_shifter.aws_errors is imported where a failure is said: importing it loads the Lambda package
# (Powertools), and Sceptre imports every hook on every run.

F = TypeVar("F", bound=Callable[..., Any])


def describe(err: BaseException, endpoint_url: str | None = None) -> str:
    """``explain(err)``, and when a local endpoint (the emulator) did not answer, how to start it."""
    from traffic_shifter.aws_errors import explain, unreachable_of
    said = explain(err)
    endpoint = endpoint_url if endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL", "")
    if unreachable_of(err) is not None and any(f"//{host}" in endpoint for host in LOCAL_HOSTS):
        said += f": the local AWS emulator is not running at {endpoint}: {EMULATOR_HOW_TO}"
    return said


class AwsCallFailed(SceptreException):
    """A hook's or resolver's AWS call was denied or reached nothing; Sceptre prints the message and exits 1."""


def names_aws_failures(method: F) -> F:
    """Decorate a hook's ``run`` or a resolver's ``resolve``: an AWS failure leaves as AwsCallFailed saying
    ``<stack> - !<hook or resolver>: <describe(err)>`` (a denial named, an unreachable endpoint with what to do)."""
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (ClientError, BotoCoreError) as err:
            stack = getattr(getattr(self, "stack", None), "name", None)
            raise AwsCallFailed(f"{stack + ' - ' if stack else ''}!{tag(self)}: {describe(err)}") from err
        except SceptreException as err:
            # A hook's own refusal that wraps an AWS error keeps its words and gains the denial, first.
            from traffic_shifter.aws_errors import denial_of, explain
            if isinstance(err, AwsCallFailed) or denial_of(err) is None:
                raise
            raise type(err)(explain(err)) from err
    return run  # type: ignore[return-value]  # the wrapper has the wrapped function's signature (functools.wraps)


def tag(hook_or_resolver: Any) -> str:
    """The YAML tag of a hook or resolver: its class name in snake case (RecordGreenWeight -> record_green_weight),
    as pyproject.toml registers them."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(hook_or_resolver).__name__).lower()
