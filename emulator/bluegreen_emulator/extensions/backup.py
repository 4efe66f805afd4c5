"""AWS Backup: BackupVault, BackupPlan, BackupSelection.

moto 5.2 implements vaults and plans but has no CloudFormation model, and no backup
selections at all. This module adds the three models and, for selections, the
CreateBackupSelection / GetBackupSelection / ListBackupSelections /
DeleteBackupSelection API on moto's Backup backend, so tests can read what a stack
selected for backup.
"""

from __future__ import annotations

import json
from typing import Any

from moto.backup.exceptions import ResourceNotFoundException
from moto.backup.models import BackupBackend, backup_backends
from moto.backup.responses import BackupResponse
from moto.core.common_models import CloudFormationModel
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

from ..moto_internals import patch
from ._base import BackendResource, as_int, tags_to_dict

EXTENSIONS = [
    ("AWS::Backup::BackupVault", "new model: create/delete_backup_vault, EncryptionKeyArn, LockConfiguration, tags"),
    ("AWS::Backup::BackupPlan", "new model: create/delete_backup_plan (BackupPlanRule -> Rules), in-place update with a new VersionId"),
    ("AWS::Backup::BackupSelection", "new model plus new API (Create/Get/List/DeleteBackupSelection) on moto's Backup backend"),
]


def _backend(resource: BackendResource) -> BackupBackend:
    return backup_backends[resource.account_id][resource.region_name]


# ----------------------------------------------------------------------------- selections API


def _selections(backend: BackupBackend) -> dict[str, dict[str, Any]]:
    # Stored on the backend instance, so moto's reset clears it with everything else.
    return backend.__dict__.setdefault("bluegreen_selections", {})


def create_backup_selection(
    self: BackupBackend, backup_plan_id: str, backup_selection: dict[str, Any], creator_request_id: str | None
) -> dict[str, Any]:
    plan = self.plans.get(backup_plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg=f"Failed reading Backup plan {backup_plan_id}")
    selection_id = str(mock_random.uuid4())
    record = {
        "SelectionId": selection_id,
        "BackupPlanId": backup_plan_id,
        "BackupSelection": backup_selection,
        "CreationDate": unix_time(),
        "CreatorRequestId": creator_request_id,
    }
    _selections(self)[selection_id] = record
    return record


def get_backup_selection(self: BackupBackend, backup_plan_id: str, selection_id: str) -> dict[str, Any]:
    record = _selections(self).get(selection_id)
    if record is None or record["BackupPlanId"] != backup_plan_id:
        raise ResourceNotFoundException(msg=f"Failed reading backup selection {selection_id}")
    return record


def list_backup_selections(self: BackupBackend, backup_plan_id: str) -> list[dict[str, Any]]:
    return [r for r in _selections(self).values() if r["BackupPlanId"] == backup_plan_id]


def delete_backup_selection(self: BackupBackend, backup_plan_id: str, selection_id: str) -> None:
    get_backup_selection(self, backup_plan_id, selection_id)
    _selections(self).pop(selection_id)


def _uri(self: BackupResponse, name: str) -> str:
    """A URI parameter of the request (botocore names them backupPlanId, selectionId)."""
    params = {k.lower(): v for k, v in (self.uri_match or {}).items()}
    return params[name.lower()]


