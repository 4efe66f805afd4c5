"""Secrets Manager: Secret, SecretTargetAttachment, RotationSchedule.

moto 5.2 has no CloudFormation model for any Secrets Manager type: the secret is a
phantom and ``{{resolve:secretsmanager:...}}`` has nothing to resolve. Here the secret
is created through the backend (so describe_secret / get_secret_value work), with a
real random password for ``GenerateSecretString`` and the ``KmsKeyId`` recorded (not
enforced: moto does not encrypt). Stack delete force-deletes it (no recovery window),
so a re-deploy with the same name works and nothing is left behind.
"""

from __future__ import annotations

import json
import time
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

from ..moto_internals import patch
from ._base import BackendResource, as_bool, as_int, tags_to_list

EXTENSIONS = [
    ("AWS::SecretsManager::Secret", "new model: create_secret with GenerateSecretString (real random password), KmsKeyId, tags; force-deleted on stack delete"),
    ("AWS::SecretsManager::SecretTargetAttachment", "new model: writes engine/host/port/dbClusterIdentifier of the RDS target into the secret"),
    ("AWS::SecretsManager::RotationSchedule", "new model: records rotation Lambda and rules (AutomaticallyAfterDays/ScheduleExpression/Duration) on the "
                                              "secret; does not rotate"),
]

# Aurora engines report the base engine in the attached secret (as RDS does).
_SECRET_ENGINE = {"aurora-mysql": "mysql", "aurora": "mysql", "aurora-postgresql": "postgres"}


def _backend(resource: BackendResource):
    return secretsmanager_backends[resource.account_id][resource.region_name]


def generate_secret_string(backend: Any, spec: dict[str, Any]) -> str:
    """The value Secrets Manager stores for a GenerateSecretString specification."""
    password = backend.get_random_password(
        password_length=as_int(spec.get("PasswordLength"), 32),
        exclude_characters=spec.get("ExcludeCharacters") or "",
        exclude_numbers=as_bool(spec.get("ExcludeNumbers"), False),
        exclude_punctuation=as_bool(spec.get("ExcludePunctuation"), False),
        exclude_uppercase=as_bool(spec.get("ExcludeUppercase"), False),
        exclude_lowercase=as_bool(spec.get("ExcludeLowercase"), False),
        include_space=as_bool(spec.get("IncludeSpace"), False),
        require_each_included_type=as_bool(spec.get("RequireEachIncludedType"), True),
    )
    password = json.loads(password)["RandomPassword"]  # the backend returns the API document
    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template and key:
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return password


def _secret_value(backend: Any, properties: dict[str, Any]) -> str | None:
    if properties.get("SecretString") is not None:
        return str(properties["SecretString"])
    if properties.get("GenerateSecretString") is not None:
        return generate_secret_string(backend, properties["GenerateSecretString"] or {})
    return None


class SecretResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id",)

    def create(self, name: str) -> None:
        backend = _backend(self)
        props = self.properties
        replicas = [
            {k: v for k, v in (("Region", r.get("Region")), ("KmsKeyId", r.get("KmsKeyId"))) if v}
            for r in props.get("ReplicaRegions") or []
        ]
        result = backend.create_secret(
            name=name,
            secret_string=_secret_value(backend, props),
            secret_binary=None,
            description=props.get("Description"),
            tags=tags_to_list(props.get("Tags")) or None,
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=replicas,
            force_overwrite=False,
        )
        self.physical_id = json.loads(result)["ARN"]

    @property
    def secret(self) -> FakeSecret:
        return _backend(self).secrets[self.physical_id]

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = _backend(self)
        old = self.properties
        secret = self.secret
        secret.description = new_properties.get("Description")
        if new_properties.get("KmsKeyId") != old.get("KmsKeyId"):
            secret.kms_key_id = new_properties.get("KmsKeyId")
        secret.tags = tags_to_list(new_properties.get("Tags")) or None
        value_changed = new_properties.get("SecretString") != old.get("SecretString") or (
            new_properties.get("GenerateSecretString") != old.get("GenerateSecretString")
        )
        if value_changed:
            value = _secret_value(backend, new_properties)
            if value is not None:
                backend.put_secret_value(self.physical_id, value, None, None, ["AWSCURRENT"])

    def remove(self) -> None:
        # forced: no recovery window, and moto's forced delete of an unknown secret is no error
        _backend(self).delete_secret(self.physical_id, recovery_window_in_days=None, force_delete_without_recovery=True)

    def attribute(self, name: str) -> Any:
        return self.physical_id


