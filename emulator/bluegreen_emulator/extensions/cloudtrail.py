"""CloudTrail: the Trail model moto 5.2 lacks (a phantom): create_trail (+ start_logging),
update_trail, event selectors, delete_trail.
"""

from __future__ import annotations

from typing import Any

from moto.cloudtrail.models import cloudtrail_backends
from moto.core.common_models import CloudFormationModel

from ._base import BackendResource, as_bool, tags_to_list

EXTENSIONS = [
    ("AWS::CloudTrail::Trail", "new model: create_trail (+ start_logging), update_trail, delete_trail"),
]


class TrailResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::CloudTrail::Trail"
    NAME_PROPERTY = "TrailName"
    ATTRIBUTES = ("Arn", "SnsTopicArn")

    def _backend(self):
        return cloudtrail_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        trail = self._backend().create_trail(
            name=name[:128],
            bucket_name=p.get("S3BucketName"),
            s3_key_prefix=p.get("S3KeyPrefix"),
            sns_topic_name=p.get("SnsTopicName"),
            is_global=as_bool(p.get("IncludeGlobalServiceEvents"), True),
            is_multi_region=as_bool(p.get("IsMultiRegionTrail"), False),
            log_validation=as_bool(p.get("EnableLogFileValidation"), False),
            is_org_trail=as_bool(p.get("IsOrganizationTrail"), False),
            cw_log_group_arn=p.get("CloudWatchLogsLogGroupArn"),
            cw_role_arn=p.get("CloudWatchLogsRoleArn"),
            kms_key_id=p.get("KMSKeyId"),
            tags_list=tags_to_list(p.get("Tags")),
        )
        self.physical_id = trail.trail_name
        self._apply(p)

    def _apply(self, p: dict[str, Any]) -> None:
        backend = self._backend()
        if p.get("EventSelectors"):
            backend.put_event_selectors(self.physical_id, p["EventSelectors"], p.get("AdvancedEventSelectors") or [])
        if as_bool(p.get("IsLogging"), False):
            backend.start_logging(self.physical_id)
        else:
            backend.stop_logging(self.physical_id)

    def update(self, new_properties: dict[str, Any]) -> None:
        p = new_properties
        self._backend().update_trail(
            name=self.physical_id,
            s3_bucket_name=p.get("S3BucketName"),
            s3_key_prefix=p.get("S3KeyPrefix"),
            sns_topic_name=p.get("SnsTopicName"),
            include_global_service_events=as_bool(p.get("IncludeGlobalServiceEvents")),
            is_multi_region_trail=as_bool(p.get("IsMultiRegionTrail")),
            enable_log_file_validation=as_bool(p.get("EnableLogFileValidation")),
            is_organization_trail=as_bool(p.get("IsOrganizationTrail")),
            cw_log_group_arn=p.get("CloudWatchLogsLogGroupArn"),
            cw_role_arn=p.get("CloudWatchLogsRoleArn"),
            kms_key_id=p.get("KMSKeyId"),
        )
        self._apply(p)

    def remove(self) -> None:
        self._backend().delete_trail(self.physical_id)  # moto: no error when gone

    def attribute(self, name: str) -> Any:
        trail = self._backend().get_trail(self.physical_id)
        return trail.arn if name == "Arn" else getattr(trail, "topic_arn", None)
