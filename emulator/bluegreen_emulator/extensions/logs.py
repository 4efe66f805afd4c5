"""CloudWatch Logs: AWS::Logs::LogGroup KmsKeyId and in-place updates; the MetricFilter model.

moto 5.2's ``LogGroup.create_from_cloudformation_json`` passes the template properties
as keyword arguments to ``create_log_group``, which reads ``kmsKeyId`` (the API's
spelling): the template's ``KmsKeyId`` was dropped, so ``describe_log_groups`` showed
no ``kmsKeyId``. A string ``RetentionInDays`` was stored as a string, and the model had
no update: a changed retention, key or tag set was never applied.

The fix keeps moto's model (Ref = name, GetAtt Arn) and replaces its two class methods;
upstream they would replace ``LogGroup.create_from_cloudformation_json`` and add
``update_from_cloudformation_json`` unchanged. AWS::Logs::MetricFilter had no model (a phantom).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.logs.models import LogGroup, logs_backends

from ..moto_internals import patch
from ._base import BackendResource, as_int, tags_to_dict

EXTENSIONS = [
    ("AWS::Logs::MetricFilter", "new model: put_metric_filter / delete_metric_filter"),
    ("AWS::Logs::LogGroup", "fix: KmsKeyId reaches the log group (describe_log_groups shows kmsKeyId; moto dropped it), RetentionInDays as a number, Tags; "
                            "in-place update of retention, key and tags (moto: none)"),
]


def _create(cls: type[LogGroup], resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> LogGroup:
    p = cloudformation_json.get("Properties") or {}
    return logs_backends[account_id][region_name].create_log_group(
        resource_name,
        tags_to_dict(p.get("Tags")),
        RetentionInDays=as_int(p.get("RetentionInDays")),
        kmsKeyId=p.get("KmsKeyId") or None,
    )


def _update(cls: type[LogGroup], original_resource: LogGroup, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> LogGroup:
    # A changed LogGroupName is a replacement, done by the engine before this is called.
    p = cloudformation_json.get("Properties") or {}
    backend = logs_backends[account_id][region_name]
    group = backend.groups[original_resource.name]
    retention = as_int(p.get("RetentionInDays"))
    if retention is None:
        backend.delete_retention_policy(group.name)
    else:
        backend.put_retention_policy(group.name, retention)
    # moto has no AssociateKmsKey / DisassociateKmsKey: set the backend's field.
    group.kms_key_id = p.get("KmsKeyId") or None
    old_keys = list(backend.list_tags_for_resource(group.arn))
    if old_keys:
        backend.untag_resource(group.arn, old_keys)
    new_tags = tags_to_dict(p.get("Tags"))
    if new_tags:
        backend.tag_resource(group.arn, new_tags)
    return group


class MetricFilterResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"
    REPLACE_ON = ("LogGroupName",)

    def _backend(self):
        return logs_backends[self.account_id][self.region_name]

    @staticmethod
    def _transformations(properties: dict[str, Any]) -> list[dict[str, Any]]:
        result = []
        for t in properties.get("MetricTransformations") or []:
            t = dict(t)
            if "DefaultValue" in t:
                t["DefaultValue"] = float(t["DefaultValue"])
            result.append(t)
        return result

    def create(self, name: str) -> None:
        self._backend().put_metric_filter(
            name, self.properties.get("FilterPattern", ""), self.properties["LogGroupName"], self._transformations(self.properties)
        )
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        backend.delete_metric_filter(self.physical_id, self.properties["LogGroupName"])
        backend.put_metric_filter(
            self.physical_id, new_properties.get("FilterPattern", ""), new_properties["LogGroupName"], self._transformations(new_properties)
        )

    def remove(self) -> None:
        # moto: no error when the filter or its log group is gone
        self._backend().delete_metric_filter(self.physical_id, self.properties["LogGroupName"])


def install(port: int) -> None:
    patch("moto.logs.models.LogGroup.create_from_cloudformation_json", classmethod(_create))
    patch("moto.logs.models.LogGroup.update_from_cloudformation_json", classmethod(_update))
