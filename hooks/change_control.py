"""``!change_control``: in prod, a stack changes only through a reviewed change set.

    hooks:
      before_launch:
        - !change_control {environment: !stack_attr stack_group_config.environment}
      before_create: ...
      before_update: ...

With ``execute: true`` (on ``before_execute_change_set``) it refuses, in prod, any execution but the one
``python -m bluegreen.change_sets execute`` makes after checking the change set is the reviewed one (a
``sceptre execute`` of a change set nobody reviewed runs in a process that never set that flag).

Otherwise attached to ``launch``, ``create`` and ``update``: ``python -m bluegreen.change_sets`` calls
Sceptre's ``create_change_set`` and ``execute_change_set``, which never run these hook points, so
the reviewed path passes and a plain ``sceptre launch prod`` (or ``update``) is refused before
anything is read or written, saying which command to use. The environments it holds are
bluegreen.change_sets.CHANGE_CONTROLLED; dev launches as before. PCI DSS v4.0.1 6.5.1.
"""

from __future__ import annotations

from typing import Any

from sceptre.exceptions import InvalidHookArgumentTypeError, SceptreException
from sceptre.hooks import Hook

from bluegreen.change_sets import direct_change_refusal, direct_execute_refusal


class ChangeOutsideChangeSetError(SceptreException):
    """A change-controlled stack was to be changed outside a reviewed change set."""


class ChangeControl(Hook):
    def run(self) -> None:
        argument: Any = self.argument
        if not isinstance(argument, dict) or not isinstance(argument.get("environment"), str):
            raise InvalidHookArgumentTypeError("!change_control takes {environment: <the group's environment>, "
                                               "execute: true on before_execute_change_set}")
        stack = getattr(self.stack, "name", "the stack")
        check = direct_execute_refusal if argument.get("execute") is True else direct_change_refusal
        refused = check(argument["environment"], stack)
        if refused:
            raise ChangeOutsideChangeSetError(refused)
