"""Database Migration Service: ReplicationSubnetGroup, ReplicationInstance, Endpoint,
ReplicationTask.

moto 5.2 implements the DMS API but no CloudFormation model; each type here calls the
backend's create/modify/delete methods. Replication tasks are created in status
"ready"-able form but never migrate data: there is no database behind the endpoints.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.dms.exceptions import DmsClientError, ResourceNotFoundFault
from moto.dms.models import FakeReplicationSubnetGroup, dms_backends
from moto.ec2.models import ec2_backends

from ..moto_internals import patch
from ._base import BackendResource, identifier, snake_kwargs, tags_to_list

EXTENSIONS = [
    ("CreateReplicationSubnetGroup", "refused (AccessDeniedFault, as AWS) while the IAM role dms-vpc-role does not exist"),
    ("AWS::DMS::ReplicationSubnetGroup", "new model: create/delete_replication_subnet_group; describe reports the real subnets and VPC"),
    ("AWS::DMS::ReplicationInstance", "new model: create/modify/delete_replication_instance; Ref = ARN"),
    ("AWS::DMS::Endpoint", "new model: create/delete_endpoint incl. engine settings (MySqlSettings with secret ARN, ...); Ref = ARN"),
    ("AWS::DMS::ReplicationTask", "new model: create/delete_replication_task (no data is migrated); Ref = ARN"),
    ("DescribeTableStatistics", "added: a task's table statistics, none (no data is migrated); ResourceNotFoundFault for an unknown task"),
]


def _backend(resource: BackendResource):
    return dms_backends[resource.account_id][resource.region_name]


def _call(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call a backend method with the kwargs it accepts; missing ones default to None."""
    params = inspect.signature(func).parameters
    call = {}
    for name, param in params.items():
        if name in kwargs:
            call[name] = kwargs[name]
        elif param.default is inspect.Parameter.empty:
            call[name] = None
    return func(**call)


def _retag(resource: BackendResource, changed: dict[str, Any]) -> None:
    """Tags of an update: DMS tags by ARN (the physical ID) in the backend's tagger."""
    if "Tags" in changed:
        tagger = _backend(resource).tagger
        tagger.delete_all_tags_for_resource(resource.physical_id)
        tagger.tag_resource(resource.physical_id, tags_to_list(changed["Tags"]))


