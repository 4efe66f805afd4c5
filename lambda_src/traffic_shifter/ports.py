"""What the shifter reads and moves, as interfaces: the AWS adapters (aws.py) and the rehearsal's local
stand-ins (bluegreen/rehearsal/adapters.py) both fit them, and the decisions never know which."""

from __future__ import annotations

from typing import Protocol

from .model import GateReading, ObservedWeights


class MetricsSink(Protocol):
    """Powertools' Metrics (the Lambda's embedded metric format), or nothing."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class TrafficPort(Protocol):
    """Where the weights live: the ALB listener(s), Route 53 and SSM (aws.TrafficControls), or a
    stand-in such as the rehearsal's HAProxy."""

    def read(self) -> ObservedWeights: ...

    def set_green_weight(self, green: int, observed: ObservedWeights) -> list[str]: ...


class GatePort(Protocol):
    """The gate alarms (aws.GateReader from CloudWatch, or a stand-in computing them from its own measurements)."""

    def read(self) -> list[GateReading]: ...


class VolumePort(Protocol):
    """How many requests green served between two moments (aws.GreenRequests: the ALB's RequestCount)."""

    def read(self, since: float, until: float) -> float: ...
