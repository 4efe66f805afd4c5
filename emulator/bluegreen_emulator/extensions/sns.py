"""SNS: the TopicPolicy model moto 5.2 lacks (it was a phantom)."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import sns_backends

from ._base import BackendResource, policy_text

EXTENSIONS = [
    ("AWS::SNS::TopicPolicy", "new model: sets / resets the Policy attribute of each topic"),
]


class TopicPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"

    def _backend(self):
        return sns_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        backend = self._backend()
        for arn in set(self.properties.get("Topics") or []) - set(new_properties.get("Topics") or []):
            self._reset(arn)
        for arn in new_properties.get("Topics") or []:
            backend.set_topic_attribute(arn, "policy", policy_text(new_properties["PolicyDocument"]))

    def _reset(self, arn: str) -> None:
        backend = self._backend()
        try:
            topic = backend.get_topic(arn)
        except TopicNotFound:  # the topic went first
            return
        topic._policy_json = topic._create_default_topic_policy(self.region_name, topic.account_id, topic.name)

    def remove(self) -> None:
        for arn in self.properties.get("Topics") or []:
            self._reset(arn)
