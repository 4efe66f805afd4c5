"""``!record_green_weight``: write the green_weight a stack actually applied back to SSM.

Argument (a dict)::

    hooks:
      after_create:
        - !record_green_weight
            parameter_name: /payments-migration/dev-d01/traffic/green-weight
            stack_parameter: GreenWeight      # optional, this is the default
      after_update:
        - !record_green_weight {parameter_name: ..., stack_parameter: GreenWeight}

The weights normally come from the SSM parameter, which the traffic-shift Lambda keeps
current; ``sceptre --var green_weight=N`` overrides it on purpose. This hook runs after the
stack was created or updated and copies the value CloudFormation now holds for
``stack_parameter`` into the SSM parameter, so SSM stays the source of truth and the next
``sceptre launch`` without ``--var`` does not undo the override.

It reads the value back from the deployed stack instead of trusting what was asked for:
Sceptre runs after-hooks even when the update failed, and a rolled-back update leaves the
old value in place, which is then what gets recorded (usually a no-op). A stack that never
came up (ROLLBACK_COMPLETE after a failed create, or still in progress) records nothing.
"""

from __future__ import annotations

from botocore.exceptions import ClientError
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook

from bluegreen.aws_failures import names_aws_failures
from bluegreen.weights import WeightError, parse_green_weight

#: Stack states in which the stack's parameters are the ones in force.
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


class GreenWeightNotRecordedError(SceptreException):
    """The applied green_weight could not be written to SSM."""


class RecordGreenWeight(Hook):
    """Copy the deployed ``stack_parameter`` value into the SSM parameter ``parameter_name``."""

    def setup(self):
        argument = self._argument
        if not isinstance(argument, dict) or "parameter_name" not in argument \
                or not set(argument) <= {"parameter_name", "stack_parameter"}:
            raise InvalidHookArgumentTypeError(
                "!record_green_weight takes a dict {parameter_name: /<project>/<env>-<suffix>/traffic/green-weight, "
                f"stack_parameter: GreenWeight (optional)}}; got {argument!r}"
            )

    @names_aws_failures
    def run(self) -> str | None:
        """Returns the value written, or None when nothing was written."""
        parameter_name = self.argument["parameter_name"]
        stack_parameter = self.argument.get("stack_parameter", "GreenWeight")
        stack = self._describe_stack()
        if stack["StackStatus"] not in SETTLED:
            self.logger.warning(
                "%s - stack is %s: no green_weight applied, %s left as it is",
                self.stack.name, stack["StackStatus"], parameter_name,
            )
            return None
        applied = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        if stack_parameter not in applied:
            raise InvalidHookArgumentValueError(
                f"{self.stack.name} - stack has no parameter {stack_parameter!r} "
                f"(it has {sorted(applied)}); set stack_parameter to the green weight parameter"
            )
        try:
            value = str(parse_green_weight(applied[stack_parameter]))
        except WeightError as err:
            raise GreenWeightNotRecordedError(
                f"{self.stack.name} - {stack_parameter} is {applied[stack_parameter]!r}, not a green_weight; "
                f"{parameter_name} left unchanged"
            ) from err
        current = self._current_value(parameter_name)
        if current == value:
            self.logger.info("%s - %s already holds green_weight %s", self.stack.name, parameter_name, value)
            return None
        self._call("ssm", "put_parameter", {"Name": parameter_name, "Value": value, "Overwrite": True})
        self.logger.info("%s - recorded green_weight %s in %s (was %s)", self.stack.name, value, parameter_name, current)
        return value

    def _describe_stack(self) -> dict:
        try:
            response = self._call("cloudformation", "describe_stacks", {"StackName": self.stack.external_name})
        except ClientError as err:
            raise GreenWeightNotRecordedError(
                f"{self.stack.name} - cannot read stack {self.stack.external_name}: {err}"
            ) from err
        return response["Stacks"][0]

    def _current_value(self, parameter_name: str) -> str:
        try:
            return self._call("ssm", "get_parameter", {"Name": parameter_name})["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                # The parameters stack owns the parameter (its type, tags, policy): never create it here.
                raise GreenWeightNotRecordedError(
                    f"{self.stack.name} - SSM parameter {parameter_name!r} does not exist; launch the "
                    f"parameters stack first (sceptre launch {self._parameters_stack()})"
                ) from err
            raise

    def _parameters_stack(self) -> str:
        """The stack config the parameter belongs to: the dependency the stack config names for it."""
        for dependency in self.stack.dependencies or ():
            path = getattr(dependency, "name", dependency)
            if str(path).removesuffix(".yaml").endswith("/parameters"):
                return str(path) if str(path).endswith(".yaml") else f"{path}.yaml"
        return f"{self.stack.name.split('/')[0]}/operations/parameters.yaml"

    def _call(self, service: str, command: str, kwargs: dict) -> dict:
        return self.stack.connection_manager.call(service=service, command=command, kwargs=kwargs)
