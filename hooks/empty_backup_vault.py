"""``!empty_backup_vault``: delete the recovery points of this stack's backup vault, so that CloudFormation
can delete the vault with the stack (AWS refuses to delete a vault that holds any: DeleteBackupVault).

    hooks:
      before_delete:
        - !empty_backup_vault {output: BackupVaultName}    # the vault name from this stack's outputs

Dev only: a protected stack, or one whose group config does not set ``empty_buckets_on_delete: true``
(prod: the recovery points are the backups of card data, kept for their retention and under the vault
lock), is refused before anything is deleted, as ``!empty_bucket`` refuses. A stack or vault that no
longer exists is skipped, so a second ``sceptre delete`` after a failed one works.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError, ProtectedStackError
from sceptre.hooks import Hook

from bluegreen import sceptre_stack
from bluegreen.aws_failures import names_aws_failures

#: The group-config key that allows emptying at all (the same switch as the buckets' hook).
SWITCH = "empty_buckets_on_delete"


class EmptyBackupVault(Hook):
    def __init__(self, argument: Any = None, stack: Any = None, *, backup_client: Any = None, cloudformation_client: Any = None):
        super().__init__(argument, stack)
        self._clients = {"backup": backup_client, "cloudformation": cloudformation_client}

    @names_aws_failures
    def run(self) -> int:
        """Delete every recovery point of the vault; returns how many."""
        output = self.parse(self.argument)
        if self.stack is not None and self.stack.protected:
            raise ProtectedStackError(f"!empty_backup_vault refuses to empty the vault of '{self.stack.name}': the stack is protected")
        if self.stack is not None and (self.stack.stack_group_config or {}).get(SWITCH) is not True:
            raise ProtectedStackError(
                f"!empty_backup_vault refuses to empty the vault of '{self.stack.name}': its group config does not set {SWITCH}: true. "
                "Its recovery points are the database backups (kept for their retention, prod's vault is locked): leave the "
                "vault to CloudFormation, which cannot delete it while it holds any.")
        vault = self._vault(output)
        return self.empty(vault) if vault else 0

    @staticmethod
    def parse(argument: Any) -> str:
        if not (isinstance(argument, dict) and set(argument) == {"output"} and isinstance(argument["output"], str) and argument["output"]):
            raise InvalidHookArgumentTypeError(f"!empty_backup_vault takes {{output: <OutputKey of the vault name>}}; got {argument!r}")
        return argument["output"]

    def _client(self, service: str) -> Any:
        return sceptre_stack.client(self.stack, service, self._clients[service])

    def _vault(self, output: str) -> str | None:
        name = self.stack.external_name
        try:
            described = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as err:
            if "does not exist" in err.response["Error"].get("Message", ""):
                self.logger.info("%s - stack does not exist: no vault to empty", name)
                return None
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if not outputs:
            self.logger.warning("%s - stack has no outputs (%s): no vault to empty", name, described.get("StackStatus"))
            return None
        if output not in outputs:
            raise InvalidHookArgumentValueError(f"!empty_backup_vault: stack {name} has no output {output!r} (it has {sorted(outputs)!r})")
        return outputs[output]

    def empty(self, vault: str) -> int:
        backup = self._client("backup")
        deleted = 0
        try:
            for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault):
                for point in page.get("RecoveryPoints", []):
                    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point["RecoveryPointArn"])
                    deleted += 1
        except ClientError as err:
            if err.response["Error"].get("Code") == "ResourceNotFoundException" and not deleted:
                self.logger.info("backup vault %s does not exist: nothing to empty", vault)
                return 0
            raise
        self.logger.info("emptied backup vault %s (%d recovery points)", vault, deleted)
        return deleted
