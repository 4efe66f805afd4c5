"""The shifter's adapters are injectable: the same decisions drive a stand-in (the rehearsal's HAProxy)."""

from __future__ import annotations

from dataclasses import dataclass, field

from traffic_shifter import Shifter
from traffic_shifter.model import GateReading, ObservedWeights, RecordWeights

from .world import GATES, shifter_clients


@dataclass
class StandInTraffic:
    """Weights kept in memory, as a local load balancer's runtime API would keep them."""

    green: int = 0
    writes: list[int] = field(default_factory=list)

    def read(self) -> ObservedWeights:
        return ObservedWeights(100 - self.green, self.green, (RecordWeights("local", 100 - self.green, self.green),), str(self.green))

    def set_green_weight(self, green: int, observed: ObservedWeights) -> list[str]:
        self.writes.append(green)
        self.green = green
        return [f"stand-in green {observed.alb_green} -> {green}"]


@dataclass
class StandInGates:
    state: str = "OK"

    def read(self) -> list[GateReading]:
        return [GateReading(name, self.state, "stand-in") for name in GATES]


def test_shifter__injected_adapters__start_advance_and_rollback_drive_the_stand_in(world, clock):
    traffic, gates = StandInTraffic(), StandInGates()
    shifter = Shifter.from_env(world.env, clients=shifter_clients(), clock=clock, traffic=traffic, gates=gates)

    shifter.run("start", actor="rehearsal")
    gates.state = "ALARM"
    result = shifter.tick()

    assert traffic.writes == [10, 0]
    assert result["decision"]["action"] == "rollback"
    assert world.alb_weights() == (100, 0)  # the AWS listener was never touched: the stand-in took the writes
