"""The AWS adapters: throttling retries, the conditional state writes, gates and weights as read."""

from __future__ import annotations

import types

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto.core.botocore_stubber import BotocoreStubber

from traffic_shifter import ApplyFailed, ConcurrentUpdateError, ShiftState
from traffic_shifter.aws import RETRY_CONFIG

from .world import HEALTH_GATE, shifter_clients

XML_THROTTLE = (
    '<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message></Error>'
    "<RequestId>0</RequestId></ErrorResponse>"
)
# (client, event name of the operation, error body, content type): the four protocols the shifter writes with.
THROTTLED_WRITES = {
    "elbv2 ModifyListener": ("elbv2", "elastic-load-balancing-v2.ModifyListener", XML_THROTTLE.format(code="Throttling"), "text/xml"),
    "route53 ChangeResourceRecordSets": ("route53", "route-53.ChangeResourceRecordSets", XML_THROTTLE.format(code="Throttling"), "text/xml"),
    "route53 PriorRequestNotComplete": ("route53", "route-53.ChangeResourceRecordSets", XML_THROTTLE.format(code="PriorRequestNotComplete"), "text/xml"),
    "ssm PutParameter": ("ssm", "ssm.PutParameter", '{"__type": "ThrottlingException", "message": "Rate exceeded"}', "application/x-amz-json-1.1"),
    "dynamodb PutItem": (
        "dynamodb",
        "dynamodb.PutItem",
        '{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}',
        "application/x-amz-json-1.0",
    ),
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


class Throttler:
    """Answers the first ``times`` calls of one operation with an error, then lets them through.

    A throttled request never reaches the service (moto is told to skip it); with
    ``reaches_service=True`` it does, and only its response is lost (a 5xx after the write landed).
    """

    def __init__(self, times: int, body: str, content_type: str, status: int = 400, reaches_service: bool = False) -> None:
        self.left = times
        self.sent = 0
        self.body = body.encode()
        self.content_type = content_type
        self.status = status
        self.reaches_service = reaches_service

    def __call__(self, request, **_):
        if self.left == 0:
            return None
        self.left -= 1
        self.sent += 1
        request.answered_by_test = not self.reaches_service
        return AWSResponse(request.url, self.status, {"Content-Type": self.content_type}, _Raw(self.body))


@pytest.fixture
def throttle(monkeypatch):
    """throttle(service, event, body, content_type, times) on the shifters' clients; backoff sleeps recorded."""
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    moto_call = BotocoreStubber.__call__

    def moto_unless_answered(self, event_name, request, **kwargs):
        # moto runs for every request, even one a more specific hook already answered.
        return None if getattr(request, "answered_by_test", False) else moto_call(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", moto_unless_answered)
    installed = []

    def install(service, event, body, content_type, times, **kwargs):
        throttler = Throttler(times, body, content_type, **kwargs)
        events = shifter_clients()(service).meta.events
        events.register_first(f"before-send.{event}", throttler)
        installed.append((events, f"before-send.{event}", throttler))
        return throttler

    install.sleeps = sleeps
    yield install
    for events, name, handler in installed:  # the clients outlive the test
        events.unregister(name, handler)


def test_retry_config__standard_mode_with_backoff():
    assert RETRY_CONFIG.retries == {"mode": "standard", "total_max_attempts": 5}


@pytest.mark.parametrize("case", THROTTLED_WRITES, ids=list(THROTTLED_WRITES))
def test_shifter_advance__write_throttled_twice__retried_with_backoff_and_applied(world, running, clock, throttle, case):
    service, event, body, content_type = THROTTLED_WRITES[case]
    throttler = throttle(service, event, body, content_type, times=2)
    clock.advance(300)

    result = running.tick()

    assert result["decision"]["action"] == "advance"
    assert throttler.sent == 2
    assert len(throttle.sleeps) == 2 and all(0 <= s <= 2 for s in throttle.sleeps)  # standard mode: random * 2**attempt
    assert world.weights() == {"alb": (75, 25), "route53": (75, 25), "ssm": "25"}
    assert world.state_item()["step_index"] == "1"


def test_shifter_advance__throttled_past_max_attempts__error_surfaces(world, running, clock, throttle):
    service, event, body, content_type = THROTTLED_WRITES["ssm PutParameter"]
    throttler = throttle(service, event, body, content_type, times=100)
    clock.advance(300)

    # Behaviour changed (issue 14): the same run puts what it half applied back to the state's weight
    # and releases its claim, so the next run needs no lease to pass; the error still surfaces.
    with pytest.raises(
        ApplyFailed,
        match=r"advance to green 25 failed \(ThrottlingException.*reached max retries: 4.*"
        r"every side put back to green 10",
    ) as raised:
        running.tick()
    assert isinstance(raised.value.__cause__, ClientError)
    assert throttler.sent == 5
    assert "pending" not in world.state_item()
    assert world.weights() == {"alb": (90, 10), "route53": (90, 10), "ssm": "10"}


def test_state_store_write__own_write_landed_response_lost__treated_as_written(world, running, clock, throttle):
    throttler = throttle(
        "dynamodb",
        "dynamodb.PutItem",
        '{"__type": "InternalServerError", "message": "internal"}',
        "application/x-amz-json-1.0",
        times=1,
        status=500,
        reaches_service=True,
    )
    clock.advance(300)

    result = running.tick()

    assert throttler.sent == 1
    assert result["decision"]["action"] == "advance"
    assert world.weights()["ssm"] == "25"
    assert world.state_item()["step_index"] == "1"


def test_state_store_write__stale_version__refused_item_unchanged(world, running):
    store = running.store
    current = store.load()
    stale = ShiftState(status="running", step_index=0, version=current.version - 1)

    with pytest.raises(ConcurrentUpdateError, match=rf"ddb-shift-state-dev-d01/traffic is no longer at version {current.version - 1}"):
        store.write(stale, ShiftState(status="completed", step_index=3, updated_by="stale"))
    assert store.load() == current


def test_state_store_write__first_write_when_item_exists__refused(world, running):
    with pytest.raises(ConcurrentUpdateError, match="is no longer at version 0"):
        running.store.write(ShiftState(), ShiftState(status="running", updated_by="second starter"))


def test_state_store_write__current_version__written_with_next_version(world, running):
    current = running.store.load()

    written = running.store.write(current, ShiftState(status="paused", step_index=0, reason="r", updated_by="ops"))

    assert written.version == current.version + 1
    assert running.store.load() == written


def test_gate_reader__composite_and_metric_alarms__states_and_types(world, running):
    world.set_gate(HEALTH_GATE, "ALARM", "ALARM(alarm-green-5xx-dev-d01)")

    gates = running.gates.read()

    assert [(g.name, g.state, g.reason, g.alarm_type) for g in gates] == [
        (HEALTH_GATE, "ALARM", "ALARM(alarm-green-5xx-dev-d01)", "CompositeAlarm"),
        ("alarm-data-replication-dev-d01", "OK", "Unchecked: Initial alarm creation", "CompositeAlarm"),
        ("alarm-green-5xx-dev-d01", "OK", "Unchecked: Initial alarm creation", "MetricAlarm"),
    ]


def test_traffic_read__listener_not_forwarding_to_both_groups__config_error(world, running):
    from traffic_shifter import ConfigError

    world.client("elbv2").modify_listener(
        ListenerArn=world.listeners()[1][0],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": world.listeners()[1][1]}],
    )

    with pytest.raises(ConfigError, match="the default action must forward to exactly the blue and green target groups"):
        running.traffic.read()
