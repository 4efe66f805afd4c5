"""The whole chain with real servers: a short rehearsal (tens of seconds), the count at the end,
the --url mode against the local stack, and bad input.

Real parts: two MariaDB servers with GTID replication, HAProxy, four payment-service processes, a
moto server, the shifter's worker process. Nothing timed is asserted (the machines are noisy): the
timing figures are reported by the rehearsal itself, and the targets a change board reads are
judged there; here the count must be exact and the scenario must have run to its end.
"""

from __future__ import annotations

import csv
import json

import pytest

from bluegreen import local_mariadb as mariadb
from bluegreen.rehearsal import cli, haproxy
from bluegreen.rehearsal.cli import rehearse_local, rehearse_url
from bluegreen.rehearsal.monitor import TimeModel
from bluegreen.rehearsal.plans import Options
from bluegreen.rehearsal.stack import Stack, StackError

needs_servers = pytest.mark.skipif(not (mariadb.available() and haproxy.available()),
                                   reason="needs Debian's mariadb-server and haproxy: apt-get install -y mariadb-server haproxy")

#: 30 payments/s compressed 5x: a 10 s alarm period lasts 2 s and sees 6 of green's payments at 10 %; the
#: minimum sample is set to 5 as a deployment may set it (at the default, 10, the shift would rightly hold).
RATE = 30.0
# ECS's replacement declared at 10 s (2 s here) instead of 60 s (12 s here): the short run's last phases can end
# sooner than that after the fault, and the replacement must be seen inside it.
TIMING = TimeModel(scale=5, ecs_restart=10.0)
PARAMETERS = {"MinPaymentsPerPeriod": "5"}


def quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rehearsal")
    report = rehearse_local(Options(scenario="default", rate=RATE, bake=2, warmup=2, timing=TIMING, alarm_parameters=PARAMETERS,
                                    say=quiet), out)
    return report, out


@needs_servers
def test_rehearsal__default__ran_to_its_end_and_nothing_was_lost(default_run):
    report, _ = default_run
    assert report["scenario_completed"], report["scenario_error"]
    assert (report["lost"], report["duplicated"], report["divergent_rows"], report["balance_ok"]) == (0, 0, 0, True)
    assert report["acknowledged"] > 0 and report["requests"] >= report["acknowledged"]
    assert report["final_writer"] == "blue"
    assert report["bad_signatures"] == 0 and report["verified_signatures"] >= report["acknowledged"]
    # The count's targets, judged on each database (timing targets are reported, not asserted: noisy machine).
    counted = ("replication_caught_up", "lost", "duplicated", "mismatched", "charged_but_failed", "unexplained",
               "divergent_rows", "balance_ok")
    assert {n: report["targets"][n]["met"] for n in counted} == dict.fromkeys(counted, True), report["targets"]
    assert set(report["by_database"]) == {"blue", "green"} and report["replays"] >= 0
    assert report["achieved_rate"] <= report["sent_rate"]


@needs_servers
def test_rehearsal__default__the_projects_code_moved_everything(default_run):
    report, _ = default_run
    plan_step, back = report["switchovers"]
    assert plan_step["via"] == "plan step" and plan_step["ok"] and back["to"] == "blue" and back["ok"]
    steps = [step for step, _ in back["timeline"]]
    assert steps[0] == "fence old writer" and steps[-3:] == ["unfence new writer", "stop forward replication",
                                                              "start reverse replication"]
    faults = [e for e in report["events"] if e["event"] == "fault"]
    alarms = [e for e in report["events"] if e["event"] == "gate" and e["state"] == "ALARM" and e["at"] >= faults[0]["at"]]
    assert faults[0]["killed"] == ["green-1", "green-2"] and alarms, report["events"]
    assert report["fault_to_blue_s"] is not None and report["write_pause_s"] is not None
    # Detection compressed and in AWS time: the alarm part scaled back by the one factor.
    assert report["fault_to_alarm_aws_s"] == pytest.approx(report["fault_to_alarm_s"] * TIMING.scale, abs=0.01)
    assert report["fault_to_blue_aws_s"] >= report["fault_to_alarm_aws_s"]
    assert report["time_model"]["scale"] == TIMING.scale and report["emf_documents"] > 0
    # The dead green tasks were replaced as ECS would, after the declared delay.
    assert sorted(r["instance"] for r in report["ecs_replacements"]) == ["green-1", "green-2"]
    names = [p["name"] for p in report["phases"]]
    assert names[:4] == ["warm-up (blue only)", "shift green 10 %", "shift green 50 %", "shift green 100 %"]
    assert "fault in green, rollback" in names and "switchover back to blue" in names
    assert set(report["adapters"]["local"]) == {"traffic", "writer_name", "replication", "target_health", "fence_and_drain_login"}


