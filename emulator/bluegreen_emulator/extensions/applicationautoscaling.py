"""Application Auto Scaling: the ScalableTarget and ScalingPolicy models moto 5.2 lacks
(both were phantoms: the ECS services' scaling was never registered).
"""

from __future__ import annotations

from typing import Any

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.common_models import CloudFormationModel

from ._base import BackendResource, absent_ok, as_int

EXTENSIONS = [
    ("AWS::ApplicationAutoScaling::ScalableTarget", "new model: register/deregister_scalable_target; Ref = ResourceId|ScalableDimension|ServiceNamespace"),
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "new model: put_scaling_policy / delete_scaling_policy; Ref = policy ARN"),
]


class ScalableTargetResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
    REPLACE_ON = ("ResourceId", "ScalableDimension", "ServiceNamespace")

    def _backend(self):
        return applicationautoscaling_backends[self.account_id][self.region_name]

    def put(self, p: dict[str, Any]) -> None:
        self._backend().register_scalable_target(
            p["ServiceNamespace"],
            p["ResourceId"],
            p["ScalableDimension"],
            as_int(p.get("MinCapacity")),
            as_int(p.get("MaxCapacity")),
            p.get("RoleARN"),
            p.get("SuspendedState"),
        )
        self.physical_id = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"

    def remove(self) -> None:
        p = self.properties
        with absent_ok(AWSValidationException, "No scalable target found"):
            self._backend().deregister_scalable_target(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])


class ScalingPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    ATTRIBUTES = ("Arn",)
    REPLACE_ON = ("PolicyName", "ScalingTargetId", "ResourceId", "ScalableDimension", "ServiceNamespace")

    def _backend(self):
        return applicationautoscaling_backends[self.account_id][self.region_name]

    @staticmethod
    def _target(p: dict[str, Any]) -> tuple[str, str, str]:
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(p["ScalingTargetId"]).split("|")
            return namespace, resource_id, dimension
        return p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]

    def put(self, p: dict[str, Any]) -> None:
        namespace, resource_id, dimension = self._target(p)
        body = p.get("TargetTrackingScalingPolicyConfiguration") or p.get("StepScalingPolicyConfiguration") or {}
        policy = self._backend().put_scaling_policy(
            p["PolicyName"], namespace, resource_id, dimension, body, p.get("PolicyType")
        )
        self.physical_id = policy.policy_arn

    def remove(self) -> None:
        namespace, resource_id, dimension = self._target(self.properties)
        with absent_ok(AWSValidationException, "No scaling policy found"):
            self._backend().delete_scaling_policy(self.properties["PolicyName"], namespace, resource_id, dimension)

    def attribute(self, name: str) -> Any:
        return self.physical_id
