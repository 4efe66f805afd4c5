"""Evaluate a template's Conditions and Fn::If for given parameter values, as CloudFormation would.

Tests use it to see what a template deploys for a parameter value (e.g. which endpoint is the
source for ReplicationDirection=green-to-blue) without an AWS account. It knows the condition
functions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) over Ref to parameters, and
resolves Fn::If and AWS::NoValue in resource bodies; everything else is left as it is.
"""

from __future__ import annotations

from typing import Any

NO_VALUE = object()


class Evaluation:
    def __init__(self, template: dict, **parameters: str):
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        self.parameters = {k: str(v["Default"]) for k, v in declared.items() if "Default" in v}
        self.parameters.update(parameters)
        self.template = template
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _value(self, node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            ref = node["Ref"]
            if ref not in self.parameters:
                raise KeyError(f"parameter {ref!r} has no value (give it to Evaluation)")
            return self.parameters[ref]
        return node

    def _truth(self, node: Any) -> bool:
        (fn, args), = node.items()
        if fn == "Fn::Equals":
            left, right = (self._value(a) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self._truth(args[0])
        if fn == "Fn::And":
            return all(self._truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self._truth(a) for a in args)
        if fn == "Condition":
            return self.condition(args)
        raise ValueError(f"unsupported condition function {fn}")

    def resolve(self, node: Any) -> Any:
        """The node with every Fn::If decided and every AWS::NoValue removed."""
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return self.resolve(when_true if self.condition(name) else when_false)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            out = {}
            for key, value in node.items():
                value = self.resolve(value)
                if value is not NO_VALUE:
                    out[key] = value
            return out
        if isinstance(node, list):
            return [v for v in (self.resolve(i) for i in node) if v is not NO_VALUE]
        return node

    def resources(self) -> dict[str, dict]:
        """The resources deployed for these parameters, with their bodies resolved."""
        return {
            logical: self.resolve(body)
            for logical, body in self.template["Resources"].items()
            if "Condition" not in body or self.condition(body["Condition"])
        }
