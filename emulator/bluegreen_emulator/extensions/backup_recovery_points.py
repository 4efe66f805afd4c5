"""AWS Backup recovery points, and a vault that holds any cannot be deleted (as AWS).

AWS: "You can delete a backup vault only if it contains no recovery points" (DeleteBackupVault,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVault.html; "Delete a backup
vault": delete its recovery points first). moto has no backup jobs and no recovery points
(``num_of_recovery_points = 0 # start_backup_job not yet supported``) and deletes any vault, so a
dev ``sceptre delete`` that works here would fail on AWS once the daily plan has run.

Added: StartBackupJob (the recovery point is created at once, COMPLETED: no data is copied here),
ListRecoveryPointsByBackupVault, DeleteRecoveryPoint; DeleteBackupVault (and so a stack delete of
``AWS::Backup::BackupVault``) refused with InvalidRequestException while the vault holds recovery points.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.backup.exceptions import InvalidRequestException, ResourceNotFoundException
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

from ..moto_internals import patch

EXTENSIONS = [
    ("AWS Backup recovery points", "added StartBackupJob (a COMPLETED recovery point at once), ListRecoveryPointsByBackupVault, DeleteRecoveryPoint; "
                                   "DeleteBackupVault refused (InvalidRequestException, as AWS) while the vault holds recovery points"),
]

#: The URL routes of the added operations (moto's url_paths has none of them).
ROUTES = (
    "{0}/backup-jobs/?$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$",
)


def points(backend: BackupBackend, vault: str) -> dict[str, dict[str, Any]]:
    """The vault's recovery points by ARN (on the backend instance: moto's reset clears them)."""
    return backend.__dict__.setdefault("bluegreen_recovery_points", {}).setdefault(vault, {})


def start_backup_job(self: BackupBackend, vault: str, resource_arn: str, role_arn: str) -> dict[str, Any]:
    found = self.describe_backup_vault(vault)  # ResourceNotFoundException for an unknown vault, as AWS
    arn = f"arn:aws:backup:{self.region_name}:{self.account_id}:recovery-point:{mock_random.uuid4()}"
    record = {"RecoveryPointArn": arn, "BackupVaultName": vault, "BackupVaultArn": found.backup_vault_arn, "ResourceArn": resource_arn,
              "IamRoleArn": role_arn, "Status": "COMPLETED", "CreationDate": unix_time(), "EncryptionKeyArn": found.encryption_key_arn,
              "BackupJobId": str(mock_random.uuid4())}
    points(self, vault)[arn] = record
    found.num_of_recovery_points = len(points(self, vault))
    return record


def delete_recovery_point(self: BackupBackend, vault: str, arn: str) -> None:
    found = self.describe_backup_vault(vault)
    if points(self, vault).pop(arn, None) is None:
        raise ResourceNotFoundException(f"Recovery point {arn} not found in backup vault {vault}")
    found.num_of_recovery_points = len(points(self, vault))


def _refuse_when_not_empty(original: Any) -> Any:
    def delete_backup_vault(self: BackupBackend, backup_vault_name: str) -> None:
        held = len(points(self, backup_vault_name))
        if held:
            raise InvalidRequestException(f"Backup vault cannot be deleted (contains {held} recovery points)")
        return original(self, backup_vault_name)
    return delete_backup_vault


def _r_start_backup_job(self: BackupResponse) -> str:
    params = json.loads(self.body or "{}")
    record = self.backup_backend.start_backup_job(params.get("BackupVaultName", ""), params.get("ResourceArn", ""), params.get("IamRoleArn", ""))
    return json.dumps({k: record[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})


def _r_list_recovery_points_by_backup_vault(self: BackupResponse) -> str:
    vault = unquote(self.path.split("/backup-vaults/", 1)[1].split("/", 1)[0])
    self.backup_backend.describe_backup_vault(vault)
    listed = [{k: v for k, v in r.items() if k != "BackupJobId"} for r in points(self.backup_backend, vault).values()]
    return json.dumps({"RecoveryPoints": listed})


def _r_delete_recovery_point(self: BackupResponse) -> str:
    vault, _, arn = self.path.split("/backup-vaults/", 1)[1].partition("/recovery-points/")
    self.backup_backend.delete_recovery_point(unquote(vault), unquote(arn))
    return "{}"


def install(port: int) -> None:
    patch("moto.backup.models.BackupBackend.start_backup_job", start_backup_job)
    patch("moto.backup.models.BackupBackend.delete_recovery_point", delete_recovery_point)
    patch("moto.backup.models.BackupBackend.delete_backup_vault", _refuse_when_not_empty(BackupBackend.delete_backup_vault))
    patch("moto.backup.responses.BackupResponse.start_backup_job", _r_start_backup_job)
    patch("moto.backup.responses.BackupResponse.list_recovery_points_by_backup_vault", _r_list_recovery_points_by_backup_vault)
    patch("moto.backup.responses.BackupResponse.delete_recovery_point", _r_delete_recovery_point)
    for route in ROUTES:
        patch(f"moto.backup.urls.url_paths[{route}]", BackupResponse.dispatch)