def _snake(properties: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    return snake_kwargs(
        properties, skip,
        bools={"multi_az", "auto_minor_version_upgrade", "publicly_accessible", "allow_major_version_upgrade"},
        ints={"allocated_storage", "port"},
    )


_original_subnet_group_to_dict = FakeReplicationSubnetGroup.to_dict


def _subnet_group_to_dict(self: FakeReplicationSubnetGroup) -> dict[str, Any]:
    """moto describes every replication subnet group with a made-up subnet and VPC."""
    result = _original_subnet_group_to_dict(self)
    subnets = getattr(self, "_bluegreen_subnets", None)
    if subnets:
        result["VpcId"] = subnets[0].vpc_id
        result["Subnets"] = [
            {
                "SubnetIdentifier": s.id,
                "SubnetAvailabilityZone": {"Name": s.availability_zone},
                "SubnetStatus": "Active",
            }
            for s in subnets
        ]
    return result


class ReplicationSubnetGroupResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::DMS::ReplicationSubnetGroup"
    NAME_PROPERTY = "ReplicationSubnetGroupIdentifier"
    ATTRIBUTES = ("Id",)

    def _set_subnets(self, group: FakeReplicationSubnetGroup, properties: dict[str, Any]) -> None:
        ec2 = ec2_backends[self.account_id][self.region_name]
        subnet_ids = list(properties.get("SubnetIds") or [])
        group.subnetIds = subnet_ids
        group._bluegreen_subnets = [ec2.get_subnet(s) for s in subnet_ids]

    def create(self, name: str) -> None:
        group = _backend(self).create_replication_subnet_group(
            replication_subnet_group_identifier=identifier(name, 255),
            replication_subnet_group_description=self.properties.get("ReplicationSubnetGroupDescription", ""),
            subnet_ids=list(self.properties.get("SubnetIds") or []),
            tags=tags_to_list(self.properties.get("Tags")) or None,
        )
        self._set_subnets(group, self.properties)
        self.physical_id = group.replication_subnet_group_identifier

    def update(self, new_properties: dict[str, Any]) -> None:
        group = _backend(self).replication_subnet_groups[self.physical_id]
        group.description = new_properties.get("ReplicationSubnetGroupDescription", "")
        self._set_subnets(group, new_properties)

    def remove(self) -> None:
        with suppress(ResourceNotFoundFault):
            _backend(self).delete_replication_subnet_group(self.physical_id)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class ReplicationInstanceResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::DMS::ReplicationInstance"
    NAME_PROPERTY = "ReplicationInstanceIdentifier"
    GETATT = {
        "Id": lambda r: r.instance.id,
        "ReplicationInstancePrivateIpAddresses": lambda r: ",".join(r.instance.private_ip_addresses),
        "ReplicationInstancePublicIpAddresses": lambda r: ",".join(r.instance.public_ip_addresses),
    }
    REPLACE_ON = ("KmsKeyId", "PubliclyAccessible", "ReplicationSubnetGroupIdentifier", "ResourceIdentifier", "AvailabilityZone")

    def create(self, name: str) -> None:
        kwargs = _snake(self.properties, skip={"ReplicationInstanceIdentifier"})
        kwargs["replication_instance_identifier"] = identifier(name)
        if kwargs.get("replication_subnet_group_identifier"):
            kwargs["replication_subnet_group_identifier"] = str(kwargs["replication_subnet_group_identifier"]).lower()
        instance = _call(_backend(self).create_replication_instance, kwargs)
        self.physical_id = instance.arn

    @property
    def instance(self):
        return _backend(self).replication_instances[self.physical_id]

    def update(self, new_properties: dict[str, Any]) -> None:
        changed = self.changed(new_properties)
        kwargs = _snake(changed, skip={"ReplicationInstanceIdentifier", "Tags"})
        kwargs["replication_instance_arn"] = self.physical_id
        kwargs["apply_immediately"] = True
        _call(_backend(self).modify_replication_instance, kwargs)
        _retag(self, changed)

    def remove(self) -> None:
        with suppress(ResourceNotFoundFault):
            _backend(self).delete_replication_instance(self.physical_id)


class EndpointResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::DMS::Endpoint"
    NAME_PROPERTY = "EndpointIdentifier"
    GETATT = {
        "ExternalId": lambda r: r.endpoint.external_id or r.endpoint.id,
        "Id": lambda r: r.endpoint.endpoint_identifier,
    }
    REPLACE_ON = ("KmsKeyId", "ResourceIdentifier")

    def create(self, name: str) -> None:
        from .dms_certificates import known

        # AWS: verify-ca and verify-full need the CA, imported first (ImportCertificate / AWS::DMS::Certificate).
        mode, certificate = self.properties.get("SslMode"), self.properties.get("CertificateArn")
        if mode in ("verify-ca", "verify-full") and not (certificate and known(_backend(self), certificate)):
            raise DmsClientError("InvalidParameterValueException",
                                 f"SslMode {mode} needs the ARN of an imported certificate, got {certificate!r}")
        kwargs = _snake(self.properties, skip={"EndpointIdentifier"})
        kwargs["endpoint_identifier"] = identifier(name, 255)
        kwargs["endpoint_type"] = str(kwargs.get("endpoint_type", "")).lower()
        endpoint = _call(_backend(self).create_endpoint, kwargs)
        self.physical_id = endpoint.endpoint_arn
        self._identifier = endpoint.endpoint_identifier

    @property
    def endpoint(self):
        for endpoint in _backend(self).endpoints.values():
            if endpoint.endpoint_arn == self.physical_id:
                return endpoint
        raise KeyError(self.physical_id)

    def update(self, new_properties: dict[str, Any]) -> None:
        endpoint = self.endpoint
        changed = self.changed(new_properties)
        for key, value in _snake(changed, skip={"EndpointIdentifier", "Tags"}).items():
            if key == "endpoint_type":
                value = str(value).lower()
            setattr(endpoint, key, value)
        _retag(self, changed)

    def remove(self) -> None:
        with suppress(ResourceNotFoundFault):
            _backend(self).delete_endpoint(self.physical_id)


class ReplicationTaskResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::DMS::ReplicationTask"
    NAME_PROPERTY = "ReplicationTaskIdentifier"
    REPLACE_ON = ("SourceEndpointArn", "TargetEndpointArn", "ReplicationInstanceArn", "ResourceIdentifier")

    @staticmethod
    def _json_text(value: Any) -> Any:
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def create(self, name: str) -> None:
        props = self.properties
        task = _backend(self).create_replication_task(
            replication_task_identifier=identifier(name, 255),
            source_endpoint_arn=props.get("SourceEndpointArn"),
            target_endpoint_arn=props.get("TargetEndpointArn"),
            replication_instance_arn=props.get("ReplicationInstanceArn"),
            migration_type=props.get("MigrationType"),
            table_mappings=self._json_text(props.get("TableMappings")),
            replication_task_settings=self._json_text(props.get("ReplicationTaskSettings")),
            tags=tags_to_list(props.get("Tags")) or None,
        )
        task.ready()
        self.physical_id = task.arn

    def update(self, new_properties: dict[str, Any]) -> None:
        task = _backend(self).replication_tasks[self.physical_id]
        task.migration_type = new_properties.get("MigrationType")
        task.table_mappings = self._json_text(new_properties.get("TableMappings"))
        task.replication_task_settings = self._json_text(new_properties.get("ReplicationTaskSettings"))

    def remove(self) -> None:
        with suppress(ResourceNotFoundFault):
            _backend(self).delete_replication_task(self.physical_id)


#: The role DMS looks up by this exact name to manage the replication instance's network interfaces.
DMS_VPC_ROLE = "dms-vpc-role"


def _needs_dms_vpc_role(original: Any) -> Any:
    """AWS refuses a replication subnet group while ``dms-vpc-role`` does not exist (AWS::DMS::ReplicationSubnetGroup:
    "Resource creation fails if the dms-vpc-role IAM role doesn't already exist"); moto created it anyway."""

    def create_replication_subnet_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.dms.exceptions import DmsClientError
        from moto.iam.models import iam_backends

        roles = iam_backends[self.account_id]["global"].roles.values()
        if not any(role.name == DMS_VPC_ROLE for role in roles):
            raise DmsClientError("AccessDeniedFault", f"The IAM Role arn:aws:iam::{self.account_id}:role/{DMS_VPC_ROLE} "
                                 "is not configured properly.")
        return original(self, *args, **kwargs)

    return create_replication_subnet_group


def _describe_table_statistics(self: Any) -> str:
    """No data is migrated here, so no task has processed a table: its statistics are empty, as a real task's
    before its first table load. An unknown task is ResourceNotFoundFault, as AWS answers."""
    arn = json.loads(self.body).get("ReplicationTaskArn", "")
    if arn not in self.dms_backend.replication_tasks:
        raise ResourceNotFoundFault("Replication task could not be found.")
    return json.dumps({"ReplicationTaskArn": arn, "TableStatistics": []})


def install(port: int) -> None:
    from moto.dms.models import DatabaseMigrationServiceBackend

    patch("moto.dms.models.FakeReplicationSubnetGroup.to_dict", _subnet_group_to_dict)
    patch("moto.dms.models.DatabaseMigrationServiceBackend.create_replication_subnet_group",
          _needs_dms_vpc_role(DatabaseMigrationServiceBackend.create_replication_subnet_group))
    patch("moto.dms.responses.DatabaseMigrationServiceResponse.describe_table_statistics", _describe_table_statistics)
