"""ECS TaskDefinition: every property, and an update is a new revision; ECS Service: its load balancers.

moto 5.2's model registers only Family, ContainerDefinitions, Volumes and Memory (no
NetworkMode, RequiresCompatibilities, Cpu, TaskRoleArn, ExecutionRoleArn, Tags, ...), and
on update it stores the container definitions without converting their keys (describe
then lacks ``image``). Here a task definition is registered with all its properties; any
change registers a new revision and deregisters the old one, as CloudFormation does, so
the service referencing it moves to the new revision.

moto's AWS::ECS::Service drops ``LoadBalancers`` ("TODO" in its model), so
``describe_services`` showed no target group at all; with one ALB per colour each service
registers with a target group in each ALB, and that is what has to be seen. The service's
create and update now record the property as the ECS API returns it (camelCase, the port a
number). Nothing else of moto's service model changes. Clusters and services outlived their
stack; they are deleted with it (``DELETERS``, see deletes.py).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.exceptions import ClusterNotFoundException, ServiceNotFoundException, TaskDefinitionNotFoundException
from moto.ecs.models import Service, ecs_backends

from ..moto_internals import patch
from ._base import BackendResource, Deleter, tags_to_list

EXTENSIONS = [
    ("AWS::ECS::TaskDefinition", "replaces moto's model: all properties (awsvpc, Fargate, Cpu, roles, tags, ...), update = new revision + deregister the old "
                                 "one"),
    ("AWS::ECS::Service", "fix: LoadBalancers reach the service on create and update (describe_services shows every target group; moto dropped them)"),
    ("stack delete (ECS)", "Cluster and Service are deleted with their stack"),
]


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase) if value is not None else None


class TaskDefinitionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ECS::TaskDefinition"
    ATTRIBUTES = ("TaskDefinitionArn",)

    def _backend(self):
        return ecs_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        definition = self._backend().register_task_definition(
            family=p.get("Family") or name,
            container_definitions=_camel(p.get("ContainerDefinitions") or []),
            volumes=_camel(p.get("Volumes")),
            network_mode=p.get("NetworkMode"),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in tags_to_list(p.get("Tags"))] or None,
            placement_constraints=_camel(p.get("PlacementConstraints")),
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=str(p["Cpu"]) if p.get("Cpu") is not None else None,
            memory=str(p["Memory"]) if p.get("Memory") is not None else None,
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            proxy_configuration=_camel(p.get("ProxyConfiguration")),
            inference_accelerators=_camel(p.get("InferenceAccelerators")),
            runtime_platform=_camel(p.get("RuntimePlatform")),
            ipc_mode=p.get("IpcMode"),
            pid_mode=p.get("PidMode"),
            ephemeral_storage=_camel(p.get("EphemeralStorage")),
        )
        self.physical_id = definition.arn

    # update: not implemented -> replacement (a new revision), see BackendResource

    def remove(self) -> None:
        backend = self._backend()
        try:
            backend.deregister_task_definition(self.physical_id)
        except TaskDefinitionNotFoundException:  # already deregistered
            return
        if hasattr(backend, "delete_task_definitions"):
            backend.delete_task_definitions([self.physical_id])

    def attribute(self, name: str) -> Any:
        return self.physical_id


def load_balancers(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudFormation ``LoadBalancers`` as DescribeServices returns them."""
    out = []
    for lb in properties.get("LoadBalancers") or []:
        item = _camel(lb)
        if str(item.get("containerPort", "")).isdigit():
            item["containerPort"] = int(item["containerPort"])
        out.append(item)
    return out


_original_create_service = Service.create_from_cloudformation_json.__func__
_original_update_service = Service.update_from_cloudformation_json.__func__


def _create_service(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                    **kwargs: Any) -> Service:
    service = _original_create_service(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    service.load_balancers = load_balancers(cloudformation_json["Properties"])
    return service


def _update_service(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str,
                    region_name: str) -> Service:
    service = _original_update_service(cls, original_resource, new_resource_name, cloudformation_json,
                                       account_id, region_name)
    service.load_balancers = load_balancers(cloudformation_json["Properties"])
    return service


def install(port: int) -> None:
    patch("moto.ecs.models.Service.create_from_cloudformation_json", classmethod(_create_service))
    patch("moto.ecs.models.Service.update_from_cloudformation_json", classmethod(_update_service))


# ----------------------------------------------------------------------------- stack delete


def _cluster(obj: Any, account_id: str, region: str) -> None:
    ecs = ecs_backends[account_id][region]
    with suppress(ClusterNotFoundException):
        ecs.delete_cluster(obj.name)
    # moto keeps deleted clusters as INACTIVE; AWS forgets them soon.
    ecs.clusters.pop(obj.name, None)


def _service(obj: Any, account_id: str, region: str) -> None:
    with suppress(ClusterNotFoundException, ServiceNotFoundException):
        ecs_backends[account_id][region].delete_service(obj.cluster_name, obj.name, force=True)


DELETERS: dict[str, Deleter] = {"AWS::ECS::Cluster": _cluster, "AWS::ECS::Service": _service}