def _r_create_backup_selection(self: BackupResponse) -> str:
    params = json.loads(self.body or "{}")
    record = self.backup_backend.create_backup_selection(
        backup_plan_id=_uri(self, "BackupPlanId"),
        backup_selection=params.get("BackupSelection") or {},
        creator_request_id=params.get("CreatorRequestId"),
    )
    return json.dumps({k: record[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")})


def _r_get_backup_selection(self: BackupResponse) -> str:
    record = self.backup_backend.get_backup_selection(
        _uri(self, "BackupPlanId"), _uri(self, "SelectionId")
    )
    return json.dumps({k: v for k, v in record.items() if v is not None})


def _r_list_backup_selections(self: BackupResponse) -> str:
    records = self.backup_backend.list_backup_selections(_uri(self, "BackupPlanId"))
    return json.dumps(
        {
            "BackupSelectionsList": [
                {
                    "SelectionId": r["SelectionId"],
                    "SelectionName": r["BackupSelection"].get("SelectionName"),
                    "BackupPlanId": r["BackupPlanId"],
                    "CreationDate": r["CreationDate"],
                    "IamRoleArn": r["BackupSelection"].get("IamRoleArn"),
                }
                for r in records
            ]
        }
    )


def _r_delete_backup_selection(self: BackupResponse) -> str:
    self.backup_backend.delete_backup_selection(_uri(self, "BackupPlanId"), _uri(self, "SelectionId"))
    return "{}"


def _install_selection_api() -> None:
    for name, backend_func, response_func in (
        ("create_backup_selection", create_backup_selection, _r_create_backup_selection),
        ("get_backup_selection", get_backup_selection, _r_get_backup_selection),
        ("list_backup_selections", list_backup_selections, _r_list_backup_selections),
        ("delete_backup_selection", delete_backup_selection, _r_delete_backup_selection),
    ):
        patch(f"moto.backup.models.BackupBackend.{name}", backend_func)
        patch(f"moto.backup.responses.BackupResponse.{name}", response_func)


# ----------------------------------------------------------------------------- models


class BackupVaultResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Backup::BackupVault"
    NAME_PROPERTY = "BackupVaultName"
    ATTRIBUTES = ("BackupVaultArn", "BackupVaultName")
    REPLACE_ON = ("EncryptionKeyArn",)

    def create(self, name: str) -> None:
        backend = _backend(self)
        vault = backend.create_backup_vault(
            backup_vault_name=name,
            backup_vault_tags=tags_to_dict(self.properties.get("BackupVaultTags")),
            encryption_key_arn=self.properties.get("EncryptionKeyArn"),
            creator_request_id=None,
        )
        self.physical_id = vault.backup_vault_name
        self._configure(self.properties)

    def _configure(self, properties: dict[str, Any]) -> None:
        backend = _backend(self)
        vault = backend.vaults[self.physical_id]
        lock = properties.get("LockConfiguration")
        if lock:
            backend.put_backup_vault_lock_configuration(
                self.physical_id,
                as_int(lock.get("MinRetentionDays")),
                as_int(lock.get("MaxRetentionDays")),
                as_int(lock.get("ChangeableForDays")),
            )
        # No API in moto for these: recorded on the vault for inspection.
        policy = properties.get("AccessPolicy")
        vault.access_policy = policy if policy is None or isinstance(policy, str) else json.dumps(policy)
        vault.notifications = properties.get("Notifications")

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = _backend(self)
        vault = backend.vaults[self.physical_id]
        backend.tagger.delete_all_tags_for_resource(vault.backup_vault_arn)
        tags = tags_to_dict(new_properties.get("BackupVaultTags"))
        if tags:
            backend.tag_resource(vault.backup_vault_arn, tags)
        if not new_properties.get("LockConfiguration") and vault.locked:
            backend.delete_backup_vault_lock_configuration(self.physical_id)
        self._configure(new_properties)

    def remove(self) -> None:
        backend = _backend(self)
        vault = backend.vaults.get(self.physical_id)
        backend.delete_backup_vault(self.physical_id)  # refused while it holds recovery points (backup_recovery_points)
        if vault is not None:
            backend.tagger.delete_all_tags_for_resource(vault.backup_vault_arn)

    def attribute(self, name: str) -> Any:
        if name == "BackupVaultName":
            return self.physical_id
        return _backend(self).vaults[self.physical_id].backup_vault_arn


def _plan_document(cfn_plan: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's BackupPlan property -> the API's BackupPlan document."""
    rules = []
    for rule in cfn_plan.get("BackupPlanRule") or []:
        api_rule = {k: v for k, v in rule.items() if k != "TargetBackupVault"}
        api_rule["TargetBackupVaultName"] = rule.get("TargetBackupVault")
        for key in ("StartWindowMinutes", "CompletionWindowMinutes"):
            if key in api_rule:
                api_rule[key] = as_int(api_rule[key])
        rules.append(api_rule)
    document = {"BackupPlanName": cfn_plan.get("BackupPlanName"), "Rules": rules}
    if cfn_plan.get("AdvancedBackupSettings"):
        document["AdvancedBackupSettings"] = cfn_plan["AdvancedBackupSettings"]
    return document


class BackupPlanResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Backup::BackupPlan"
    ATTRIBUTES = ("BackupPlanArn", "BackupPlanId", "VersionId")

    def create(self, name: str) -> None:
        plan = _backend(self).create_backup_plan(
            backup_plan=_plan_document(self.properties.get("BackupPlan") or {}),
            backup_plan_tags=tags_to_dict(self.properties.get("BackupPlanTags")),
            creator_request_id=None,
        )
        self.physical_id = plan.backup_plan_id

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = _backend(self)
        plan = backend.plans[self.physical_id]
        fresh = type(plan)(
            backup_plan=_plan_document(new_properties.get("BackupPlan") or {}),
            creator_request_id=plan.creator_request_id,
            backend=backend,
        )
        plan.backup_plan = fresh.backup_plan
        plan.advanced_backup_settings = fresh.advanced_backup_settings
        plan.version_id = fresh.version_id
        backend.tagger.delete_all_tags_for_resource(plan.backup_plan_arn)
        tags = tags_to_dict(new_properties.get("BackupPlanTags"))
        if tags:
            backend.tag_resource(plan.backup_plan_arn, tags)

    def remove(self) -> None:
        backend = _backend(self)
        if self.physical_id in backend.plans and backend.plans[self.physical_id].deletion_date is None:
            backend.delete_backup_plan(self.physical_id)
        # moto keeps deleted plans and then refuses a new plan of the same name, which
        # AWS allows: forget it (selections of the plan go with it).
        backend.plans.pop(self.physical_id, None)
        for selection_id, record in list(_selections(backend).items()):
            if record["BackupPlanId"] == self.physical_id:
                _selections(backend).pop(selection_id)

    def attribute(self, name: str) -> Any:
        plan = _backend(self).plans[self.physical_id]
        return {
            "BackupPlanArn": plan.backup_plan_arn,
            "BackupPlanId": plan.backup_plan_id,
            "VersionId": plan.version_id,
        }[name]


class BackupSelectionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Backup::BackupSelection"
    ATTRIBUTES = ("BackupPlanId", "SelectionId")
    # Every property of a selection is create-only in CloudFormation.
    REPLACE_ON = ("BackupPlanId", "BackupSelection")

    def create(self, name: str) -> None:
        record = _backend(self).create_backup_selection(
            backup_plan_id=self.properties.get("BackupPlanId"),
            backup_selection=dict(self.properties.get("BackupSelection") or {}),
            creator_request_id=None,
        )
        self.physical_id = record["SelectionId"]
        self._plan_id = record["BackupPlanId"]

    def remove(self) -> None:
        _selections(_backend(self)).pop(self.physical_id, None)

    def attribute(self, name: str) -> Any:
        return self._plan_id if name == "BackupPlanId" else self.physical_id


def install(port: int) -> None:
    _install_selection_api()
