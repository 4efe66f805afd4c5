"""SNS: the TopicPolicy and Subscription models moto 5.2 lacks (both were phantoms)."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import sns_backends

from ._base import BackendResource, policy_text

EXTENSIONS = [
    ("AWS::SNS::TopicPolicy", "new model: sets / resets the Policy attribute of each topic"),
    ("AWS::SNS::Subscription", "new model: subscribe / unsubscribe (FilterPolicy, RawMessageDelivery, RedrivePolicy)"),
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


class SubscriptionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)
    REPLACE_ON = ("TopicArn", "Endpoint", "Protocol")
    _ATTRS = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy")

    def _backend(self):
        return sns_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        subscription = self._backend().subscribe(p["TopicArn"], p.get("Endpoint"), p["Protocol"])
        self.physical_id = subscription.arn
        self.update(p)

    def update(self, new_properties: dict[str, Any]) -> None:
        for attr in self._ATTRS:
            if attr in new_properties:
                value = new_properties[attr]
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif not isinstance(value, str):
                    value = json.dumps(value)
                self._backend().set_subscription_attributes(self.physical_id, attr, value)

    def remove(self) -> None:
        self._backend().unsubscribe(self.physical_id)

    def attribute(self, name: str) -> Any:
        return self.physical_id
