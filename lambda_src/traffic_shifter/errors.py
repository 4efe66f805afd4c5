"""Errors the traffic shifter raises on purpose; each message says what is wrong and what is allowed."""

from __future__ import annotations


class ShiftError(Exception):
    """Base class: an expected failure with a message meant for an operator."""


class ConfigError(ShiftError):
    """The Lambda environment (or the infrastructure it names) is not what the contract says."""


class PlanError(ShiftError):
    """The plan in SSM (<prefix>/shift/plan) is malformed; nothing was changed."""


class WeightError(ShiftError):
    """The applied green weight in SSM (<prefix>/traffic/green-weight) is malformed; nothing was changed."""


class CommandError(ShiftError):
    """An operator command is unknown, incomplete, or forbidden in the current state."""


class ConcurrentUpdateError(ShiftError):
    """Another run changed the shift state after we read it; our write was refused."""


class ApplyFailed(ShiftError):
    """An action failed while it was being applied; the message says what was put back and what the next run does."""


class AwsCallDenied(ShiftError):
    """IAM denied an AWS call the run needed and the run could not finish; the message names the action, the
    resource and the role (aws_errors), followed by what the run left behind."""
