"""``!traffic_weight``: one colour's traffic weight from the single number ``green_weight``.

Argument (a dict)::

    GreenWeight: !traffic_weight
      colour: green                 # blue | green
      green_weight: "10"            # 0..100, percent for green; a string, an int or a nested
                                    # resolver such as !ssm /<project>/<env>-<suffix>/traffic/green-weight

Resolves to the colour's weight as a string: green -> green_weight, blue -> 100 - green_weight.

A literal green_weight (the ``--var green_weight=N`` case) is checked as soon as the stack
config is read, so a bad value stops Sceptre before it resolves anything else or calls AWS.
A green_weight that comes from a nested resolver is checked when it resolves.
"""

from __future__ import annotations

from typing import NoReturn

from sceptre.exceptions import InvalidResolverArgumentError
from sceptre.resolvers import Resolver

from bluegreen.aws_failures import names_aws_failures
from bluegreen.weights import COLOURS, WeightError, weight_for

KEYS = ("colour", "green_weight")


class TrafficWeight(Resolver):
    """Weight of ``colour`` for ``green_weight`` (see the module docstring for the argument)."""

    def setup(self):
        # self._argument, not self.argument: the latter would resolve a nested !ssm now.
        argument = self._argument
        if not isinstance(argument, dict) or set(argument) != set(KEYS):
            self._fail(
                f"!traffic_weight takes a dict with exactly the keys {', '.join(KEYS)}, "
                f"e.g. {{colour: green, green_weight: \"10\"}}; got {argument!r}"
            )
        if argument["colour"] not in COLOURS:
            self._fail(f"!traffic_weight colour must be one of {', '.join(COLOURS)}, got {argument['colour']!r}")
        raw = argument["green_weight"]
        # Remember where the value came from, for the message if it turns out wrong.
        self._source = f" (from {raw!r})" if isinstance(raw, Resolver) else ""
        if not isinstance(raw, Resolver):
            self._weight(raw)

    @names_aws_failures
    def resolve(self) -> str:
        argument = self.argument
        return str(self._weight(argument["green_weight"]))

    def _weight(self, green_weight) -> int:
        try:
            return weight_for(self._argument["colour"], green_weight)
        except WeightError as err:
            self._fail(
                f"{err}{getattr(self, '_source', '')}. Pass the percent for green before the "
                f"command, e.g.: sceptre --var green_weight=50 update {self._stack_path()}",
                err,
            )

    def _stack_path(self) -> str:
        # The stack's group: the route53 group holds every weight, so updating it moves them together.
        return self.stack.name.rsplit("/", 1)[0] if self.stack is not None else "dev/route53"

    def _fail(self, message: str, err: Exception | None = None) -> NoReturn:
        prefix = f"{self.stack.name} - " if self.stack is not None else ""
        raise InvalidResolverArgumentError(prefix + message) from err