@needs_servers
def test_rehearsal__default__service_reaches_each_database_by_its_endpoint_name_another_name_refused(default_run):
    report, _ = default_run
    tls = report["db_tls"]
    assert tls["by_endpoint_name"] == {"blue": "connected, identity verified", "green": "connected, identity verified"}
    for colour, why in tls["through_another_name"].items():  # the certificate names only its own endpoint
        assert "certificate" in why.lower() or "hostname" in why.lower(), (colour, why)
    pauses = {(r["to"], r["via"]): r for r in report["write_pauses"]}
    assert set(pauses) == {("green", "plan step"), ("blue", "operator process")}
    assert all(r["client_seen_s"] is not None and r["switchover_s"] is not None for r in pauses.values())
    assert report["write_pause"]["none"]["switchovers"] == 2 and report["delays"]["profile"] == "none"


@needs_servers
def test_rehearsal__default__writes_report_ledger_and_plot(default_run):
    report, out = default_run
    saved = json.loads((out / "report.json").read_text())
    for key in ("target_rate", "achieved_rate", "requests", "acknowledged", "failed", "lost", "duplicated", "divergent_rows",
                "balance_ok", "write_pause_s", "client_write_gap_s", "fault_to_blue_s", "phases", "fault_to_alarm_s",
                "fault_to_alarm_aws_s", "fault_to_blue_aws_s", "alarms", "alarm_changes"):
        assert key in saved, key
    assert set(saved["phases"][0]) >= {"name", "start", "end", "p50_ms", "p99_ms", "errors"}
    rows = list(csv.DictReader((out / "ledger.csv").open()))
    assert list(rows[0]) == ["idempotency_key", "merchant_id", "amount_minor", "currency", "card_token", "payment_id",
                             "acknowledged_at", "replayed", "colour"]
    assert len(rows) == report["acknowledged"] and len({r["idempotency_key"] for r in rows}) == len(rows)
    assert (out / "rehearsal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tls = saved["tls"]  # the edge's mutual TLS: every connection a full handshake, amortised over its requests
    assert tls["handshakes"] > 0 and tls["requests"] >= report["requests"] and tls["handshake_ms_p50"] > 0
    assert tls["handshake_ms_per_request"] == round(tls["handshake_ms_p50"] * tls["handshakes"] / tls["requests"], 4)
    assert "lost" in cli.rp.table(report)


@needs_servers
def test_rehearsal__crash__killed_switchover_recovered_from_its_journal_and_nothing_lost(tmp_path):
    """The crash scenario, short: an operator's switchover SIGKILLed right after the fence (no database takes
    payments), the shifter's next tick undoes it from the journal once the lease lapsed, then the default
    scenario; the count is as exact as without the crash (scripts/rehearse --scenario crash --rate 60)."""
    report = rehearse_local(Options(scenario="crash", rate=RATE, bake=2, warmup=2, timing=TIMING, alarm_parameters=PARAMETERS,
                                    say=quiet), tmp_path)

    killed = report["switchovers"][0]
    assert (killed["killed_after"], killed["returncode"], killed["to"]) == ("fence old writer", -9, "green"), killed
    assert report["recovery"]["changes"][0].startswith("switchover blue -> green by "), report["recovery"]
    assert "undoing it" in report["recovery"]["changes"][0]
    assert report["scenario_completed"], report["scenario_error"]
    assert (report["lost"], report["duplicated"], report["divergent_rows"], report["balance_ok"]) == (0, 0, 0, True)
    assert report["acknowledged"] > 0 and report["final_writer"] == "blue"


@needs_servers
def test_rehearse_url__against_the_local_stack__counts_through_the_service_and_finds_a_planted_loss(tmp_path):
    stack = Stack()
    world = stack.start(say=quiet)
    try:
        report = rehearse_url(world.url, rate=20, duration=3, out=tmp_path, say=quiet, tls=stack.tls)
        assert report["lost"] == 0 and report["acknowledged"] > 0 and report["divergent_rows"] is None
        # Every acknowledgement checked with the published public key alone.
        assert report["bad_signatures"] == 0 and report["verified_signatures"] == report["acknowledged"]
        # Plant a loss: one acknowledged payment removed from the writer; the same count through the service finds it.
        key = next(csv.DictReader((tmp_path / "ledger.csv").open()))["idempotency_key"]
        with stack.dbs["blue"].root(binlog=False) as conn, conn.cursor() as cur:
            cur.execute("SET FOREIGN_KEY_CHECKS=0")
            cur.execute("DELETE FROM payments.idempotency_keys WHERE idempotency_key=%s", (key,))
            cur.execute("DELETE FROM payments.payments WHERE idempotency_key=%s", (key,))
        from bluegreen.rehearsal.reconcile import payment_rows_over_http, read_sent, reconcile

        ledger = read_sent(tmp_path / "ledger.csv")
        rows = payment_rows_over_http(world.url, {s.idempotency_key: s.merchant_id for s in ledger}, tls=stack.tls)
        recount = reconcile(ledger, {"service": rows})
        assert recount["lost"] == 1 and recount["lost_keys"] == [key]
        through_the_edge__one_merchants_certificate_pays_for_no_other(world, stack.tls)
    finally:
        stack.stop()


def through_the_edge__one_merchants_certificate_pays_for_no_other(world, tls):
    """Through HAProxy's mutual TLS to the real services: m-000's certificate cannot pay or look up for m-001,
    not even with m-001's identity headers written in (the edge replaces them), and a service reached
    without the edge refuses a request that carries no verified identity."""
    import httpx

    from bluegreen.rehearsal.pki import merchant_subject
    from payment_api import client_identity

    payment = {"merchant_id": "m-001", "customer_id": "c-1", "amount_minor": 100, "currency": "EUR", "card_token": "tok_x"}
    forged = {client_identity.SUBJECT: merchant_subject("m-001").rfc4514_string()}
    with httpx.Client(base_url=world.url, verify=tls.context("m-000"), timeout=10) as client:
        for headers in ({}, forged):
            r = client.post("/payments", json=payment, headers={**headers, "Idempotency-Key": "edge-cross"})
            assert r.status_code == 403, r.text
        r = client.get("/payments", params={"merchant_id": "m-001", "idempotency_key": "edge-cross"}, headers=forged)
        assert r.status_code == 403
    with httpx.Client(base_url=world.url, verify=tls.context("m-001"), timeout=10) as client:
        assert client.get("/payments", params={"merchant_id": "m-001", "idempotency_key": "edge-cross"}).status_code == 404
    direct = httpx.post(f"http://127.0.0.1:{world.services['blue'][0]}/payments", json=payment,
                        headers={"Idempotency-Key": "edge-direct"}, timeout=10)
    assert direct.status_code == 403 and "mutual TLS" in direct.json()["error"]


def test_rehearse__rate_not_above_zero__clear_message_and_nothing_started(capsys):
    assert cli.main(["--rate", "0"]) == 2
    assert "--rate must be above 0" in capsys.readouterr().err


def test_rehearse__debian_packages_missing__names_them_and_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(haproxy, "available", lambda: False)
    monkeypatch.setattr("bluegreen.rehearsal.stack.DEBIAN_PACKAGES", {"mariadb-server": lambda: True, "haproxy": lambda: False})
    stack = Stack(base=tmp_path / "base")
    with pytest.raises(StackError, match="apt-get install -y haproxy"):
        stack.start(say=quiet)
    assert stack.dbs == {} and stack.moto is None


@needs_servers
def test_rehearse__port_taken__clear_message_and_nothing_left_running(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["--port", str(port), "--out", str(tmp_path)]) == 2


def test_bluegreen_rehearse__the_operator_cli_runs_the_rehearsal_command(capsys):
    from bluegreen import cli as operator_cli

    assert operator_cli.main(["rehearse", "--rate", "0"]) == 2
    assert "--rate must be above 0" in capsys.readouterr().err
