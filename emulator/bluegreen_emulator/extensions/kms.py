"""KMS: AWS::KMS::Key replaced.

moto 5.2's model stored a KeyPolicy given as a JSON object as the dict itself, and
DescribeKey then failed with HTTP 500; it had no update, and a stack delete removed the key
at once. Here the policy is stored as JSON, description, policy, tags, rotation and
enabled state update in place, and a stack delete schedules the deletion (PendingDeletion,
PendingWindowInDays) as CloudFormation does.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.kms.models import kms_backends

from ._base import BackendResource, as_bool, as_int, policy_text, tags_to_list

EXTENSIONS = [
    ("AWS::KMS::Key", "replaces moto's model: KeyPolicy given as JSON object (moto stored the dict and DescribeKey then failed with HTTP 500), updates in "
                      "place, stack delete schedules deletion (PendingDeletion) like CloudFormation"),
]


class KmsKeyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::KMS::Key"
    ATTRIBUTES = ("Arn", "KeyId")
    REPLACE_ON = ("KeyUsage", "KeySpec", "MultiRegion", "Origin")

    def _backend(self):
        return kms_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        key = self._backend().create_key(
            policy=policy_text(p["KeyPolicy"]) if p.get("KeyPolicy") is not None else None,
            key_usage=p.get("KeyUsage") or "ENCRYPT_DECRYPT",
            key_spec=p.get("KeySpec") or "SYMMETRIC_DEFAULT",
            description=p.get("Description") or "",
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags_to_list(p.get("Tags"))],
            multi_region=as_bool(p.get("MultiRegion"), False),
        )
        self.physical_id = key.id
        self._apply(p)

    def _apply(self, p: dict[str, Any]) -> None:
        backend = self._backend()
        if as_bool(p.get("EnableKeyRotation"), False):
            backend.enable_key_rotation(self.physical_id)
        else:
            backend.disable_key_rotation(self.physical_id)
        if as_bool(p.get("Enabled"), True):
            backend.enable_key(self.physical_id)
        else:
            backend.disable_key(self.physical_id)

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        key = backend.keys[self.physical_id]
        if new_properties.get("KeyPolicy") is not None:
            backend.put_key_policy(self.physical_id, policy_text(new_properties["KeyPolicy"]))
        backend.update_key_description(self.physical_id, new_properties.get("Description") or "")
        old_keys = [t["Key"] for t in tags_to_list(self.properties.get("Tags"))]
        if old_keys:
            backend.untag_resource(key.arn, old_keys)
        new_tags = {t["Key"]: t["Value"] for t in tags_to_list(new_properties.get("Tags"))}
        if new_tags:
            backend.tag_resource(key.arn, new_tags)
        self._apply(new_properties)

    def remove(self) -> None:
        backend = self._backend()
        key = backend.keys.get(self.physical_id)
        if key is None or key.key_state == "PendingDeletion":
            return
        backend.schedule_key_deletion(self.physical_id, as_int(self.properties.get("PendingWindowInDays"), 30))

    def attribute(self, name: str) -> Any:
        return self._backend().keys[self.physical_id].arn if name == "Arn" else self.physical_id
