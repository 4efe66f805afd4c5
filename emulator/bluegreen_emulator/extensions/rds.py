"""RDS / Aurora: DBCluster, DBInstance (stand-alone and in a cluster), DBClusterParameterGroup,
DBSubnetGroup.

moto 5.2 has no AWS::RDS::DBCluster model (the resource becomes a phantom), and its
DBInstance / DBSubnetGroup models return the Python object instead of
the name for ``Ref`` and ignore ``DBClusterIdentifier``; these models replace them.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.rds.exceptions import DBClusterNotFoundError, DBInstanceNotFoundError
from moto.rds.models import rds_backends

from ._base import BackendResource, identifier, snake_kwargs, tags_to_list

EXTENSIONS = [
    ("AWS::RDS::DBCluster", "new model: create_db_cluster/modify_db_cluster/delete_db_cluster; Endpoint.Address, ReadEndpoint.Address, "
                            "MasterUserSecret.SecretArn"),
    ("AWS::RDS::DBInstance", "replaces moto's model: DBClusterIdentifier honoured (Aurora cluster member), Ref = identifier"),
    ("AWS::RDS::DBClusterParameterGroup", "new model: create/modify/delete_db_cluster_parameter_group"),
    ("AWS::RDS::DBSubnetGroup", "replaces moto's model: Ref = group name, subnets updated in place"),
]

_BOOLS = {
    "storage_encrypted",
    "deletion_protection",
    "copy_tags_to_snapshot",
    "enable_iam_database_authentication",
    "manage_master_user_password",
    "publicly_accessible",
    "multi_az",
    "auto_minor_version_upgrade",
    "enable_http_endpoint",
    "enable_performance_insights",
    "allow_major_version_upgrade",
}
_INTS = {
    "port",
    "backup_retention_period",
    "allocated_storage",
    "iops",
    "backtrack_window",
    "monitoring_interval",
    "promotion_tier",
    "max_allocated_storage",
    "performance_insights_retention_period",
    "storage_throughput",
}


def _kwargs(properties: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """CloudFormation properties -> the snake_case kwargs moto's RDS backend takes."""
    kwargs = snake_kwargs(properties, skip, bools=_BOOLS, ints=_INTS)
    secret = kwargs.pop("master_user_secret", None)
    if isinstance(secret, dict) and secret.get("KmsKeyId"):
        kwargs["master_user_secret_kms_key_id"] = secret["KmsKeyId"]
    return kwargs


def _backend(resource: BackendResource):
    return rds_backends[resource.account_id][resource.region_name]


#: Route 53 hosted zone of RDS endpoints in us-east-1.
RDS_HOSTED_ZONE_ID = "Z2R2ITUGPM61AM"


def _secret_arn(record: Any) -> str | None:
    """MasterUserSecret.SecretArn of a cluster or instance (None without a managed secret)."""
    secret = getattr(record, "master_user_secret", None)
    return secret.secret_arn if secret else None


def _modify_arguments(resource: BackendResource, record: Any, new_properties: dict[str, Any]) -> dict[str, Any]:
    """An update's Modify* arguments (applied at once); tags are set on the record directly."""
    changed = resource.changed(new_properties)
    if "Tags" in changed:
        record.tags = tags_to_list(new_properties.get("Tags"))
    kwargs = _kwargs(changed, skip={resource.NAME_PROPERTY, "Tags"})
    return {**kwargs, "apply_immediately": True} if kwargs else {}


class DBClusterResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::RDS::DBCluster"
    NAME_PROPERTY = "DBClusterIdentifier"
    GETATT = {
        "DBClusterArn": lambda r: r.cluster.db_cluster_arn,
        "DBClusterResourceId": lambda r: r.cluster.db_cluster_resource_id,
        "Endpoint": lambda r: r.cluster.endpoint,
        "Endpoint.Address": lambda r: r.cluster.endpoint,
        "Endpoint.Port": lambda r: str(r.cluster.port),
        "ReadEndpoint": lambda r: r.cluster.reader_endpoint,
        "ReadEndpoint.Address": lambda r: r.cluster.reader_endpoint,
        "MasterUserSecret.SecretArn": lambda r: _secret_arn(r.cluster),
    }
    REPLACE_ON = (
        "Engine",
        "EngineMode",
        "DBSubnetGroupName",
        "KmsKeyId",
        "StorageEncrypted",
        "DatabaseName",
        "MasterUsername",
        "AvailabilityZones",
        "SnapshotIdentifier",
        "SourceDBClusterIdentifier",
        "GlobalClusterIdentifier",
    )

    def create(self, name: str) -> None:
        kwargs = _kwargs(self.properties, skip={"DBClusterIdentifier"})
        kwargs["db_cluster_identifier"] = identifier(name)
        cluster = _backend(self).create_db_cluster(kwargs)
        self.physical_id = cluster.db_cluster_identifier

    @property
    def cluster(self):
        return _backend(self).clusters[self.physical_id]

    def update(self, new_properties: dict[str, Any]) -> None:
        kwargs = _modify_arguments(self, self.cluster, new_properties)
        if kwargs:
            _backend(self).modify_db_cluster({**kwargs, "db_cluster_identifier": self.physical_id})

    def remove(self) -> None:
        backend = _backend(self)
        with suppress(DBClusterNotFoundError):
            backend.delete_db_cluster(self.physical_id)
        # Automated snapshots go with the cluster (moto keeps them, and a cluster of the
        # same name created within the same minute then collides with the old snapshot).
        for snapshot_id, snapshot in list(backend.cluster_snapshots.items()):
            if snapshot_id.startswith(f"rds:{self.physical_id}-") and getattr(snapshot, "snapshot_type", "") == "automated":
                backend.cluster_snapshots.pop(snapshot_id, None)


class DBInstanceResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::RDS::DBInstance"
    NAME_PROPERTY = "DBInstanceIdentifier"
    GETATT = {
        "DBInstanceArn": lambda r: r.instance.db_instance_arn,
        "DbiResourceId": lambda r: getattr(r.instance, "dbi_resource_id", r.instance.db_instance_identifier),
        "Endpoint.Address": lambda r: r.instance.address,
        "Endpoint.Port": lambda r: str(r.instance.port),
        "Endpoint.HostedZoneId": lambda r: RDS_HOSTED_ZONE_ID,
        "MasterUserSecret.SecretArn": lambda r: _secret_arn(r.instance),
    }
    REPLACE_ON = (
        "DBClusterIdentifier",
        "Engine",
        "DBName",
        "KmsKeyId",
        "StorageEncrypted",
        "MasterUsername",
        "DBSubnetGroupName",
        "AvailabilityZone",
        "SourceDBInstanceIdentifier",
    )

    def create(self, name: str) -> None:
        props = self.properties
        kwargs = _kwargs(props, skip={"DBInstanceIdentifier", "DBSecurityGroups", "SourceDBInstanceIdentifier"})
        kwargs["db_instance_identifier"] = identifier(name)
        kwargs["db_security_groups"] = list(props.get("DBSecurityGroups") or [])
        kwargs.setdefault("vpc_security_group_ids", [])
        backend = _backend(self)
        if props.get("DBClusterIdentifier"):
            # Aurora member: storage, backup and credentials belong to the cluster.
            cluster_id = str(props["DBClusterIdentifier"]).lower()
            kwargs["db_cluster_identifier"] = cluster_id
            for key in ("allocated_storage", "backup_retention_period", "master_username",
                        "master_user_password", "character_set_name", "storage_encrypted",
                        "kms_key_id", "db_name", "preferred_backup_window"):
                kwargs.pop(key, None)
            if "engine" not in kwargs and cluster_id in backend.clusters:
                kwargs["engine"] = backend.clusters[cluster_id].engine
        source = props.get("SourceDBInstanceIdentifier")
        if source:
            kwargs["source_db_instance_identifier"] = source
            db = backend.create_db_instance_read_replica(kwargs)
        else:
            db = backend.create_db_instance(kwargs)
        self.physical_id = db.db_instance_identifier

    @property
    def instance(self):
        return _backend(self).databases[self.physical_id]

    def update(self, new_properties: dict[str, Any]) -> None:
        kwargs = _modify_arguments(self, self.instance, new_properties)
        if kwargs:
            _backend(self).modify_db_instance(self.physical_id, kwargs)

    def remove(self) -> None:
        with suppress(DBInstanceNotFoundError):
            _backend(self).delete_db_instance(self.physical_id, skip_final_snapshot=True)