#: TargetType -> (the RDS backend's records, the host attribute, the secret's identifier key, its attribute)
_TARGETS = {
    "AWS::RDS::DBCluster": ("clusters", "endpoint", "dbClusterIdentifier", "db_cluster_identifier"),
    "AWS::RDS::DBInstance": ("databases", "address", "dbInstanceIdentifier", "db_instance_identifier"),
}


class SecretTargetAttachmentResource(BackendResource, CloudFormationModel):
    """Adds the connection details of an RDS cluster/instance to a secret (as AWS does)."""

    TYPE = "AWS::SecretsManager::SecretTargetAttachment"
    REPLACE_ON = ("SecretId",)

    def _target_fields(self, properties: dict[str, Any]) -> dict[str, Any]:
        target = _TARGETS.get(properties.get("TargetType", ""))
        if target is None:
            # Redshift / DocumentDB targets: record the id only.
            return {"targetId": properties.get("TargetId")}
        records, host, key, identifier_attribute = target
        rds = rds_backends[self.account_id][self.region_name]
        record = getattr(rds, records)[str(properties.get("TargetId", "")).lower()]
        return {
            "engine": _SECRET_ENGINE.get(record.engine, record.engine),
            "host": getattr(record, host),
            "port": int(record.port),
            key: getattr(record, identifier_attribute),
        }

    def _attach(self, properties: dict[str, Any]) -> None:
        backend = _backend(self)
        secret_id = properties["SecretId"]
        current = backend.get_secret_value(secret_id, None, "AWSCURRENT")
        try:
            document = json.loads(current.get("SecretString") or "{}")
        except ValueError:
            document = {}
        document.update(self._target_fields(properties))
        backend.put_secret_value(secret_id, json.dumps(document), None, None, ["AWSCURRENT"])

    def create(self, name: str) -> None:
        self._attach(self.properties)
        self.physical_id = _backend(self).secrets[self.properties["SecretId"]].arn

    def update(self, new_properties: dict[str, Any]) -> None:
        self._attach(new_properties)

    def remove(self) -> None:
        # AWS leaves the connection fields in the secret; nothing to delete.
        return None

    ATTRIBUTES = ("Id",)

    def attribute(self, name: str) -> Any:
        return self.physical_id


_original_secret_to_dict = FakeSecret.to_dict


def _secret_to_dict(self: FakeSecret) -> dict[str, Any]:
    """describe_secret: also report ScheduleExpression / Duration recorded by RotationSchedule."""
    result = _original_secret_to_dict(self)
    extra = getattr(self, "_bluegreen_rotation_rules", None)
    if extra and "RotationRules" in result:
        result["RotationRules"].update(extra)
        if not result["RotationRules"].get("AutomaticallyAfterDays"):
            result["RotationRules"].pop("AutomaticallyAfterDays", None)
    return result


class RotationScheduleResource(BackendResource, CloudFormationModel):
    """Records the rotation configuration on the secret. The rotation Lambda is not run:
    rotating needs a reachable database, which the emulator does not have."""

    TYPE = "AWS::SecretsManager::RotationSchedule"
    REPLACE_ON = ("SecretId",)

    def put(self, properties: dict[str, Any]) -> None:
        secret = _backend(self).secrets[properties["SecretId"]]
        rules = properties.get("RotationRules") or {}
        days = as_int(rules.get("AutomaticallyAfterDays"), 0) or 0
        lambda_arn = properties.get("RotationLambdaARN")
        hosted = properties.get("HostedRotationLambda")
        if not lambda_arn and hosted:
            # AWS deploys a SAR application; record a recognisable placeholder ARN.
            lambda_arn = (
                f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:"
                f"{hosted.get('RotationLambdaName') or 'SecretsManager' + str(hosted.get('RotationType', 'hosted'))}"
            )
        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.rotation_lambda_arn = lambda_arn or ""
        secret.auto_rotate_after_days = days
        extra = {}
        if rules.get("ScheduleExpression"):
            extra["ScheduleExpression"] = rules["ScheduleExpression"]
        if rules.get("Duration"):
            extra["Duration"] = rules["Duration"]
        secret._bluegreen_rotation_rules = extra
        if days:
            secret.next_rotation_date = int(time.time()) + days * 86400
        self.physical_id = secret.arn

    def remove(self) -> None:
        try:
            secret = _backend(self).secrets[self.physical_id]
        except KeyError:
            return
        secret.rotation_enabled = False
        secret.rotation_lambda_arn = ""
        secret.auto_rotate_after_days = 0
        secret.next_rotation_date = None
        secret._bluegreen_rotation_rules = {}


def install(port: int) -> None:
    patch("moto.secretsmanager.models.FakeSecret.to_dict", _secret_to_dict)
