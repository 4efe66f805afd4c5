"""SSM: AWS::SSM::Parameter replaced.

moto 5.2's model crashed without ``Name``, took only list Tags, and an update deleted and
re-created the parameter; here a generated name works, Tags may be a map (the
CloudFormation form), and an update is a new version of the same parameter.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ssm.exceptions import ParameterNotFound
from moto.ssm.models import ssm_backends

from ._base import BackendResource, tags_to_list

EXTENSIONS = [
    ("AWS::SSM::Parameter", "replaces moto's model: works without Name (moto crashed), map Tags, update = new version (moto deleted and re-created)"),
]


class SsmParameterResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SSM::Parameter"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Type", "Value")

    def _backend(self):
        return ssm_backends[self.account_id][self.region_name]

    def _put(self, name: str, p: dict[str, Any], overwrite: bool) -> None:
        tags = tags_to_list(p.get("Tags"))
        policies = p.get("Policies")
        self._backend().put_parameter(
            name=name,
            description=p.get("Description"),
            value=str(p.get("Value")) if p.get("Value") is not None else "",
            parameter_type=p.get("Type") or "String",
            allowed_pattern=p.get("AllowedPattern"),
            keyid=p.get("KeyId"),
            overwrite=overwrite,
            tags=[] if overwrite else tags,
            data_type=p.get("DataType") or "text",
            tier=p.get("Tier"),
            policies=policies if policies is None or isinstance(policies, str) else json.dumps(policies),
        )

    def create(self, name: str) -> None:
        self._put(name, self.properties, overwrite=False)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        self._put(self.physical_id, new_properties, overwrite=True)
        old_keys = [t["Key"] for t in tags_to_list(self.properties.get("Tags"))]
        if old_keys:
            backend.remove_tags_from_resource("Parameter", self.physical_id, old_keys)
        new_tags = {t["Key"]: t["Value"] for t in tags_to_list(new_properties.get("Tags"))}
        if new_tags:
            backend.add_tags_to_resource("Parameter", self.physical_id, new_tags)

    def remove(self) -> None:
        with suppress(ParameterNotFound):
            self._backend().delete_parameter(self.physical_id)

    def attribute(self, name: str) -> Any:
        parameter = self._backend().get_parameter(self.physical_id)
        return parameter.parameter_type if name == "Type" else parameter.value