class _ParameterGroup(BackendResource):
    """A parameter group: created with its parameters, updated in place (the DB cluster's is the one we deploy)."""

    REPLACE_ON = ("Family", "Description")

    def _create_group(self, name: str, family: str | None, description: str | None, tags: list[dict[str, str]]) -> Any:
        raise NotImplementedError

    def _groups(self) -> dict[str, Any]:
        raise NotImplementedError

    def _modify(self, parameters: list[dict[str, str]]) -> None:
        raise NotImplementedError

    def create(self, name: str) -> None:
        p = self.properties
        group = self._create_group(identifier(name, 255), p.get("Family"), p.get("Description"), tags_to_list(p.get("Tags")))
        self.physical_id = group.name
        self._apply_parameters(p.get("Parameters") or {})

    def _apply_parameters(self, parameters: dict[str, Any]) -> None:
        if parameters:
            self._modify([{"ParameterName": k, "ParameterValue": str(v)} for k, v in parameters.items()])

    def update(self, new_properties: dict[str, Any]) -> None:
        group = self._groups()[self.physical_id]
        group.parameters.clear()
        group.tags = tags_to_list(new_properties.get("Tags"))
        self._apply_parameters(new_properties.get("Parameters") or {})

    def remove(self) -> None:
        self._groups().pop(self.physical_id, None)


class DBClusterParameterGroupResource(_ParameterGroup, CloudFormationModel):
    TYPE = "AWS::RDS::DBClusterParameterGroup"
    NAME_PROPERTY = "DBClusterParameterGroupName"

    def _create_group(self, name: str, family: str | None, description: str | None, tags: list[dict[str, str]]) -> Any:
        return _backend(self).create_db_cluster_parameter_group(
            db_cluster_parameter_group_name=name, db_parameter_group_family=family, description=description, tags=tags
        )

    def _groups(self) -> dict[str, Any]:
        return _backend(self).db_cluster_parameter_groups

    def _modify(self, parameters: list[dict[str, str]]) -> None:
        _backend(self).modify_db_cluster_parameter_group(
            self.physical_id, [{**parameter, "ApplyMethod": "pending-reboot"} for parameter in parameters]
        )


class DBSubnetGroupResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::RDS::DBSubnetGroup"
    NAME_PROPERTY = "DBSubnetGroupName"

    def _subnets(self, properties: dict[str, Any]) -> list[Any]:
        ec2 = ec2_backends[self.account_id][self.region_name]
        return [ec2.get_subnet(subnet_id) for subnet_id in properties.get("SubnetIds") or []]

    def create(self, name: str) -> None:
        group = _backend(self).create_subnet_group(
            identifier(name, 255),
            self.properties.get("DBSubnetGroupDescription"),
            self._subnets(self.properties),
            tags_to_list(self.properties.get("Tags")),
        )
        self.physical_id = group.name

    def update(self, new_properties: dict[str, Any]) -> None:
        group = _backend(self).subnet_groups[self.physical_id]
        group.description = new_properties.get("DBSubnetGroupDescription")
        group.subnets = self._subnets(new_properties)
        group.tags = tags_to_list(new_properties.get("Tags"))

    def remove(self) -> None:
        _backend(self).subnet_groups.pop(self.physical_id, None)
