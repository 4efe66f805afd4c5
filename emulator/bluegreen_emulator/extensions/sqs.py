"""SQS: the QueuePolicy model moto 5.2 lacks (a phantom)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends

from ._base import BackendResource, policy_text

EXTENSIONS = [
    ("AWS::SQS::QueuePolicy", "new model: sets / clears the Policy attribute of each queue"),
]


class QueuePolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::SQS::QueuePolicy"

    def _backend(self):
        return sqs_backends[self.account_id][self.region_name]

    @staticmethod
    def _queue_name(url: str) -> str:
        return url.rstrip("/").rsplit("/", 1)[-1]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = name

    def update(self, new_properties: dict[str, Any]) -> None:
        for url in set(self.properties.get("Queues") or []) - set(new_properties.get("Queues") or []):
            self._clear(url)
        for url in new_properties.get("Queues") or []:
            self._backend().set_queue_attributes(self._queue_name(url), {"Policy": policy_text(new_properties["PolicyDocument"])})

    def _clear(self, url: str) -> None:
        with suppress(QueueDoesNotExist):  # the queue went first
            self._backend().set_queue_attributes(self._queue_name(url), {"Policy": ""})

    def remove(self) -> None:
        for url in self.properties.get("Queues") or []:
            self._clear(url)
