"""``!lambda_code_key``: the S3 key of a Lambda's deployment package, for the Code.S3Key parameter.

    parameters:
      TrafficShifterCodeKey: !lambda_code_key lambda_src/traffic_shifter

Resolves to ``lambda/<name>/<sha256>.zip``, the key the ``!package_lambda`` hook uploads the same
bytes to (both call ``bluegreen.lambda_zip.build``). It calls no AWS API: a code change gives a
new key, so CloudFormation updates the function exactly when its code changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sceptre.exceptions import InvalidResolverArgumentError
from sceptre.resolvers import Resolver

from bluegreen import lambda_zip, sceptre_stack


class LambdaCodeKey(Resolver):
    """The content-addressed S3 key of ``lambda_src/<name>``'s zip."""

    def __init__(
        self,
        argument: Any = None,
        stack: Any = None,
        *,
        builder: Callable[..., lambda_zip.Package] = lambda_zip.build,
        project_root: Path | None = None,
    ):
        super().__init__(argument, stack)
        self._builder = builder
        self._project_root = project_root

    def resolve(self) -> str:
        try:
            name = lambda_zip.parse_source(self.argument)
            return self._builder(name, root=self._root()).key
        except lambda_zip.LambdaSourceError as err:
            stack = getattr(self.stack, "name", "lambda_code_key")
            raise InvalidResolverArgumentError(
                f"{stack} - !lambda_code_key takes 'lambda_src/<name>' (e.g. !lambda_code_key "
                f"lambda_src/traffic_shifter): {err}"
            ) from err

    def _root(self) -> Path:
        return sceptre_stack.project_root(self.stack, self._project_root)
