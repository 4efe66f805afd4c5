"""One recorded run of the traffic shifter against moto: every AWS call its code makes.

The world is the shifter tests' (tests/test_lambda_src/test_traffic_shifter/world.py, db_world.py),
configured as templates/automation.json configures the Lambda (two gate alarms, the CA bundle
parameter). The run covers every path that calls AWS: status, start, a bake and an advance, pause,
resume, rollback, promote, a database switchover to green and back, the fence's login (secret and CA
bundle) and a notification. Calls are recorded with botocore's ``before-parameter-build`` event (the
API parameters as the code passes them) on the shifter's own clients, so the test's arranging and inspecting calls are not among them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tests.test_lambda_src.test_traffic_shifter import world as w
from tests.test_lambda_src.test_traffic_shifter.db_world import FakeFence, build_db_world

CA_BUNDLE_PARAMETER = w.PREFIX + "/db/ca-bundle"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@dataclass(frozen=True)
class Call:
    service: str  # botocore service name: ssm, elbv2, route53, ...
    operation: str  # API operation: GetParameter, ModifyListener, ...
    params: dict[str, Any]
    phase: str = ""  # the command that made it: "shift rollback", "db switchover", ...


def record_client(client: Any, calls: list[Call], phase: list[str]) -> None:
    """Record every call of one boto3 ``client`` with its API parameters, under the current ``phase[0]``."""
    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append(Call(model.service_model.service_name, model.name, copy.deepcopy(params), phase[0]))
    client.meta.events.register("before-parameter-build", before, unique_id="iam-record")


def record(clients: Any, calls: list[Call], phase: list[str]) -> Any:
    """Record every call of ``clients`` (a traffic_shifter Clients) with its API parameters, under the
    current ``phase[0]``; returns the undo."""
    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append(Call(model.service_model.service_name, model.name, copy.deepcopy(params), phase[0]))
    # A client copies its session's event hooks when it is made: register on each client itself.
    from traffic_shifter.aws import SERVICES
    made = [clients(service) for service in SERVICES] + list(clients._clients.values())
    for emitter in [c.meta.events for c in made] + [clients.session.events]:  # the session: clients made later
        emitter.register("before-parameter-build", before, unique_id="iam-record")
    return lambda: [e.unregister("before-parameter-build", unique_id="iam-record")
                    for e in [c.meta.events for c in made] + [clients.session.events]]


def run_shifter(clock: Any, monkeypatch: Any) -> tuple[dict[str, str], list[Call]]:
    """(the Lambda's environment, every call it made); call inside mock_aws() with the world fixtures' patches."""
    from traffic_shifter import Shifter, StepKinds
    from traffic_shifter.db import DbSwitchover
    from traffic_shifter.db import fence as sql_fence

    world = w.build_world()
    db = build_db_world(world, clock)
    # As the template deploys it: the two composite gates and green's payments-failed alarm (the world's
    # metric alarm stands in for it), the CA bundle in SSM.
    world.env["GATE_ALARMS"] = ",".join((w.HEALTH_GATE, w.REPLICATION_GATE, w.ERRORS_GATE))
    world.env["DB_CA_BUNDLE_PARAMETER"] = CA_BUNDLE_PARAMETER
    w.test_client("ssm").put_parameter(Name=CA_BUNDLE_PARAMETER, Value=PEM, Type="String")
    fence = FakeFence(db)
    kind = DbSwitchover(lambda clients, config: fence, drain_factory=lambda clients, config: fence,
                        clock=clock, sleep=clock.advance)
    calls: list[Call] = []
    undo = lambda: None  # noqa: E731 - replaced once the recorder is installed
    try:
        shifter = Shifter.from_env(world.env, clients=w.shifter_clients(), clock=clock, kinds=StepKinds(kind))
        phase = [""]
        undo = record(shifter.clients, calls, phase)

        def step(name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
            phase[0] = name
            fn(*args, **kwargs)
        step("shift status", shifter.run, "status")
        step("shift start", shifter.run, "start", actor="ops.alice", reason="iam run")
        clock.advance(301)
        step("tick", shifter.tick)
        step("shift pause", shifter.run, "pause", actor="ops.alice", reason="iam run")
        step("shift resume", shifter.run, "resume", actor="ops.alice")
        step("shift rollback", shifter.run, "rollback", actor="ops.alice", reason="iam run")
        step("shift start", shifter.run, "start", actor="ops.alice")
        step("shift promote", shifter.run, "promote", actor="ops.alice")
        for to in ("green", "blue"):
            db.publish_healthy()  # CDC metrics of the last minutes (the guardrails read them)
            step("db switchover", kind.switch, shifter.clients, shifter.config, to, "ops.alice")
        step("db status", kind.status, shifter.clients, shifter.config)
        config = shifter.config.db
        phase[0] = "db switchover"
        # The real fence's login: the CA bundle and each colour's secret (the SQL connection itself is refused).
        # A fresh execution environment: the bundle is read from SSM (recorded), written under this run's temp dir.
        monkeypatch.setattr(sql_fence, "_ca_bundle_files", {})
        monkeypatch.setattr("tempfile.tempdir", monkeypatch_tmp(monkeypatch))
        import pymysql

        def refuse(**_: Any) -> None:
            raise ConnectionRefusedError("no database in this run")
        monkeypatch.setattr(pymysql, "connect", refuse)
        connect = sql_fence.secrets_connector(shifter.clients, config)
        for colour in ("blue", "green"):
            try:
                connect(colour)
            except ConnectionRefusedError:
                pass
    finally:
        undo()
        db.close()
    return dict(world.env), calls


def monkeypatch_tmp(monkeypatch: Any) -> str:
    import tempfile
    return tempfile.mkdtemp(prefix="iam-ca-")
